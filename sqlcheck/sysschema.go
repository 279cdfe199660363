package sqlcheck

import "strings"

// mysqlSystemSchemas are the MySQL/MariaDB schemas that hold server-local
// state: ports, thread and process ids, status counters, accounts, the
// transaction registry. A write that reads them stores values that differ
// between servers; a table copied from them (CREATE TABLE ... LIKE) may not
// even be InnoDB.
var mysqlSystemSchemas = map[string]bool{
	"information_schema": true, "performance_schema": true, "mysql": true, "sys": true,
}

// sqliteInternalTables are SQLite tables and table-valued functions that
// describe a server's file rather than the replicated data: root pages,
// statistics, page counts, file paths.
var sqliteInternalTables = map[string]bool{
	"sqlite_master": true, "sqlite_schema": true, "sqlite_temp_master": true, "sqlite_temp_schema": true,
	"sqlite_stat1": true, "sqlite_stat2": true, "sqlite_stat3": true, "sqlite_stat4": true,
	"sqlite_dbpage": true, "dbstat": true,
}

const (
	reasonSystemSchema = "system schemas hold server-local state (ports, thread ids, counters, accounts) that differs between servers"
	reasonSQLiteFile   = "describes each server's database file (root pages, statistics, paths), not the replicated data"
)

// checkSystemNames refuses, anywhere in a write (subqueries, joins, CTEs,
// views, CREATE TABLE ... LIKE, trigger bodies, parenthesized or quoted), a
// qualified name whose first part is a MySQL system schema, and in SQLite
// any reference to an internal table or a pragma_* table-valued function.
// Schema names compare case-insensitively, quoted or not.
func (s *stmt) checkSystemNames() error {
	for i, t := range s.toks {
		if !s.isName(i) || s.punct(i-1, ".") {
			continue
		}
		name := strings.ToLower(s.nameText(i))
		if s.d == MySQL {
			if mysqlSystemSchemas[name] && s.punct(i+1, ".") && i+2 < len(s.toks) {
				return unsafe("system schema "+t.Text+"."+s.toks[i+2].Text, reasonSystemSchema)
			}
			continue
		}
		if sqliteInternalTables[name] || strings.HasPrefix(name, "pragma_") {
			return unsafe(name, reasonSQLiteFile)
		}
	}
	return nil
}
