package raftlog

import (
	"context"
	"net"
	"testing"
	"time"

	"github.com/hashicorp/raft"
)

// longTimeout is a heartbeat and election timeout no test waits out: a
// leader elected within it was elected by the death watch.
const longTimeout = 60 * time.Second

// slowTimeouts gives every node of c (once it has a leader) heartbeat and
// election timeouts of longTimeout, so that only the death watch can start
// an election during the test.
func slowTimeouts(t *testing.T, c *testCluster) {
	t.Helper()
	for i, n := range c.nodes {
		rc := n.raft.ReloadableConfig()
		rc.HeartbeatTimeout, rc.ElectionTimeout = longTimeout, longTimeout
		if err := n.raft.ReloadConfig(rc); err != nil {
			t.Fatalf("node %d: reload config: %v", i, err)
		}
	}
}

// slowTCPCluster starts 3 nodes over TCP, applies first on the leader and
// gives every node the long timeouts; it returns the leader and its term.
func slowTCPCluster(t *testing.T, first string) (*testCluster, int, uint64) {
	t.Helper()
	return slowTCPClusterOf(t, 3, first)
}

// slowTCPClusterOf is slowTCPCluster with n nodes.
func slowTCPClusterOf(t *testing.T, n int, first string) (*testCluster, int, uint64) {
	t.Helper()
	return slowTCPClusterWith(t, clusterOpts{n: n, tcp: true}, first)
}

// slowTCPClusterWith is slowTCPCluster with opts (tcp must be set).
func slowTCPClusterWith(t *testing.T, opts clusterOpts, first string) (*testCluster, int, uint64) {
	t.Helper()
	c := MakeCluster(t, opts)
	leader := c.WaitReadyLeader(10 * time.Second)
	mustApply(t, c.nodes[leader], first)
	slowTimeouts(t, c)
	return c, leader, c.nodes[leader].raft.CurrentTerm()
}

// killProcess does to node i what the death of its process does: its port
// refuses connections and every connection it had is closed, then raft
// stops (no leadership transfer).
func killProcess(t *testing.T, c *testCluster, i int) {
	t.Helper()
	_ = c.muxes[i].Close()
	c.dials[i].kill()
	c.Crash(i)
}

// TestDeadLeaderProcessIsReplacedWithoutItsHeartbeatTimeout, with
// COMMIT_TIMEOUT_MS 5 and 50 (the default), where the survivors' last
// contacts with the leader differ by up to 100 ms (deathWait).
func TestDeadLeaderProcessIsReplacedWithoutItsHeartbeatTimeout(t *testing.T) {
	for _, ct := range []time.Duration{5 * time.Millisecond, 50 * time.Millisecond} {
		t.Run("commit timeout "+ct.String(), func(t *testing.T) {
			deadLeaderIsReplaced(t, clusterOpts{n: 3, tcp: true, configure: func(c *Config) { c.CommitTimeout = ct }})
		})
	}
}

func deadLeaderIsReplaced(t *testing.T, opts clusterOpts) {
	c, old, term := slowTCPClusterWith(t, opts, "before")

	killProcess(t, c, old)
	var next int
	ok := waitUntil(longTimeout/2, func() bool {
		for i, n := range c.nodes {
			if i != old && n.raft.State() == raft.Leader && n.raft.CurrentTerm() > term {
				next = i
				return true
			}
		}
		return false
	})
	if !ok {
		for i, n := range c.nodes {
			if i != old {
				t.Logf("node %d: %v in term %d (old term %d), death watch %+v", i, n.raft.State(), n.raft.CurrentTerm(), term, n.DeathWatch())
			}
		}
		t.Fatalf("no new leader within %v after the leader's process died", longTimeout/2)
	}
	var elections uint64
	for i, n := range c.nodes {
		if i != old {
			elections += n.DeathWatch().Elections
		}
	}
	t.Logf("elections started by death watches: %d", elections)
	if elections == 0 {
		t.Fatalf("leader %d elected in term %d, but no death watch started an election", next, c.nodes[next].raft.CurrentTerm())
	}
	if c.nodes[next].ElectedByTransfer(c.nodes[next].raft.CurrentTerm()) {
		t.Fatal("an election after the leader's death counts as a leadership transfer")
	}
	// Under heavy load a later voter may still start one more election
	// (its turn came before the winner's first heartbeat): write to
	// whichever survivor leads.
	var got []string
	waitFor(t, longTimeout/2, "a write accepted by the new leader", func() bool {
		for i, n := range c.nodes {
			if i == old || n.raft.State() != raft.Leader {
				continue
			}
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			_, err := n.Apply(ctx, []byte("after"))
			cancel()
			if err == nil {
				got = c.fsms[i].Entries()
				return true
			}
		}
		return false
	})
	if len(got) < 2 || got[0] != "before" || got[len(got)-1] != "after" {
		t.Fatalf("new leader's FSM holds %q, want before ... after", got)
	}
}

