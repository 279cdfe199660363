package zone_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hashicorp/raft"

	"github.com/oneha/oneha/internal/harness"
	"github.com/oneha/oneha/zone"
)

// TestPromotionRule: a non-voter is promoted only when its LOG_INDEX is
// within MaxLag of the leader's commit index continuously for PromoteAfter;
// an unreachable or lagging server stays a non-voter.
func TestPromotionRule(t *testing.T) {
	ctx := harness.Ctx(t, 60*time.Second)
	c, s0, fl := soloLeader(t)
	s1 := c.StartJoiner(t)
	fl.up(s1)
	var mode atomic.Value // "down", "behind" or "real"
	mode.Store("down")
	status := func(ctx context.Context, endpoint string) (zone.RemoteStatus, error) {
		switch mode.Load().(string) {
		case "down":
			return zone.RemoteStatus{}, errors.New("connection refused")
		case "behind":
			st, err := fl.status(ctx, endpoint)
			st.LogIndex = 0
			return st, err
		}
		return fl.status(ctx, endpoint)
	}
	m := newManager(t, s0, nil, func(c *zone.Config) {
		c.Status = status
		c.PromoteAfter = 200 * time.Millisecond
		c.MaxLag = 1
	})
	run(t, m)
	if id, err := m.AddServer(ctx, 0, "server-1", s1.Endpoint()); err != nil || id != 1 {
		t.Fatalf("AddServer = %d, %v", id, err)
	}
	steps := []struct {
		mode string
		want raft.ServerSuffrage
	}{
		{"down", N},
		{"behind", N},
		{"real", V},
	}
	for _, st := range steps {
		mode.Store(st.mode)
		if st.want == N {
			time.Sleep(600 * time.Millisecond) // three PromoteAfter periods
			waitConf(t, s0.Node, map[string]raft.ServerSuffrage{"0": V, "1": N}, time.Second)
			continue
		}
		waitConf(t, s0.Node, map[string]raft.ServerSuffrage{"0": V, "1": st.want}, 10*time.Second)
	}
}
