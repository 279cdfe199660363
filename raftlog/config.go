package raftlog

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/hashicorp/raft"
)

// Log store kinds for Config.LogStore.
const (
	LogStoreWAL    = "wal"    // github.com/hashicorp/raft-wal (log + stable store in one)
	LogStoreBoltDB = "boltdb" // github.com/hashicorp/raft-boltdb/v2 (log + stable store in one bolt file)
)

// snapshotRetain is how many snapshots raft.NewFileSnapshotStore keeps.
const snapshotRetain = 2

// minDuration is the smallest accepted value for every duration in Config.
const minDuration = 5 * time.Millisecond

// Config configures a Node. Start from DefaultConfig and override fields;
// New validates it.
type Config struct {
	// ID is the raft server ID: OpenNebula's SERVER_ID as a string ("0").
	ID string
	// Dir holds the raft state: log store, stable store and snapshots.
	Dir string

	// ElectionTimeout is RAFT ELECTION_TIMEOUT_MS. It is used for both raft's
	// HeartbeatTimeout and ElectionTimeout: a follower that hears nothing
	// for a random time in [T, 2T) starts a (pre-)vote, so a dead leader is
	// replaced in about 0.5–1 s with the 500 ms default.
	ElectionTimeout time.Duration
	// LeaderLease is raft's LeaderLeaseTimeout: a leader that has not heard
	// from a quorum for this long steps down. 0 means ElectionTimeout/2.
	// Must be <= ElectionTimeout. LeaseRead relies on it.
	LeaderLease time.Duration
	// BroadcastTimeout is RAFT BROADCAST_TIMEOUT_MS: network I/O deadline of
	// the transport (scaled up for InstallSnapshot by raft).
	BroadcastTimeout time.Duration
	// CommitTimeout (RAFT COMMIT_TIMEOUT_MS) is how long a leader with no
	// new entry waits, per follower, before sending an AppendEntries that
	// carries its commit index: a follower applies the last entries of a
	// burst within one to two of it. While entries flow, every
	// AppendEntries carries the commit index anyway. It does not delay the
	// leader's own commits, only a follower's local (stale) reads, and it is
	// most of an idle zone's CPU: 5 ms kept an idle 3-server zone at 17-23%
	// of a core, 50 ms mostly at 7% (BenchmarkIdleZoneCPU). At most
	// ElectionTimeout.
	CommitTimeout time.Duration
	// MaxAppendEntries bounds the entries per AppendEntries RPC, per log
	// write and per FSM batch (1..1024).
	MaxAppendEntries int

	// SnapshotThreshold is the number of new entries that triggers a snapshot
	// (checked every SnapshotInterval, randomized by raft).
	SnapshotThreshold uint64
	SnapshotInterval  time.Duration
	// TrailingLogs is RAFT LOG_RETENTION: entries kept after a snapshot so
	// that slightly lagging followers catch up from the log, not a snapshot.
	TrailingLogs uint64

	// LogStore is LogStoreWAL or LogStoreBoltDB.
	LogStore string

	// DeathWatch (RAFT FAST_FAILOVER, default on) lets a follower on this
	// package's network transport replace a leader whose process died
	// (its connections closed, its port refuses) without waiting for the
	// heartbeat timeout (deathwatch.go).
	DeathWatch bool

	// BootstrapGuard, if set, is called by Bootstrap after the built-in
	// checks; a non-nil error refuses the bootstrap (wrapped with
	// ErrBootstrapRefused). The zone package uses it to refuse when the zone
	// table lists other servers (invariant I7).
	BootstrapGuard func(ctx context.Context) error

	// BeforeStepDown, if set, is called on the leader just before a
	// leadership transfer the node starts by itself: at Shutdown
	// (StepDownGracefulStop) and when its FSM is degraded
	// (StepDownDegraded). ctx bounds it (stepDownHookTimeout); the transfer
	// follows whatever it returns. The zone records the reason there.
	BeforeStepDown func(ctx context.Context, reason string)

	// OnAppend, if set, receives the duration of every append to this
	// server's log store (write and fsync) with the number of entries
	// it held, and whether this server was the leader: the leader's own
	// append of client entries, or a follower's part of a replication
	// round trip. OnReplicate, if set,
	// receives the round trip of every AppendEntries RPC that carried
	// entries to one follower (send, the follower's append, the answer),
	// with the entries it carried. Both run on raft's goroutines, must be
	// quick and must not call the Node. Used for oned's stage histograms.
	OnAppend    func(leader bool, entries int, d time.Duration)
	OnReplicate func(entries int, d time.Duration)

	// Logger receives the node's and raft's logs. nil means slog.Default().
	Logger *slog.Logger
}

