package raftlog

import (
	"context"
	"io"
	"sync"
	"time"

	"github.com/hashicorp/raft"
)

// FSM is the state machine a Node drives. It must be persistent: its state
// (a database) survives restarts and records the index of the last entry it
// applied, in the same transaction as the entry's effects.
//
// Contract:
//   - ApplyBatch receives LogCommand and LogConfiguration entries (raft 1.8
//     sends both to a BatchingFSM); it must return one response per entry,
//     record the batch's last index as applied, and skip (return a response
//     for, without re-applying) entries whose index is <= AppliedIndex():
//     after a restart raft replays entries the DB already holds.
//   - A deterministic error is a response, not a panic. A transient fault
//     is retried inside ApplyBatch (stall, never skip) and reported by
//     Degraded meanwhile.
//   - Restore replaces the whole state and writes the applied index last.
type FSM interface {
	raft.BatchingFSM
	// AppliedIndex is the index of the last entry whose effects are durable
	// in the FSM's state (0 = empty, never applied anything).
	AppliedIndex() uint64
	// SnapshotAppliedIndex reads, from the start of a snapshot stream as
	// written by Snapshot().Persist, the applied index the snapshot holds.
	SnapshotAppliedIndex(r io.Reader) (uint64, error)
	// Degraded returns non-nil while the FSM cannot apply (transient DB
	// fault being retried).
	Degraded() error
}

// Prober is an FSM that can check, without an entry, that it could apply
// one now (e.g. ping its database). The degraded watcher probes a leader's
// FSM while Degraded is nil: a leader whose database died refuses every
// write before appending it (its pre-append reads fail), so no apply would
// ever fail and report Degraded. Probe must be cheap (it runs every
// ElectionTimeout/4 on the leader) and honour ctx; running out of ctx is
// slowness, not a fault (like sqlfsm's Stalled, not a reason to step down).
type Prober interface {
	Probe(ctx context.Context) error
}

// trackedFSM wraps the user's FSM to learn when entries are really applied:
// raft.AppliedIndex() only says an entry was handed to the FSM goroutine.
type trackedFSM struct {
	FSM
	applied *indexNotifier
}

var _ raft.BatchingFSM = (*trackedFSM)(nil)

func (t *trackedFSM) Apply(l *raft.Log) any {
	start := time.Now()
	resp := t.FSM.Apply(l)
	t.applied.advance(l.Index)
	return &applied{resp: resp, start: start, took: time.Since(start)}
}

func (t *trackedFSM) ApplyBatch(logs []*raft.Log) []any {
	start := time.Now()
	resp := t.FSM.ApplyBatch(logs)
	took := time.Since(start)
	if n := len(logs); n > 0 {
		t.applied.advance(logs[n-1].Index)
	}
	wrapped := make([]applied, len(resp))
	for i := range resp {
		wrapped[i] = applied{resp: resp[i], start: start, took: took}
		resp[i] = &wrapped[i]
	}
	return resp
}

// applied is the response raft hands to an entry's future: the FSM's
// response and when the batch holding the entry started and how long it
// took on this server. Node.Apply unwraps it (callers see the FSM's
// response) and stamps raft_commit and leader_apply into the request's
// stagetime.Trace. Local timing only: nothing of it is replicated.
type applied struct {
	resp  any
	start time.Time
	took  time.Duration
}

func (t *trackedFSM) Restore(rc io.ReadCloser) error {
	err := t.FSM.Restore(rc)
	if err == nil {
		t.applied.set(t.FSM.AppliedIndex())
	}
	return err
}

// indexNotifier holds a monotonically advancing index and wakes waiters on
// every change (no polling).
type indexNotifier struct {
	mu  sync.Mutex
	idx uint64
	ch  chan struct{} // closed and replaced on every change
}

func newIndexNotifier(start uint64) *indexNotifier {
	return &indexNotifier{idx: start, ch: make(chan struct{})}
}

func (n *indexNotifier) advance(idx uint64) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if idx > n.idx {
		n.idx = idx
		close(n.ch)
		n.ch = make(chan struct{})
	}
}

// set stores idx even if lower (after a snapshot restore the state is
// replaced wholesale).
func (n *indexNotifier) set(idx uint64) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.idx = idx
	close(n.ch)
	n.ch = make(chan struct{})
}

// get returns the current index and a channel closed on the next change.
func (n *indexNotifier) get() (uint64, <-chan struct{}) {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.idx, n.ch
}
