package hooks

import (
	"context"
	"fmt"
	"sync"

	"github.com/hashicorp/raft"

	"github.com/oneha/oneha/raftlog"
)

// Run drives actions from transitions until ctx ends or transitions is
// closed (the node shut down).
//
// At start it runs the follower actions once (clearing a VIP left by a
// crash, as OpenNebula runs the follower hook at startup). Then, for each
// transition: becoming Leader → VIP.Acquire then the leader command;
// leaving Leader (to Follower, Candidate or Shutdown) → VIP.Release then
// the follower command. Transitions to the role already acted on run
// nothing. Transitions arriving while actions run are coalesced into the
// latest desired role: leader actions in progress are cut short as soon
// as a non-leader transition arrives (ErrSuperseded), and the runner always
// ends in the role of the last transition. A step-down is never coalesced
// away: a leader that stepped down and was re-elected releases and then
// acquires again (another server may have announced the VIP in between).
//
// On return, if the current role is Leader, the follower actions run a
// final time: a leader shutting down drops the VIP. Run is meant to be
// called once per Runner.
func (r *Runner) Run(ctx context.Context, transitions <-chan raftlog.Transition) {
	mb := newMailbox()
	readerDone := make(chan struct{})
	go func() {
		defer close(readerDone)
		for {
			select {
			case <-ctx.Done():
				return
			case t, ok := <-transitions:
				if !ok {
					return
				}
				r.log.Debug("hooks: transition", "state", t.State.String(), "term", t.Term, "leader", t.Leader)
				mb.put(roleOf(t.State), fmt.Sprintf("raft %s (term %d, leader %q)", t.State, t.Term, t.Leader))
			}
		}
	}()

	r.act(ctx, mb, Follower, "startup")
	reason := "shutdown"
	for ctx.Err() == nil {
		closed := false
		select {
		case <-ctx.Done():
		case <-mb.wake:
		case <-readerDone:
			closed = true
		}
		r.reconcile(ctx, mb)
		if closed {
			reason = "transitions closed"
			break
		}
	}
	<-readerDone
	if r.Role() == Leader {
		r.act(ctx, mb, Follower, reason)
	}
}

// roleOf maps a raft state to the role whose actions it calls for.
func roleOf(s raft.RaftState) Role {
	if s == raft.Leader {
		return Leader
	}
	return Follower
}

// reconcile runs actions until the role matches the latest desired one.
func (r *Runner) reconcile(ctx context.Context, mb *mailbox) {
	for ctx.Err() == nil {
		d, ok := mb.take()
		if !ok {
			return
		}
		if r.Role() == Leader && (d.role != Leader || d.down) {
			r.act(ctx, mb, Follower, d.downReason)
		}
		if d.role == Leader && r.Role() != Leader {
			r.act(ctx, mb, Leader, d.reason)
		}
	}
}

// act runs role's actions for Run. Follower actions are detached from ctx
// (bounded by Timeout only). Leader actions end when ctx ends or when a
// non-leader transition arrives.
func (r *Runner) act(ctx context.Context, mb *mailbox, role Role, reason string) {
	if role == Follower {
		stepDown := r.Role() == Leader && ctx.Err() == nil // not startup, not shutdown
		ctx = context.WithoutCancel(ctx)
		_ = r.lock(ctx) // cannot fail: ctx never ends
		defer r.unlock()
		if stepDown {
			r.awaitHandover(ctx)
		}
		_ = r.perform(ctx, Follower, reason)
		return
	}
	lctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	mb.arm(cancel)
	defer mb.disarm()
	if err := r.lock(lctx); err != nil {
		return
	}
	defer r.unlock()
	_ = r.perform(lctx, Leader, reason)
}

// desired is what the transitions since the last take call for.
type desired struct {
	role       Role
	reason     string
	down       bool   // a non-leader transition arrived since the last take
	downReason string // the latest such transition
}

// mailbox coalesces transitions into the latest desired role. It never
// blocks the reader.
type mailbox struct {
	wake chan struct{} // capacity 1: "something was put"

	mu      sync.Mutex
	pending bool
	d       desired
	abort   context.CancelCauseFunc // cuts leader actions short; nil when none run
}

func newMailbox() *mailbox { return &mailbox{wake: make(chan struct{}, 1)} }

func (m *mailbox) put(role Role, reason string) {
	m.mu.Lock()
	m.pending = true
	m.d.role, m.d.reason = role, reason
	if role != Leader {
		m.d.down, m.d.downReason = true, reason
		if m.abort != nil {
			m.abort(ErrSuperseded)
			m.abort = nil
		}
	}
	m.mu.Unlock()
	select {
	case m.wake <- struct{}{}:
	default:
	}
}

func (m *mailbox) take() (desired, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if !m.pending {
		return desired{}, false
	}
	d := m.d
	m.pending, m.d.down, m.d.downReason = false, false, ""
	return d, true
}

// arm registers cancel for the leader actions about to run; a non-leader
// transition that arrived since the last take cancels them at once.
func (m *mailbox) arm(cancel context.CancelCauseFunc) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.pending && m.d.down {
		cancel(ErrSuperseded)
		return
	}
	m.abort = cancel
}

func (m *mailbox) disarm() {
	m.mu.Lock()
	m.abort = nil
	m.mu.Unlock()
}
