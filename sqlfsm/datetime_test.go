package sqlfsm_test

import (
	"context"
	"testing"
	"time"

	"github.com/oneha/oneha/internal/harness"
	"github.com/oneha/oneha/sqlfsm"
)

// TestTimeParamsAreSQLDatetimes: a time.Time parameter (XML-RPC
// dateTime.iso8601) is bound as 'YYYY-MM-DD HH:MM:SS[.ffffff]' UTC, so it
// compares with DATETIME columns, in writes and in reads, on both backends;
// DATETIME results read back as the same text on both.
func TestTimeParamsAreSQLDatetimes(t *testing.T) {
	for _, be := range harness.Backends {
		t.Run(be.Name, func(t *testing.T) {
			local := harness.OpenLocal(t, be.Dialect, nil, be.Fast)
			f := newFSM(t, local, nil)
			db := sqlfsm.NewDB(f, sqlfsm.NewSolo(f))
			ctx := context.Background()
			if _, err := db.Exec(ctx, []sqlfsm.Statement{{SQL: "CREATE TABLE d (id INT PRIMARY KEY, at DATETIME, at6 DATETIME(6))"}}); err != nil {
				t.Fatal(err)
			}
			// A non-UTC zone: the bound text must not depend on it.
			east := time.FixedZone("east", 2*3600)
			whole := time.Date(2026, 1, 1, 2, 0, 0, 0, east) // 2026-01-01 00:00:00 UTC
			frac := time.Date(2026, 1, 1, 0, 0, 1, 500000000, time.UTC)
			if _, err := db.Exec(ctx, []sqlfsm.Statement{
				{SQL: "INSERT INTO d VALUES (?, ?, ?)", Params: []any{1, whole, frac}},
				{SQL: "INSERT INTO d VALUES (2, '2025-12-31 23:59:59', '2025-12-31 23:59:59')"},
			}); err != nil {
				t.Fatal(err)
			}
			rows, err := db.Query(ctx, sqlfsm.Strong, "SELECT id, at, at6 FROM d WHERE at >= ? AND at6 = ? ORDER BY id", whole, frac)
			if err != nil {
				t.Fatal(err)
			}
			if len(rows.Rows) != 1 || rows.Rows[0][0] != int64(1) {
				t.Fatalf("rows matching the dateTime parameters = %v, want only id 1", rows.Rows)
			}
			if got := rows.Rows[0][1]; got != "2026-01-01 00:00:00" {
				t.Fatalf("DATETIME reads back %#v, want '2026-01-01 00:00:00'", got)
			}
			if got := rows.Rows[0][2]; got != "2026-01-01 00:00:01.5" {
				t.Fatalf("DATETIME(6) reads back %#v, want '2026-01-01 00:00:01.5'", got)
			}
			// The written text itself compares with a literal.
			rows, err = db.Query(ctx, sqlfsm.Strong, "SELECT COUNT(*) FROM d WHERE at = '2026-01-01 00:00:00'")
			if err != nil || rows.Rows[0][0] != int64(1) {
				t.Fatalf("literal comparison: %v, %v; want 1", rows, err)
			}
		})
	}
}
