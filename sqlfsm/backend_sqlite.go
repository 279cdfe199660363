package sqlfsm

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/oneha/oneha/sqlcheck"
)

// sqliteBackend applies entries on SQLite. Its session binds the entry's
// time and seeds at the source, on the apply connection (see sqliteSession),
// so statements run as written. DDL is transactional in SQLite, so it
// shares the batch transaction like any other entry.
type sqliteBackend struct{ s *sqliteSession }

func (sqliteBackend) name() sqlcheck.Dialect { return sqlcheck.SQLite }

func (sqliteBackend) appliedDDL() []string {
	return []string{`CREATE TABLE IF NOT EXISTS ` + AppliedTable + ` (
  id INTEGER NOT NULL PRIMARY KEY,
  applied_index INTEGER NOT NULL,
  applied_term INTEGER NOT NULL,
  ddl_index INTEGER NOT NULL DEFAULT 0,
  ddl_fingerprint TEXT NOT NULL DEFAULT ''
)`,
		`INSERT OR IGNORE INTO ` + AppliedTable + ` (id, applied_index, applied_term) VALUES (1, 0, 0)`,
		`CREATE TABLE IF NOT EXISTS ` + RequestTable + ` (
  scope TEXT NOT NULL,
  request_id TEXT NOT NULL,
  log_index INTEGER NOT NULL,
  micros INTEGER NOT NULL,
  stmt_hash TEXT NOT NULL,
  result TEXT NOT NULL,
  PRIMARY KEY (scope, request_id)
)`,
		`CREATE INDEX IF NOT EXISTS ` + RequestTable + `_index ON ` + RequestTable + ` (log_index)`,
		`CREATE INDEX IF NOT EXISTS ` + RequestTable + `_micros ON ` + RequestTable + ` (micros)`,
		`CREATE TABLE IF NOT EXISTS ` + FedTable + ` (
  id INTEGER NOT NULL PRIMARY KEY,
  last_index INTEGER NOT NULL
)`,
		`INSERT OR IGNORE INTO ` + FedTable + ` (id, last_index) VALUES (1, 0)`,
		`CREATE TABLE IF NOT EXISTS ` + FedLogTable + ` (
  fed_index INTEGER NOT NULL PRIMARY KEY,
  record BLOB NOT NULL
)`}
}

func (b sqliteBackend) bind(_ context.Context, _ execer, c Context) error {
	b.s.bind(c)
	return nil
}

func (sqliteBackend) prepare(st Statement, _ Context, _ int) (string, []any, error) {
	return st.SQL, sqliteArgs(st.Params), nil
}

// SQLDateTime is how a time.Time parameter is bound as SQL: UTC,
// 'YYYY-MM-DD HH:MM:SS' with a fraction only when it has one (µs at most,
// trailing zeros dropped). It is what MySQL's DATETIME and SQLite's
// datetime() print, so it compares with DATETIME columns on both backends,
// and it depends on nothing but the value (no local time zone), so every
// replica binds the same text. (The SQLite driver on its own would bind
// Go's time.String(), '2026-01-01 00:00:00 +0000 UTC'.)
const SQLDateTime = "2006-01-02 15:04:05.999999"

// sqliteArgs binds time.Time parameters as SQLDateTime text (MySQL's
// inlining does the same, inline.go); other values pass unchanged.
func sqliteArgs(params []any) []any {
	var out []any
	for i, p := range params {
		if t, ok := p.(time.Time); ok {
			if out == nil {
				out = append([]any(nil), params...)
			}
			out[i] = t.UTC().Format(SQLDateTime)
		}
	}
	if out == nil {
		return params
	}
	return out
}

func (b sqliteBackend) exec(ctx context.Context, x execer, q string, args []any) (sql.Result, error) {
	return b.s.exec(ctx, x, q, args)
}

func (b sqliteBackend) txLost() bool                   { return b.s.txLost() }
func (b sqliteBackend) setupConn(conn *sql.Conn) error { return b.s.setup(conn) }
func (b sqliteBackend) interrupt()                     { b.s.interrupt() }
func (b sqliteBackend) close() error                   { return b.s.close() }

func (sqliteBackend) classify(err error) errClass { return classifySQLite(err) }
func (sqliteBackend) transactionalDDL() bool      { return true }

// SQLite's counters are connection state: DDL leaves the previous
// statement's values, and only an INSERT/REPLACE sets the rowid. The
// statement's kind is its first keyword.
func (sqliteBackend) counters(st Statement, ra, li int64) (int64, int64) {
	var kw string
	if toks, err := sqlcheck.Lex(sqlcheck.SQLite, st.SQL); err == nil && len(toks) > 0 {
		kw = toks[0].Value
	}
	switch kw {
	case "INSERT", "REPLACE":
	case "UPDATE", "DELETE", "WITH":
		li = 0
	default:
		ra, li = 0, 0
	}
	return ra, li
}

// SQLite's conflict clauses (OR FAIL) can leave part of a statement applied,
// so every entry gets a savepoint.
func (sqliteBackend) needSavepoint(int) bool { return true }

func (sqliteBackend) schemaFingerprint(ctx context.Context, x execer) (string, error) {
	return "", nil // DDL is transactional: no crash window to recover
}

func (sqliteBackend) checkSettings(context.Context, execer) error { return nil }

func (sqliteBackend) schema(db *sql.DB) sqlcheck.SchemaInfo { return sqliteSchema{db} }

type sqliteSchema struct{ db *sql.DB }

// HasAutoIncrement reports a rowid alias (a single-column INTEGER PRIMARY
// KEY, with or without AUTOINCREMENT): its values are assigned by the engine.
func (s sqliteSchema) HasAutoIncrement(ctx context.Context, table string) (bool, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT type, pk FROM pragma_table_info(?)`, table)
	if err != nil {
		return false, fmt.Errorf("schema of %s: %w", table, err)
	}
	defer rows.Close()
	var intPK bool
	pks := 0
	for rows.Next() {
		var typ string
		var pk int
		if err := rows.Scan(&typ, &pk); err != nil {
			return false, fmt.Errorf("schema of %s: %w", table, err)
		}
		if pk > 0 {
			pks++
			intPK = strings.EqualFold(strings.TrimSpace(typ), "INTEGER")
		}
	}
	return pks == 1 && intPK, rows.Err()
}

func (s sqliteSchema) UniqueKeys(ctx context.Context, table string) (int, error) {
	var n int
	err := s.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM pragma_index_list(?) WHERE "unique" = 1`, table).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("schema of %s: %w", table, err)
	}
	// A rowid alias primary key has no index entry but is unique.
	if auto, err := (sqliteSchema{s.db}).HasAutoIncrement(ctx, table); err == nil && auto {
		n++
	}
	return n, nil
}
