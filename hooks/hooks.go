package hooks

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"
)

// Defaults applied by New.
const (
	DefaultDir        = "/var/lib/one/remotes/hooks"
	DefaultTimeout    = 10 * time.Second
	DefaultOutputTail = 2048
)

// Role is the role whose actions run: Leader or Follower.
type Role string

// Roles.
const (
	Leader   Role = "leader"
	Follower Role = "follower"
)

// VIP is the built-in floating-IP action (package vip implements it).
// Both methods must be idempotent and return when ctx ends.
type VIP interface {
	Acquire(ctx context.Context) error
	Release(ctx context.Context) error
}

// Config configures a Runner.
type Config struct {
	Leader   Command // RAFT_LEADER_HOOK (zero = none)
	Follower Command // RAFT_FOLLOWER_HOOK (zero = none)
	// Dir is the base of relative commands (default DefaultDir).
	Dir string
	// Timeout bounds every action: a command running longer is killed with
	// its process group, a VIP action gets a context ending then
	// (default DefaultTimeout).
	Timeout time.Duration
	VIP     VIP          // may be nil
	Logger  *slog.Logger // nil means slog.Default()
	// OutputTail is how many bytes of a command's combined output each Run
	// keeps (default DefaultOutputTail).
	OutputTail int
}

// Runner turns leadership transitions into VIP actions and hook commands.
// All its methods are safe for concurrent use.
type Runner struct {
	vip      VIP
	leader   *command // nil: none
	follower *command // nil: none
	timeout  time.Duration
	tail     int
	log      *slog.Logger

	// sem serializes role actions (Run's and Step's); a channel so that
	// waiting for it honours a context.
	sem chan struct{}

	mu       sync.Mutex
	role     Role      // role whose actions last completed; "" before any
	handover *handover // armed by HandOver for a planned step-down; nil: none
	history  []Run
	total    uint64
	failures uint64
}

