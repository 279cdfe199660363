package hooks

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestNewValidation(t *testing.T) {
	dir := t.TempDir()
	ok := writeScript(t, filepath.Join(dir, "raft", "vip.sh"), "exit 0\n")
	noExec := filepath.Join(dir, "noexec.sh")
	if err := os.WriteFile(noExec, []byte("#!/bin/sh\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		cfg     Config
		wantErr []error
		wantMsg []string
	}{
		{"no hooks", Config{}, nil, nil},
		{"absolute", Config{Leader: Command{Command: ok, Arguments: "leader eth0 198.18.7.100/24"}}, nil, nil},
		{"relative to Dir", Config{Dir: dir, Follower: Command{Command: "raft/vip.sh", Arguments: "follower"}}, nil, nil},
		{"missing leader", Config{Dir: dir, Leader: Command{Command: "raft/nope.sh"}},
			[]error{ErrInvalidConfig, ErrCommandNotFound}, []string{"RAFT_LEADER_HOOK", filepath.Join(dir, "raft/nope.sh")}},
		{"missing follower under default Dir", Config{Follower: Command{Command: "raft/oneha-test-missing.sh"}},
			[]error{ErrInvalidConfig, ErrCommandNotFound}, []string{"RAFT_FOLLOWER_HOOK", DefaultDir + "/raft/oneha-test-missing.sh"}},
		{"not executable", Config{Follower: Command{Command: noExec}},
			[]error{ErrInvalidConfig, ErrNotExecutable}, []string{"RAFT_FOLLOWER_HOOK", noExec}},
		{"directory", Config{Dir: dir, Leader: Command{Command: "raft"}},
			[]error{ErrInvalidConfig, ErrNotExecutable}, []string{"RAFT_LEADER_HOOK", "not a regular file"}},
		{"arguments without command", Config{Leader: Command{Arguments: "leader eth0"}},
			[]error{ErrInvalidConfig}, []string{"RAFT_LEADER_HOOK", "no COMMAND"}},
		{"negative timeout", Config{Timeout: -time.Second}, []error{ErrInvalidConfig}, []string{"Timeout"}},
		{"negative output tail", Config{OutputTail: -1}, []error{ErrInvalidConfig}, []string{"OutputTail"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r, err := New(tc.cfg)
			if tc.wantErr == nil {
				if err != nil || r == nil {
					t.Fatalf("New = %v, %v", r, err)
				}
				return
			}
			if err == nil {
				t.Fatal("New succeeded")
			}
			for _, want := range tc.wantErr {
				if !errors.Is(err, want) {
					t.Errorf("error %q is not %v", err, want)
				}
			}
			for _, want := range tc.wantMsg {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not mention %q", err, want)
				}
			}
		})
	}
}

