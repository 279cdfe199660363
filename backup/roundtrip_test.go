package backup_test

import (
	"bytes"
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
