package zone

import (
	"context"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"time"

	"github.com/oneha/oneha/raftlog"
	"github.com/oneha/oneha/sqlfsm"
)

// Defaults for Config fields left zero.
const (
	DefaultZoneName     = "OpenNebula"
	DefaultZoneEndpoint = "http://localhost:2633/RPC2"
	DefaultPromoteAfter = 2 * time.Second
	DefaultMaxLag       = 64
	DefaultTick         = 500 * time.Millisecond
	// DefaultMinQuorum is Config.MinQuorum when left zero: dead-server
	// cleanup never leaves fewer than 3 voters, so a 3-server zone never
	// loses a voter to it (autopilot's min_quorum).
	DefaultMinQuorum = 3
	// statusTimeout bounds one Config.Status call of the promotion loop.
	statusTimeout = 2 * time.Second
)

// Config configures a Manager.
type Config struct {
	ZoneID       int    // FEDERATION ZONE_ID (0)
	ZoneName     string // default "OpenNebula"
	ZoneEndpoint string // zone TEMPLATE ENDPOINT, default "http://localhost:2633/RPC2"
	ServerID     int    // FEDERATION SERVER_ID; -1 = solo
	DB           *sqlfsm.DB
	Node         *raftlog.Node // nil when solo
	// Status fetches a remote server's raft progress over its own ENDPOINT
	// (oned supplies it via one.zone.raftstatus); used for promotion. Without
	// it non-voters are never promoted (Run logs a warning).
	Status func(ctx context.Context, endpoint string) (RemoteStatus, error)
	// Resync asks the server at endpoint to wipe its database and Raft
	// state and restart empty (oned supplies it via one.zone.resync).
	// ResetServer calls it after its checks, with a one-time token it has
	// just written for that server through the log and the index the
	// server must apply to see it (see CheckResetToken), and before
	// resetting the server's membership, so the leader then re-sends
	// everything (log or snapshot). nil: ResetServer only resets
	// membership.
	Resync func(ctx context.Context, endpoint, token string, index uint64) error
	Logger *slog.Logger
	// PromoteAfter: a non-voter must stay caught up this long before
	// promotion (default 2s).
	PromoteAfter time.Duration
	// MaxLag: "caught up" = remote LOG_INDEX >= leader commit - MaxLag
	// (default 64) and >= the leader's snapshot index.
	MaxLag uint64
	// Tick is the period of Run's reconcile-and-promote loop (default 500ms).
	Tick time.Duration
	// DeadServerTimeout (RAFT DEAD_SERVER_TIMEOUT_S; 0 = off): a voter
	// whose Status has failed for this long is demoted to a non-voter by
	// the leader, never below MinQuorum voters. Its zone table row stays;
	// once it answers and is caught up, promotion makes it a voter again.
	DeadServerTimeout time.Duration
	// MinQuorum (RAFT MIN_QUORUM, default DefaultMinQuorum): dead-server
	// cleanup never leaves fewer voters than this.
	MinQuorum int
	// Recovery, if set, is what `oned recover` left for this server after
	// a majority loss: the first time it leads with the recovered
	// configuration it deletes the lost servers' rows through the log,
	// before reconciling, then calls RecoveryDone (which removes the
	// marker). See FinishRecovery.
	Recovery     *Recovery
	RecoveryDone func() error
}

// RemoteStatus is a server's raft progress as its one.zone.raftstatus
// reports it.
type RemoteStatus struct {
	State          string
	Term, LogIndex uint64
	Commit         uint64
	// Settings is the server's database fingerprint (its /status
	// DB_SETTINGS); a non-voter is promoted only when it equals the
	// leader's (nil: not reported, not promoted).
	Settings sqlfsm.Settings
}

