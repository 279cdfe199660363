package raftlog

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/hashicorp/raft"
)

// Transition is a leadership observation: this server's state, the term it
// was observed in and the known leader.
type Transition struct {
	State      raft.RaftState
	Term       uint64
	Leader     string // leader ID ("" if unknown)
	LeaderAddr string
}

// subscriberQueueMax bounds a slow subscriber's backlog. On overflow the
// oldest transition is dropped, never the newest: a consumer always ends up
// seeing the latest state.
const subscriberQueueMax = 256

// hub turns raft observations into ordered Transitions for subscribers.
//
// Raft calls observers synchronously from its goroutines; we register a
// blocking observer whose only reader (pump) never blocks: it appends to
// per-subscriber queues, so raft is never stalled and nothing is dropped.
type hub struct {
	n        *Node
	obsCh    chan raft.Observation
	observer *raft.Observer
	pumpDone chan struct{}

	state raft.RaftState // last observed state; pump only

	mu     sync.Mutex
	last   Transition
	subs   map[*subscriber]struct{}
	closed bool
	// contacts: followers whose heartbeats fail now (leader only); see
	// Node.PeerContacts.
	contacts map[string]PeerContact
}

func newHub(n *Node) *hub {
	h := &hub{
		n:        n,
		obsCh:    make(chan raft.Observation, 64),
		pumpDone: make(chan struct{}),
		subs:     make(map[*subscriber]struct{}),
		contacts: make(map[string]PeerContact),
	}
	h.last = h.current()
	h.state = h.last.State
	h.observer = raft.NewObserver(h.obsCh, true, func(o *raft.Observation) bool {
		switch o.Data.(type) {
		case raft.RaftState, raft.LeaderObservation, raft.FailedHeartbeatObservation, raft.ResumedHeartbeatObservation:
			return true
		}
		return false
	})
	n.raft.RegisterObserver(h.observer)
	go h.pump()
	return h
}

func (h *hub) current() Transition {
	r := h.n.raft
	addr, id := r.LeaderWithID()
	return Transition{State: r.State(), Term: r.CurrentTerm(), Leader: string(id), LeaderAddr: string(addr)}
}

// pump runs until hub.close (after raft has shut down, so raft can no
// longer block on obsCh).
func (h *hub) pump() {
	defer close(h.pumpDone)
	for o := range h.obsCh {
		// State comes only from RaftState observations, in raft's order:
		// reading raft.State() here could run ahead of observations still
		// queued and replay an older state after a newer one.
		switch d := o.Data.(type) {
		case raft.FailedHeartbeatObservation:
			h.mu.Lock()
			h.contacts[string(d.PeerID)] = PeerContact{Failing: true, LastContact: d.LastContact}
			h.mu.Unlock()
			continue
		case raft.ResumedHeartbeatObservation:
			h.mu.Lock()
			delete(h.contacts, string(d.PeerID))
			h.mu.Unlock()
			continue
		}
		t := h.current()
		switch d := o.Data.(type) {
		case raft.RaftState:
			h.state = d
			h.mu.Lock()
			clear(h.contacts)
			h.mu.Unlock()
		case raft.LeaderObservation:
			t.Leader, t.LeaderAddr = string(d.LeaderID), string(d.LeaderAddr)
		}
		t.State = h.state
		h.publish(t)
	}
}

// peerContacts copies the followers whose heartbeats fail now.
func (h *hub) peerContacts() map[string]PeerContact {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := make(map[string]PeerContact, len(h.contacts))
	for id, c := range h.contacts {
		out[id] = c
	}
	return out
}

func (h *hub) publish(t Transition) {
	h.mu.Lock()
	if t == h.last {
		h.mu.Unlock()
		return
	}
	prev := h.last
	h.last = t
	for s := range h.subs {
		s.push(t)
	}
	h.mu.Unlock()

	h.n.log.Info("raft transition", "state", t.State.String(), "term", t.Term,
		"leader", t.Leader, "leader_addr", t.LeaderAddr, "prev_state", prev.State.String())
	if t.State == raft.Leader && prev.State != raft.Leader {
		h.n.ready.kickBarrier()
	}
	h.n.ready.changed()
}

