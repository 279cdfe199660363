package hooks

import (
	"context"
	"time"
)

// handover is a planned step-down's request to keep the leader's resources
// (the VIP) until the new leader holds them. See HandOver.
type handover struct {
	ready   func(ctx context.Context) bool // the new leader holds the VIP
	max     time.Duration                  // longest the release waits for ready
	grace   time.Duration                  // kept after ready, for requests in flight here
	expires time.Time                      // a later step-down ignores it
}

// handoverPoll is how often a handover asks whether the new leader is ready.
const handoverPoll = 20 * time.Millisecond

// HandOver arms the next step-down, if it comes within ttl, for a planned
// leadership transfer: its follower actions (VIP release, follower command)
// wait until ready reports that the new leader holds the VIP (at most max),
// then grace longer, so requests that reached this server before clients
// moved (it forwards them to the new leader) complete before the address
// they came in on goes away.
// Clients that still resolve the VIP to this server keep reaching it (a
// follower forwards writes) instead of losing their SYN to an address that
// is gone, so the switchover is hitless. The returned disarm cancels it
// (call it when the transfer failed).
//
// Invariant: it only ever delays a release by at most max+grace, it applies to
// one step-down within ttl of arming, and never to startup or shutdown
// actions; an unplanned step-down (lost lease, isolation) is unaffected
// unless it happens to come within ttl of a HandOver that was not disarmed.
func (r *Runner) HandOver(ready func(ctx context.Context) bool, max, grace, ttl time.Duration) (disarm func()) {
	h := &handover{ready: ready, max: max, grace: grace, expires: time.Now().Add(ttl)}
	r.mu.Lock()
	r.handover = h
	r.mu.Unlock()
	return func() {
		r.mu.Lock()
		if r.handover == h {
			r.handover = nil
		}
		r.mu.Unlock()
	}
}

// awaitHandover consumes an armed, unexpired handover and waits for it.
// Called before step-down actions only.
func (r *Runner) awaitHandover(ctx context.Context) {
	r.mu.Lock()
	h := r.handover
	r.handover = nil
	r.mu.Unlock()
	if h == nil || time.Now().After(h.expires) {
		return
	}
	start := time.Now()
	ctx, cancel := context.WithTimeout(ctx, h.max)
	defer cancel()
	t := time.NewTicker(handoverPoll)
	defer t.Stop()
	for {
		if h.ready(ctx) {
			r.log.Info("handover: the new leader holds the VIP; releasing ours after the grace period",
				"waited", time.Since(start).Round(time.Millisecond), "grace", h.grace)
			time.Sleep(h.grace)
			return
		}
		select {
		case <-ctx.Done():
			r.log.Warn("handover: the new leader did not report the VIP in time; releasing ours anyway", "waited", time.Since(start).Round(time.Millisecond))
			return
		case <-t.C:
		}
	}
}
