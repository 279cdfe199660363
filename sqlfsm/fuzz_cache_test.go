package sqlfsm

import (
	"context"
	"fmt"
	"testing"

	"github.com/oneha/oneha/sqlcheck"
)

// FuzzCheckCache checks that the FSM's text cache answers exactly what
// sqlcheck.CheckWrite answers, on a miss and on a hit, with and without a
// schema.
func FuzzCheckCache(f *testing.F) {
	for _, s := range []string{
		"",
		"INSERT INTO t (a, b) VALUES (?, 'x''y')",
		"UPDATE t SET a = 1 WHERE id = ? ORDER BY id LIMIT 1",
		"DELETE FROM two ORDER BY a LIMIT 1",
		"INSERT INTO ai (a) SELECT a FROM t ORDER BY id LIMIT 3",
		"INSERT INTO t (id, a) VALUES (1, 2) ON DUPLICATE KEY UPDATE a = 3",
		"INSERT INTO t VALUES (datetime(?), random())",
		"INSERT INTO t VALUES (UUID())",
		"CREATE TABLE c (id INT PRIMARY KEY)",
		"DELETE FROM t; DELETE FROM u",
	} {
		f.Add(s, true)
		f.Add(s, false)
	}
	ctx := context.Background()
	tc := newTextCache()
	f.Fuzz(func(t *testing.T, sql string, mysql bool) {
		d := sqlcheck.SQLite
		if mysql {
			d = sqlcheck.MySQL
		}
		for _, schema := range []sqlcheck.SchemaInfo{testSchema(), nil} {
			wantC, wantErr := sqlcheck.CheckWrite(ctx, d, sql, schema)
			for range 2 {
				if c, err := tc.checkWrite(ctx, d, sql, schema); c != wantC || fmt.Sprint(err) != fmt.Sprint(wantErr) {
					t.Fatalf("cached check %+v %v, uncached %+v %v", c, err, wantC, wantErr)
				}
			}
		}
	})
}
