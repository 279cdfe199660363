package hooks

import "errors"

// Sentinel errors callers branch on with errors.Is.
var (
	// ErrInvalidConfig wraps every configuration error returned by New.
	ErrInvalidConfig = errors.New("hooks: invalid config")

	// ErrCommandNotFound: a hook's COMMAND does not exist (after resolving a
	// relative path against Config.Dir). Wrapped together with
	// ErrInvalidConfig.
	ErrCommandNotFound = errors.New("hooks: command not found")

	// ErrNotExecutable: a hook's COMMAND exists but is not an executable
	// regular file. Wrapped together with ErrInvalidConfig.
	ErrNotExecutable = errors.New("hooks: command not executable")

	// ErrInvalidRole: Step was given a role other than Leader or Follower.
	ErrInvalidRole = errors.New("hooks: invalid role")

	// ErrActionFailed wraps the failure of one action (VIP or command);
	// Step returns it, joined for every failed action.
	ErrActionFailed = errors.New("hooks: action failed")

	// ErrTimeout: a command ran longer than Config.Timeout and its process
	// group was killed, or a VIP action did not finish within it.
	ErrTimeout = errors.New("hooks: action timed out")

	// ErrSuperseded: leader actions were cut short because the server left
	// the leader role (or shut down) before they completed.
	ErrSuperseded = errors.New("hooks: leader actions superseded")
)
