package raftlog

import (
	"context"
	"fmt"
	"time"

	"github.com/hashicorp/raft"
)

// maxNoopGap bounds how many log entries ReadIndex inspects when the FSM's
// applied index trails the read index only by entries the FSM never sees.
const maxNoopGap = 64

// WaitReady returns nil once this server is the leader and has applied every
// entry of earlier terms (a raft Barrier completed in the current term).
// While it is leader but not ready, WaitReady blocks (bounded by ctx). When
// it is not the leader it returns a *NotLeaderError at once, so callers can
// forward to the leader.
func (n *Node) WaitReady(ctx context.Context) error {
	for {
		_, ch := n.ready.get()
		if n.closed.Load() {
			return ErrShutdown
		}
		if n.raft.State() != raft.Leader {
			return n.notLeader(nil)
		}
		if n.isReady() {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return fmt.Errorf("raftlog: wait ready: %w: %w", ErrNotReady, ctx.Err())
		}
	}
}

// LeaseRead admits a read at the default consistency: this server is the
// leader and ready in the current term. Hashicorp raft steps a leader down
// when it has not heard from a quorum for LeaderLeaseTimeout, which is the
// lease: a deposed leader may serve such a read for at most about one lease
// (checked every lease period) after losing quorum contact. Blocks while the
// leader is not ready yet (bounded by ctx).
func (n *Node) LeaseRead(ctx context.Context) error {
	return n.WaitReady(ctx)
}

// ReadIndex admits a strong read (raft §6.4 read index): the leader is
// ready, takes idx = commit index, confirms it is still leader, then waits
// until the FSM has applied idx. It wakes on each FSM apply; no polling.
//
// Invariant: the confirmation is a quorum of voters (self included) that
// answered an AppendEntries of the current term sent after the read began
// (ackClock). VerifyLeader alone is not enough: it also counts the answer to
// a heartbeat sent before the read, which a leader that was paused
// meanwhile receives late (see ackclock.go). So each round of VerifyLeader,
// which makes raft send fresh heartbeats, is followed by the ack clock's
// check, and another round runs until it holds or leadership is lost.
func (n *Node) ReadIndex(ctx context.Context) error {
	if err := n.WaitReady(ctx); err != nil {
		return err
	}
	start := time.Now()
	term := n.raft.CurrentTerm()
	idx := n.raft.CommitIndex()
	for {
		if err := n.wait(ctx, n.raft.VerifyLeader()); err != nil {
			return n.leaderErr("read index: verify leader", err)
		}
		conf := n.raft.GetConfiguration()
		if err := conf.Error(); err != nil {
			return n.leaderErr("read index: configuration", err)
		}
		if n.acks.quorumSince(conf.Configuration(), raft.ServerID(n.cfg.ID), term, start) {
			break
		}
		if n.raft.CurrentTerm() != term {
			return n.leaderErr("read index: verify leader", raft.ErrLeadershipLost)
		}
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("raftlog: read index: confirm leadership: %w", err)
		}
	}
	return n.waitApplied(ctx, idx)
}

// waitApplied blocks until the FSM state includes every entry <= idx.
func (n *Node) waitApplied(ctx context.Context, idx uint64) error {
	for {
		applied, ch := n.tracked.applied.get()
		if applied >= idx || n.onlyInvisibleBetween(applied, idx) {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return fmt.Errorf("raftlog: wait applied index %d (fsm at %d): %w", idx, applied, ctx.Err())
		}
	}
}

// onlyInvisibleBetween reports whether every entry in (from, to] is one the
// FSM never receives (no-op, barrier, legacy peer changes): then the FSM's
// state at from equals the state at to. The new leader's no-op entry and
// barriers make the commit index run ahead of the last FSM-visible entry.
func (n *Node) onlyInvisibleBetween(from, to uint64) bool {
	if to <= from || to-from > maxNoopGap {
		return to <= from
	}
	for i := from + 1; i <= to; i++ {
		var l raft.Log
		if err := n.st.log.GetLog(i, &l); err != nil {
			return false
		}
		if l.Type == raft.LogCommand || l.Type == raft.LogConfiguration {
			return false
		}
	}
	return true
}
