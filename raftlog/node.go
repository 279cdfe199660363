package raftlog

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/raft"

	"github.com/oneha/oneha/internal/stagetime"
)

// Node is one server of the zone's raft group.
type Node struct {
	cfg     Config
	log     *slog.Logger
	raft    *raft.Raft
	fsm     FSM
	tracked *trackedFSM
	st      *stores
	trans   raft.Transport
	acks    *ackClock         // AppendEntries answered per peer, for ReadIndex
	watch   *watchedTransport // trans, seen from the inside (watch.go)
	deaths  deathCounters     // the death watch's work (deathwatch.go)

	hub   *hub
	ready *readiness

	stopCh   chan struct{} // closes background goroutines (watcher, barrier loop)
	raftDone chan struct{} // closed once raft has shut down: unresolved futures never resolve
	wg       sync.WaitGroup

	closed       atomic.Bool
	shutdownOnce sync.Once
	shutdownErr  error
}

// New opens the stores in cfg.Dir and starts the node. It takes ownership
// of trans (Shutdown closes it). The transport must support pre-vote
// (raft.WithPreVote): *raft.NetworkTransport and *raft.InmemTransport do.
//
// Persistent-FSM rule: raft runs with NoSnapshotRestoreOnStart. Before
// raft.NewRaft, New opens the newest local snapshot and, only if
// fsm.AppliedIndex() is below the applied index the snapshot contains
// (fsm.SnapshotAppliedIndex), calls fsm.Restore with it. Raft then replays
// the log after the snapshot; the FSM skips entries it already holds.
func New(ctx context.Context, cfg Config, fsm FSM, trans raft.Transport) (*Node, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	if fsm == nil {
		return nil, fmt.Errorf("raftlog: new: fsm is nil")
	}
	if trans == nil {
		return nil, fmt.Errorf("raftlog: new: transport is nil")
	}
	if _, ok := trans.(raft.WithPreVote); !ok {
		return nil, fmt.Errorf("raftlog: new: %T: %w", trans, ErrPreVoteUnsupported)
	}
	logger := cfg.Logger.With("raft_id", cfg.ID)
	var closes chan struct{} // nil: no death watch (not our network transport)
	if t, ok := trans.(*Transport); ok && cfg.DeathWatch {
		closes = t.closes
	}
	watch := newWatchedTransport(trans)
	trans = watch

	st, err := openStores(cfg)
	if err != nil {
		return nil, err
	}
	if err := restoreOnStart(ctx, logger, fsm, st); err != nil {
		_ = st.Close()
		watch.Close()
		return nil, err
	}

	watch.setLastLog(func() (uint64, uint64) {
		idx, err := st.log.LastIndex()
		var l raft.Log
		if err != nil || idx == 0 || st.log.GetLog(idx, &l) != nil {
			return 0, 0
		}
		return idx, l.Term
	})

	n := &Node{
		cfg:      cfg,
		log:      logger,
		fsm:      fsm,
		st:       st,
		trans:    trans,
		acks:     newAckClock(),
		watch:    watch,
		stopCh:   make(chan struct{}),
		raftDone: make(chan struct{}),
	}
	n.tracked = &trackedFSM{FSM: fsm, applied: newIndexNotifier(fsm.AppliedIndex())}
	n.ready = newReadiness()

	r, err := raft.NewRaft(cfg.raftConfig(cfg.Logger), n.tracked, st.log, st.stable, st.snaps, &ackTransport{Transport: trans, clock: n.acks, onReplicate: cfg.OnReplicate})
	if err != nil {
		_ = st.Close()
		watch.Close()
		return nil, fmt.Errorf("raftlog: start raft: %w", err)
	}
	n.raft = r
	if t, ok := st.log.(*timedLogStore); ok {
		t.raft.Store(r)
	}
	n.hub = newHub(n)
	n.startBackground()
	if closes != nil {
		n.wg.Add(1)
		go n.deathWatch(closes)
	}
	logger.Info("raft node started",
		"dir", cfg.Dir, "log_store", cfg.LogStore, "addr", trans.LocalAddr(),
		"election_timeout", cfg.ElectionTimeout, "leader_lease", cfg.LeaderLease,
		"fsm_applied_index", fsm.AppliedIndex(), "last_index", r.LastIndex())
	return n, nil
}

