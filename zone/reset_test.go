package zone_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/raft"

	"github.com/oneha/oneha/internal/harness"
	"github.com/oneha/oneha/sqlfsm"
	"github.com/oneha/oneha/zone"
)

// TestResetTokenIsSingleUse: the token a leader issues for server-reset is
// accepted by the target's own replicated copy exactly while the leader
// holds it out; afterwards (the leader deletes the row once the target
// accepted) the same token is refused, and so is any other token or a
// token checked on another server.
func TestResetTokenIsSingleUse(t *testing.T) {
	ctx := harness.Ctx(t, 90*time.Second)
	c, s0, fl := soloLeader(t)
	var (
		target *zone.Manager
		seen   string
		seenAt uint64
	)
	m := newManager(t, s0, fl, promoteAfter(300*time.Millisecond), func(cfg *zone.Config) {
		cfg.Resync = func(ctx context.Context, endpoint, token string, index uint64) error {
			seen, seenAt = token, index
			if got := suffrage(t, s0.Node); got["1"] != N {
				t.Errorf("server 1 asked to wipe itself while %v, want a non-voter first", got)
			}
			if len(token) != 32 || strings.Trim(token, "0123456789abcdef") != "" {
				t.Errorf("token is not 128-bit hex: %d chars", len(token))
			}
			return target.CheckResetToken(ctx, token, index)
		}
	})
	run(t, m)
	var joiners []*harness.Server
	for i := 1; i <= 2; i++ {
		s := c.StartJoiner(t)
		fl.up(s)
		joiners = append(joiners, s)
		if _, err := m.AddServer(ctx, 0, "server-"+string(rune('0'+i)), s.Endpoint()); err != nil {
			t.Fatalf("AddServer %d: %v", i, err)
		}
		want := map[string]raft.ServerSuffrage{"0": V, "1": V}
		if i == 2 {
			want["2"] = V
		}
		waitConf(t, s0.Node, want, 20*time.Second)
	}
	target = newManager(t, joiners[0], nil)
	other := newManager(t, joiners[1], nil)

	wantErr(t, "ResetServer 1", m.ResetServer(ctx, 0, 1), nil)
	if seen == "" {
		t.Fatal("ResetServer did not call Resync")
	}
	// The row is gone on the leader and, once applied, on the target.
	rows, err := s0.SQL.Query(ctx, sqlfsm.Stale, "SELECT COUNT(*) FROM "+zone.ResetTable)
	if err != nil || rows.Rows[0][0] != int64(0) {
		t.Fatalf("reset rows on the leader after the reset: %v, %v; want 0", rows, err)
	}
	after := s0.FSM.AppliedIndex()
	wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	wantErr(t, "replayed token", target.CheckResetToken(wctx, seen, after), zone.ErrResetRefused)
	wantErr(t, "token on another server", other.CheckResetToken(wctx, seen, seenAt), zone.ErrResetRefused)
	wantErr(t, "garbage token", target.CheckResetToken(wctx, strings.Repeat("0", 32), 0), zone.ErrResetRefused)
	wantErr(t, "no token", target.CheckResetToken(wctx, "", 0), zone.ErrResetRefused)

	// A target that refuses keeps its data and stays in the zone as a
	// non-voter, promoted again once caught up.
	waitConf(t, s0.Node, map[string]raft.ServerSuffrage{"0": V, "1": V, "2": V}, 20*time.Second)
	m2 := newManager(t, s0, fl, func(cfg *zone.Config) {
		cfg.Resync = func(context.Context, string, string, uint64) error { return errors.New("refused") }
	})
	if err := m2.ResetServer(ctx, 0, 2); err == nil || !strings.Contains(err.Error(), "did not accept") {
		t.Fatalf("ResetServer with a refusing target: %v", err)
	}
	rows, err = s0.SQL.Query(ctx, sqlfsm.Stale, "SELECT COUNT(*) FROM "+zone.ResetTable)
	if err != nil || rows.Rows[0][0] != int64(0) {
		t.Fatalf("reset rows on the leader after a refused reset: %v, %v; want 0", rows, err)
	}
	waitConf(t, s0.Node, map[string]raft.ServerSuffrage{"0": V, "1": V, "2": V}, 20*time.Second)
}

// TestExpiredResetTokensAreDeleted: the leader deletes token rows past
// their expiry (e.g. left by a leader that crashed mid-reset) through the
// log; a row still valid stays.
func TestExpiredResetTokensAreDeleted(t *testing.T) {
	ctx := harness.Ctx(t, 30*time.Second)
	_, s0, fl := soloLeader(t)
	m := newManager(t, s0, fl)
	wantErr(t, "EnsureSchema", m.EnsureSchema(ctx), nil)
	future := time.Now().Add(time.Hour).Unix()
	if _, err := s0.SQL.Exec(ctx, []sqlfsm.Statement{
		{SQL: "INSERT INTO " + zone.ResetTable + " (zone_id, server_id, token_sha256, expires_unix) VALUES (0, 5, 'x', 1)"},
		{SQL: "INSERT INTO " + zone.ResetTable + " (zone_id, server_id, token_sha256, expires_unix) VALUES (0, 6, 'y', ?)", Params: []any{future}},
	}); err != nil {
		t.Fatal(err)
	}
	run(t, m)
	deadline := time.Now().Add(10 * time.Second)
	for {
		rows, err := s0.SQL.Query(ctx, sqlfsm.Stale, "SELECT server_id FROM "+zone.ResetTable+" ORDER BY server_id")
		if err != nil {
			t.Fatal(err)
		}
		if len(rows.Rows) == 1 && rows.Rows[0][0] == int64(6) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("token rows %v, want only server 6's (unexpired)", rows.Rows)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
