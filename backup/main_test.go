package backup_test

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	_ "github.com/go-sql-driver/mysql"
	_ "modernc.org/sqlite"

	"github.com/oneha/oneha/backup"
	"github.com/oneha/oneha/internal/harness"
	"github.com/oneha/oneha/sqlcheck"
)

func TestMain(m *testing.M) { harness.Main(m) }

var dialects = []sqlcheck.Dialect{sqlcheck.MySQL, sqlcheck.SQLite}

const lastTable = "oneha_applied"

var opt = backup.Options{Last: lastTable}

func ctxFor(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// openDB returns a fresh empty database: a new database on the process's
// shared MariaDB, or a SQLite file in WAL mode.
func openDB(t testing.TB, d sqlcheck.Dialect) *sql.DB {
	t.Helper()
	var db *sql.DB
	var err error
	switch d {
	case sqlcheck.MySQL:
		db, err = sql.Open("mysql", harness.SharedMariaDB(t).CreateDatabase(t, ""))
	case sqlcheck.SQLite:
		db, err = sql.Open("sqlite", "file:"+filepath.Join(t.TempDir(), "one.db")+
			"?_pragma=journal_mode(WAL)&_pragma=busy_timeout(10000)&_pragma=foreign_keys(1)")
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func execAll(t testing.TB, db *sql.DB, stmts ...string) {
	t.Helper()
	for _, s := range stmts {
		if _, err := db.ExecContext(ctxFor(t), s); err != nil {
			t.Fatalf("%s: %v", s, err)
		}
	}
}

// dump takes a snapshot of db and returns the dump text.
func dump(t testing.TB, db *sql.DB, d sqlcheck.Dialect, o backup.Options) ([]byte, backup.Header) {
	t.Helper()
	ctx := ctxFor(t)
	s, err := backup.Begin(ctx, db, d, o)
	if err != nil {
		t.Fatalf("Begin: %v", err)
	}
	defer s.Close()
	var buf bytes.Buffer
	n, err := s.Write(ctx, &buf)
	if err != nil {
		t.Fatalf("Write: %v", err)
	}
	if n != int64(buf.Len()) {
		t.Fatalf("Write returned %d, wrote %d bytes", n, buf.Len())
	}
	return buf.Bytes(), s.Header()
}

func checksum(t testing.TB, db *sql.DB, d sqlcheck.Dialect) string {
	t.Helper()
	sum, err := backup.Checksum(ctxFor(t), db, d, opt)
	if err != nil {
		t.Fatalf("Checksum: %v", err)
	}
	return sum
}

// rowsOf returns every row of query as printable values that keep type and
// exact value (SQLite text is read as bytes to avoid driver conversions).
func rowsOf(t testing.TB, db *sql.DB, query string) []string {
	t.Helper()
	rows, err := db.QueryContext(ctxFor(t), query)
	if err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	defer rows.Close()
	cols, _ := rows.Columns()
	var out []string
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			t.Fatal(err)
		}
		line := ""
		for _, v := range vals {
			switch x := v.(type) {
			case []byte:
				line += fmt.Sprintf("%q|", x)
			default:
				line += fmt.Sprintf("%T:%v|", v, v)
			}
		}
		out = append(out, line)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}
