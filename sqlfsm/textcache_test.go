package sqlfsm

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/oneha/oneha/sqlcheck"
)

// TestCheckCacheEqualsCheck: the cached check returns what checkWrite
// returns, call after call, and never answers from the cache a verdict that
// depends on the schema.
func TestCheckCacheEqualsCheck(t *testing.T) {
	tests := []struct {
		name   string
		d      sqlcheck.Dialect
		sql    string
		cached bool // the verdict may be served from the cache
	}{
		{"plain insert", sqlcheck.MySQL, "INSERT INTO t (a, b) VALUES (?, ?)", true},
		{"update", sqlcheck.MySQL, "UPDATE t SET a = NOW(6) WHERE id = ?", true},
		{"delete", sqlcheck.MySQL, "DELETE FROM t WHERE id = ?", true},
		{"sqlite date function", sqlcheck.SQLite, "INSERT INTO t (a) VALUES (datetime(?))", true},
		{"insert select asks the schema", sqlcheck.MySQL, "INSERT INTO ai (a) SELECT a FROM t ORDER BY a", false},
		{"insert select into a table without auto-increment", sqlcheck.MySQL, "INSERT INTO t (a) SELECT a FROM t ORDER BY a", false},
		{"odku asks the schema", sqlcheck.MySQL, "INSERT INTO t (id, a) VALUES (1, 2) ON DUPLICATE KEY UPDATE a = 3", false},
		{"odku on two unique keys", sqlcheck.MySQL, "INSERT INTO two (id, a) VALUES (1, 2) ON DUPLICATE KEY UPDATE a = 3", false},
		{"schema lookup fails", sqlcheck.MySQL, "INSERT INTO broken (a) SELECT a FROM t", false},
		{"refused function", sqlcheck.MySQL, "INSERT INTO t (a) VALUES (UUID())", false},
		{"refused limit", sqlcheck.MySQL, "UPDATE t SET a = 1 LIMIT 1", false},
		{"ddl", sqlcheck.MySQL, "CREATE TABLE c (id INT PRIMARY KEY)", false},
		{"lex error", sqlcheck.MySQL, "INSERT INTO t VALUES ('x", false},
		{"two statements", sqlcheck.MySQL, "DELETE FROM t; DELETE FROM u", false},
		{"too long to cache", sqlcheck.MySQL, "INSERT INTO t (a) VALUES ('" + strings.Repeat("x", maxTextCacheLen) + "')", false},
	}
	ctx := context.Background()
	tc := newTextCache()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, schema := range []sqlcheck.SchemaInfo{testSchema(), nil} {
				wantC, wantErr := sqlcheck.CheckWrite(ctx, tt.d, tt.sql, schema)
				for round := range 3 { // miss, then hits
					c, err := tc.checkWrite(ctx, tt.d, tt.sql, schema)
					if c != wantC || fmt.Sprint(err) != fmt.Sprint(wantErr) {
						t.Fatalf("schema %v, round %d: got %+v %v; want %+v %v", schema != nil, round, c, err, wantC, wantErr)
					}
				}
			}
			_, inCache := tc.checks[checkKey{tt.d, tt.sql}]
			if inCache != tt.cached {
				t.Errorf("in cache = %v, want %v", inCache, tt.cached)
			}
		})
	}
}

// TestCheckCacheFollowsSchema: a verdict that depends on the schema follows
// the schema's changes rather than the first answer.
func TestCheckCacheFollowsSchema(t *testing.T) {
	tc := newTextCache()
	ctx := context.Background()
	s := testSchema()
	q := "INSERT INTO x (id, a) VALUES (1, 2) ON DUPLICATE KEY UPDATE a = 3"
	if _, err := tc.checkWrite(ctx, sqlcheck.MySQL, q, s); err != nil {
		t.Fatalf("one unique key: %v", err)
	}
	s.Unique["x"] = 2
	if _, err := tc.checkWrite(ctx, sqlcheck.MySQL, q, s); !IsUnsafe(err) {
		t.Fatalf("two unique keys: got %v, want a refusal", err)
	}
	q = "INSERT INTO y (a) SELECT a FROM t ORDER BY a"
	if _, err := tc.checkWrite(ctx, sqlcheck.MySQL, q, s); err != nil {
		t.Fatalf("no auto-increment: %v", err)
	}
	s.AutoInc["y"] = true
	if _, err := tc.checkWrite(ctx, sqlcheck.MySQL, q, s); !IsUnsafe(err) {
		t.Fatalf("auto-increment: got %v, want a refusal", err)
	}
}

func TestCheckCacheCancelledContext(t *testing.T) {
	tc := newTextCache()
	q := "DELETE FROM t WHERE id = 1"
	if _, err := tc.checkWrite(context.Background(), sqlcheck.MySQL, q, nil); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := tc.checkWrite(ctx, sqlcheck.MySQL, q, nil); err != context.Canceled {
		t.Fatalf("cancelled context on a cached text: got %v", err)
	}
}

func TestCheckCacheBounded(t *testing.T) {
	tc := newTextCache()
	for i := range 3 * maxTextCache {
		if _, err := tc.checkWrite(context.Background(), sqlcheck.MySQL, fmt.Sprintf("DELETE FROM t%d", i), nil); err != nil {
			t.Fatal(err)
		}
		n := len(tc.checks)
		if n > maxTextCache {
			t.Fatalf("cache holds %d texts, bound is %d", n, maxTextCache)
		}
	}
}
