package raftlog

import (
	"context"
	"io"
	"sync"
	"time"

	"github.com/hashicorp/raft"
)

// watchedTransport wraps the node's transport to see two things raft keeps
// to itself: on a follower, the leader's commit index carried by the
// AppendEntries it receives (so a follower can tell how far its database is
// behind the leader's commit, not only behind its own log), and TimeoutNow,
// the request a leader sends to the server it hands leadership to.
//
// It only reads the requests; raft still receives every RPC unchanged, in
// the same order (one forwarding goroutine; heartbeats keep their fast path).
type watchedTransport struct {
	raft.Transport
	out  chan raft.RPC
	stop chan struct{}
	once sync.Once

	mu      sync.Mutex
	seen    leaderSeen
	lastLog func() (index, term uint64) // this server's last entry (setLastLog)
}

// leaderSeen is what the requests received so far said.
type leaderSeen struct {
	term   uint64 // highest term of an AppendEntries received
	commit uint64 // highest LeaderCommitIndex received in that term
	// timeoutNowTerm is the term of the leader whose TimeoutNow was received
	// last (0: none). A TimeoutNow carries no term: it is the term of the
	// AppendEntries received before it (the sender led that term); the
	// transfer's election is the next term.
	timeoutNowTerm uint64
	// behindTerm is the highest term in which this server refused a
	// candidate's vote while its own log was more up to date than the
	// candidate's: that candidate cannot win with this server's vote
	// (deathwatch.go). grantedTerm is the highest term in which it granted
	// one.
	behindTerm, grantedTerm uint64
}

func newWatchedTransport(t raft.Transport) *watchedTransport {
	w := &watchedTransport{Transport: t, out: make(chan raft.RPC), stop: make(chan struct{})}
	go w.forward(t.Consumer())
	return w
}

// forward hands every RPC to raft after peeking at it; it ends when the
// transport is closed (the network transport then answers pending RPCs
// with ErrTransportShutdown itself).
func (w *watchedTransport) forward(in <-chan raft.RPC) {
	for {
		select {
		case rpc := <-in:
			w.peek(rpc)
			if v, ok := rpc.Command.(*raft.RequestVoteRequest); ok {
				rpc = w.watchVote(rpc, v)
			}
			select {
			case w.out <- rpc:
			case <-w.stop:
				return
			}
		case <-w.stop:
			return
		}
	}
}

func (w *watchedTransport) peek(rpc raft.RPC) {
	switch c := rpc.Command.(type) {
	case *raft.AppendEntriesRequest:
		w.mu.Lock()
		switch {
		case c.Term > w.seen.term:
			w.seen.term, w.seen.commit = c.Term, c.LeaderCommitIndex
		case c.Term == w.seen.term && c.LeaderCommitIndex > w.seen.commit:
			w.seen.commit = c.LeaderCommitIndex
		}
		w.mu.Unlock()
	case *raft.TimeoutNowRequest:
		w.mu.Lock()
		w.seen.timeoutNowTerm = w.seen.term
		w.mu.Unlock()
	}
}

// watchVote returns rpc with its answer routed through a goroutine that
// notes a granted vote's term in grantedTerm, and a refusal's in
// behindTerm if this server's log was ahead of the candidate's. Votes are
// rare (elections only), and raft's transports give each RPC a buffered
// answer channel, so forwarding the answer never blocks.
func (w *watchedTransport) watchVote(rpc raft.RPC, req *raft.RequestVoteRequest) raft.RPC {
	orig, resp := rpc.RespChan, make(chan raft.RPCResponse, 1)
	rpc.RespChan = resp
	go func() {
		select {
		case r := <-resp:
			if v, ok := r.Response.(*raft.RequestVoteResponse); ok && r.Error == nil {
				ahead := !v.Granted && w.ahead(req)
				w.mu.Lock()
				switch {
				case v.Granted:
					w.seen.grantedTerm = max(w.seen.grantedTerm, req.Term)
				case ahead:
					w.seen.behindTerm = max(w.seen.behindTerm, req.Term)
				}
				w.mu.Unlock()
			}
			select {
			case orig <- r:
			case <-w.stop:
			}
		case <-w.stop:
		}
	}()
	return rpc
}