// ID returns the server ID.
func (n *Node) ID() string { return n.cfg.ID }

// Raft exposes the underlying raft instance for advanced callers (autopilot).
// Do not Shutdown it directly; use Node.Shutdown.
func (n *Node) Raft() *raft.Raft { return n.raft }

// Apply appends data as one log entry and returns the FSM's response for it
// once it is committed and applied on this (leader) server.
//
// Errors:
//   - *NotLeaderError (errors.Is ErrNotLeader): not the leader, nothing appended.
//   - ErrUnknownOutcome: the entry may have been appended (leadership lost,
//     restore, shutdown or ctx done while waiting); it may still commit.
//   - ctx deadline before enqueueing: wraps context.DeadlineExceeded and
//     raft.ErrEnqueueTimeout, nothing appended.
func (n *Node) Apply(ctx context.Context, data []byte) (any, error) {
	if n.closed.Load() {
		return nil, ErrShutdown
	}
	if n.raft.State() != raft.Leader {
		return nil, n.notLeader(nil)
	}
	timeout, err := enqueueTimeout(ctx)
	if err != nil {
		return nil, fmt.Errorf("raftlog: apply: %w", err)
	}
	tr := stagetime.From(ctx)
	enqueued := tr.Now()
	f := n.raft.Apply(data, timeout)
	done := make(chan error, 1)
	go func() { done <- f.Error() }()
	select {
	case err = <-done:
	case <-ctx.Done():
		// raft.Apply returned a real future, so the entry is enqueued.
		return nil, fmt.Errorf("raftlog: apply: %w: %w", ErrUnknownOutcome, ctx.Err())
	case <-n.raftDone:
		err = raft.ErrRaftShutdown
	}
	if err != nil {
		return nil, n.applyErr(err)
	}
	resp := f.Response()
	if a, ok := resp.(*applied); ok {
		if tr != nil {
			tr.Add(stagetime.RaftCommit, a.start.Sub(enqueued))
			tr.Add(stagetime.LeaderApply, a.took)
		}
		return a.resp, nil
	}
	return resp, nil
}

func (n *Node) applyErr(err error) error {
	switch {
	case errors.Is(err, raft.ErrNotLeader), errors.Is(err, raft.ErrLeadershipTransferInProgress):
		return n.notLeader(err)
	case errors.Is(err, raft.ErrEnqueueTimeout):
		return fmt.Errorf("raftlog: apply: %w: %w", context.DeadlineExceeded, err)
	case errors.Is(err, raft.ErrLeadershipLost), errors.Is(err, raft.ErrAbortedByRestore):
		return fmt.Errorf("raftlog: apply: %w: %w", ErrUnknownOutcome, err)
	case errors.Is(err, raft.ErrRaftShutdown):
		return fmt.Errorf("raftlog: apply: %w: %w: %w", ErrUnknownOutcome, ErrShutdown, err)
	default:
		return fmt.Errorf("raftlog: apply: %w", err)
	}
}

// notLeader builds a *NotLeaderError with the currently known leader.
func (n *Node) notLeader(cause error) error {
	addr, id := n.raft.LeaderWithID()
	return &NotLeaderError{LeaderID: string(id), LeaderAddr: string(addr), Cause: cause}
}

// leaderErr maps raft's not-leader errors of membership/verify futures.
func (n *Node) leaderErr(op string, err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, raft.ErrNotLeader) || errors.Is(err, raft.ErrLeadershipTransferInProgress) ||
		errors.Is(err, raft.ErrLeadershipLost) {
		return fmt.Errorf("raftlog: %s: %w", op, n.notLeader(err))
	}
	if errors.Is(err, raft.ErrRaftShutdown) {
		return fmt.Errorf("raftlog: %s: %w: %w", op, ErrShutdown, err)
	}
	return fmt.Errorf("raftlog: %s: %w", op, err)
}