// TestSurvivorAheadOfTheFirstInTurnDoesNotWaitOutItsElection: the first
// survivor in turn missed the leader's last entry, so the other refuses it
// its vote; that refusal shows the election cannot win, and the other
// starts its own in its turn instead of an election timeout later.
func TestSurvivorAheadOfTheFirstInTurnDoesNotWaitOutItsElection(t *testing.T) {
	c, old, term := slowTCPCluster(t, "before")
	first, second := -1, -1
	for i := range c.nodes { // turns go in ID order; IDs are "0", "1", "2"
		if i == old {
			continue
		}
		if first < 0 {
			first = i
		} else {
			second = i
		}
	}
	c.dials[old].stall(c.addrs[first]) // the first in turn hears nothing more
	t.Cleanup(c.dials[old].kill)       // before the cluster's Close, if the test ends early
	mustApply(t, c.nodes[old], "last") // committed by the leader and the second
	waitFor(t, 10*time.Second, "the second in turn to hold the last entry", func() bool {
		return c.nodes[second].raft.LastIndex() > c.nodes[first].raft.LastIndex()
	})

	t.Logf("at the kill: last index %d on the first in turn, %d on the second", c.nodes[first].raft.LastIndex(), c.nodes[second].raft.LastIndex())
	killProcess(t, c, old)
	start := time.Now()
	if !waitUntil(longTimeout/2, func() bool {
		return c.nodes[second].raft.State() == raft.Leader && c.nodes[second].raft.CurrentTerm() > term
	}) {
		for _, i := range []int{first, second} {
			n := c.nodes[i]
			t.Logf("node %d: %v in term %d (old term %d), last index %d, death watch %+v", i, n.raft.State(), n.raft.CurrentTerm(), term, n.raft.LastIndex(), n.DeathWatch())
		}
		t.Fatalf("the second in turn does not lead %v after the kill", longTimeout/2)
	}
	t.Logf("second in turn elected %v after the kill", time.Since(start))
	if st := c.nodes[first].DeathWatch(); st.Elections != 1 {
		t.Errorf("first in turn: death watch %+v, want the one election it could not win", st)
	}
	if st := c.nodes[second].DeathWatch(); st.Elections != 1 || st.Overtakes != 1 {
		t.Errorf("second in turn: death watch %+v, want one election, started in its turn after refusing the first", st)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := c.nodes[second].Apply(ctx, []byte("after")); err != nil {
		t.Fatalf("write to the new leader: %v", err)
	}
	if got := c.fsms[second].Entries(); got[len(got)-2] != "last" || got[len(got)-1] != "after" {
		t.Fatalf("new leader's FSM holds %q, want ... last, after", got)
	}
}

// TestDeadLeaderIsReplacedWhenTheFirstInTurnIsDeadToo: 5 voters, the
// leader and the survivor whose turn is first both die; the next in turn
// elects after its stagger.
func TestDeadLeaderIsReplacedWhenTheFirstInTurnIsDeadToo(t *testing.T) {
	c, old, term := slowTCPClusterOf(t, 5, "before")
	first := 0
	if old == 0 {
		first = 1
	}
	killProcess(t, c, first)
	killProcess(t, c, old)
	waitFor(t, longTimeout/2, "a new leader after the leader and the first in turn died", func() bool {
		for i, n := range c.nodes {
			if i != old && i != first && n.raft.State() == raft.Leader && n.raft.CurrentTerm() > term {
				return true
			}
		}
		return false
	})
}

// TestLiveLeaderKeepsItsTermWhenItsConnectionsClose: a follower that reads
// EOF from a leader whose port still accepts does nothing.
func TestLiveLeaderKeepsItsTermWhenItsConnectionsClose(t *testing.T) {
	c, leader, term := slowTCPCluster(t, "x")

	c.dials[leader].closeAll() // every follower reads EOF; the port still listens
	waitFor(t, 20*time.Second, "followers probing the leader", func() bool {
		var alive uint64
		for i, n := range c.nodes {
			if i != leader {
				alive += n.DeathWatch().Alive
			}
		}
		return alive > 0
	})
	for i, n := range c.nodes {
		if st := n.DeathWatch(); st.Refused != 0 || st.Elections != 0 {
			t.Errorf("node %d: death watch %+v after a live leader's connections closed", i, st)
		}
		if got := n.raft.CurrentTerm(); got != term {
			t.Errorf("node %d: term %d, want %d", i, got, term)
		}
	}
	if c.nodes[leader].raft.State() != raft.Leader {
		t.Fatal("the leader lost leadership")
	}
	mustApply(t, c.nodes[leader], "y")
}

// TestLeaderStillHeardIsNotReplacedThoughItsPortRefuses: a refused connect
// can lie (a firewall REJECT, a listener closed under a running raft). A
// leader whose entries still reach its followers keeps its term: each
// follower that probed "refused" waits for the leader's lease and spares
// it once it hears from it.
func TestLeaderStillHeardIsNotReplacedThoughItsPortRefuses(t *testing.T) {
	c, leader, term := slowTCPCluster(t, "x")
	stop, done := make(chan struct{}), make(chan struct{})
	go func() { // entries keep reaching the followers
		defer close(done)
		for {
			select {
			case <-stop:
				return
			case <-time.After(10 * time.Millisecond):
			}
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			_, _ = c.nodes[leader].Apply(ctx, []byte("w"))
			cancel()
		}
	}()
	_ = c.lns[leader].Close()  // its port refuses from now on
	c.dials[leader].closeAll() // every follower reads EOF
	decided := func() bool {
		for i, n := range c.nodes {
			if st := n.DeathWatch(); i != leader && (st.Refused == 0 || st.Spared+st.Elections < st.Refused) {
				return false
			}
		}
		return true
	}
	for deadline := time.Now().Add(20 * time.Second); !decided(); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			for i, n := range c.nodes {
				t.Logf("node %d: %v, death watch %+v", i, n.raft.State(), n.DeathWatch())
			}
			t.Fatal("not every follower decided within 20 s after a refused probe")
		}
	}
	close(stop)
	<-done
	for i, n := range c.nodes {
		if st := n.DeathWatch(); st.Elections != 0 {
			t.Errorf("node %d: death watch %+v: started an election against a leader it still heard", i, st)
		}
		if got := n.raft.CurrentTerm(); got != term {
			t.Errorf("node %d: term %d, want %d", i, got, term)
		}
	}
	if c.nodes[leader].raft.State() != raft.Leader {
		t.Fatal("the leader lost leadership")
	}
}

