package hooks

import (
	"context"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hashicorp/raft"
)

// TestHandOver: a planned step-down keeps the VIP until the new leader
// holds it (bounded by max); a disarmed or expired handover, startup and
// later step-downs release at once.
func TestHandOver(t *testing.T) {
	startup := []string{vipRel, fHook}
	elected := append(slices.Clone(startup), vipAcq, lHook)
	steppedDown := append(slices.Clone(elected), vipRel, fHook)
	tests := []struct {
		name      string
		max, ttl  time.Duration
		grace     time.Duration
		disarm    bool
		expire    bool
		readyAt   time.Duration // when the new leader reports the VIP; 0: never
		heldFor   time.Duration // the release must not have happened this long after the step-down
		wantAsked bool          // ready was consulted
	}{
		{name: "waits for the new leader", max: 5 * time.Second, ttl: time.Minute, readyAt: 400 * time.Millisecond, heldFor: 300 * time.Millisecond, wantAsked: true},
		{name: "then the grace period", max: 5 * time.Second, grace: 600 * time.Millisecond, ttl: time.Minute, readyAt: 100 * time.Millisecond, heldFor: 500 * time.Millisecond, wantAsked: true},
		{name: "bounded by max", max: 400 * time.Millisecond, ttl: time.Minute, heldFor: 300 * time.Millisecond, wantAsked: true},
		{name: "disarmed", max: 5 * time.Second, ttl: time.Minute, disarm: true},
		{name: "expired", max: 5 * time.Second, ttl: 10 * time.Millisecond, expire: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f, d := startedFixture(t)
			d.send(t, tr(raft.Leader, 2))
			waitRole(t, f.r, Leader, 10*time.Second)
			f.ev.waitLines(t, len(elected))

			var ready, asked atomic.Bool
			disarm := f.r.HandOver(func(context.Context) bool { asked.Store(true); return ready.Load() }, tc.max, tc.grace, tc.ttl)
			if tc.disarm {
				disarm()
			}
			if tc.expire {
				time.Sleep(2 * tc.ttl)
			}
			d.send(t, tr(raft.Follower, 3))
			if tc.readyAt > 0 {
				time.AfterFunc(tc.readyAt, func() { ready.Store(true) })
			}
			if tc.heldFor > 0 {
				time.Sleep(tc.heldFor)
				if got := f.ev.lines(); len(got) != len(elected) {
					t.Fatalf("%v after the step-down the events are %q: the VIP was released before the new leader held it", tc.heldFor, got)
				}
			}
			got := f.ev.waitLines(t, len(steppedDown))
			if !slices.Equal(got, steppedDown) {
				t.Fatalf("events %q, want %q", got, steppedDown)
			}
			if asked.Load() != tc.wantAsked {
				t.Errorf("ready consulted: %v, want %v", asked.Load(), tc.wantAsked)
			}

			// One step-down only: the next is not delayed.
			asked.Store(false)
			d.send(t, tr(raft.Leader, 4))
			waitRole(t, f.r, Leader, 10*time.Second)
			d.send(t, tr(raft.Follower, 5))
			waitRole(t, f.r, Follower, 10*time.Second)
			if asked.Load() {
				t.Error("a second step-down consulted the handover")
			}
		})
	}
}
