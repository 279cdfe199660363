package sqlfsm

import "github.com/oneha/oneha/sqlcheck"

// RewriteSQLite returns sql with SQLite's clock and randomness replaced by
// literals derived only from c and stmtIndex (sqlcheck.RewriteSQLite with
// c.Time, c.Seed1 and c.Seed2), so every server produces identical text.
func RewriteSQLite(sql string, c Context, stmtIndex int) (string, error) {
	return sqlcheck.RewriteSQLite(sql, c.Time, c.Seed1, c.Seed2, stmtIndex)
}
