package zone_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hashicorp/raft"

	"github.com/oneha/oneha/internal/harness"
	"github.com/oneha/oneha/raftlog"
	"github.com/oneha/oneha/sqlfsm"
	"github.com/oneha/oneha/zone"
)

// TestPromotionRule: a non-voter is promoted only when its LOG_INDEX is
// within MaxLag of the leader's commit index AND at or above the leader's
// snapshot index, continuously for PromoteAfter; an unreachable or lagging
// server, or one still below the snapshot (restoring it: its database has
// none of that data however few entries it seems to lag), stays a
// non-voter.
func TestPromotionRule(t *testing.T) {
	ctx := harness.Ctx(t, 60*time.Second)
	c, s0, fl := soloLeader(t)
	const maxLag = 8
	write := func(n int) {
		t.Helper()
		for i := 0; i < n; i++ {
			if _, err := s0.SQL.Exec(ctx, []sqlfsm.Statement{{SQL: "UPDATE " + zone.ZoneTable + " SET name = name WHERE id = 0"}}); err != nil {
				t.Fatal(err)
			}
		}
	}
	s1 := c.StartJoiner(t)
	fl.up(s1)
	var (
		mode atomic.Value // one of the steps' modes
		snap atomic.Uint64
	)
	mode.Store("down")
	status := func(ctx context.Context, endpoint string) (zone.RemoteStatus, error) {
		m := mode.Load().(string)
		if m == "down" {
			return zone.RemoteStatus{}, errors.New("connection refused")
		}
		st, err := fl.status(ctx, endpoint)
		switch m {
		case "lagging": // more than maxLag behind
			st.LogIndex = stats(t, s0).CommitIndex - maxLag - 1
		case "below snapshot": // within maxLag, below the snapshot
			st.LogIndex = snap.Load() - 1
		}
		return st, err
	}
	m := newManager(t, s0, nil, func(c *zone.Config) {
		c.Status = status
		c.PromoteAfter = 200 * time.Millisecond
		c.MaxLag = maxLag
	})
	run(t, m)
	if id, err := m.AddServer(ctx, 0, "server-1", s1.Endpoint()); err != nil || id != 1 {
		t.Fatalf("AddServer = %d, %v", id, err)
	}
	for _, st := range []struct {
		mode  string
		setup func()
		want  raft.ServerSuffrage
	}{
		{"down", func() {}, N},
		{"lagging", func() { write(2 * maxLag) }, N},
		{"below snapshot", func() {
			if err := s0.Node.Snapshot(ctx); err != nil {
				t.Fatal(err)
			}
			idx, err := s0.Node.SnapshotIndex()
			if err != nil {
				t.Fatal(err)
			}
			snap.Store(idx)
			write(1)
			if c, s := stats(t, s0).CommitIndex, snap.Load(); s == 0 || c-(s-1) > maxLag {
				t.Fatalf("setup: commit %d, snapshot %d: not within maxLag %d", c, s, maxLag)
			}
		}, N},
		{"real", func() {}, V},
	} {
		st.setup()
		mode.Store(st.mode)
		if st.want == N {
			time.Sleep(600 * time.Millisecond) // three PromoteAfter periods
			waitConf(t, s0.Node, map[string]raft.ServerSuffrage{"0": V, "1": N}, time.Second)
			continue
		}
		waitConf(t, s0.Node, map[string]raft.ServerSuffrage{"0": V, "1": st.want}, 10*time.Second)
	}
}

func stats(t *testing.T, s *harness.Server) raftlog.Status {
	t.Helper()
	st, err := s.Node.Stats(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return st
}
