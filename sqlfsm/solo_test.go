package sqlfsm_test

import (
	"context"
	"errors"
	"testing"

	"github.com/oneha/oneha/internal/harness"
	"github.com/oneha/oneha/sqlfsm"
)

// TestSoloWritesWithoutAdvancingIndex: a solo server (SERVER_ID -1) writes
// straight to its database, with the same checks, and leaves the applied
// index at 0 so the database can still seed a new zone.
func TestSoloWritesWithoutAdvancingIndex(t *testing.T) {
	for _, be := range harness.Backends {
		t.Run(be.Name, func(t *testing.T) {
			local := harness.OpenLocal(t, be.Dialect, nil, be.Fast)
			f := newFSM(t, local, nil)
			db := sqlfsm.NewDB(f, sqlfsm.NewSolo(f))
			ctx := context.Background()
			if _, err := db.Exec(ctx, []sqlfsm.Statement{{SQL: "CREATE TABLE s (id INT PRIMARY KEY, at DATETIME(6))"}}); err != nil {
				t.Fatal(err)
			}
			r, err := db.Exec(ctx, []sqlfsm.Statement{{SQL: "INSERT INTO s VALUES (?, CURRENT_TIMESTAMP)", Params: []any{1}}, {SQL: "INSERT INTO s VALUES (2, NULL)"}})
			if err != nil || len(r.Statements) != 2 {
				t.Fatalf("exec: %+v %v", r, err)
			}
			if _, err := db.Exec(ctx, []sqlfsm.Statement{{SQL: "INSERT INTO s VALUES (3, NULL)"}, {SQL: "INSERT INTO s VALUES (1, NULL)"}}); !errors.Is(err, sqlfsm.ErrSQL) {
				t.Fatalf("duplicate key: %v, want ErrSQL", err)
			}
			if _, err := db.Exec(ctx, []sqlfsm.Statement{{SQL: "INSERT INTO s VALUES (UUID_SHORT(), NULL)"}}); !errors.Is(err, sqlfsm.ErrUnsafe) {
				t.Fatalf("unsafe: %v, want ErrUnsafe", err)
			}
			rows, err := db.Query(ctx, sqlfsm.Strong, "SELECT COUNT(*) FROM s")
			if err != nil || rows.Rows[0][0] != int64(2) {
				t.Fatalf("count = %+v, %v; want 2 (the failed transaction rolled back whole)", rows, err)
			}
			if f.AppliedIndex() != 0 {
				t.Fatalf("solo writes moved the applied index to %d", f.AppliedIndex())
			}
		})
	}
}
