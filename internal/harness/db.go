package harness

import (
	"context"
	"database/sql"
	"path/filepath"
	"testing"
	"time"

	"github.com/oneha/oneha/backup"
	"github.com/oneha/oneha/sqlcheck"
	"github.com/oneha/oneha/sqlfsm"
)

// Dialects lists the backends every SQL test runs on.
var Dialects = []sqlcheck.Dialect{sqlcheck.SQLite, sqlcheck.MySQL}

// OpenDB returns a fresh, empty local database of dialect d, closed at the
// end of the test: a SQLite file in a temp dir, or a new database on m (the
// process's shared MariaDB when m is nil), with OneHA's pinned session
// settings.
func OpenDB(tb testing.TB, d sqlcheck.Dialect, m *MariaDB) *sql.DB {
	tb.Helper()
	return OpenLocal(tb, d, m, false).DB
}

// Local is a server's local database: DB for reads and snapshots, ApplyDB
// (MySQL with the fast apply path only) for the FSM's apply connection.
type Local struct {
	Dialect sqlcheck.Dialect
	DB      *sql.DB
	ApplyDB *sql.DB
}

// OpenLocal is OpenDB plus, when fast is set on MySQL, the multi-statement
// apply pool that lets the FSM apply a batch in one round trip.
func OpenLocal(tb testing.TB, d sqlcheck.Dialect, m *MariaDB, fast bool) Local {
	tb.Helper()
	l := Local{Dialect: d}
	var err error
	switch d {
	case sqlcheck.SQLite:
		l.DB, err = sqlfsm.OpenSQLite(filepath.Join(tb.TempDir(), "one.db"))
	case sqlcheck.MySQL:
		if m == nil {
			m = SharedMariaDB(tb)
		}
		dsn := m.CreateDatabase(tb, "")
		if l.DB, err = sqlfsm.OpenMySQL(dsn, 16); err == nil && fast {
			l.ApplyDB, err = sqlfsm.OpenMySQLApply(dsn)
		}
	default:
		tb.Fatalf("harness: unknown dialect %q", d)
	}
	if err != nil {
		tb.Fatalf("harness: open %s: %v", d, err)
	}
	tb.Cleanup(func() {
		l.DB.Close()
		if l.ApplyDB != nil {
			l.ApplyDB.Close()
		}
	})
	return l
}

// Backend is a named way to run the FSM: a dialect, and for MySQL whether
// batches take the one-round-trip fast path.
type Backend struct {
	Name    string
	Dialect sqlcheck.Dialect
	Fast    bool
}

// Backends lists every apply path the FSM tests cover.
var Backends = []Backend{
	{"sqlite", sqlcheck.SQLite, false},
	{"mysql", sqlcheck.MySQL, false},
	{"mysql-fast", sqlcheck.MySQL, true},
}

// Checksum is backup.Checksum of every table but the applied-index table.
func Checksum(tb testing.TB, db *sql.DB, d sqlcheck.Dialect) string {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	sum, err := backup.Checksum(ctx, db, d, backup.Options{Last: sqlfsm.AppliedTable})
	if err != nil {
		tb.Fatalf("harness: checksum: %v", err)
	}
	return sum
}

// Ctx returns a context cancelled at the end of the test or after d.
func Ctx(tb testing.TB, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	tb.Cleanup(cancel)
	return ctx
}
