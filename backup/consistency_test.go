package backup_test

import (
	"bytes"
	"context"
	"errors"
	"testing"
	"time"

	"github.com/oneha/oneha/backup"
	"github.com/oneha/oneha/sqlcheck"
)

// TestSnapshotConsistent: a dump holds exactly the state at Begin, while
// writes after Begin go on unblocked.
func TestSnapshotConsistent(t *testing.T) {
	for _, d := range dialects {
		t.Run(string(d), func(t *testing.T) {
			f := fixtureFor(d)
			src := openDB(t, d)
			populate(t, src, f)
			before := checksum(t, src, d)

			ctx := ctxFor(t)
			s, err := backup.Begin(ctx, src, d, opt)
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()

			// Writes after Begin, each bounded by a short deadline: a
			// blocked write fails the test.
			writes := []string{
				"INSERT INTO parent VALUES (3, 'three')",
				"UPDATE parent SET code = 'uno' WHERE id = 1",
				"DELETE FROM awkward WHERE a = 4",
				"INSERT INTO autoinc (v) VALUES (9)",
				"UPDATE " + lastTable + " SET applied_index = 43, applied_term = 8",
			}
			for _, w := range writes {
				// A blocked write would wait for the dump (lock waits
				// last 50 s by default); 10 s leaves room for slow CI.
				wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
				start := time.Now()
				_, err := src.ExecContext(wctx, w)
				cancel()
				if err != nil {
					t.Fatalf("write after Begin %q: %v (blocked after %v?)", w, err, time.Since(start))
				}
			}
			if after := checksum(t, src, d); after == before {
				t.Fatal("writes after Begin changed nothing; test is void")
			}

			var buf bytes.Buffer
			if _, err := s.Write(ctx, &buf); err != nil {
				t.Fatal(err)
			}
			h, err := backup.ReadHeader(bytes.NewReader(buf.Bytes()))
			if err != nil || h.AppliedIndex != 42 || h.AppliedTerm != 7 {
				t.Fatalf("header %+v, %v; want the applied index at Begin (42, 7)", h, err)
			}
			dst := openDB(t, d)
			if _, err := backup.Load(ctx, dst, d, bytes.NewReader(buf.Bytes()), opt); err != nil {
				t.Fatal(err)
			}
			if got := checksum(t, dst, d); got != before {
				t.Fatalf("dump does not hold the state at Begin: checksum %s, want %s", got, before)
			}
			// A second Write streams the same state; Close is idempotent and
			// Write after Close fails with ErrClosed.
			var again bytes.Buffer
			if _, err := s.Write(ctx, &again); err != nil {
				t.Fatal(err)
			}
			if body(again.Bytes()) != body(buf.Bytes()) {
				t.Fatal("second Write differs from the first")
			}
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			if err := s.Close(); err != nil {
				t.Fatalf("second Close: %v", err)
			}
			if _, err := s.Write(ctx, &again); err != backup.ErrClosed {
				t.Fatalf("Write after Close: %v, want ErrClosed", err)
			}
		})
	}
}

// TestBeginWithoutLast: no applied-index table means index and term 0.
func TestBeginWithoutLast(t *testing.T) {
	for _, d := range dialects {
		t.Run(string(d), func(t *testing.T) {
			db := openDB(t, d)
			execAll(t, db, "CREATE TABLE t (a INT)")
			_, h := dump(t, db, d, opt)
			if h.AppliedIndex != 0 || h.AppliedTerm != 0 || h.Created.IsZero() {
				t.Fatalf("header %+v, want zero index/term and a creation time", h)
			}
		})
	}
}

// TestDDLAfterBegin: DDL committed after Begin either leaves the dump equal
// to the state at Begin or makes Write fail with ErrSchemaChanged; never a
// silently mixed dump (MySQL: DDL is not part of the read view).
func TestDDLAfterBegin(t *testing.T) {
	tests := []string{
		"ALTER TABLE parent ADD COLUMN z INT DEFAULT 5",
		"ALTER TABLE parent ADD INDEX k_code2 (code, id)",
		"DROP TABLE nopk",
		"CREATE TABLE newer (a INT)",
		"ALTER TABLE awkward DROP COLUMN e",
	}
	for _, ddl := range tests {
		t.Run(ddl, func(t *testing.T) {
			d := sqlcheck.MySQL
			src := openDB(t, d)
			populate(t, src, fixtureFor(d))
			before := checksum(t, src, d)
			ctx := ctxFor(t)
			s, err := backup.Begin(ctx, src, d, opt)
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			execAll(t, src, ddl)
			var buf bytes.Buffer
			_, err = s.Write(ctx, &buf)
			if errors.Is(err, backup.ErrSchemaChanged) {
				t.Logf("Write: %v", err)
				return
			}
			if err != nil {
				t.Fatalf("Write: %v, want success or ErrSchemaChanged", err)
			}
			dst := openDB(t, d)
			if _, err := backup.Load(ctx, dst, d, bytes.NewReader(buf.Bytes()), opt); err != nil {
				t.Fatal(err)
			}
			if got := checksum(t, dst, d); got != before {
				t.Fatalf("dump after %q is not the state at Begin", ddl)
			}
		})
	}
}