func TestProbeTellsRefusedFromListening(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ctx := context.Background()
	if got := probe(ctx, addr); got != probeAlive {
		t.Fatalf("probe of a listening port: %v, want alive", got)
	}
	ln.Close()
	if dead, got := probeDead(ctx, addr); !dead || got != probeRefused {
		t.Fatalf("probe of a closed port: dead=%v %v, want refused", dead, got)
	}
}

// TestLaterTurnNeverActsWithinAStaggerOfAnEarlierOne: with the default
// timeouts, whatever the two survivors' last contacts with the dead leader
// (up to two commit timeouts before the wake-up, or after it: a message
// processed late) and a few milliseconds between their wake-ups, the
// second in turn becomes ready at least a stagger (less that wake-up skew)
// after the first, neither before its need has passed since its last
// contact, and the stagger is longer than the vote latencies measured
// under load (more than 40 ms: 4 split votes in 331 kills).
func TestLaterTurnNeverActsWithinAStaggerOfAnEarlierOne(t *testing.T) {
	n := &Node{cfg: DefaultConfig().withDefaults()}
	quiet, stagger, commit := n.deathQuiet(), n.deathStagger(), n.cfg.CommitTimeout
	if stagger < 100*time.Millisecond {
		t.Fatalf("stagger %v: a later turn may start within one vote's latency under load", stagger)
	}
	ready := func(lastContact, woke time.Time, turn int) time.Time {
		need := quiet + time.Duration(turn)*stagger
		at := woke.Add(deathWait(woke, lastContact, woke, turn, need))
		if at.Before(lastContact.Add(need)) {
			t.Fatalf("turn %d ready at %v, before its need %v since its last contact", turn, at.Sub(lastContact), need)
		}
		return at
	}
	t0 := time.Unix(1_000_000, 0)
	step := 5 * time.Millisecond
	for lcA := -2 * commit; lcA <= 2*step; lcA += step {
		for lcB := -2 * commit; lcB <= 2*step; lcB += step {
			for _, skew := range []time.Duration{-step, 0, step} {
				a := ready(t0.Add(lcA), t0, 0)
				b := ready(t0.Add(lcB), t0.Add(skew), 1)
				if gap, want := b.Sub(a), stagger-max(skew, -skew)-max(lcA, 0); gap < want {
					t.Fatalf("last contacts %v and %v from the wake-up, wake-up skew %v: second turn %v after the first, want >= %v",
						lcA, lcB, skew, gap, want)
				}
			}
		}
	}
	// The first in turn does not wait for its wake-up: a leader silent for
	// a while before it died is replaced sooner.
	if a := ready(t0.Add(-2*commit), t0, 0); a.Sub(t0) != quiet-2*commit {
		t.Fatalf("first turn ready %v after the wake-up, want %v", a.Sub(t0), quiet-2*commit)
	}
}

// TestOvertakeOnlyWhereTheCandidateNeedsTheVote: a survivor that refused a
// candidate keeps its turn only where that refusal stops the candidate
// (zones of 3 and 4); in a zone of 5 or more the others could still elect
// it.
func TestOvertakeOnlyWhereTheCandidateNeedsTheVote(t *testing.T) {
	for voters, want := range map[int]bool{3: true, 4: true, 5: false, 6: false, 7: false} {
		if got := voteNeeded(voters); got != want {
			t.Errorf("zone of %d voters: vote needed %v, want %v", voters, got, want)
		}
	}
}