// close is called after raft.Shutdown completed: delivers the final state,
// then ends every subscription once its backlog is delivered.
func (h *hub) close() {
	h.n.raft.DeregisterObserver(h.observer)
	close(h.obsCh)
	<-h.pumpDone
	h.publish(h.current())
	h.mu.Lock()
	defer h.mu.Unlock()
	h.closed = true
	for s := range h.subs {
		s.finish()
	}
}

// Subscribe returns leadership transitions in order, starting with the
// current state. Delivery is lossless up to a backlog of 256 per
// subscriber; beyond that the oldest are dropped, never the latest. The
// channel is closed after Shutdown once the final transition (state
// Shutdown) is delivered, or when cancel is called.
func (n *Node) Subscribe() (<-chan Transition, func()) {
	h := n.hub
	s := &subscriber{
		out:  make(chan Transition),
		wake: make(chan struct{}, 1),
		stop: make(chan struct{}),
		log:  n.log,
	}
	h.mu.Lock()
	s.push(h.last)
	if h.closed {
		s.finish()
	} else {
		h.subs[s] = struct{}{}
	}
	h.mu.Unlock()
	go s.forward()
	var once sync.Once
	cancel := func() {
		once.Do(func() {
			h.mu.Lock()
			delete(h.subs, s)
			h.mu.Unlock()
			close(s.stop)
		})
	}
	return s.out, cancel
}

type queued struct {
	seq uint64
	t   Transition
}

type subscriber struct {
	mu       sync.Mutex
	queue    []queued
	seq      uint64
	finished bool // no more pushes; close out when queue drained
	dropped  int

	out  chan Transition
	wake chan struct{}
	stop chan struct{}
	log  interface {
		Warn(msg string, args ...any)
	}
}

func (s *subscriber) push(t Transition) {
	s.mu.Lock()
	if len(s.queue) >= subscriberQueueMax {
		s.queue = append(s.queue[:0], s.queue[1:]...)
		s.dropped++
		if s.dropped == 1 || s.dropped%100 == 0 {
			s.log.Warn("slow transition subscriber: dropped oldest transitions", "dropped", s.dropped)
		}
	}
	s.seq++
	s.queue = append(s.queue, queued{seq: s.seq, t: t})
	s.mu.Unlock()
	s.signal()
}

func (s *subscriber) finish() {
	s.mu.Lock()
	s.finished = true
	s.mu.Unlock()
	s.signal()
}

func (s *subscriber) signal() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

func (s *subscriber) forward() {
	defer close(s.out)
	for {
		s.mu.Lock()
		if len(s.queue) == 0 {
			fin := s.finished
			s.mu.Unlock()
			if fin {
				return
			}
			select {
			case <-s.wake:
				continue
			case <-s.stop:
				return
			}
		}
		head := s.queue[0]
		s.mu.Unlock()
		select {
		case s.out <- head.t:
			s.mu.Lock()
			// push may have dropped the head while we were sending.
			if len(s.queue) > 0 && s.queue[0].seq == head.seq {
				s.queue = s.queue[1:]
			}
			s.mu.Unlock()
		case <-s.stop:
			return
		}
	}
}

// readiness tracks "leader and every earlier-term entry applied": after
// each election won, a Barrier runs; when it completes in the same term
// the leader is ready. Waiters wake on every change.
type readiness struct {
	mu        sync.Mutex
	readyTerm uint64
	ch        chan struct{}
	kick      chan struct{}
}

func newReadiness() *readiness {
	return &readiness{ch: make(chan struct{}), kick: make(chan struct{}, 1)}
}

func (r *readiness) kickBarrier() {
	select {
	case r.kick <- struct{}{}:
	default:
	}
}

// changed wakes waiters (state change or ready).
func (r *readiness) changed() {
	r.mu.Lock()
	close(r.ch)
	r.ch = make(chan struct{})
	r.mu.Unlock()
}

