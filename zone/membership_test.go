package zone_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/raft"

	"github.com/oneha/oneha/internal/harness"
	"github.com/oneha/oneha/sqlfsm"
	"github.com/oneha/oneha/zone"
)

// soloLeader is a one-server TCP zone whose leader registered itself.
func soloLeader(t *testing.T) (*harness.Cluster, *harness.Server, *fleet) {
	t.Helper()
	ctx := harness.Ctx(t, 30*time.Second)
	c := harness.MakeCluster(t, harness.ClusterOptions{N: 1, TCP: true})
	s0 := c.WaitForLeader(t, 15*time.Second)
	m := newManager(t, s0, nil)
	wantErr(t, "EnsureSchema", m.EnsureSchema(ctx), nil)
	if id, err := m.AddServer(ctx, 0, "server-0", s0.Endpoint()); err != nil || id != 0 {
		t.Fatalf("register leader = %d, %v", id, err)
	}
	return c, s0, newFleet(s0)
}

// TestJoinInProgress: a server added but never started stays a non-voter;
// further adds (and resets of others) are refused naming it until it is
// deleted.
func TestJoinInProgress(t *testing.T) {
	ctx := harness.Ctx(t, 60*time.Second)
	_, s0, fl := soloLeader(t)
	m := newManager(t, s0, fl)
	run(t, m)
	id, err := m.AddServer(ctx, 0, "never-started", "http://127.0.0.1:1/RPC2")
	if err != nil || id != 1 {
		t.Fatalf("AddServer = %d, %v", id, err)
	}
	time.Sleep(500 * time.Millisecond) // several promotion ticks: unreachable, never promoted
	waitConf(t, s0.Node, map[string]raft.ServerSuffrage{"0": V, "1": N}, time.Second)
	_, err = m.AddServer(ctx, 0, "second", "http://127.0.0.1:2/RPC2")
	if !errors.Is(err, zone.ErrJoinInProgress) || !strings.Contains(err.Error(), "server 1 (never-started") {
		t.Fatalf("second AddServer: %v, want ErrJoinInProgress naming server 1", err)
	}
	wantErr(t, "ResetServer 0", m.ResetServer(ctx, 0, 0), zone.ErrSelf)
	wantErr(t, "ResetServer 9", m.ResetServer(ctx, 0, 9), zone.ErrNoSuchServer)
	wantErr(t, "DelServer 1", m.DelServer(ctx, 0, 1), nil)
	waitConf(t, s0.Node, map[string]raft.ServerSuffrage{"0": V}, time.Second)
	if id, err := m.AddServer(ctx, 0, "second", "http://127.0.0.1:2/RPC2"); err != nil || id != 1 {
		t.Fatalf("AddServer after delete = %d, %v", id, err)
	}
}

// TestReconcileAfterCrash: the leader crashed after writing a server's row
// but before adding it to Raft. After the restart the new leader's Run adds
// it as a non-voter and promotes it once caught up; a Raft member missing
// from the table is removed.
func TestReconcileAfterCrash(t *testing.T) {
	ctx := harness.Ctx(t, 60*time.Second)
	c, s0, fl := soloLeader(t)
	s1 := c.StartJoiner(t)
	// The row as AddServer writes it, without the AddNonvoter that follows.
	if _, err := s0.SQL.Exec(ctx, []sqlfsm.Statement{{
		SQL:    "INSERT INTO oneha_server (zone_id, id, name, endpoint) VALUES (?, ?, ?, ?)",
		Params: []any{0, 1, "server-1", s1.Endpoint()},
	}}); err != nil {
		t.Fatal(err)
	}
	c.Crash(t, s0)
	c.Restart(t, s0)
	c.WaitForLeader(t, 15*time.Second)
	waitConf(t, s0.Node, map[string]raft.ServerSuffrage{"0": V}, time.Second)

	fl = newFleet(s0, s1)
	m := newManager(t, s0, fl)
	run(t, m)
	waitConf(t, s0.Node, map[string]raft.ServerSuffrage{"0": V, "1": V}, 20*time.Second)

	// The other direction: a member raft has but the table does not.
	if err := s0.Node.AddNonvoter(ctx, "7", "127.0.0.1:1"); err != nil {
		t.Fatal(err)
	}
	waitConf(t, s0.Node, map[string]raft.ServerSuffrage{"0": V, "1": V}, 5*time.Second)
	c.Converge(t, 30*time.Second)
}