// ahead reports whether this server's log is more up to date than req's
// candidate's, by Raft's rule (last term, then last index). It reads the
// log store, not raft's snapshot-aware last entry: with a log emptied by a
// snapshot install it reports false, the cautious answer.
func (w *watchedTransport) ahead(req *raft.RequestVoteRequest) bool {
	w.mu.Lock()
	f := w.lastLog
	w.mu.Unlock()
	if f == nil {
		return false
	}
	idx, term := f()
	return term > req.LastLogTerm || term == req.LastLogTerm && idx > req.LastLogIndex
}

// setLastLog gives the watch this server's log (before raft starts).
func (w *watchedTransport) setLastLog(f func() (index, term uint64)) {
	w.mu.Lock()
	w.lastLog = f
	w.mu.Unlock()
}

// inject hands cmd to raft as if a peer had sent it and waits for raft's
// answer. It does not pass through peek: the death watch's TimeoutNow is
// not a leadership transfer (ElectedByTransfer stays false).
func (w *watchedTransport) inject(ctx context.Context, cmd any) error {
	resp := make(chan raft.RPCResponse, 1)
	select {
	case w.out <- raft.RPC{Command: cmd, RespChan: resp}:
	case <-w.stop:
		return ErrShutdown
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case r := <-resp:
		return r.Error
	case <-w.stop:
		return ErrShutdown
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (w *watchedTransport) get() leaderSeen {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.seen
}

func (w *watchedTransport) Consumer() <-chan raft.RPC { return w.out }

// SetHeartbeatHandler keeps raft's fast path; heartbeats carry no commit
// index, but their term is noted.
func (w *watchedTransport) SetHeartbeatHandler(cb func(rpc raft.RPC)) {
	if cb == nil {
		w.Transport.SetHeartbeatHandler(nil)
		return
	}
	w.Transport.SetHeartbeatHandler(func(rpc raft.RPC) { w.peek(rpc); cb(rpc) })
}

// RequestPreVote delegates (New checks the wrapped transport has it).
func (w *watchedTransport) RequestPreVote(id raft.ServerID, target raft.ServerAddress, args *raft.RequestPreVoteRequest, resp *raft.RequestPreVoteResponse) error {
	return w.Transport.(raft.WithPreVote).RequestPreVote(id, target, args, resp)
}

// Close stops forwarding and closes the wrapped transport. Idempotent.
func (w *watchedTransport) Close() error {
	w.once.Do(func() { close(w.stop) })
	switch c := w.Transport.(type) {
	case raft.WithClose:
		return c.Close()
	case io.Closer:
		return c.Close()
	}
	return nil
}

// LeaderCommit is, on a follower, the commit index the leader of the
// current term last sent this server (in AppendEntries; raft's own
// CommitIndex on a follower is capped at its last log index, so it hides
// how far a server catching up is behind). ok is false when no
// AppendEntries of the current term carried one yet (just after a restart
// or an election) and on the leader itself.
func (n *Node) LeaderCommit() (commit uint64, ok bool) {
	if n.raft.State() == raft.Leader {
		return 0, false
	}
	s := n.watch.get()
	if s.term != n.raft.CurrentTerm() || s.commit == 0 {
		return 0, false
	}
	return s.commit, true
}

// ElectedByTransfer reports whether this server's leadership of term came
// from a leadership transfer: it received TimeoutNow from the leader of
// the term just before (raft then runs the transfer's election in the
// next term). An election won after the transfer's own election failed is
// not a transfer.
func (n *Node) ElectedByTransfer(term uint64) bool {
	s := n.watch.get()
	return s.timeoutNowTerm != 0 && s.timeoutNowTerm+1 == term
}

// PeerContact is the leader's view of one follower's Raft heartbeats.
type PeerContact struct {
	// Failing: the last heartbeat to it failed (no answer since).
	Failing bool
	// LastContact: when it last answered an AppendEntries (heartbeat or
	// replication), as raft's FailedHeartbeatObservation reports it; zero
	// while heartbeats succeed (they run every ElectionTimeout/10, so its
	// last contact is then at most that old).
	LastContact time.Time
}

// PeerContacts is, on the leader, the followers whose heartbeats are
// failing now, by server ID, with their last contact. A follower absent
// from the map answers heartbeats. Cleared at every state change (a new
// leadership starts with fresh replication).
func (n *Node) PeerContacts() map[string]PeerContact {
	return n.hub.peerContacts()
}