// IsLeader reports whether this server is the raft leader (it may not be
// ready to serve yet: see WaitReady).
func (n *Node) IsLeader() bool { return n.raft.State() == raft.Leader }

// Leader returns the known leader's ID and address ("" when unknown).
func (n *Node) Leader() (id, addr string) {
	a, i := n.raft.LeaderWithID()
	return string(i), string(a)
}

// State returns the raft state.
func (n *Node) State() raft.RaftState { return n.raft.State() }

// Status is the node's raft status (OpenNebula's raftstatus: TERM,
// VOTEDFOR, COMMIT, LOG_INDEX, LOG_TERM).
type Status struct {
	ID    string
	State raft.RaftState
	Term  uint64
	// VotedFor is the ID of the server this one voted for in Term ("" if
	// none), read from the stable store keys raft writes (LastVoteTerm,
	// LastVoteCand). Raft stores the candidate's address; it is mapped to an
	// ID through the configuration (VotedForAddr keeps the raw value).
	VotedFor     string
	VotedForAddr string
	CommitIndex  uint64
	AppliedIndex uint64 // durable in the FSM (fsm.AppliedIndex())
	LastLogIndex uint64
	LastLogTerm  uint64
	LastContact  time.Time // last contact with the leader (zero if never / leader itself)
	Voter        bool
	LeaderID     string
	LeaderAddr   string
	Ready        bool // leader and barrier of the current term completed
}

// Stats returns the node's status. It asks raft's main loop for the
// configuration, hence the context.
func (n *Node) Stats(ctx context.Context) (Status, error) {
	s := Status{
		ID:           n.cfg.ID,
		State:        n.raft.State(),
		Term:         n.raft.CurrentTerm(),
		CommitIndex:  n.raft.CommitIndex(),
		AppliedIndex: n.fsm.AppliedIndex(),
		LastContact:  n.raft.LastContact(),
	}
	s.LeaderID, s.LeaderAddr = n.Leader()
	s.Ready = n.isReady()
	if last, err := n.st.log.LastIndex(); err == nil && last > 0 {
		var l raft.Log
		if err := n.st.log.GetLog(last, &l); err == nil {
			s.LastLogIndex, s.LastLogTerm = l.Index, l.Term
		}
	}
	if s.LastLogIndex == 0 { // log empty or compacted: fall back to raft's view
		s.LastLogIndex = n.raft.LastIndex()
	}
	if vt, err := n.st.stable.GetUint64([]byte("LastVoteTerm")); err == nil && vt == s.Term && vt != 0 {
		if cand, err := n.st.stable.Get([]byte("LastVoteCand")); err == nil {
			s.VotedForAddr = string(n.trans.DecodePeer(cand))
		}
	}
	servers, err := n.Configuration(ctx)
	if err != nil {
		return s, err
	}
	for _, srv := range servers {
		if string(srv.ID) == n.cfg.ID {
			s.Voter = srv.Suffrage == raft.Voter
		}
		if s.VotedForAddr != "" && string(srv.Address) == s.VotedForAddr {
			s.VotedFor = string(srv.ID)
		}
	}
	return s, nil
}

// SnapshotIndex returns the last index of this server's newest snapshot (0
// if none). Entries up to it may exist only in snapshots: a server whose
// database has applied less still needs a snapshot restore. It reads the
// snapshot store, so it is kept out of Stats (polled often).
func (n *Node) SnapshotIndex() (uint64, error) {
	metas, err := n.st.snaps.List()
	if err != nil {
		return 0, fmt.Errorf("raftlog: list snapshots: %w", err)
	}
	if len(metas) == 0 {
		return 0, nil
	}
	return metas[0].Index, nil // List is newest first
}

