package hooks

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/raft"
)

func TestRunStartupRunsFollowerActions(t *testing.T) {
	f := newFixture(t, nil)
	startRun(t, f.r)
	got := f.ev.waitLines(t, 2)
	if want := []string{vipRel, fHook}; !slices.Equal(got, want) {
		t.Fatalf("startup events %q, want %q", got, want)
	}
	waitRole(t, f.r, Follower, 5*time.Second)
	for _, run := range f.r.Runs() {
		if run.Reason != "startup" || run.Role != Follower || run.Err != "" {
			t.Errorf("startup run %+v", run)
		}
	}
}

// TestRunOrderAndDedup feeds transitions one at a time and checks the
// exact sequence of actions: release before the follower hook, acquire
// before the leader hook, nothing for transitions to the same role.
func TestRunOrderAndDedup(t *testing.T) {
	startup := []string{vipRel, fHook}
	toLeader := []string{vipAcq, lHook}
	toFollower := []string{vipRel, fHook}
	cat := func(parts ...[]string) []string { return slices.Concat(parts...) }
	tests := []struct {
		name  string
		steps []raft.RaftState
		want  []string
		role  Role
	}{
		{"follower states after startup", []raft.RaftState{raft.Follower, raft.Candidate, raft.Follower}, startup, Follower},
		{"elected", []raft.RaftState{raft.Candidate, raft.Leader}, cat(startup, toLeader), Leader},
		{"leader repeated", []raft.RaftState{raft.Leader, raft.Leader, raft.Leader}, cat(startup, toLeader), Leader},
		{"step down", []raft.RaftState{raft.Leader, raft.Follower}, cat(startup, toLeader, toFollower), Follower},
		{"step down to candidate then follower", []raft.RaftState{raft.Leader, raft.Candidate, raft.Follower}, cat(startup, toLeader, toFollower), Follower},
		{"shutdown state", []raft.RaftState{raft.Leader, raft.Shutdown}, cat(startup, toLeader, toFollower), Follower},
		{"flapping", []raft.RaftState{raft.Leader, raft.Follower, raft.Leader}, cat(startup, toLeader, toFollower, toLeader), Leader},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f, d := startedFixture(t)
			for i, s := range tc.steps {
				// Act on each one alone (no coalescing): wait until its
				// actions are done.
				d.send(t, tr(s, uint64(i+2)))
				waitRole(t, f.r, roleOf(s), 10*time.Second)
				time.Sleep(20 * time.Millisecond)
			}
			f.ev.waitLines(t, len(tc.want))
			settle(t, f.ev, tc.want)
			waitRole(t, f.r, tc.role, time.Second)
		})
	}
}

// TestRunCoalesces sends a burst of transitions while an action is blocked
// and checks that superseded leader actions do not run, follower actions
// are never cut short, and the runner ends in the last transition's role.
func TestRunCoalesces(t *testing.T) {
	L, F, C := raft.Leader, raft.Follower, raft.Candidate
	tests := []struct {
		name    string
		start   Role     // role reached before the burst
		blocks  []string // VIP calls that block until the burst is sent: the i-th starts after burst[i]
		burst   []raft.RaftState
		want    []string // events after start
		role    Role
		cutOffs int // superseded leader actions recorded
	}{
		{
			name: "leader actions superseded, ends follower", start: Follower, blocks: []string{"acquire", "release"},
			burst: []raft.RaftState{L, F, L, C, L, F},
			want:  []string{vipAcq, vipRel, fHook}, role: Follower, cutOffs: 1,
		},
		{
			name: "leader actions superseded, ends leader", start: Follower, blocks: []string{"acquire", "release"},
			burst: []raft.RaftState{L, F, L, F, L},
			want:  []string{vipAcq, vipRel, fHook, vipAcq, lHook}, role: Leader, cutOffs: 1,
		},
		{
			name: "burst during release, ends leader", start: Leader, blocks: []string{"release"},
			burst: []raft.RaftState{F, L, F, L, C, L},
			want:  []string{vipRel, fHook, vipAcq, lHook}, role: Leader,
		},
		{
			name: "burst during release, ends follower: no leader actions", start: Leader, blocks: []string{"release"},
			burst: []raft.RaftState{F, L, F, L, F},
			want:  []string{vipRel, fHook}, role: Follower,
		},
		{
			name: "burst during release, ends candidate", start: Leader, blocks: []string{"release"},
			burst: []raft.RaftState{C, L, C},
			want:  []string{vipRel, fHook}, role: Follower,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t, nil)
			d := startRun(t, f.r)
			before := len(f.ev.waitLines(t, 2))
			if tc.start == Leader {
				d.send(t, tr(L, 1))
				waitRole(t, f.r, Leader, 5*time.Second)
				before = len(f.ev.waitLines(t, 4))
			}
			// Every action of the burst blocks until the whole burst is
			// sent, so coalescing does not depend on scheduling.
			f.vip.block(strings.Count(strings.Join(tc.blocks, " "), "acquire"), strings.Count(strings.Join(tc.blocks, " "), "release"))
			for i, s := range tc.burst {
				d.send(t, tr(s, uint64(10+i)))
				if i < len(tc.blocks) {
					f.vip.waitEntered(t, tc.blocks[i])
				}
			}
			close(f.vip.gate)
			f.ev.waitLines(t, before+len(tc.want))
			waitRole(t, f.r, tc.role, 5*time.Second)
			all := f.ev.lines()
			settle(t, f.ev, all)
			if got := all[before:]; !slices.Equal(got, tc.want) {
				t.Fatalf("events after burst:\n got %q\nwant %q", got, tc.want)
			}
			cut := 0
			for _, run := range f.r.Runs() {
				if strings.Contains(run.Err, ErrSuperseded.Error()) {
					cut++
				}
			}
			if cut != tc.cutOffs {
				t.Errorf("%d superseded runs, want %d: %+v", cut, tc.cutOffs, f.r.Runs())
			}
			if _, failures := f.r.Stats(); failures != 0 {
				t.Errorf("superseded actions counted as %d failures", failures)
			}
		})
	}
}

