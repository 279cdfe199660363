package hooks

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/raft"

	"github.com/oneha/oneha/raftlog"
)

// Lines the fake VIP and the test hooks append to the shared event log.
const (
	vipAcq = "vip acquire"
	vipRel = "vip release"
	lHook  = "leader-hook role=leader args=leader eth0 198.18.7.100/24"
	fHook  = "follower-hook role=follower args=follower eth0 198.18.7.100/24"
)

func testLogger() *slog.Logger {
	if os.Getenv("ONEHA_TEST_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.DiscardHandler)
}

// eventLog is a file the fake VIP and the hook scripts append lines to, so
// the test sees one global order of actions.
type eventLog struct {
	mu   sync.Mutex
	path string
}

func (e *eventLog) add(line string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	f, err := os.OpenFile(e.path, os.O_APPEND|os.O_WRONLY|os.O_CREATE, 0o644)
	if err != nil {
		panic(err)
	}
	defer f.Close()
	fmt.Fprintln(f, line)
}

func (e *eventLog) lines() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	b, err := os.ReadFile(e.path)
	if err != nil {
		return nil
	}
	s := strings.TrimSuffix(string(b), "\n")
	if s == "" {
		return nil
	}
	return strings.Split(s, "\n")
}

// waitLines waits until the log has at least n lines and returns them.
func (e *eventLog) waitLines(t *testing.T, n int) []string {
	t.Helper()
	var got []string
	waitFor(t, 10*time.Second, func() bool { got = e.lines(); return len(got) >= n },
		func() string { return fmt.Sprintf("want %d event lines, have %q", n, got) })
	return got
}

// fakeVIP records calls in the event log. The next blockAcquire acquires
// (blockRelease releases) block until gate is closed; an acquire also
// returns early when its ctx ends.
type fakeVIP struct {
	ev         *eventLog
	acquireErr error
	gate       chan struct{}
	entered    chan string

	mu           sync.Mutex
	blockAcquire int
	blockRelease int
}

func newFakeVIP(ev *eventLog) *fakeVIP {
	return &fakeVIP{ev: ev, gate: make(chan struct{}), entered: make(chan string, 16)}
}

// block makes the next acquires and releases block until gate is closed.
func (f *fakeVIP) block(acquires, releases int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.blockAcquire, f.blockRelease = acquires, releases
}

func (f *fakeVIP) take(n *int) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	if *n > 0 {
		*n--
		return true
	}
	return false
}

func (f *fakeVIP) Acquire(ctx context.Context) error {
	f.ev.add(vipAcq)
	if f.take(&f.blockAcquire) {
		f.entered <- "acquire"
		select {
		case <-f.gate:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return f.acquireErr
}

func (f *fakeVIP) Release(ctx context.Context) error {
	f.ev.add(vipRel)
	if f.take(&f.blockRelease) {
		f.entered <- "release"
		<-f.gate // a release must not be cut short: ignore ctx
	}
	return nil
}

func (f *fakeVIP) waitEntered(t *testing.T, want string) {
	t.Helper()
	select {
	case got := <-f.entered:
		if got != want {
			t.Fatalf("blocked in %s, want %s", got, want)
		}
	case <-time.After(10 * time.Second):
		t.Fatalf("VIP %s never started", want)
	}
}

// writeScript writes an executable shell script.
func writeScript(t *testing.T, path, body string) string {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte("#!/bin/sh\n"+body), 0o755); err != nil {
		t.Fatal(err)
	}
	return path
}

// fixture is a runner with a fake VIP and vip.sh-style hooks that append
// to the event log.
type fixture struct {
	r   *Runner
	vip *fakeVIP
	ev  *eventLog
	dir string
}

func newFixture(t *testing.T, adjust func(*Config)) *fixture {
	t.Helper()
	dir := t.TempDir()
	ev := &eventLog{path: filepath.Join(dir, "events.log")}
	writeScript(t, filepath.Join(dir, "leader.sh"), `echo "leader-hook role=$ONEHA_ROLE args=$*" >> `+ev.path+"\n")
	writeScript(t, filepath.Join(dir, "follower.sh"), `echo "follower-hook role=$ONEHA_ROLE args=$*" >> `+ev.path+"\n")
	vip := newFakeVIP(ev)
	cfg := Config{
		Leader:   Command{Command: "leader.sh", Arguments: "leader eth0 198.18.7.100/24"},
		Follower: Command{Command: "follower.sh", Arguments: "follower eth0 198.18.7.100/24"},
		Dir:      dir,
		VIP:      vip,
		Logger:   testLogger(),
	}
	if adjust != nil {
		adjust(&cfg)
	}
	r, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return &fixture{r: r, vip: vip, ev: ev, dir: dir}
}

// driver runs Runner.Run on a channel the test controls.
type driver struct {
	ch     chan raftlog.Transition
	cancel context.CancelFunc
	done   chan struct{}
}

func startRun(t *testing.T, r *Runner) *driver {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	d := &driver{ch: make(chan raftlog.Transition), cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(d.done)
		r.Run(ctx, d.ch)
	}()
	t.Cleanup(func() { d.cancel(); <-d.done })
	return d
}

// startedFixture is a default fixture whose Run has done its startup
// (follower) actions.
func startedFixture(t *testing.T) (*fixture, *driver) {
	t.Helper()
	f := newFixture(t, nil)
	d := startRun(t, f.r)
	f.ev.waitLines(t, 2) // vip release, follower hook
	return f, d
}

func (d *driver) send(t *testing.T, ts ...raftlog.Transition) {
	t.Helper()
	for _, tr := range ts {
		select {
		case d.ch <- tr:
		case <-time.After(10 * time.Second):
			t.Fatalf("runner did not take transition %v", tr)
		}
	}
}

// stop ends Run's context and waits for Run to return.
func (d *driver) stop(t *testing.T) {
	t.Helper()
	d.cancel()
	d.wait(t)
}

func (d *driver) wait(t *testing.T) {
	t.Helper()
	select {
	case <-d.done:
	case <-time.After(15 * time.Second):
		t.Fatal("Run did not return")
	}
}

func tr(s raft.RaftState, term uint64) raftlog.Transition {
	leader := ""
	if s == raft.Leader {
		leader = "self"
	}
	return raftlog.Transition{State: s, Term: term, Leader: leader}
}

func waitFor(t *testing.T, timeout time.Duration, cond func() bool, msg func() string) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v: %s", timeout, msg())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func waitRole(t *testing.T, r *Runner, want Role, timeout time.Duration) {
	t.Helper()
	waitFor(t, timeout, func() bool { return r.Role() == want },
		func() string { return fmt.Sprintf("role %q, want %q; runs %+v", r.Role(), want, r.Runs()) })
}

// settle gives the runner time to act on transitions that should change
// nothing, then checks the log is exactly want.
func settle(t *testing.T, ev *eventLog, want []string) {
	t.Helper()
	time.Sleep(150 * time.Millisecond)
	if got := ev.lines(); !slices.Equal(got, want) {
		t.Fatalf("events:\n got %q\nwant %q", got, want)
	}
}
