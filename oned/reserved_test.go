package oned_test

import (
	"strings"
	"testing"
	"time"

	"github.com/oneha/oneha/internal/harness"
	"github.com/oneha/oneha/xmlrpc"
)

// TestClientCannotWriteOneHATables: one.sql.exec statements that name
// OneHA's own tables (the applied index, the zone tables) are refused on
// the leader and on a follower with an error naming the table, a batch
// holding one is refused whole, and the zone keeps applying writes on
// every server afterwards with its zone table intact.
func TestClientCannotWriteOneHATables(t *testing.T) {
	t.Parallel()
	z := harness.NewProcZone(t, harness.ZoneOptions{N: 3})
	z.FormZone()
	leader := z.Leader(20 * time.Second)
	seedRows(t, leader, 5)
	f := followers(z, leader)[0]

	for _, c := range []struct {
		sql   string
		table string
	}{
		{"DROP TABLE oneha_applied", "oneha_applied"},
		{"DELETE FROM oneha_applied", "oneha_applied"},
		{"UPDATE `Oneha_Applied` SET applied_index = 99999999 WHERE id = 1", "oneha_applied"},
		{"DELETE FROM oneha_server", "oneha_server"},
		{"UPDATE oneha_server SET endpoint = 'http://127.0.0.9:2633'", "oneha_server"},
		{"UPDATE oneha_leader_history SET reason = 'forged'", "oneha_leader_history"},
		{"DELETE FROM oneha_leader_history", "oneha_leader_history"},
		{"DELETE FROM oneha_requests", "oneha_requests"}, // would make retries apply again
	} {
		for _, o := range []*harness.Oned{leader, f} {
			e := callFails(t, o, "one.sql.exec", []any{c.sql})
			if e.Code != xmlrpc.ActionError || !strings.Contains(e.Message, c.table) || !strings.Contains(e.Message, "OneHA's own table") {
				t.Errorf("server %d %q: %v, want an action error naming %s", o.ID, c.sql, e, c.table)
			}
		}
	}
	// The whole batch is refused: its harmless first statement is not applied.
	callFails(t, leader, "one.sql.exec", []any{
		[]any{"INSERT INTO vm (id, name) VALUES (?, 'x')", int64(100)},
		"DROP TABLE oneha_applied",
	})

	call(t, leader, "one.sql.exec", []any{[]any{"INSERT INTO vm (id, name) VALUES (?, 'x')", int64(5)}})
	for _, o := range z.Servers {
		waitCount(t, o, 6, 20*time.Second, "the zone stopped applying after refused writes to its own tables")
	}
	v := call(t, leader, "one.sql.query", "SELECT COUNT(*) FROM oneha_server", []any{}, "strong")
	if n := v.(map[string]any)["ROWS"].([]any)[0].([]any)[0].(int64); n != 3 {
		t.Errorf("zone table has %d servers after refused writes, want 3", n)
	}
}
