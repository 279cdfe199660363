package sqlfsm

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/oneha/oneha/sqlcheck"
)

// execer is what a session-bound connection or transaction offers.
type execer interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// backend hides what differs between MySQL/MariaDB and SQLite on the apply
// path. The MySQL backend holds no per-entry state; the SQLite backend's
// session holds the context of the entry being applied (bind).
type backend interface {
	name() sqlcheck.Dialect
	// appliedDDL creates the applied-index table if it is missing.
	appliedDDL() []string
	// bind sets the entry's session context before its statements run.
	bind(ctx context.Context, x execer, c Context) error
	// prepare returns the text and arguments to execute for statement i
	// of an entry. It depends only on its inputs, so it is the same on
	// every server; an error is a deterministic failure of the entry.
	prepare(st Statement, c Context, i int) (string, []any, error)
	classify(err error) errClass
	// exec runs one statement of an entry on x.
	exec(ctx context.Context, x execer, q string, args []any) (sql.Result, error)
	// txLost reports that the engine rolled the whole transaction back
	// after a statement failed (SQLite does so for an interrupted write).
	txLost() bool
	// setupConn prepares a new apply connection.
	setupConn(conn *sql.Conn) error
	// interrupt stops the statement being applied, from any goroutine;
	// later ones stop at once (Close).
	interrupt()
	// close releases what the backend holds (the caller closed the apply
	// connection).
	close() error
	// counters returns the RowsAffected and LastInsertId to report for
	// statement st, given the driver's.
	counters(st Statement, ra, li int64) (int64, int64)
	// transactionalDDL: DDL can share the batch transaction (SQLite).
	transactionalDDL() bool
	// needSavepoint: an entry of n statements needs a savepoint to roll
	// back alone on a deterministic error.
	needSavepoint(n int) bool
	// schemaFingerprint hashes every schema object, for DDL crash recovery.
	schemaFingerprint(ctx context.Context, x execer) (string, error)
	// checkSettings refuses server settings that break determinism.
	checkSettings(ctx context.Context, x execer) error
	// settings fingerprints the server (see Settings).
	settings(ctx context.Context, x execer) (Settings, error)
	schema(db *sql.DB) sqlcheck.SchemaInfo
}

func newBackend(d sqlcheck.Dialect, tc *textCache) (backend, error) {
	switch d {
	case sqlcheck.MySQL:
		return mysqlBackend{texts: tc}, nil
	case sqlcheck.SQLite:
		return sqliteBackend{}, nil
	}
	return nil, fmt.Errorf("unknown SQL dialect %q (want %q or %q)", d, sqlcheck.MySQL, sqlcheck.SQLite)
}