// TestResetServer: a reset demotes the server to a non-voter (the leader
// forgets its progress and re-probes its log), and Run promotes it again
// once it is caught up; the data stays identical.
func TestResetServer(t *testing.T) {
	ctx := harness.Ctx(t, 90*time.Second)
	c, s0, fl := soloLeader(t)
	m := newManager(t, s0, fl, promoteAfter(time.Second))
	run(t, m)
	s1 := c.StartJoiner(t)
	fl.up(s1)
	if id, err := m.AddServer(ctx, 0, "server-1", s1.Endpoint()); err != nil || id != 1 {
		t.Fatalf("AddServer = %d, %v", id, err)
	}
	waitConf(t, s0.Node, map[string]raft.ServerSuffrage{"0": V, "1": V}, 20*time.Second)
	// Two servers: resetting one leaves a single up-to-date copy of two.
	wantErr(t, "ResetServer 1 of 2", m.ResetServer(ctx, 0, 1), zone.ErrNotUpToDate)
	s2 := c.StartJoiner(t)
	fl.up(s2)
	if id, err := m.AddServer(ctx, 0, "server-2", s2.Endpoint()); err != nil || id != 2 {
		t.Fatalf("AddServer = %d, %v", id, err)
	}
	waitConf(t, s0.Node, map[string]raft.ServerSuffrage{"0": V, "1": V, "2": V}, 20*time.Second)

	wantErr(t, "ResetServer 1", m.ResetServer(ctx, 0, 1), nil)
	if got := suffrage(t, s0.Node); got["1"] != N {
		t.Fatalf("after reset: configuration %v, want 1 as non-voter", got)
	}
	for i := 0; i < 10; i++ {
		if _, err := s0.SQL.Exec(ctx, []sqlfsm.Statement{{SQL: "INSERT INTO oneha_zone (id, name, state, endpoint) VALUES (?, 'z', 0, 'http://z:1/RPC2')", Params: []any{100 + i}}}); err != nil {
			t.Fatal(err)
		}
	}
	waitConf(t, s0.Node, map[string]raft.ServerSuffrage{"0": V, "1": V, "2": V}, 20*time.Second)
	c.Converge(t, 30*time.Second)
	pool, err := newManager(t, s1, nil).Pool(ctx)
	if err != nil || len(pool) != 11 {
		t.Fatalf("Pool on the reset server: %d zones, %v; want 11", len(pool), err)
	}
}

// TestResetRefusedWhileAnotherCatchesUp: after server 1's reset, while it
// cannot catch up (unreachable), resetting server 2 would leave only the
// leader up to date of three: refused, naming server 1. Once 1 is back and
// promoted, the reset of 2 is allowed.
func TestResetRefusedWhileAnotherCatchesUp(t *testing.T) {
	ctx := harness.Ctx(t, 90*time.Second)
	c, s0, fl := soloLeader(t)
	m := newManager(t, s0, fl, promoteAfter(300*time.Millisecond))
	run(t, m)
	s1 := c.StartJoiner(t)
	fl.up(s1)
	if _, err := m.AddServer(ctx, 0, "server-1", s1.Endpoint()); err != nil {
		t.Fatalf("AddServer 1: %v", err)
	}
	waitConf(t, s0.Node, map[string]raft.ServerSuffrage{"0": V, "1": V}, 20*time.Second)
	s2 := c.StartJoiner(t)
	fl.up(s2)
	if _, err := m.AddServer(ctx, 0, "server-2", s2.Endpoint()); err != nil {
		t.Fatalf("AddServer 2: %v", err)
	}
	waitConf(t, s0.Node, map[string]raft.ServerSuffrage{"0": V, "1": V, "2": V}, 20*time.Second)

	fl.down(s1) // its status stops answering: it cannot be seen caught up
	wantErr(t, "ResetServer 1", m.ResetServer(ctx, 0, 1), nil)
	err := m.ResetServer(ctx, 0, 2)
	wantErr(t, "ResetServer 2 while 1 catches up", err, zone.ErrNotUpToDate)
	if !strings.Contains(err.Error(), "server 1 (server-1") {
		t.Fatalf("refusal does not name server 1: %v", err)
	}
	if got := suffrage(t, s0.Node); got["2"] != V {
		t.Fatalf("refused reset changed server 2: configuration %v", got)
	}
	fl.up(s1)
	waitConf(t, s0.Node, map[string]raft.ServerSuffrage{"0": V, "1": V, "2": V}, 20*time.Second)
	wantErr(t, "ResetServer 2 once 1 caught up", m.ResetServer(ctx, 0, 2), nil)
}
