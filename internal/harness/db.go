package harness

import (
	"context"
	"database/sql"
	"path/filepath"
	"testing"
	"time"

	"github.com/oneha/oneha/backup"
	"github.com/oneha/oneha/sqlfsm"
)

// Dialects lists the backends every SQL test runs on.
var Dialects = []sqlfsm.DialectName{sqlfsm.SQLite, sqlfsm.MySQL}

// OpenDB returns a fresh, empty local database of dialect d, closed at the
// end of the test: a SQLite file in a temp dir, or a new database on m (the
// process's shared MariaDB when m is nil), with OneHA's pinned session
// settings.
func OpenDB(tb testing.TB, d sqlfsm.DialectName, m *MariaDB) *sql.DB {
	tb.Helper()
	var db *sql.DB
	var err error
	switch d {
	case sqlfsm.SQLite:
		db, err = sqlfsm.OpenSQLite(filepath.Join(tb.TempDir(), "one.db"))
	case sqlfsm.MySQL:
		if m == nil {
			m = SharedMariaDB(tb)
		}
		db, err = sqlfsm.OpenMySQL(m.CreateDatabase(tb, ""), 16)
	default:
		tb.Fatalf("harness: unknown dialect %q", d)
	}
	if err != nil {
		tb.Fatalf("harness: open %s: %v", d, err)
	}
	tb.Cleanup(func() { db.Close() })
	return db
}

// Checksum is backup.Checksum of every table but the applied-index table.
func Checksum(tb testing.TB, db *sql.DB, d sqlfsm.DialectName) string {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	sum, err := backup.Checksum(ctx, db, backup.Dialect(d), backup.Options{Last: sqlfsm.AppliedTable})
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
