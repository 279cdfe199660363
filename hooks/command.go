package hooks

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// outputGrace is how long a command's output is still read after the
// command itself exited: processes it left behind may hold the pipe open,
// and the runner does not wait for them.
const outputGrace = 200 * time.Millisecond

// startAttempts bounds start's retries on ETXTBSY.
const startAttempts = 5

// Command is one of oned.conf's RAFT_LEADER_HOOK / RAFT_FOLLOWER_HOOK:
// COMMAND is absolute or relative to Config.Dir, ARGUMENTS is split on
// whitespace (no shell quoting, as in OpenNebula). The zero Command means
// no hook.
type Command struct {
	Command   string
	Arguments string
}

// command is a validated hook command.
type command struct {
	path string
	args []string
}

// String is the command line, as recorded in Run.Action.
func (c *command) String() string {
	return strings.Join(append([]string{c.path}, c.args...), " ")
}

// resolveCommand validates c; key names the oned.conf attribute in errors.
// It returns nil, nil for an empty Command.
func resolveCommand(key string, c Command, dir string) (*command, error) {
	name := strings.TrimSpace(c.Command)
	if name == "" {
		if strings.TrimSpace(c.Arguments) != "" {
			return nil, fmt.Errorf("%w: %s has ARGUMENTS %q but no COMMAND", ErrInvalidConfig, key, c.Arguments)
		}
		return nil, nil
	}
	path := name
	if !filepath.IsAbs(path) {
		path = filepath.Join(dir, path)
	}
	fi, err := os.Stat(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil, fmt.Errorf("%w: %s COMMAND %q: %w: %s does not exist", ErrInvalidConfig, key, name, ErrCommandNotFound, path)
	case err != nil:
		return nil, fmt.Errorf("%w: %s COMMAND %q: %w", ErrInvalidConfig, key, name, err)
	case !fi.Mode().IsRegular():
		return nil, fmt.Errorf("%w: %s COMMAND %q: %w: %s is not a regular file", ErrInvalidConfig, key, name, ErrNotExecutable, path)
	case fi.Mode().Perm()&0o111 == 0:
		return nil, fmt.Errorf("%w: %s COMMAND %q: %w: %s has no execute permission (%v)", ErrInvalidConfig, key, name, ErrNotExecutable, path, fi.Mode().Perm())
	}
	return &command{path: path, args: strings.Fields(c.Arguments)}, nil
}

// run executes the command for role and returns its exit code (-1 when it
// did not exit by itself), the tail of its combined output and an error
// when it failed.
//
// The command runs in its own process group with stdin /dev/null and the
// inherited environment plus ONEHA_ROLE. When ctx ends or timeout passes,
// the whole group is killed with SIGKILL, so children a hook forked die
// with it.
func (c *command) run(ctx context.Context, role Role, timeout time.Duration, tail int, log *slog.Logger) (int, string, error) {
	cctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()

	// Our own pipe (not exec's copying goroutine) so that Wait returns when
	// the command exits even if something it started keeps the pipe open.
	pr, pw, err := os.Pipe()
	if err != nil {
		return -1, "", fmt.Errorf("output pipe: %w", err)
	}
	defer pr.Close()

	cmd, err := c.start(cctx, role, pw)
	pw.Close()
	if err != nil {
		return -1, "", fmt.Errorf("start: %w", err)
	}

	out := newTailBuffer(tail)
	copied := make(chan struct{})
	go func() {
		defer close(copied)
		_, _ = io.Copy(out, pr)
	}()
	werr := cmd.Wait()
	select {
	case <-copied:
	case <-time.After(outputGrace):
		pr.Close() // unblocks the copy
		<-copied
	}
	if werr == nil && syscall.Kill(-cmd.Process.Pid, 0) == nil {
		log.Warn("hook exited but left processes running in its process group",
			"command", c.String(), "pgid", cmd.Process.Pid)
	}

	code := 0
	if werr != nil {
		code = -1
		if ee, ok := errors.AsType[*exec.ExitError](werr); ok {
			code = ee.ExitCode() // -1 when killed by a signal
		}
	}
	switch {
	case werr == nil:
		return 0, out.String(), nil
	case ctx.Err() != nil:
		return code, out.String(), fmt.Errorf("process group killed: %w (%w)", context.Cause(ctx), werr)
	case cctx.Err() != nil:
		return code, out.String(), fmt.Errorf("%w after %v, process group killed (%w)", ErrTimeout, timeout, werr)
	}
	return code, out.String(), werr
}

// start starts the command with out as stdout and stderr. It retries
// briefly on ETXTBSY: exec fails with it while any process (a concurrent
// fork of this one, a tool installing the hook) holds the file open for
// writing.
func (c *command) start(ctx context.Context, role Role, out *os.File) (*exec.Cmd, error) {
	for attempt := 1; ; attempt++ {
		cmd := exec.CommandContext(ctx, c.path, c.args...)
		cmd.Env = append(os.Environ(), "ONEHA_ROLE="+string(role))
		cmd.Stdin = nil // /dev/null
		cmd.Stdout, cmd.Stderr = out, out
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
		cmd.Cancel = func() error {
			return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		}
		err := cmd.Start()
		if err == nil || !errors.Is(err, syscall.ETXTBSY) || attempt == startAttempts {
			return cmd, err
		}
		select {
		case <-ctx.Done():
			return cmd, err
		case <-time.After(time.Duration(attempt) * 10 * time.Millisecond):
		}
	}
}
