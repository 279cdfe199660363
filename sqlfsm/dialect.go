package sqlfsm

import "context"

// DialectName selects the SQL dialect a database speaks.
type DialectName string

// The supported backends.
const (
	MySQL  DialectName = "mysql"  // MySQL 8 and MariaDB 10.6+
	SQLite DialectName = "sqlite" // SQLite 3 (pure Go driver)
)

// SchemaInfo answers the schema questions the statement checks need. The
// leader answers them from its own database, which is at least as new as any
// entry it checks.
type SchemaInfo interface {
	// HasAutoIncrement reports whether table has an AUTO_INCREMENT (MySQL) or
	// INTEGER PRIMARY KEY/AUTOINCREMENT (SQLite) column. A missing table is
	// (false, nil): the statement will fail identically everywhere.
	HasAutoIncrement(ctx context.Context, table string) (bool, error)
	// UniqueKeys counts table's unique indexes, the primary key included.
	UniqueKeys(ctx context.Context, table string) (int, error)
}
