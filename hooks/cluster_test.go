package hooks

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/oneha/oneha/internal/harness"
)

// TestClusterLeadershipDrivesHooks runs a Runner on every server of a real
// in-memory raft cluster: the leader's runner acquires, a crashed leader's
// runner releases and the new leader's acquires, and a partitioned leader's
// runner releases once raft steps it down for lease loss (I6).
func TestClusterLeadershipDrivesHooks(t *testing.T) {
	c := harness.MakeCluster(t, harness.ClusterOptions{N: 3})
	fixtures := make(map[string]*fixture)
	for _, s := range c.Servers {
		f := newFixture(t, nil)
		fixtures[s.ID] = f
		ch, unsubscribe := s.Node.Subscribe()
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() {
			defer close(done)
			f.r.Run(ctx, ch)
		}()
		t.Cleanup(func() { cancel(); unsubscribe(); <-done }) // before the cluster's shutdown
	}
	holders := func() []string {
		var ids []string
		for _, s := range c.Servers {
			if fixtures[s.ID].r.Role() == Leader {
				ids = append(ids, s.ID)
			}
		}
		return ids
	}
	waitHolder := func(id string) {
		t.Helper()
		waitFor(t, 10*time.Second, func() bool { return slices.Equal(holders(), []string{id}) },
			func() string { return fmt.Sprintf("runners in leader role %v, want [%s]", holders(), id) })
	}

	l1 := c.WaitForLeader(t, 10*time.Second)
	waitHolder(l1.ID)
	f1 := fixtures[l1.ID]
	if got := f1.ev.lines(); !slices.Equal(got, []string{vipRel, fHook, vipAcq, lHook}) {
		t.Fatalf("first leader's events %q", got)
	}

	// Crash the leader: its transitions end with Shutdown (its runner
	// releases, as systemd's ExecStopPost would) and the new leader's
	// runner acquires.
	c.Crash(t, l1)
	l2 := c.WaitForLeader(t, 10*time.Second)
	waitHolder(l2.ID)
	waitRole(t, f1.r, Follower, 10*time.Second)
	if got := f1.ev.lines(); !slices.Equal(got, []string{vipRel, fHook, vipAcq, lHook, vipRel, fHook}) {
		t.Errorf("crashed leader's events %q", got)
	}

	// Partition the new leader: raft steps it down when its lease runs
	// out, so its runner releases within a few election timeouts.
	f2 := fixtures[l2.ID]
	n := len(f2.ev.lines())
	cut := time.Now()
	c.Partition(t, l2)
	waitRole(t, f2.r, Follower, 5*time.Second)
	t.Logf("partitioned leader released after %v", time.Since(cut))
	if got := f2.ev.waitLines(t, n+2)[n:]; !slices.Equal(got, []string{vipRel, fHook}) {
		t.Errorf("partitioned leader's events after the cut %q", got)
	}
	if h := holders(); len(h) != 0 {
		t.Errorf("runners in leader role after partition: %v", h)
	}

	// Heal: a leader emerges again and exactly one runner holds the role.
	c.Heal(t)
	l3 := c.WaitForLeader(t, 10*time.Second)
	waitHolder(l3.ID)
}
