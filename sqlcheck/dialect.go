package sqlcheck

import "context"

// Dialect names the SQL dialect a database speaks. It is the one dialect
// type of the project: the checks, the FSM's backends and the dump format
// all use it.
type Dialect string

// The supported dialects.
const (
	MySQL  Dialect = "mysql"  // MySQL 8 and MariaDB 10.6+ (InnoDB)
	SQLite Dialect = "sqlite" // SQLite 3 (pure Go driver)
)

// SchemaInfo answers the schema questions the statement checks need. The
// leader answers them from its own database, which is at least as new as any
// entry it checks. Table names are passed unquoted, as the statement spells
// them.
type SchemaInfo interface {
	// HasAutoIncrement reports whether table has an AUTO_INCREMENT (MySQL) or
	// INTEGER PRIMARY KEY/AUTOINCREMENT (SQLite) column. A missing table is
	// (false, nil): the statement will fail identically everywhere.
	HasAutoIncrement(ctx context.Context, table string) (bool, error)
	// UniqueKeys counts table's unique indexes, the primary key included.
	UniqueKeys(ctx context.Context, table string) (int, error)
	// UniqueKeyColumns returns the column lists of table's PRIMARY KEY and of
	// each UNIQUE key whose columns are all NOT NULL: the keys that pick at
	// most one row for each combination of values, so that an ORDER BY over
	// all columns of one of them orders rows totally. A key with a prefix
	// part (a(10)) or an expression part is left out. Column names are
	// returned as the schema spells them (compared case-insensitively). A
	// missing table is (nil, nil).
	UniqueKeyColumns(ctx context.Context, table string) ([][]string, error)
}
