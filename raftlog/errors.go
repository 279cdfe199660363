package raftlog

import (
	"errors"
	"fmt"
)

// Sentinel errors callers branch on with errors.Is.
var (
	// ErrNotLeader: the operation needs the leader and this server is not it.
	// Returned errors are usually a *NotLeaderError carrying the known leader.
	ErrNotLeader = errors.New("raftlog: not the leader")

	// ErrNotReady: this server is the leader but has not yet applied every
	// entry of earlier terms (its barrier in the current term has not
	// completed), so it must not serve reads yet.
	ErrNotReady = errors.New("raftlog: leader not ready (barrier of the current term pending)")

	// ErrUnknownOutcome: an entry may have been appended to the log but this
	// server cannot tell whether it was committed (leadership lost, shutdown
	// or caller deadline after enqueueing). Tell users "outcome unknown",
	// never "failed".
	ErrUnknownOutcome = errors.New("raftlog: outcome unknown")

	// ErrExistingState: Bootstrap refused because raft state (log, term or
	// snapshot) already exists in Config.Dir.
	ErrExistingState = errors.New("raftlog: raft state already exists")

	// ErrZoneExists: Bootstrap refused because the FSM already holds applied
	// entries, i.e. the database came from an existing zone and must join it.
	ErrZoneExists = errors.New("raftlog: database belongs to an existing zone (applied index > 0)")

	// ErrBootstrapRefused: Bootstrap refused by Config.BootstrapGuard.
	ErrBootstrapRefused = errors.New("raftlog: bootstrap refused")

	// ErrInvalidConfig wraps every Config.Validate error.
	ErrInvalidConfig = errors.New("raftlog: invalid config")

	// ErrShutdown: the node has been shut down.
	ErrShutdown = errors.New("raftlog: node is shut down")

	// ErrPreVoteUnsupported: the transport does not implement
	// raft.WithPreVote; pre-vote is mandatory (DESIGN.md).
	ErrPreVoteUnsupported = errors.New("raftlog: transport does not support pre-vote")
)

// NotLeaderError is returned by leader-only operations on a server that is
// not the leader. errors.Is(err, ErrNotLeader) is true. LeaderID/LeaderAddr
// are empty when no leader is known (election in progress).
type NotLeaderError struct {
	LeaderID   string
	LeaderAddr string
	// Cause is the underlying raft error, if any (raft.ErrNotLeader,
	// raft.ErrLeadershipTransferInProgress, ...).
	Cause error
}

func (e *NotLeaderError) Error() string {
	msg := "raftlog: not the leader"
	if e.LeaderID != "" || e.LeaderAddr != "" {
		msg += fmt.Sprintf(" (leader id=%q addr=%q)", e.LeaderID, e.LeaderAddr)
	} else {
		msg += " (no known leader)"
	}
	if e.Cause != nil {
		msg += ": " + e.Cause.Error()
	}
	return msg
}

// Is makes errors.Is(err, ErrNotLeader) true.
func (e *NotLeaderError) Is(target error) bool { return target == ErrNotLeader }

// Unwrap returns the underlying raft error.
func (e *NotLeaderError) Unwrap() error { return e.Cause }