func TestRunEnd(t *testing.T) {
	tests := []struct {
		name   string
		leader bool
		end    func(d *driver, t *testing.T) // how Run ends
		want   []string                      // events after the role was reached
		reason string
	}{
		{"leader shutdown drops the VIP", true, (*driver).stop, []string{vipRel, fHook}, "shutdown"},
		{"follower shutdown runs nothing", false, (*driver).stop, nil, ""},
		{"transitions closed while leader", true, func(d *driver, t *testing.T) { close(d.ch); d.wait(t) }, []string{vipRel, fHook}, "transitions closed"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t, nil)
			d := startRun(t, f.r)
			n := len(f.ev.waitLines(t, 2))
			if tc.leader {
				d.send(t, tr(raft.Leader, 2))
				n = len(f.ev.waitLines(t, 4))
				waitRole(t, f.r, Leader, 5*time.Second)
			}
			tc.end(d, t) // Run has returned: its actions are done
			got := f.ev.lines()[n:]
			if !slices.Equal(got, tc.want) && len(got)+len(tc.want) > 0 {
				t.Fatalf("events at end %q, want %q", got, tc.want)
			}
			if f.r.Role() != Follower {
				t.Errorf("role after end %q", f.r.Role())
			}
			if tc.reason != "" {
				runs := f.r.Runs()
				if last := runs[len(runs)-1]; last.Reason != tc.reason || last.Role != Follower {
					t.Errorf("last run %+v, want reason %q", last, tc.reason)
				}
			}
		})
	}
}

func TestRunShutdownCutsLeaderActionsShortThenReleases(t *testing.T) {
	f := newFixture(t, nil)
	d := startRun(t, f.r)
	f.ev.waitLines(t, 2)
	f.vip.block(1, 0)
	d.send(t, tr(raft.Leader, 2))
	f.vip.waitEntered(t, "acquire")
	d.stop(t)
	want := []string{vipRel, fHook, vipAcq, vipRel, fHook}
	if got := f.ev.lines(); !slices.Equal(got, want) {
		t.Fatalf("events %q, want %q", got, want)
	}
}

func TestRunVIPFailureDoesNotStopRunner(t *testing.T) {
	f := newFixture(t, nil)
	f.vip.acquireErr = errors.New("netlink: operation not permitted")
	d := startRun(t, f.r)
	f.ev.waitLines(t, 2)
	d.send(t, tr(raft.Leader, 2))
	waitRole(t, f.r, Leader, 5*time.Second)
	d.send(t, tr(raft.Follower, 3))
	waitRole(t, f.r, Follower, 5*time.Second)
	got := f.ev.waitLines(t, 6)
	if want := []string{vipRel, fHook, vipAcq, lHook, vipRel, fHook}; !slices.Equal(got, want) {
		t.Fatalf("events %q, want %q", got, want)
	}
	runs := f.r.Runs()
	acq := runs[2]
	if acq.Action != "vip" || acq.Role != Leader || acq.ExitCode != -1 || !strings.Contains(acq.Err, "operation not permitted") {
		t.Errorf("failed acquire recorded as %+v", acq)
	}
	if total, failures := f.r.Stats(); total != 6 || failures != 1 {
		t.Errorf("stats %d runs %d failures, want 6 and 1", total, failures)
	}
}

func TestStep(t *testing.T) {
	f := newFixture(t, nil)
	ctx := context.Background()
	if err := f.r.Step(ctx, "boss", "x"); !errors.Is(err, ErrInvalidRole) {
		t.Fatalf("Step(boss) = %v, want ErrInvalidRole", err)
	}
	if err := f.r.Step(ctx, Leader, "test"); err != nil {
		t.Fatal(err)
	}
	if err := f.r.Step(ctx, Follower, "oned vip release"); err != nil {
		t.Fatal(err)
	}
	if got, want := f.ev.lines(), []string{vipAcq, lHook, vipRel, fHook}; !slices.Equal(got, want) {
		t.Fatalf("events %q, want %q", got, want)
	}
	if f.r.Role() != Follower {
		t.Errorf("role %q", f.r.Role())
	}

	// Serialized with Run: a Step waits for blocked actions, and gives up
	// when its ctx ends.
	f.vip.block(1, 0)
	done := make(chan error, 1)
	go func() { done <- f.r.Step(ctx, Leader, "blocked") }()
	f.vip.waitEntered(t, "acquire")
	sctx, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	if err := f.r.Step(sctx, Follower, "waits"); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Step while another runs = %v, want deadline exceeded", err)
	}
	close(f.vip.gate)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}
