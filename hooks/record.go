package hooks

import (
	"errors"
	"time"
	"unicode/utf8"
)

// historySize is how many runs Runs returns.
const historySize = 20

// Run is the record of one action: the VIP action or one command.
type Run struct {
	Role     Role
	Reason   string // why the role's actions ran: "startup", "shutdown", a raft transition, a Step caller's reason
	Action   string // "vip" or the command line
	Started  time.Time
	Duration time.Duration
	// ExitCode is the command's exit code; -1 when it did not exit by
	// itself (killed, failed to start) and for a failed VIP action.
	ExitCode int
	Err      string // empty on success
	Output   string // tail of the combined stdout+stderr (commands only)
}

// record appends run to the history and counts it; err is the action's
// error. Leader actions cut short because the server left the leader role
// (ErrSuperseded) are recorded but not counted as failures.
func (r *Runner) record(run Run, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.total++
	if err != nil && !errors.Is(err, ErrSuperseded) {
		r.failures++
	}
	if len(r.history) == historySize {
		copy(r.history, r.history[1:])
		r.history = r.history[:historySize-1]
	}
	r.history = append(r.history, run)
}

// Runs returns the last 20 runs, newest last.
func (r *Runner) Runs() []Run {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Run(nil), r.history...)
}

// Stats returns how many actions ran and how many of them failed, since New.
func (r *Runner) Stats() (runs, failures uint64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.total, r.failures
}

// tailBuffer keeps the last max bytes written to it.
type tailBuffer struct {
	max       int
	buf       []byte
	truncated bool
}

func newTailBuffer(max int) *tailBuffer { return &tailBuffer{max: max} }

func (t *tailBuffer) Write(p []byte) (int, error) {
	n := len(p)
	if len(p) >= t.max {
		t.truncated = t.truncated || len(p) > t.max || len(t.buf) > 0
		t.buf = append(t.buf[:0], p[len(p)-t.max:]...)
		return n, nil
	}
	t.buf = append(t.buf, p...)
	if over := len(t.buf) - t.max; over > 0 {
		t.truncated = true
		t.buf = append(t.buf[:0], t.buf[over:]...)
	}
	return n, nil
}

// String returns the tail, without a rune cut in half at its start.
func (t *tailBuffer) String() string {
	b := t.buf
	if t.truncated {
		for i := 0; i < utf8.UTFMax && len(b) > 0 && !utf8.RuneStart(b[0]); i++ {
			b = b[1:]
		}
	}
	return string(b)
}
