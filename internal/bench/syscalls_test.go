package bench

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// The system calls a process makes, counted by `perf stat` on the
// raw_syscalls:sys_enter tracepoint (or the sum of syscalls:sys_enter_*
// where the raw one is missing). Each counter starts disabled and is
// switched on and off through perf's control descriptors, so it counts
// exactly the measured window.

// perfTimeout bounds every exchange with a perf process (attach, enable,
// disable, exit).
const perfTimeout = 15 * time.Second

// perfProbe is the outcome of checking once whether perf can count system
// calls here: the event to use, or why not.
type perfProbe struct {
	path  string
	event string // "" when perf cannot count
	why   string // the reason, when event is ""
}

// probePerf runs perf on `true` with the raw tracepoint, then with the
// per-call ones; the first that yields a count is used.
func probePerf() perfProbe {
	path, err := exec.LookPath("perf")
	if err != nil {
		if _, serr := os.Stat("/usr/bin/perf"); serr != nil {
			return perfProbe{why: "perf is not installed (make deps installs linux-perf)"}
		}
		path = "/usr/bin/perf"
	}
	var why string
	for _, ev := range []string{"raw_syscalls:sys_enter", "syscalls:sys_enter_*"} {
		out, err := exec.Command(path, "stat", "-e", ev, "-x,", "--", "true").CombinedOutput()
		n, perr := parsePerfCount(out, ev)
		if err == nil && perr == nil && n > 0 {
			return perfProbe{path: path, event: ev}
		}
		why = fmt.Sprintf("perf stat -e %s: %v %v: %s", ev, err, perr, firstLine(out))
	}
	if os.Geteuid() != 0 {
		why += " (not root: tracepoints need root or CAP_PERFMON and perf_event_paranoid <= 1)"
	}
	return perfProbe{path: path, why: why}
}

// parsePerfCount sums the counts of event's lines in perf's CSV output
// (-x,); ev may end in * to take every matching event.
func parsePerfCount(out []byte, ev string) (int64, error) {
	prefix, wild := strings.CutSuffix(ev, "*")
	var sum int64
	found := false
	for _, line := range strings.Split(string(out), "\n") {
		f := strings.Split(line, ",")
		if len(f) < 3 || !(f[2] == ev || wild && strings.HasPrefix(f[2], prefix)) {
			continue
		}
		n, err := strconv.ParseInt(f[0], 10, 64)
		if err != nil {
			return 0, fmt.Errorf("%s: %q", f[2], f[0]) // <not counted>, <not supported>
		}
		sum += n
		found = true
	}
	if !found {
		return 0, fmt.Errorf("no %s line in perf's output", ev)
	}
	return sum, nil
}

func firstLine(b []byte) string {
	s := strings.TrimSpace(string(b))
	s, _, _ = strings.Cut(s, "\n")
	if len(s) > 200 {
		s = s[:200]
	}
	return s
}

// perfCounter is one `perf stat -p PID` process, started disabled.
type perfCounter struct {
	probe perfProbe
	cmd   *exec.Cmd
	ctl   *os.File // perf reads commands from its end (fd 3)
	ack   *os.File // perf answers "ack" on its end (fd 4)
	acks  *bufio.Reader
	out   bytes.Buffer
	done  chan struct{}
}

// startPerf attaches a disabled counter to every thread of pid (threads
// created later inherit it).
func startPerf(p perfProbe, pid int) (*perfCounter, error) {
	ctlR, ctlW, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	ackR, ackW, err := os.Pipe()
	if err != nil {
		ctlR.Close()
		ctlW.Close()
		return nil, err
	}
	c := &perfCounter{probe: p, ctl: ctlW, ack: ackR, acks: bufio.NewReader(ackR), done: make(chan struct{})}
	c.cmd = exec.Command(p.path, "stat", "-e", p.event, "-x,", "-p", strconv.Itoa(pid), "--control", "fd:3,4", "-D", "-1")
	c.cmd.ExtraFiles = []*os.File{ctlR, ackW}
	c.cmd.Stdout, c.cmd.Stderr = &c.out, &c.out
	c.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	err = c.cmd.Start()
	ctlR.Close()
	ackW.Close()
	if err != nil {
		ctlW.Close()
		ackR.Close()
		return nil, err
	}
	go func() { _ = c.cmd.Wait(); close(c.done) }()
	return c, nil
}

// stop ends perf (SIGINT makes it print its counts) and returns the count.
func (c *perfCounter) stop() (int64, error) {
	defer c.ctl.Close()
	defer c.ack.Close()
	_ = c.cmd.Process.Signal(os.Interrupt)
	select {
	case <-c.done:
	case <-time.After(perfTimeout):
		_ = c.cmd.Process.Kill()
		<-c.done
		return 0, errors.New("perf did not exit on SIGINT")
	}
	return parsePerfCount(c.out.Bytes(), c.probe.event)
}

// perfSet counts the system calls of several processes, one perf each.
type perfSet struct {
	pids     []int
	counters []*perfCounter
	err      error // the first failure; then the counts are n/a
}

// startPerfSet starts one disabled counter per pid; on failure the set
// remembers why and counts nothing.
func startPerfSet(p perfProbe, pids []int) *perfSet {
	s := &perfSet{pids: pids}
	if p.event == "" {
		s.err = errors.New(p.why)
		return s
	}
	for _, pid := range pids {
		c, err := startPerf(p, pid)
		if err != nil {
			s.fail(err)
			return s
		}
		s.counters = append(s.counters, c)
	}
	return s
}

func (s *perfSet) fail(err error) {
	if s.err == nil {
		s.err = err
	}
}

// send gives every counter cmd ("enable", "disable"), writing all commands
// before reading the acks so the counters switch within a few milliseconds
// of each other. perf acks only once its counters are attached, so the
// first enable also waits for the attach.
func (s *perfSet) send(cmd string) {
	if s.err != nil {
		return
	}
	for _, c := range s.counters {
		if _, err := c.ctl.WriteString(cmd + "\n"); err != nil {
			s.fail(fmt.Errorf("perf %s: %w (%s)", cmd, err, firstLine(c.out.Bytes())))
			return
		}
	}
	for _, c := range s.counters {
		if err := c.ack.SetReadDeadline(time.Now().Add(perfTimeout)); err != nil {
			s.fail(err)
			return
		}
		line, err := c.acks.ReadString('\n')
		// perf writes "ack\n" with its C string's NUL after it.
		if err != nil || strings.Trim(line, "\x00 \n") != "ack" {
			s.fail(fmt.Errorf("perf %s: no ack (%q, %v): %s", cmd, line, err, firstLine(c.out.Bytes())))
			return
		}
	}
}

// stop ends every perf and returns the counts by pid (nil, err when any
// counter failed).
func (s *perfSet) stop() (map[int]int64, error) {
	counts := map[int]int64{}
	for i, c := range s.counters {
		n, err := c.stop()
		if err != nil {
			s.fail(fmt.Errorf("pid %d: %w", s.pids[i], err))
		}
		counts[s.pids[i]] = n
	}
	if s.err != nil {
		return nil, s.err
	}
	return counts, nil
}
