package sqlfsm

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestInlineCacheEqualsLex: the cached placeholder spans are the lexer's,
// on a miss and on every hit, and inlining with them gives the same text.
func TestInlineCacheEqualsLex(t *testing.T) {
	long := "INSERT INTO t (a, b) VALUES (?, '" + strings.Repeat("?x", maxTextCacheLen) + "')"
	tests := []struct {
		name   string
		sql    string
		params []any
	}{
		{"plain", "INSERT INTO t (a, b) VALUES (?, ?)", []any{int64(1), "x"}},
		{"question marks in literals and comments", "INSERT INTO t (a, `b?`) VALUES (?, '?') /* ? */ -- ?\n", []any{"it's"}},
		{"double-quoted string", `UPDATE t SET a = "?" WHERE b = ?`, []any{[]byte("?")}},
		{"no params", "DELETE FROM t", nil},
		{"too few params", "INSERT INTO t VALUES (?, ?)", []any{int64(1)}},
		{"too many params", "INSERT INTO t VALUES (?)", []any{int64(1), int64(2)}},
		{"unlexable", "INSERT INTO t VALUES ('?", []any{int64(1)}},
		{"bad value", "INSERT INTO t VALUES (?)", []any{math.NaN()}},
		{"longer than the cache keeps", long, []any{nil}},
		{"time", "INSERT INTO t VALUES (?)", []any{time.Date(2026, 1, 2, 3, 4, 5, 6000, time.UTC)}},
	}
	tc := newTextCache()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wantSpans, wantSpansErr := lexSpans(tt.sql)
			want, wantErr := inlineMySQL(nil, tt.sql, tt.params)
			for round := range 3 { // miss, then hits
				spans, err := tc.placeholderSpans(tt.sql)
				if !slices.Equal(spans, wantSpans) || fmt.Sprint(err) != fmt.Sprint(wantSpansErr) {
					t.Fatalf("round %d: placeholderSpans = %v, %v; want %v, %v", round, spans, err, wantSpans, wantSpansErr)
				}
				got, err := inlineMySQL(tc, tt.sql, tt.params)
				if got != want || fmt.Sprint(err) != fmt.Sprint(wantErr) {
					t.Fatalf("round %d: inlineMySQL = %q, %v; want %q, %v", round, got, err, want, wantErr)
				}
			}
		})
	}
	_, kept := tc.spans[long]
	if kept {
		t.Error("a text longer than maxTextCacheLen was cached")
	}
}

func TestInlineCacheBounded(t *testing.T) {
	tc := newTextCache()
	for i := range 3 * maxTextCache {
		sql := fmt.Sprintf("INSERT INTO t%d VALUES (?)", i)
		got, err := inlineMySQL(tc, sql, []any{int64(i)})
		if want := fmt.Sprintf("INSERT INTO t%d VALUES (%d)", i, i); err != nil || got != want {
			t.Fatalf("inlineMySQL(%q) = %q, %v; want %q", sql, got, err, want)
		}
		n := len(tc.spans)
		if n > maxTextCache {
			t.Fatalf("cache holds %d texts, bound is %d", n, maxTextCache)
		}
	}
}

func TestMySQLBindSQLMatchesFormat(t *testing.T) {
	for _, tm := range []time.Time{
		time.Date(2026, 11, 25, 9, 35, 39, 123456000, time.UTC),
		time.Date(2026, 11, 25, 9, 35, 39, 0, time.UTC),
		time.Date(2026, 11, 25, 9, 35, 39, 1000, time.UTC),
		time.Date(2026, 11, 25, 9, 35, 39, 12000, time.UTC),
		time.Date(2026, 11, 25, 9, 35, 39, 100000000, time.UTC),
		time.Date(2026, 11, 25, 9, 35, 39, 999999000, time.UTC),
		time.Unix(0, 0).UTC(),
		time.Unix(0, 5000).UTC(),
		time.Date(1960, 1, 1, 0, 0, 0, 1000, time.UTC),
	} {
		for _, seeds := range [][2]uint32{{0, 0}, {1, 2}, {1<<30 - 1, 12345}, {math.MaxUint32, math.MaxUint32}} {
			c := Context{Time: tm, Seed1: seeds[0], Seed2: seeds[1]}
			us := tm.UnixMicro()
			want := fmt.Sprintf("SET TIMESTAMP = %d.%06d, @@rand_seed1 = %d, @@rand_seed2 = %d, LAST_INSERT_ID = 0",
				us/1e6, us%1e6, c.Seed1, c.Seed2)
			if got := mysqlBindSQL(c); got != want {
				t.Errorf("mysqlBindSQL(%v, %v) = %q; want %q", tm, seeds, got, want)
			}
		}
	}
}
