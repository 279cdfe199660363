package backup_test

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/oneha/oneha/backup"
	"github.com/oneha/oneha/sqlcheck"
)

// TestLoadReplaces: Load drops what the target had; the Last table is the
// last table in the dump.
func TestLoadReplaces(t *testing.T) {
	for _, d := range dialects {
		t.Run(string(d), func(t *testing.T) {
			src := openDB(t, d)
			populate(t, src, fixtureFor(d))
			text, _ := dump(t, src, d, opt)

			dst := openDB(t, d)
			execAll(t, dst,
				"CREATE TABLE junk (a INT)",
				"INSERT INTO junk VALUES (1)",
				"CREATE VIEW junkv AS SELECT a FROM junk",
				"CREATE TABLE parent (other INT)", // same name, other schema
				"CREATE TABLE "+lastTable+" (applied_index BIGINT, applied_term BIGINT)",
				"INSERT INTO "+lastTable+" VALUES (1, 1)")
			if _, err := backup.Load(ctxFor(t), dst, d, bytes.NewReader(text), opt); err != nil {
				t.Fatal(err)
			}
			if got, want := checksum(t, dst, d), checksum(t, src, d); got != want {
				t.Fatalf("checksum %s, want %s", got, want)
			}
			for _, gone := range []string{"SELECT * FROM junk", "SELECT * FROM junkv"} {
				if _, err := dst.ExecContext(ctxFor(t), gone); err == nil {
					t.Errorf("%s: still there after Load", gone)
				}
			}

			// The Last table is the last table of the dump.
			s := string(text)
			lastAt := strings.Index(s, "-- Table "+quote(d, lastTable))
			if lastAt < 0 {
				t.Fatal("no Last table in the dump")
			}
			for _, marker := range []string{"-- Table ", "-- View ", "CREATE INDEX", "CREATE VIEW", "CREATE TRIGGER", "sqlite_sequence"} {
				if i := strings.LastIndex(s, marker); i > lastAt {
					t.Errorf("%q at %d after the Last table at %d", marker, i, lastAt)
				}
			}
		})
	}
}

func quote(d sqlcheck.Dialect, name string) string {
	if d == sqlcheck.MySQL {
		return "`" + name + "`"
	}
	return `"` + name + `"`
}

// TestLoadInterruptedLooksBehind: the Last table is dropped first, so a
// dump cut anywhere leaves a database without an applied index.
func TestLoadInterruptedLooksBehind(t *testing.T) {
	for _, d := range dialects {
		t.Run(string(d), func(t *testing.T) {
			src := openDB(t, d)
			populate(t, src, fixtureFor(d))
			text, _ := dump(t, src, d, opt)
			lastAt := strings.Index(string(text), "-- Table "+quote(d, lastTable))
			cuts := map[string]int{
				"before the Last table": lastAt,
				"inside the Last table": lastAt + 40,
				"before the end line":   strings.LastIndex(string(text), "-- OneHA dump end"),
				"middle":                len(text) / 2,
			}
			for name, cut := range cuts {
				t.Run(name, func(t *testing.T) {
					dst := openDB(t, d)
					execAll(t, dst,
						"CREATE TABLE "+lastTable+" (applied_index BIGINT, applied_term BIGINT)",
						"INSERT INTO "+lastTable+" VALUES (40, 6)")
					_, err := backup.Load(ctxFor(t), dst, d, bytes.NewReader(text[:cut]), opt)
					if !errors.Is(err, backup.ErrTruncated) {
						t.Fatalf("Load of a dump cut at %d: %v, want ErrTruncated", cut, err)
					}
					var n int
					err = dst.QueryRowContext(ctxFor(t), "SELECT COUNT(*) FROM "+lastTable+" WHERE applied_index = 42").Scan(&n)
					if err == nil && n > 0 {
						t.Fatal("applied index 42 present after a failed load")
					}
					if d == sqlcheck.SQLite && err != nil {
						t.Fatalf("SQLite load is one transaction; old Last table gone: %v", err)
					}
				})
			}
		})
	}
}