// Configuration returns the latest raft configuration (committed or not).
func (n *Node) Configuration(ctx context.Context) ([]raft.Server, error) {
	f := n.raft.GetConfiguration()
	if err := n.wait(ctx, f); err != nil {
		return nil, n.leaderErr("configuration", err)
	}
	return f.Configuration().Servers, nil
}

// AddVoter adds (or promotes) a voting server. Leader only.
func (n *Node) AddVoter(ctx context.Context, id, addr string) error {
	timeout, err := enqueueTimeout(ctx)
	if err != nil {
		return fmt.Errorf("raftlog: add voter %s: %w", id, err)
	}
	f := n.raft.AddVoter(raft.ServerID(id), raft.ServerAddress(addr), 0, timeout)
	return n.leaderErr("add voter "+id, n.wait(ctx, f))
}

// AddNonvoter adds a non-voting server (receives the log, does not vote).
// Leader only.
func (n *Node) AddNonvoter(ctx context.Context, id, addr string) error {
	timeout, err := enqueueTimeout(ctx)
	if err != nil {
		return fmt.Errorf("raftlog: add nonvoter %s: %w", id, err)
	}
	f := n.raft.AddNonvoter(raft.ServerID(id), raft.ServerAddress(addr), 0, timeout)
	return n.leaderErr("add nonvoter "+id, n.wait(ctx, f))
}

// DemoteVoter makes a voter a non-voter; it stays in the configuration and
// keeps receiving the log. Leader only.
func (n *Node) DemoteVoter(ctx context.Context, id string) error {
	timeout, err := enqueueTimeout(ctx)
	if err != nil {
		return fmt.Errorf("raftlog: demote voter %s: %w", id, err)
	}
	f := n.raft.DemoteVoter(raft.ServerID(id), 0, timeout)
	return n.leaderErr("demote voter "+id, n.wait(ctx, f))
}

// RemoveServer removes a server from the configuration. Leader only.
func (n *Node) RemoveServer(ctx context.Context, id string) error {
	timeout, err := enqueueTimeout(ctx)
	if err != nil {
		return fmt.Errorf("raftlog: remove server %s: %w", id, err)
	}
	f := n.raft.RemoveServer(raft.ServerID(id), 0, timeout)
	return n.leaderErr("remove server "+id, n.wait(ctx, f))
}

// LeadershipTransfer hands leadership to the most up-to-date voter. Leader
// only; returns when the transfer completed or failed.
func (n *Node) LeadershipTransfer(ctx context.Context) error {
	return n.leaderErr("leadership transfer", n.wait(ctx, n.raft.LeadershipTransfer()))
}

// LeadershipTransferTo hands leadership to the voter id at addr. Leader
// only; returns when the target has taken over or the transfer failed (the
// target did not catch up or win its election within an election timeout).
func (n *Node) LeadershipTransferTo(ctx context.Context, id, addr string) error {
	f := n.raft.LeadershipTransferToServer(raft.ServerID(id), raft.ServerAddress(addr))
	return n.leaderErr("leadership transfer to "+id, n.wait(ctx, f))
}

// Snapshot takes a snapshot now. errors.Is(err, raft.ErrNothingNewToSnapshot)
// when nothing was applied since the last one.
func (n *Node) Snapshot(ctx context.Context) error {
	if err := n.wait(ctx, n.raft.Snapshot()); err != nil {
		return fmt.Errorf("raftlog: snapshot: %w", err)
	}
	return nil
}

// Shutdown stops the node. A leader with other voters first transfers
// leadership (bounded by ctx), then raft stops, the transport and the stores
// are closed. Idempotent: later calls return the first call's result. If ctx
// ends before raft has stopped (e.g. the FSM is stuck in ApplyBatch) the
// stores are left open and the error wraps ctx.Err().
func (n *Node) Shutdown(ctx context.Context) error {
	n.shutdownOnce.Do(func() { n.shutdownErr = n.shutdown(ctx) })
	return n.shutdownErr
}

