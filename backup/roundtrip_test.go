package backup_test

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/oneha/oneha/backup"
)

func TestRoundTrip(t *testing.T) {
	for _, d := range dialects {
		t.Run(string(d), func(t *testing.T) {
			f := fixtureFor(d)
			src := openDB(t, d)
			populate(t, src, f)
			text, h := dump(t, src, d, opt)
			if h.AppliedIndex != 42 || h.AppliedTerm != 7 || h.Dialect != d {
				t.Fatalf("header %+v, want dialect %s index 42 term 7", h, d)
			}
			dst := openDB(t, d)
			got, err := backup.Load(ctxFor(t), dst, d, bytes.NewReader(text), opt)
			if err != nil {
				t.Fatalf("Load: %v\n%s", err, text)
			}
			if got != h {
				t.Fatalf("Load header %+v, Begin header %+v", got, h)
			}
			assertSame(t, d, f, src, dst)

			// A second round trip produces the same dump body.
			again, _ := dump(t, dst, d, opt)
			if body(text) != body(again) {
				t.Errorf("dump of the copy differs from the original dump:\n%s\n----\n%s", text, again)
			}
		})
	}
}

// body strips the header and end lines (they hold the time and checksum).
func body(b []byte) string {
	s := string(b)
	s = s[strings.IndexByte(s, '\n')+1:]
	return s[:strings.LastIndex(s, "-- OneHA dump end")]
}

func TestEmpty(t *testing.T) {
	for _, d := range dialects {
		t.Run(string(d), func(t *testing.T) {
			db := openDB(t, d)
			steps := []struct {
				stmt string
				want bool
			}{
				{"", true},
				{"CREATE VIEW v AS SELECT 1 AS one", false},
				{"DROP VIEW v", true},
				{"CREATE TABLE t (a INT)", false},
			}
			for _, s := range steps {
				if s.stmt != "" {
					execAll(t, db, s.stmt)
				}
				got, err := backup.Empty(ctxFor(t), db, d)
				if err != nil || got != s.want {
					t.Fatalf("after %q: Empty = %v, %v; want %v", s.stmt, got, err, s.want)
				}
			}
		})
	}
}

// TestOnlyReplacesJustTheNamedTables: a dump with Only holds just those
// tables (and their rows); loading it replaces them in a database that
// has other tables, which keep their rows, and drops a named table the
// dump does not hold.
func TestOnlyReplacesJustTheNamedTables(t *testing.T) {
	for _, d := range dialects {
		t.Run(string(d), func(t *testing.T) {
			ctx := ctxFor(t)
			src, dst := openDB(t, d), openDB(t, d)
			for _, q := range []string{
				"CREATE TABLE fed_a (id INT PRIMARY KEY, v VARCHAR(10))", "INSERT INTO fed_a VALUES (1, 'src')",
				"CREATE TABLE local_x (id INT PRIMARY KEY)", "INSERT INTO local_x VALUES (1)",
			} {
				if _, err := src.ExecContext(ctx, q); err != nil {
					t.Fatal(err)
				}
			}
			for _, q := range []string{
				"CREATE TABLE fed_a (id INT PRIMARY KEY, v VARCHAR(10), old INT)", "INSERT INTO fed_a VALUES (2, 'dst', 0)",
				"CREATE TABLE fed_gone (id INT)",
				"CREATE TABLE local_y (id INT PRIMARY KEY)", "INSERT INTO local_y VALUES (5)",
			} {
				if _, err := dst.ExecContext(ctx, q); err != nil {
					t.Fatal(err)
				}
			}
			only := backup.Options{Only: []string{"FED_A", "fed_gone"}}
			text, _ := dump(t, src, d, only)
			if strings.Contains(string(text), "local_x") {
				t.Fatalf("dump with Only holds another table:\n%s", text)
			}
			if !strings.HasPrefix(string(text), "-- OneHA dump v1 ") || !strings.Contains(strings.SplitN(string(text), "\n", 2)[0], " only=fed_a,fed_gone") {
				t.Fatalf("header of a dump with Only does not list its tables: %q", strings.SplitN(string(text), "\n", 2)[0])
			}
			// It never loads as a whole database, nor as other tables; a
			// whole-database dump never loads as some tables. Nothing changes.
			full, _ := dump(t, src, d, backup.Options{})
			for _, bad := range []struct {
				name string
				text []byte
				opt  backup.Options
			}{
				{"partial as whole", text, backup.Options{}},
				{"partial as fewer tables", text, backup.Options{Only: []string{"fed_a"}}},
				{"whole as partial", full, only},
			} {
				if _, err := backup.Load(ctx, dst, d, bytes.NewReader(bad.text), bad.opt); !errors.Is(err, backup.ErrTables) {
					t.Fatalf("%s: Load answered %v, want ErrTables", bad.name, err)
				}
			}
			if _, err := dst.ExecContext(ctx, "SELECT old FROM fed_a"); err != nil {
				t.Fatalf("a refused load changed fed_a: %v", err)
			}
			if _, err := backup.Load(ctx, dst, d, bytes.NewReader(text), backup.Options{Only: []string{"fed_a", "FED_GONE", "fed_more"}}); err != nil {
				t.Fatalf("Load: %v", err)
			}
			var v string
			var n int
			if err := dst.QueryRowContext(ctx, "SELECT v FROM fed_a").Scan(&v); err != nil || v != "src" {
				t.Fatalf("fed_a after load: %q, %v; want the source's one row", v, err)
			}
			if err := dst.QueryRowContext(ctx, "SELECT COUNT(*) FROM local_y").Scan(&n); err != nil || n != 1 {
				t.Fatalf("local_y after load: %d rows, %v; want its row kept", n, err)
			}
			if _, err := dst.ExecContext(ctx, "SELECT * FROM fed_gone"); err == nil {
				t.Fatal("fed_gone survived a load that names it and does not hold it")
			}
		})
	}
}
