package zone

import (
	"errors"

	"github.com/oneha/oneha/raftlog"
)

// Sentinel errors callers branch on with errors.Is. Returned errors wrap them
// with the details (IDs, names, endpoints).
var (
	// ErrNoSuchZone: the zone ID is not this server's zone, or its row does
	// not exist (yet) in the local database.
	ErrNoSuchZone = errors.New("zone: no such zone")
	// ErrNoSuchServer: the zone has no server with that ID.
	ErrNoSuchServer = errors.New("zone: no such server")
	// ErrJoinInProgress: another server is still joining (a non-voter
	// catching up, or listed in the zone but not yet in Raft). One join at a
	// time; the message names that server.
	ErrJoinInProgress = errors.New("zone: a server is still joining")
	// ErrBadEndpoint: the endpoint is not http(s)://host:port[/path].
	ErrBadEndpoint = errors.New("zone: bad endpoint")
	// ErrBadName: the server name is empty, too long or has control
	// characters.
	ErrBadName = errors.New("zone: bad server name")
	// ErrDuplicate: a server with that name or endpoint (same host and
	// port) is already in the zone.
	ErrDuplicate = errors.New("zone: duplicate server")
	// ErrSelf: the operation would remove this (leader) server from Raft;
	// run it on another server after a leadership change.
	ErrSelf = errors.New("zone: operation not allowed on this server itself")
	// ErrSolo: the operation needs Raft and this server runs solo
	// (SERVER_ID -1).
	ErrSolo = errors.New("zone: server runs solo (SERVER_ID -1)")
	// ErrZoneHasServers: BootstrapGuard refuses a bootstrap because the
	// zone table lists other servers: this server must join their zone.
	ErrZoneHasServers = errors.New("zone: the zone lists other servers; join it instead of bootstrapping")
	// ErrNoQuorum: removing the server would leave the other voters without
	// a reachable majority, so the configuration change (and every later
	// write) would block.
	ErrNoQuorum = errors.New("zone: the remaining voters would have no reachable majority")
	// ErrNotVoter: leadership can only go to a voter; the server is still
	// joining (a non-voter catching up, or not yet in Raft), or no other
	// voter exists.
	ErrNotVoter = errors.New("zone: not a voter")
	// ErrNotUpToDate: resetting the server would leave fewer than a majority
	// of the zone's servers up to date; the message names the servers that
	// must catch up first.
	ErrNotUpToDate = errors.New("zone: too few servers would be up to date")
	// ErrResetRefused: a server refuses to wipe itself because the request
	// does not carry a valid one-time token that the current leader wrote
	// for it through the log (or it is the leader, or the caller is not).
	ErrResetRefused = errors.New("zone: resync refused")
	// ErrBadConfig wraps every New validation error.
	ErrBadConfig = errors.New("zone: bad config")

	// ErrNotLeader is raftlog.ErrNotLeader, passed through unchanged
	// (the error is usually a *raftlog.NotLeaderError naming the leader).
	ErrNotLeader = raftlog.ErrNotLeader
)