// TestLoadBadInput: garbage and damaged dumps fail cleanly, without panics,
// and header errors change nothing.
func TestLoadBadInput(t *testing.T) {
	for _, d := range dialects {
		t.Run(string(d), func(t *testing.T) {
			src := openDB(t, d)
			populate(t, src, fixtureFor(d))
			good, _ := dump(t, src, d, opt)
			other := sqlcheck.SQLite
			if d == sqlcheck.SQLite {
				other = sqlcheck.MySQL
			}
			hdr := backup.Header{Dialect: d, Created: time.Unix(0, 0)}.String() + "\n"
			flipped := bytes.Clone(good)
			i := bytes.Index(flipped, []byte("'two'"))
			flipped[i+1] = 'T' // still valid SQL, wrong data
			tests := []struct {
				name      string
				in        []byte
				want      error // nil: any error
				unchanged bool  // a header error must not touch the DB
			}{
				{"empty", nil, backup.ErrNotDump, true},
				{"text", []byte("hello world\n"), backup.ErrNotDump, true},
				{"binary", []byte{0x1f, 0x8b, 0x08, 0, 0, 0, '\n'}, backup.ErrNotDump, true},
				{"no newline", []byte("-- OneHA dump v1 dialect=" + string(d)), backup.ErrNotDump, true},
				{"version", []byte("-- OneHA dump v9 dialect=" + string(d) + "\n"), backup.ErrVersion, true},
				{"other dialect", []byte(backup.Header{Dialect: other}.String() + "\n"), backup.ErrDialectMismatch, true},
				{"bad SQL", []byte(hdr + "this is not sql;\n"), nil, false},
				{"unterminated quote", []byte(hdr + "SELECT 'abc;\n"), backup.ErrTruncated, false},
				{"unterminated comment", []byte(hdr + "/* SELECT 1;\n"), backup.ErrTruncated, false},
				{"header only", []byte(hdr), backup.ErrTruncated, false},
				{"flipped byte", flipped, backup.ErrCorrupt, false},
				{"trailing junk", append(bytes.Clone(good), "SELECT 1;\n"...), nil, false},
			}
			for _, tt := range tests {
				t.Run(tt.name, func(t *testing.T) {
					dst := openDB(t, d)
					execAll(t, dst, "CREATE TABLE keep (a INT)")
					_, err := backup.Load(ctxFor(t), dst, d, bytes.NewReader(tt.in), opt)
					if err == nil || (tt.want != nil && !errors.Is(err, tt.want)) {
						t.Fatalf("Load: %v, want %v", err, tt.want)
					}
					if tt.unchanged {
						if _, err := dst.ExecContext(ctxFor(t), "SELECT * FROM keep"); err != nil {
							t.Fatalf("header error changed the DB: %v", err)
						}
					}
				})
			}
		})
	}
}

func TestReadHeader(t *testing.T) {
	created := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	tests := []struct {
		name string
		in   string
		want backup.Header
		err  error
	}{
		{"mysql", "-- OneHA dump v1 dialect=mysql applied_index=18446744073709551615 applied_term=3 created=2026-01-02T03:04:05Z\nSET x;", backup.Header{sqlcheck.MySQL, 1<<64 - 1, 3, created, ""}, nil},
		{"sqlite, CRLF, unknown field", "-- OneHA dump v1 dialect=sqlite applied_index=0 applied_term=0 created=2026-01-02T04:04:05+01:00 future=1\r\n", backup.Header{sqlcheck.SQLite, 0, 0, created, ""}, nil},
		{"only", "-- OneHA dump v1 dialect=sqlite applied_index=0 applied_term=0 created=2026-01-02T03:04:05Z only=acl,user_pool\n", backup.Header{sqlcheck.SQLite, 0, 0, created, "acl,user_pool"}, nil},
		{"empty only", "-- OneHA dump v1 dialect=sqlite applied_index=0 applied_term=0 created=2026-01-02T03:04:05Z only=\n", backup.Header{}, backup.ErrNotDump},
		{"only with empty name", "-- OneHA dump v1 dialect=sqlite applied_index=0 applied_term=0 created=2026-01-02T03:04:05Z only=acl,,x\n", backup.Header{}, backup.ErrNotDump},
		{"not a dump", "CREATE TABLE t (a INT);\n", backup.Header{}, backup.ErrNotDump},
		{"mysqldump", "-- MariaDB dump 10.19  Distrib 10.11.6-MariaDB\n", backup.Header{}, backup.ErrNotDump},
		{"empty", "", backup.Header{}, backup.ErrNotDump},
		{"no newline", "-- OneHA dump v1 dialect=mysql applied_index=1 applied_term=1 created=2026-01-02T03:04:05Z", backup.Header{}, backup.ErrNotDump},
		{"version", "-- OneHA dump v2 dialect=mysql\n", backup.Header{}, backup.ErrVersion},
		{"dialect", "-- OneHA dump v1 dialect=oracle applied_index=1 applied_term=1 created=2026-01-02T03:04:05Z\n", backup.Header{}, backup.ErrDialect},
		{"missing field", "-- OneHA dump v1 dialect=mysql applied_index=1 created=2026-01-02T03:04:05Z\n", backup.Header{}, backup.ErrNotDump},
		{"bad number", "-- OneHA dump v1 dialect=mysql applied_index=-1 applied_term=1 created=2026-01-02T03:04:05Z\n", backup.Header{}, backup.ErrNotDump},
		{"duplicate field", "-- OneHA dump v1 dialect=mysql dialect=mysql applied_index=1 applied_term=1 created=2026-01-02T03:04:05Z\n", backup.Header{}, backup.ErrNotDump},
		{"long line", "-- OneHA dump v1 " + strings.Repeat("x", 20000) + "\n", backup.Header{}, backup.ErrNotDump},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := strings.NewReader(tt.in)
			got, err := backup.ReadHeader(r)
			if !errors.Is(err, tt.err) || (tt.err == nil && err != nil) {
				t.Fatalf("err %v, want %v", err, tt.err)
			}
			if err == nil {
				if got != tt.want {
					t.Fatalf("got %+v, want %+v", got, tt.want)
				}
				if got.String()+"\n" != tt.in && tt.name == "mysql" {
					rest, _ := io.ReadAll(r)
					if string(rest) != "SET x;" {
						t.Fatalf("ReadHeader read past the first line; rest %q", rest)
					}
				}
			}
		})
	}
}