// TestCommandArguments: relative COMMAND resolved against Dir, ARGUMENTS
// split on whitespace, ONEHA_ROLE set, stdin empty.
func TestCommandArguments(t *testing.T) {
	dir := t.TempDir()
	log := filepath.Join(dir, "args.log")
	writeScript(t, filepath.Join(dir, "raft", "vip.sh"), fmt.Sprintf(`for a in "$@"; do echo "[$a]" >> %[1]s; done
echo "role=$ONEHA_ROLE" >> %[1]s
cat >> %[1]s
echo done
`, log))
	r, err := New(Config{
		Dir:    dir,
		Leader: Command{Command: "raft/vip.sh", Arguments: "  leader eth0\t198.18.7.100/24\n"},
		Logger: testLogger(),
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := r.Step(ctx, Leader, "test"); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(log)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := strings.Split(strings.TrimSpace(string(b)), "\n"), []string{"[leader]", "[eth0]", "[198.18.7.100/24]", "role=leader"}; !slices.Equal(got, want) {
		t.Errorf("hook saw %q, want %q", got, want)
	}
	runs := r.Runs()
	if len(runs) != 1 {
		t.Fatalf("runs %+v", runs)
	}
	want := Run{Role: Leader, Reason: "test", Action: filepath.Join(dir, "raft/vip.sh") + " leader eth0 198.18.7.100/24", Output: "done\n"}
	got := runs[0]
	got.Started, got.Duration = time.Time{}, 0
	if got != want {
		t.Errorf("run\n got %+v\nwant %+v", got, want)
	}
}

// TestCommandTimeoutKillsProcessGroup: a hanging hook and the child it
// forked are killed after Timeout, and the run is recorded.
func TestCommandTimeoutKillsProcessGroup(t *testing.T) {
	dir := t.TempDir()
	pidFile := filepath.Join(dir, "child.pid")
	writeScript(t, filepath.Join(dir, "hang.sh"), fmt.Sprintf(`sleep 60 &
echo $! > %s
echo started
sleep 60
`, pidFile))
	const timeout = 500 * time.Millisecond
	r, err := New(Config{Dir: dir, Follower: Command{Command: "hang.sh"}, Timeout: timeout, Logger: testLogger()})
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	err = r.Step(context.Background(), Follower, "test")
	took := time.Since(start)
	if !errors.Is(err, ErrTimeout) || !errors.Is(err, ErrActionFailed) {
		t.Fatalf("Step = %v, want ErrTimeout and ErrActionFailed", err)
	}
	if took < timeout || took > timeout+3*time.Second {
		t.Errorf("Step took %v with Timeout %v", took, timeout)
	}
	run := r.Runs()[0]
	if run.ExitCode != -1 || !strings.Contains(run.Err, "timed out") || run.Output != "started\n" || run.Duration < timeout {
		t.Errorf("run %+v", run)
	}
	if _, failures := r.Stats(); failures != 1 {
		t.Errorf("failures %d, want 1", failures)
	}
	b, err := os.ReadFile(pidFile)
	if err != nil {
		t.Fatal(err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, 5*time.Second, func() bool { return gone(pid) },
		func() string { return fmt.Sprintf("hook's child %d still running", pid) })
}

// gone reports whether pid no longer runs (absent or a zombie nobody
// reaped yet).
func gone(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return true
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	return i < 0 || strings.HasPrefix(strings.TrimSpace(s[i+1:]), "Z")
}

func TestRunsTailAndExitCodes(t *testing.T) {
	dir := t.TempDir()
	writeScript(t, filepath.Join(dir, "fail.sh"), `i=0
while [ $i -lt 200 ]; do echo "line $i of noise"; i=$((i+1)); done
echo "to stderr" >&2
echo END
exit "${CODE:-3}"
`)
	writeScript(t, filepath.Join(dir, "ok.sh"), "exit 0\n")
	const tail = 100
	r, err := New(Config{Dir: dir, Leader: Command{Command: "ok.sh"}, Follower: Command{Command: "fail.sh"}, OutputTail: tail, Logger: testLogger()})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := r.Step(ctx, Follower, "failing"); !errors.Is(err, ErrActionFailed) {
		t.Fatalf("Step = %v, want ErrActionFailed", err)
	}
	run := r.Runs()[0]
	if run.ExitCode != 3 || !strings.Contains(run.Err, "exit status 3") {
		t.Errorf("exit code %d, err %q", run.ExitCode, run.Err)
	}
	if len(run.Output) > tail || !strings.HasSuffix(run.Output, "to stderr\nEND\n") {
		t.Errorf("output tail (%d bytes) %q", len(run.Output), run.Output)
	}
	for i := range 24 {
		if err := r.Step(ctx, Leader, "ok "+strconv.Itoa(i)); err != nil {
			t.Fatal(err)
		}
	}
	runs := r.Runs()
	if len(runs) != historySize {
		t.Fatalf("%d runs kept, want %d", len(runs), historySize)
	}
	for i, run := range runs {
		if want := "ok " + strconv.Itoa(i+4); run.Reason != want || run.ExitCode != 0 || run.Err != "" {
			t.Errorf("runs[%d] = %+v, want reason %q", i, run, want)
		}
	}
	if total, failures := r.Stats(); total != 25 || failures != 1 {
		t.Errorf("stats %d/%d, want 25/1", total, failures)
	}
}

func TestTailBuffer(t *testing.T) {
	tests := []struct {
		name   string
		max    int
		writes []string
		want   string
	}{
		{"fits", 10, []string{"abc", "def"}, "abcdef"},
		{"exact", 6, []string{"abc", "def"}, "abcdef"},
		{"overflow across writes", 4, []string{"abc", "def"}, "cdef"},
		{"one big write", 3, []string{"a", "bcdefg"}, "efg"},
		{"cut rune dropped", 4, []string{"xxé€"}, "€"},
		{"zero keeps nothing", 0, []string{"abc"}, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b := newTailBuffer(tc.max)
			for _, w := range tc.writes {
				if n, err := b.Write([]byte(w)); n != len(w) || err != nil {
					t.Fatalf("Write = %d, %v", n, err)
				}
			}
			if got := b.String(); got != tc.want {
				t.Errorf("tail %q, want %q", got, tc.want)
			}
		})
	}
}