func (r *readiness) setReady(term uint64) {
	r.mu.Lock()
	r.readyTerm = term
	close(r.ch)
	r.ch = make(chan struct{})
	r.mu.Unlock()
}

func (r *readiness) get() (uint64, <-chan struct{}) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.readyTerm, r.ch
}

func (n *Node) isReady() bool {
	term, _ := n.ready.get()
	return term != 0 && n.raft.State() == raft.Leader && n.raft.CurrentTerm() == term
}

func (n *Node) startBackground() {
	n.wg.Add(2)
	go n.barrierLoop()
	go n.degradedWatcher()
	if n.raft.State() == raft.Leader { // single-server restart can win before the hub exists
		n.ready.kickBarrier()
	}
}

// barrierLoop makes a new leader ready: Barrier applies every entry of
// earlier terms before the leader serves reads.
func (n *Node) barrierLoop() {
	defer n.wg.Done()
	for {
		select {
		case <-n.stopCh:
			return
		case <-n.ready.kick:
		}
		if n.raft.State() != raft.Leader {
			continue
		}
		term := n.raft.CurrentTerm()
		start := time.Now()
		err := n.wait(context.Background(), n.raft.Barrier(0))
		switch {
		case err == nil && n.raft.State() == raft.Leader && n.raft.CurrentTerm() == term:
			n.ready.setReady(term)
			n.log.Info("leader ready: earlier-term entries applied", "term", term,
				"barrier_took", time.Since(start), "commit_index", n.raft.CommitIndex())
		case n.raft.State() == raft.Leader:
			n.log.Warn("leader barrier failed, retrying", "term", term, "error", err)
			select {
			case <-n.stopCh:
				return
			case <-time.After(n.cfg.ElectionTimeout / 10):
			}
			n.ready.kickBarrier()
		}
	}
}

// degradedWatcher gives up leadership when the FSM cannot apply (invariant
// I5): if this node is leader and fsm.Degraded() (or, when that is nil, a
// failed Prober.Probe) stays non-nil for one
// ElectionTimeout, it transfers leadership, and retries every further
// ElectionTimeout while the condition lasts.
//
// Caveat: raft's main loop blocks once 128 committed batches wait for a
// stalled FSM; a transfer requested after that point cannot start. At one
// ElectionTimeout the backlog is normally far below that.
func (n *Node) degradedWatcher() {
	defer n.wg.Done()
	every := max(n.cfg.ElectionTimeout/4, minDuration)
	tick := time.NewTicker(every)
	defer tick.Stop()
	var since time.Time
	for {
		select {
		case <-n.stopCh:
			return
		case <-tick.C:
		}
		if n.raft.State() != raft.Leader {
			since = time.Time{}
			continue
		}
		derr := n.fsm.Degraded()
		if derr == nil {
			derr = n.probeFSM(every)
		}
		if derr == nil {
			since = time.Time{}
			continue
		}
		if since.IsZero() {
			since = time.Now()
			continue
		}
		if time.Since(since) < n.cfg.ElectionTimeout {
			continue
		}
		n.log.Warn("FSM degraded on the leader: transferring leadership",
			"degraded_for", time.Since(since), "fsm_error", derr, "term", n.raft.CurrentTerm())
		n.beforeStepDown(context.Background(), StepDownDegraded)
		if err := n.wait(context.Background(), n.raft.LeadershipTransfer()); err != nil {
			n.log.Error("leadership transfer for degraded FSM failed", "error", err)
		} else {
			n.log.Info("leadership transferred away from degraded FSM")
		}
		since = time.Now()
	}
}

// probeFSM asks a Prober FSM whether it could apply now, bounded by one
// watcher tick. nil when the FSM is no Prober, answers in time, or runs out
// of time (slowness is not a fault of this server's own).
func (n *Node) probeFSM(tick time.Duration) error {
	p, ok := n.fsm.(Prober)
	if !ok {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), tick)
	defer cancel()
	err := p.Probe(ctx)
	if err == nil || ctx.Err() != nil {
		return nil
	}
	return fmt.Errorf("raftlog: probe: %w", err)
}