// Manager owns the zone table of one server and, on the leader, keeps the
// Raft configuration in step with it. Its methods are safe for concurrent
// use.
type Manager struct {
	cfg  Config
	log  *slog.Logger
	db   *sqlfsm.DB
	node *raftlog.Node

	// mu serialises membership changes (AddServer, DelServer, ResetServer,
	// reconcile, promotion) on this server.
	mu sync.Mutex
	// caughtUp: since when each non-voter has been seen caught up; guarded
	// by mu.
	caughtUp map[int]time.Time
	// blocked: why each non-voter is not promoted (its database settings
	// differ from the leader's); guarded by mu.
	blocked map[int]string
	// dead: voters seen unreachable this term (and those demoted for it),
	// for dead-server cleanup; guarded by mu.
	dead map[int]*deadServer
	// recovery: the pending recovery marker (nil when none); guarded by mu.
	recovery *Recovery

	// state caches Disabled (state.go).
	state stateCache
}

// New validates cfg, fills defaults and returns a Manager. SERVER_ID -1
// (solo) requires Node == nil; any other SERVER_ID requires the Node whose
// raft ID is that SERVER_ID.
func New(cfg Config) (*Manager, error) {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: %s", ErrBadConfig, fmt.Sprintf(format, args...))
	}
	switch {
	case cfg.DB == nil:
		return nil, bad("DB is nil")
	case cfg.ZoneID < 0:
		return nil, bad("ZoneID %d is negative", cfg.ZoneID)
	case cfg.ServerID < -1:
		return nil, bad("ServerID %d is below -1", cfg.ServerID)
	case cfg.ServerID == -1 && cfg.Node != nil:
		return nil, bad("ServerID -1 (solo) must not have a raft Node")
	case cfg.ServerID >= 0 && cfg.Node == nil:
		return nil, bad("ServerID %d needs a raft Node (use -1 for solo)", cfg.ServerID)
	case cfg.Node != nil && cfg.Node.ID() != strconv.Itoa(cfg.ServerID):
		return nil, bad("raft node ID %q is not ServerID %d", cfg.Node.ID(), cfg.ServerID)
	}
	if cfg.ZoneName == "" {
		cfg.ZoneName = DefaultZoneName
	}
	if cfg.ZoneEndpoint == "" {
		cfg.ZoneEndpoint = DefaultZoneEndpoint
	}
	if _, err := RaftAddress(cfg.ZoneEndpoint); err != nil {
		return nil, bad("ZoneEndpoint: %v", err)
	}
	if cfg.PromoteAfter == 0 {
		cfg.PromoteAfter = DefaultPromoteAfter
	}
	if cfg.MaxLag == 0 {
		cfg.MaxLag = DefaultMaxLag
	}
	if cfg.Tick == 0 {
		cfg.Tick = DefaultTick
	}
	if cfg.PromoteAfter < 0 || cfg.Tick < 0 || cfg.DeadServerTimeout < 0 {
		return nil, bad("PromoteAfter, Tick and DeadServerTimeout must not be negative")
	}
	if cfg.MinQuorum == 0 {
		cfg.MinQuorum = DefaultMinQuorum
	}
	if cfg.MinQuorum < 1 {
		return nil, bad("MinQuorum %d must be at least 1", cfg.MinQuorum)
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	return &Manager{
		cfg:      cfg,
		log:      cfg.Logger.With("zone_id", cfg.ZoneID, "server_id", cfg.ServerID),
		db:       cfg.DB,
		node:     cfg.Node,
		caughtUp: map[int]time.Time{},
		blocked:  map[int]string{},
		dead:     map[int]*deadServer{},
		recovery: cfg.Recovery,
	}, nil
}

// solo reports whether this server runs without Raft (SERVER_ID -1).
func (m *Manager) solo() bool { return m.node == nil }

// raftID is a zone server ID as a raft server ID.
func raftID(id int) string { return strconv.Itoa(id) }

// requireLeader returns nil on a solo server or a ready leader; otherwise
// the node's error (a *raftlog.NotLeaderError on a follower).
func (m *Manager) requireLeader(ctx context.Context) error {
	if m.solo() {
		return nil
	}
	return m.node.WaitReady(ctx)
}