func (n *Node) shutdown(ctx context.Context) error {
	if n.raft.State() == raft.Leader && n.hasOtherVoters(ctx) {
		n.beforeStepDown(ctx, StepDownGracefulStop)
		start := time.Now()
		if err := n.LeadershipTransfer(ctx); err != nil {
			n.log.Warn("leadership transfer before shutdown failed", "error", err)
		} else {
			n.log.Info("leadership transferred before shutdown", "took", time.Since(start))
		}
	}
	n.closed.Store(true)
	if err := waitFuture(ctx, nil, n.raft.Shutdown()); err != nil {
		return fmt.Errorf("raftlog: shutdown raft: %w", err)
	}
	close(n.raftDone)
	close(n.stopCh)
	n.wg.Wait()
	n.hub.close()
	var errs []error
	if c, ok := n.trans.(raft.WithClose); ok {
		if err := c.Close(); err != nil {
			errs = append(errs, fmt.Errorf("raftlog: close transport: %w", err))
		}
	} else if c, ok := n.trans.(io.Closer); ok {
		if err := c.Close(); err != nil {
			errs = append(errs, fmt.Errorf("raftlog: close transport: %w", err))
		}
	}
	if err := n.st.Close(); err != nil {
		errs = append(errs, err)
	}
	n.log.Info("raft node stopped")
	return errors.Join(errs...)
}

// beforeStepDown calls Config.BeforeStepDown, bounded.
func (n *Node) beforeStepDown(ctx context.Context, reason string) {
	if n.cfg.BeforeStepDown == nil {
		return
	}
	hctx, cancel := context.WithTimeout(ctx, stepDownHookTimeout)
	defer cancel()
	n.cfg.BeforeStepDown(hctx, reason)
}

func (n *Node) hasOtherVoters(ctx context.Context) bool {
	servers, err := n.Configuration(ctx)
	if err != nil {
		return false
	}
	for _, s := range servers {
		if string(s.ID) != n.cfg.ID && s.Suffrage == raft.Voter {
			return true
		}
	}
	return false
}

// wait waits for f bounded by ctx and by the node's shutdown.
func (n *Node) wait(ctx context.Context, f raft.Future) error {
	return waitFuture(ctx, n.raftDone, f)
}

// waitFuture waits for f bounded by ctx; a close of stop (raft has shut
// down) returns raft.ErrRaftShutdown: raft never resolves futures still
// queued in its (buffered) apply channel at shutdown, so their helper
// goroutine may linger, blocked on a future nobody holds any more.
func waitFuture(ctx context.Context, stop <-chan struct{}, f raft.Future) error {
	done := make(chan error, 1)
	go func() { done <- f.Error() }()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		return ctx.Err()
	case <-stop:
		return raft.ErrRaftShutdown
	}
}

// enqueueTimeout converts ctx's deadline into raft's enqueue timeout
// (0 = wait forever).
func enqueueTimeout(ctx context.Context) (time.Duration, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	dl, ok := ctx.Deadline()
	if !ok {
		return 0, nil
	}
	d := time.Until(dl)
	if d <= 0 {
		return 0, context.DeadlineExceeded
	}
	return d, nil
}

// Rebase makes the current state the base of the log: it takes a snapshot
// and drops every log entry the snapshot covers (TrailingLogs is 0 for that
// one compaction), so a server that joins later starts from the snapshot.
// Needed after bootstrapping over a database that already held data
// (OpenNebula's solo-then-HA procedure): those rows are in no log entry,
// only in snapshots.
func (n *Node) Rebase(ctx context.Context) error {
	rc := n.raft.ReloadableConfig()
	tmp := rc
	tmp.TrailingLogs = 0
	if err := n.raft.ReloadConfig(tmp); err != nil {
		return fmt.Errorf("raftlog: rebase: %w", err)
	}
	defer n.raft.ReloadConfig(rc)
	err := n.wait(ctx, n.raft.Snapshot())
	if err != nil && !errors.Is(err, raft.ErrNothingNewToSnapshot) {
		return fmt.Errorf("raftlog: rebase: %w", err)
	}
	return nil
}
