package raftlog

import (
	"context"
	"errors"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/raft"
)

// pauseTransport stands in for a leader process that is paused (SIGSTOP)
// while its AppendEntries are in flight. While paused, the first
// AppendEntries to each peer is delivered (the peer handles and answers it)
// but its answer is held until resume; any further one waits before it is
// sent. On resume the held answers arrive, as a paused process reads them
// from its sockets when it wakes up.
type pauseTransport struct {
	raft.Transport

	mu     sync.Mutex
	paused bool
	held   map[raft.ServerAddress]int // answers held (or reserved) per peer
	resume chan struct{}
}

func newPauseTransport(t raft.Transport) *pauseTransport {
	return &pauseTransport{Transport: t, held: map[raft.ServerAddress]int{}, resume: make(chan struct{})}
}

func (p *pauseTransport) AppendEntries(id raft.ServerID, target raft.ServerAddress, args *raft.AppendEntriesRequest, resp *raft.AppendEntriesResponse) error {
	p.mu.Lock()
	for p.paused && p.held[target] >= 1 {
		ch := p.resume
		p.mu.Unlock()
		<-ch
		p.mu.Lock()
	}
	reserved := p.paused
	if reserved {
		p.held[target]++
	}
	p.mu.Unlock()
	err := p.Transport.AppendEntries(id, target, args, resp)
	p.mu.Lock()
	if reserved || p.paused {
		if !reserved {
			p.held[target]++
		}
		ch := p.resume
		p.mu.Unlock()
		<-ch
		return err
	}
	p.mu.Unlock()
	return err
}

// AppendEntriesPipeline is refused, as NewTransport's transport does: every
// append goes through AppendEntries.
func (p *pauseTransport) AppendEntriesPipeline(raft.ServerID, raft.ServerAddress) (raft.AppendPipeline, error) {
	return nil, raft.ErrPipelineReplicationNotSupported
}

func (p *pauseTransport) RequestPreVote(id raft.ServerID, target raft.ServerAddress, args *raft.RequestPreVoteRequest, resp *raft.RequestPreVoteResponse) error {
	return p.Transport.(raft.WithPreVote).RequestPreVote(id, target, args, resp)
}

func (p *pauseTransport) Close() error { return p.Transport.(raft.WithClose).Close() }

func (p *pauseTransport) pause() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.paused = true
}

// heldFor reports how many answers from target are held.
func (p *pauseTransport) heldFor(target raft.ServerAddress) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.held[target]
}

func (p *pauseTransport) unpause() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.paused {
		p.paused = false
		close(p.resume)
		p.resume = make(chan struct{})
	}
}

// waitFor polls cond every few milliseconds until it holds or timeout.
func waitFor(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	if !waitUntil(timeout, cond) {
		t.Fatalf("timed out after %v waiting for %s", timeout, what)
	}
}

// waitUntil polls cond every few milliseconds and reports whether it held
// before timeout.
func waitUntil(timeout time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(5 * time.Millisecond)
	}
	return true
}

// readIndexIsVerifying reports whether a goroutine is inside ReadIndex,
// waiting for VerifyLeader's answer.
func readIndexIsVerifying() bool {
	buf := make([]byte, 1<<20)
	buf = buf[:runtime.Stack(buf, true)]
	for _, g := range strings.Split(string(buf), "\n\n") {
		if strings.Contains(g, "raftlog.(*Node).ReadIndex") && strings.Contains(g, "raftlog.waitFuture") {
			return true
		}
	}
	return false
}

// TestReadIndexIgnoresAcksSentBeforeTheRead proves the read-index rule
// across a process pause: a leader paused with heartbeats in flight, while
// the others elect a new leader that commits a write, must not serve a
// strong read when it wakes up on the stale answers to those heartbeats.
// (hashicorp/raft's VerifyLeader alone counts them.)
func TestReadIndexIgnoresAcksSentBeforeTheRead(t *testing.T) {
	const slow = "0" // the leader to pause: long timeouts, so its lease outlives the pause
	pts := make([]*pauseTransport, 3)
	c := MakeCluster(t, clusterOpts{n: 3, noBootstrap: true,
		configure: func(cfg *Config) {
			if cfg.ID == slow {
				cfg.ElectionTimeout = 20 * time.Second
				cfg.LeaderLease = 20 * time.Second
			}
		},
		wrap: func(i int, tr raft.Transport) raft.Transport {
			pts[i] = newPauseTransport(tr)
			return pts[i]
		},
	})
	t.Cleanup(func() { // before the cluster's Close (cleanups run last first)
		for _, p := range pts {
			p.unpause()
		}
	})
	for i, n := range c.nodes { // each knows the zone: node 0 would wait out its long timeout
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		err := n.Bootstrap(ctx, c.Servers())
		cancel()
		if err != nil {
			t.Fatalf("bootstrap node %d: %v", i, err)
		}
	}
	li := c.WaitReadyLeader(10 * time.Second)
	if c.cfgs[li].ID != slow {
		if err := c.nodes[li].Raft().LeadershipTransferToServer(raft.ServerID(slow), c.addrs[0]).Error(); err != nil {
			t.Fatalf("transfer to %s: %v", slow, err)
		}
	}
	waitFor(t, 10*time.Second, "node 0 to be the ready leader", func() bool {
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		defer cancel()
		return c.nodes[0].WaitReady(ctx) == nil
	})
	old := c.nodes[0]
	mustApply(t, old, "a")
	c.WaitApplied(old.Raft().CommitIndex(), 5*time.Second)

	// Pause node 0 with an answered AppendEntries held for each peer, and
	// cut the peers' way to it (a paused process answers nothing).
	pts[0].pause()
	for j := 1; j < 3; j++ {
		waitFor(t, 10*time.Second, "an answer from node "+strconv.Itoa(j)+" to be held", func() bool { return pts[0].heldFor(c.addrs[j]) >= 1 })
		c.inmem[j].Disconnect(c.addrs[0])
	}
	var nl int
	waitFor(t, 10*time.Second, "a new ready leader among nodes 1 and 2", func() bool {
		for j := 1; j < 3; j++ {
			ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
			err := c.nodes[j].WaitReady(ctx)
			cancel()
			if err == nil {
				nl = j
				return true
			}
		}
		return false
	})
	mustApply(t, c.nodes[nl], "b") // committed by nodes 1 and 2; node 0 never sees it
	if old.State() != raft.Leader {
		t.Fatalf("node 0 stepped down during the pause: the test needs it to wake up as leader")
	}

	// Node 0 wakes up: a strong read starts, then the held answers arrive.
	done := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		done <- old.ReadIndex(ctx)
	}()
	waitFor(t, 10*time.Second, "ReadIndex to wait for VerifyLeader", readIndexIsVerifying)
	pts[0].unpause()
	err := <-done
	if err == nil {
		t.Fatalf("ReadIndex on the paused leader succeeded; its state (%d entries) lacks %q, committed by node %d before the read began",
			len(c.fsms[0].Entries()), "b", nl)
	}
	if !errors.Is(err, ErrNotLeader) {
		t.Fatalf("ReadIndex = %v, want ErrNotLeader", err)
	}
}
