package zone_test

import (
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hashicorp/raft"

	"github.com/oneha/oneha/internal/harness"
	"github.com/oneha/oneha/sqlcheck"
	"github.com/oneha/oneha/zone"
)

// TestRecoveryMarker: the recovered leader deletes the lost servers' rows
// through the log before reconciling (so they are not added back as
// non-voters), and a stale marker (the configuration changed since the
// recovery: a server was re-added under the lost one's ID, name and
// endpoint) deletes nothing. Either way the marker is finished once.
func TestRecoveryMarker(t *testing.T) {
	ctx := harness.Ctx(t, 60*time.Second)
	c := harness.MakeCluster(t, harness.ClusterOptions{N: 1, Dialect: sqlcheck.SQLite, TCP: true})
	s0 := c.WaitForLeader(t, 15*time.Second)
	setup := newManager(t, s0, nil)
	wantErr(t, "EnsureSchema", setup.EnsureSchema(ctx), nil)
	if _, err := setup.AddServer(ctx, 0, "server-0", s0.Endpoint()); err != nil {
		t.Fatal(err)
	}
	lost := zone.Server{ID: 1, Name: "server-1", Endpoint: "http://127.0.0.1:1/RPC2"}
	if _, err := setup.AddServer(ctx, 0, lost.Name, lost.Endpoint); err != nil {
		t.Fatal(err)
	}
	// What `oned recover` leaves behind: the row is listed, raft has only 0.
	if err := s0.Node.RemoveServer(ctx, "1"); err != nil {
		t.Fatal(err)
	}
	z, err := setup.Info(ctx, 0)
	wantErr(t, "Info", err, nil)
	marker := zone.RecoveryFor([]int{0}, z.Servers)
	if !slices.Equal(marker.Servers, []string{"0"}) || len(marker.Removed) != 1 || marker.Removed[0] != lost {
		t.Fatalf("RecoveryFor = %+v", marker)
	}

	var done atomic.Int32
	withMarker := func(c *zone.Config) {
		r := marker
		c.Recovery, c.RecoveryDone = &r, func() error { done.Add(1); return nil }
	}
	m := newManager(t, s0, nil, withMarker)
	run(t, m)
	deadline := time.Now().Add(10 * time.Second)
	for m.RecoveryPending() {
		if time.Now().After(deadline) {
			t.Fatal("recovery marker never finished")
		}
		time.Sleep(20 * time.Millisecond)
	}
	z, err = m.Info(ctx, 0)
	if err != nil || !slices.Equal(serverIDs(z), []int{0}) || done.Load() != 1 {
		t.Fatalf("after recovery: servers %v (%v), done %d; want [0], done once", serverIDs(z), err, done.Load())
	}
	waitConf(t, s0.Node, map[string]raft.ServerSuffrage{"0": V}, time.Second)

	// The same server is added again (same ID, name, endpoint): a stale
	// copy of the marker must leave it alone.
	if id, err := m.AddServer(ctx, 0, lost.Name, lost.Endpoint); err != nil || id != 1 {
		t.Fatalf("re-add = %d, %v", id, err)
	}
	stale := newManager(t, s0, nil, withMarker)
	run(t, stale)
	for stale.RecoveryPending() {
		if time.Now().After(deadline) {
			t.Fatal("stale recovery marker never finished")
		}
		time.Sleep(20 * time.Millisecond)
	}
	z, err = stale.Info(ctx, 0)
	if err != nil || !slices.Equal(serverIDs(z), []int{0, 1}) || done.Load() != 2 {
		t.Fatalf("after a stale marker: servers %v (%v), done %d; want [0 1] kept", serverIDs(z), err, done.Load())
	}
}