// New validates cfg and returns a Runner. A configured command must exist
// and be executable; errors name RAFT_LEADER_HOOK or RAFT_FOLLOWER_HOOK
// and wrap ErrInvalidConfig (and ErrCommandNotFound or ErrNotExecutable).
func New(cfg Config) (*Runner, error) {
	if cfg.Dir == "" {
		cfg.Dir = DefaultDir
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = DefaultTimeout
	}
	if cfg.OutputTail == 0 {
		cfg.OutputTail = DefaultOutputTail
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Timeout < 0 {
		return nil, fmt.Errorf("%w: Timeout %v is negative", ErrInvalidConfig, cfg.Timeout)
	}
	if cfg.OutputTail < 0 {
		return nil, fmt.Errorf("%w: OutputTail %d is negative", ErrInvalidConfig, cfg.OutputTail)
	}
	leader, err := resolveCommand("RAFT_LEADER_HOOK", cfg.Leader, cfg.Dir)
	if err != nil {
		return nil, err
	}
	follower, err := resolveCommand("RAFT_FOLLOWER_HOOK", cfg.Follower, cfg.Dir)
	if err != nil {
		return nil, err
	}
	return &Runner{
		vip:      cfg.VIP,
		leader:   leader,
		follower: follower,
		timeout:  cfg.Timeout,
		tail:     cfg.OutputTail,
		log:      cfg.Logger,
		sem:      make(chan struct{}, 1),
	}, nil
}

// Role returns the role whose actions last completed ("" before any ran).
func (r *Runner) Role() Role {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.role
}

// Step runs role's actions now, serialized with Run's: oned at shutdown,
// or an operator's `oned vip release`. It returns ErrActionFailed (joined
// for each failed action) or ctx's error if the actions could not start.
//
// Follower actions, once started, are not cut short by ctx (only by
// Timeout): a release is never left half done. Leader actions stop when
// ctx ends. A forced role lasts until Run sees the next transition, which
// brings the runner back in line with raft.
func (r *Runner) Step(ctx context.Context, role Role, reason string) error {
	if role != Leader && role != Follower {
		return fmt.Errorf("%w: %q", ErrInvalidRole, role)
	}
	if err := r.lock(ctx); err != nil {
		return fmt.Errorf("hooks: step to %s: %w", role, err)
	}
	defer r.unlock()
	if role == Follower {
		ctx = context.WithoutCancel(ctx)
	}
	return r.perform(ctx, role, reason)
}

func (r *Runner) lock(ctx context.Context) error {
	select {
	case <-ctx.Done():
		return context.Cause(ctx)
	default:
	}
	select {
	case r.sem <- struct{}{}:
		return nil
	case <-ctx.Done():
		return context.Cause(ctx)
	}
}

func (r *Runner) unlock() { <-r.sem }

// action is one step of a role's actions.
type action struct {
	name string // Run.Action
	do   func(ctx context.Context) (exitCode int, output string, err error)
}

// actions lists role's actions in order: the VIP first, then the command.
func (r *Runner) actions(role Role) []action {
	var acts []action
	if r.vip != nil {
		f := r.vip.Release
		if role == Leader {
			f = r.vip.Acquire
		}
		acts = append(acts, action{name: "vip", do: func(ctx context.Context) (int, string, error) {
			if err := r.vipAction(ctx, f); err != nil {
				return -1, "", err
			}
			return 0, "", nil
		}})
	}
	cmd := r.follower
	if role == Leader {
		cmd = r.leader
	}
	if cmd != nil {
		acts = append(acts, action{name: cmd.String(), do: func(ctx context.Context) (int, string, error) {
			return cmd.run(ctx, role, r.timeout, r.tail, r.log)
		}})
	}
	return acts
}

// vipAction runs f with Timeout.
func (r *Runner) vipAction(ctx context.Context, f func(context.Context) error) error {
	tctx, cancel := context.WithTimeout(ctx, r.timeout)
	defer cancel()
	err := f(tctx)
	switch {
	case err == nil:
		return nil
	case ctx.Err() != nil:
		return fmt.Errorf("cut short: %w (%w)", context.Cause(ctx), err)
	case tctx.Err() != nil:
		return fmt.Errorf("%w after %v (%w)", ErrTimeout, r.timeout, err)
	}
	return err
}

// perform runs role's actions in order; the caller holds sem. Every action
// runs even if an earlier one failed (a failed VIP acquire still runs the
// leader command). Leader actions stop when ctx ends; if none started, the
// role does not change.
func (r *Runner) perform(ctx context.Context, role Role, reason string) error {
	var errs []error
	started := false
	for _, a := range r.actions(role) {
		if ctx.Err() != nil {
			r.log.Info("hook actions cut short", "role", role, "reason", reason,
				"skipped", a.name, "cause", context.Cause(ctx))
			errs = append(errs, fmt.Errorf("%w: %s %s not run: %w", ErrActionFailed, role, a.name, context.Cause(ctx)))
			break
		}
		started = true
		run := Run{Role: role, Reason: reason, Action: a.name, Started: time.Now()}
		code, out, err := a.do(ctx)
		run.Duration = time.Since(run.Started)
		if err != nil {
			run.Err = err.Error()
		}
		run.ExitCode, run.Output = code, out
		r.record(run, err)
		if err != nil {
			errs = append(errs, fmt.Errorf("%w: %s %s: %w", ErrActionFailed, role, a.name, err))
			lvl := slog.LevelError
			if errors.Is(err, ErrSuperseded) {
				lvl = slog.LevelInfo
			}
			r.log.Log(ctx, lvl, "hook action failed", "role", role, "reason", reason, "action", a.name,
				"duration", run.Duration, "exit_code", code, "error", err, "output", out)
			continue
		}
		r.log.Info("hook action done", "role", role, "reason", reason, "action", a.name,
			"duration", run.Duration)
	}
	if started || ctx.Err() == nil {
		r.mu.Lock()
		r.role = role
		r.mu.Unlock()
	}
	return errors.Join(errs...)
}