// Reasons a leader hands leadership away for (Config.BeforeStepDown and
// the zone's leadership history).
const (
	StepDownTransfer     = "transfer"           // one.zone.leadertransfer
	StepDownGracefulStop = "graceful stop"      // SIGTERM / systemctl stop of the leader
	StepDownDegraded     = "degraded step-down" // the leader's database could not apply
)

// stepDownHookTimeout bounds one BeforeStepDown call.
const stepDownHookTimeout = 2 * time.Second

// DefaultConfig returns the defaults. ID and Dir must still be set.
func DefaultConfig() Config {
	return Config{
		ElectionTimeout:   500 * time.Millisecond,
		LeaderLease:       250 * time.Millisecond,
		BroadcastTimeout:  500 * time.Millisecond,
		CommitTimeout:     50 * time.Millisecond,
		MaxAppendEntries:  512,
		SnapshotThreshold: 8192,
		SnapshotInterval:  30 * time.Second,
		TrailingLogs:      250000,
		LogStore:          LogStoreWAL,
		DeathWatch:        true,
	}
}

// withDefaults fills derived defaults (LeaderLease 0 → ElectionTimeout/2,
// Logger nil → slog.Default()).
func (c Config) withDefaults() Config {
	if c.LeaderLease == 0 {
		c.LeaderLease = c.ElectionTimeout / 2
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	return c
}

// Validate reports the first invalid field. Errors wrap ErrInvalidConfig and
// name the field.
func (c Config) Validate() error {
	c = c.withDefaults()
	bad := func(field, format string, args ...any) error {
		return fmt.Errorf("%w: %s: %s", ErrInvalidConfig, field, fmt.Sprintf(format, args...))
	}
	if c.ID == "" {
		return bad("ID", "must not be empty")
	}
	if c.Dir == "" {
		return bad("Dir", "must not be empty")
	}
	for _, d := range []struct {
		name string
		v    time.Duration
	}{
		{"ElectionTimeout", c.ElectionTimeout},
		{"LeaderLease", c.LeaderLease},
		{"BroadcastTimeout", c.BroadcastTimeout},
		{"CommitTimeout", c.CommitTimeout},
		{"SnapshotInterval", c.SnapshotInterval},
	} {
		if d.v < minDuration {
			return bad(d.name, "%v is below the minimum %v", d.v, minDuration)
		}
	}
	if c.CommitTimeout > c.ElectionTimeout {
		return bad("CommitTimeout", "%v must be <= ElectionTimeout (%v)", c.CommitTimeout, c.ElectionTimeout)
	}
	if c.LeaderLease > c.ElectionTimeout {
		return bad("LeaderLease", "%v must be <= ElectionTimeout (%v)", c.LeaderLease, c.ElectionTimeout)
	}
	if c.MaxAppendEntries < 1 || c.MaxAppendEntries > 1024 {
		return bad("MaxAppendEntries", "%d must be in 1..1024", c.MaxAppendEntries)
	}
	if c.SnapshotThreshold == 0 {
		return bad("SnapshotThreshold", "must be > 0")
	}
	switch c.LogStore {
	case LogStoreWAL, LogStoreBoltDB:
	default:
		return bad("LogStore", "%q must be %q or %q", c.LogStore, LogStoreWAL, LogStoreBoltDB)
	}
	return nil
}

// raftConfig maps c (already defaulted and valid) onto raft.Config.
//
// Pre-vote: raft 1.8 enables it unless PreVoteDisabled is set or the
// transport lacks raft.WithPreVote; we leave PreVoteDisabled false here and
// New refuses transports without pre-vote support.
func (c Config) raftConfig(logger *slog.Logger) *raft.Config {
	rc := raft.DefaultConfig()
	rc.LocalID = raft.ServerID(c.ID)
	rc.HeartbeatTimeout = c.ElectionTimeout
	rc.ElectionTimeout = c.ElectionTimeout
	rc.LeaderLeaseTimeout = c.LeaderLease
	rc.CommitTimeout = c.CommitTimeout
	rc.MaxAppendEntries = c.MaxAppendEntries
	rc.BatchApplyCh = true // concurrent Applies batch into one log write / FSM batch
	rc.SnapshotThreshold = c.SnapshotThreshold
	rc.SnapshotInterval = c.SnapshotInterval
	rc.TrailingLogs = c.TrailingLogs
	rc.NoSnapshotRestoreOnStart = true // persistent FSM: New restores only when the DB is behind
	rc.PreVoteDisabled = false
	rc.ShutdownOnRemove = true
	rc.NoLegacyTelemetry = true
	rc.Logger = NewHCLogger(logger, "raft")
	return rc
}
