package raftlog

import (
	"io"
	"sync"
	"time"

	"github.com/hashicorp/raft"
)

// Why an ack clock: hashicorp/raft's VerifyLeader counts a follower's vote
// from whichever AppendEntries response arrives after the verify request was
// registered, including the response to an RPC sent before it. A leader
// paused (SIGSTOP, a VM freeze, a long GC) with a heartbeat in flight wakes
// up to that stale "yes": its VerifyLeader succeeds although a newer leader
// was elected and committed writes meanwhile, and a strong read returns the
// old value (seen by the nemesis suite as a non-linearizable read after
// SIGSTOP/SIGCONT of the leader). Raft's read index (§6.4) needs a quorum
// that acknowledged the leader's term after the read began. The ack clock
// records, per peer, when the newest AppendEntries that the peer answered in
// the sender's term was sent, and ReadIndex requires a quorum of such sends
// at or after the read's start.

// ack is the newest AppendEntries a peer answered in the sender's term.
type ack struct {
	term uint64
	sent time.Time // when the request was sent (monotonic)
}

// ackClock holds the acks of every peer this server sent AppendEntries to.
type ackClock struct {
	mu   sync.Mutex
	acks map[raft.ServerID]ack
}

func newAckClock() *ackClock { return &ackClock{acks: map[raft.ServerID]ack{}} }

// record notes that id answered an AppendEntries of term sent at sent. It
// keeps the newest per peer (a later term, or the same term sent later).
func (c *ackClock) record(id raft.ServerID, term uint64, sent time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	cur, ok := c.acks[id]
	if !ok || term > cur.term || (term == cur.term && sent.After(cur.sent)) {
		c.acks[id] = ack{term: term, sent: sent}
	}
}

// quorumSince reports whether a majority of voters, counting self (which
// needs no ack), answered an AppendEntries of term that was sent at or after
// since: proof that no other leader had a majority's votes for a later term
// when those peers answered, i.e. after since.
func (c *ackClock) quorumSince(conf raft.Configuration, self raft.ServerID, term uint64, since time.Time) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	voters, yes := 0, 0
	for _, s := range conf.Servers {
		if s.Suffrage != raft.Voter {
			continue
		}
		voters++
		if s.ID == self {
			yes++
			continue
		}
		if a, ok := c.acks[s.ID]; ok && a.term == term && !a.sent.Before(since) {
			yes++
		}
	}
	return voters > 0 && yes > voters/2
}

// ackTransport is the raft transport with the ack clock: every
// AppendEntries (replication or heartbeat) answered in the request's term is
// recorded with its send time. Pipelined appends are not recorded (they only
// make ReadIndex ask once more); this package turns pipelining off anyway.
type ackTransport struct {
	raft.Transport
	clock       *ackClock
	onReplicate func(entries int, d time.Duration) // Config.OnReplicate, may be nil
}

// AppendEntries sends and records the answer's term against the send time.
func (t *ackTransport) AppendEntries(id raft.ServerID, target raft.ServerAddress, args *raft.AppendEntriesRequest, resp *raft.AppendEntriesResponse) error {
	sent := time.Now()
	err := t.Transport.AppendEntries(id, target, args, resp)
	if err == nil && resp.Term == args.Term {
		t.clock.record(id, args.Term, sent)
		if t.onReplicate != nil && len(args.Entries) > 0 && resp.Success {
			t.onReplicate(len(args.Entries), time.Since(sent))
		}
	}
	return err
}

// RequestPreVote forwards to the wrapped transport, which New checked
// implements raft.WithPreVote.
func (t *ackTransport) RequestPreVote(id raft.ServerID, target raft.ServerAddress, args *raft.RequestPreVoteRequest, resp *raft.RequestPreVoteResponse) error {
	return t.Transport.(raft.WithPreVote).RequestPreVote(id, target, args, resp)
}

// Close closes the wrapped transport if it can be closed (raft calls it at
// shutdown, as it would on the wrapped one).
func (t *ackTransport) Close() error {
	switch c := t.Transport.(type) {
	case raft.WithClose:
		return c.Close()
	case io.Closer:
		return c.Close()
	}
	return nil
}
