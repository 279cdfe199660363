package zone

import (
	"context"
	"fmt"
	"strings"

	"github.com/hashicorp/raft"

	"github.com/oneha/oneha/sqlfsm"
)

// AddServer adds a server to zone zoneID and returns its ID (max existing +
// 1, from 0). Leader or solo only (ErrNotLeader passthrough on a follower).
//
// It validates name (ErrBadName) and endpoint (ErrBadEndpoint: must be
// http(s)://host:port/...), refuses a name or endpoint (host:port) already
// in the zone (ErrDuplicate) and, in HA mode, refuses while another server is
// still joining (ErrJoinInProgress, naming it). It then inserts the row
// through the log and adds the server to Raft as a non-voter; Run promotes it
// once caught up. If the row was written but the Raft change failed, the ID
// is returned with the error: the next leader's reconciliation finishes the
// join.
//
// Registering an endpoint that already is a Raft member not listed in the
// zone (a leader bootstrapped on a fresh database adding itself) reuses that
// member's ID and leaves Raft unchanged.
func (m *Manager) AddServer(ctx context.Context, zoneID int, name, endpoint string) (int, error) {
	if err := checkName(name); err != nil {
		return -1, fmt.Errorf("zone: add server: %w", err)
	}
	addr, err := RaftAddress(endpoint)
	if err != nil {
		return -1, fmt.Errorf("zone: add server: %w", err)
	}
	if err := m.requireLeader(ctx); err != nil {
		return -1, fmt.Errorf("zone: add server: %w", err)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	z, err := m.servers(ctx, sqlfsm.Default, zoneID)
	if err != nil {
		return -1, fmt.Errorf("zone: add server: %w", err)
	}
	for _, s := range z.Servers {
		if strings.EqualFold(s.Name, name) {
			return -1, fmt.Errorf("zone: add server: %w: name %q is server %d", ErrDuplicate, name, s.ID)
		}
		if a, err := RaftAddress(s.Endpoint); err == nil && a == addr {
			return -1, fmt.Errorf("zone: add server: %w: endpoint %s is server %d (%s)", ErrDuplicate, endpoint, s.ID, s.Endpoint)
		}
	}
	floor := 0
	var conf []raft.Server
	if !m.solo() {
		if conf, err = m.node.Configuration(ctx); err != nil {
			return -1, fmt.Errorf("zone: add server: %w", err)
		}
		if why, ok := pendingJoin(z, conf, m.cfg.ServerID); ok {
			return -1, fmt.Errorf("zone: add server %q: %w: %s; add servers one at a time%s", name, ErrJoinInProgress, why, m.deadHintLocked())
		}
		if rs, ok := memberOf(conf, addr); ok {
			return m.register(ctx, z, rs, name, endpoint)
		}
		for _, rs := range conf {
			if n := atoiOr(string(rs.ID), -1); n >= floor {
				floor = n + 1
			}
		}
	}
	_, err = m.db.Exec(ctx, []sqlfsm.Statement{{SQL: sqlInsertServer,
		Params: []any{zoneID, floor, floor, name, endpoint, zoneID}}})
	if err != nil {
		return -1, fmt.Errorf("zone: add server %q: %w", name, err)
	}
	rows, err := m.db.Query(ctx, sqlfsm.Stale, `SELECT id FROM oneha_server WHERE zone_id = ? AND name = ?`, zoneID, name)
	if err != nil {
		return -1, fmt.Errorf("zone: add server %q: read back its id: %w", name, err)
	}
	if len(rows.Rows) != 1 {
		return -1, fmt.Errorf("zone: add server %q: read back its id: %d rows, want 1", name, len(rows.Rows))
	}
	id64, err := asInt(rows.Rows[0][0])
	if err != nil {
		return -1, fmt.Errorf("zone: add server %q: read back its id: %w", name, err)
	}
	id := int(id64)
	m.log.Info("server added to the zone", "server", id, "name", name, "endpoint", endpoint)
	if m.solo() {
		return id, nil
	}
	if err := m.node.AddNonvoter(ctx, raftID(id), addr); err != nil {
		return id, fmt.Errorf("zone: add server %d: row written, raft non-voter not added (the leader's reconciliation retries): %w", id, err)
	}
	delete(m.caughtUp, id)
	m.log.Info("server joining as a non-voter", "server", id, "addr", addr)
	return id, nil
}

// register lists an existing Raft member in the zone under its raft ID.
func (m *Manager) register(ctx context.Context, z Zone, rs raft.Server, name, endpoint string) (int, error) {
	id := atoiOr(string(rs.ID), -1)
	if id < 0 {
		return -1, fmt.Errorf("zone: add server: %w: endpoint %s is raft member %q, whose ID is not a server ID", ErrDuplicate, endpoint, rs.ID)
	}
	if s, ok := z.server(id); ok {
		return -1, fmt.Errorf("zone: add server: %w: endpoint %s is raft member %d, listed as %s (%s)", ErrDuplicate, endpoint, id, s.Name, s.Endpoint)
	}
	_, err := m.db.Exec(ctx, []sqlfsm.Statement{{SQL: sqlRegisterServer, Params: []any{z.ID, id, name, endpoint}}})
	if err != nil {
		return -1, fmt.Errorf("zone: register raft member %d as %q: %w", id, name, err)
	}
	m.log.Info("raft member registered in the zone", "server", id, "name", name, "endpoint", endpoint)
	return id, nil
}

// DelServer removes server serverID from zone zoneID: it deletes the row
// through the log, then removes the server from Raft (if it is there). It is
// meant for a down server; a running one is cut off (it stays a lone
// follower without a vote until stopped). Leader or solo only.
//
// In HA mode it refuses this server itself (ErrSelf: delete it from the next
// leader), and refuses removing a voter when the voters left would have no
// reachable majority (ErrNoQuorum; reachability comes from Config.Status).
// The last server of an HA zone is always the leader itself, so it cannot
// be deleted; a solo server may delete any row, the last included
// (OpenNebula allows it: the zone then has no HA servers).
func (m *Manager) DelServer(ctx context.Context, zoneID, serverID int) error {
	if err := m.requireLeader(ctx); err != nil {
		return fmt.Errorf("zone: delete server: %w", err)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	z, err := m.servers(ctx, sqlfsm.Default, zoneID)
	if err != nil {
		return fmt.Errorf("zone: delete server: %w", err)
	}
	s, ok := z.server(serverID)
	if !ok {
		return fmt.Errorf("zone: delete server: %w: %d in zone %d", ErrNoSuchServer, serverID, zoneID)
	}
	var conf []raft.Server
	if !m.solo() {
		if serverID == m.cfg.ServerID {
			return fmt.Errorf("zone: delete server %d: %w (it is the leader)", serverID, ErrSelf)
		}
		if conf, err = m.node.Configuration(ctx); err != nil {
			return fmt.Errorf("zone: delete server: %w", err)
		}
		if err := m.checkQuorumWithout(ctx, z, conf, serverID); err != nil {
			return fmt.Errorf("zone: delete server %d: %w", serverID, err)
		}
	}
	if _, err := m.db.Exec(ctx, []sqlfsm.Statement{{SQL: sqlDeleteServer, Params: []any{zoneID, serverID}}}); err != nil {
		return fmt.Errorf("zone: delete server %d: %w", serverID, err)
	}
	m.log.Info("server deleted from the zone", "server", serverID, "name", s.Name, "endpoint", s.Endpoint)
	delete(m.caughtUp, serverID)
	if m.solo() || !inConf(conf, raftID(serverID)) {
		return nil
	}
	if err := m.node.RemoveServer(ctx, raftID(serverID)); err != nil {
		return fmt.Errorf("zone: delete server %d: row deleted, raft removal failed (the leader's reconciliation retries): %w", serverID, err)
	}
	m.log.Info("server removed from raft", "server", serverID)
	return nil
}

// ResetServer forces a resync of server serverID. With Config.Resync it
// first demotes the server to a non-voter, writes a one-time token for it
// through the log and asks it to wipe itself with that token (the server
// accepts only a token its own replicated copy holds, see CheckResetToken);
// the token row is deleted once the server answered (or after
// ResetTokenTTL). It then removes the server from the Raft configuration
// and adds it back as a non-voter, so the leader re-probes its log and
// sends it what it lacks (entries, or a snapshot when they were compacted
// away); Run promotes it again once it is caught up. See the package documentation for the procedure and its
// limits.
//
// Leader only; ErrSolo on a solo server, ErrSelf for this server (the
// leader), ErrNoQuorum when the voters left would have no reachable
// majority, ErrNotUpToDate when fewer than a majority of the zone's servers
// would be up to date afterwards (naming those that must catch up),
// ErrJoinInProgress while another server joins.
func (m *Manager) ResetServer(ctx context.Context, zoneID, serverID int) error {
	if m.solo() {
		return fmt.Errorf("zone: reset server %d: %w: nothing replicates to it", serverID, ErrSolo)
	}
	if err := m.requireLeader(ctx); err != nil {
		return fmt.Errorf("zone: reset server: %w", err)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	z, err := m.servers(ctx, sqlfsm.Default, zoneID)
	if err != nil {
		return fmt.Errorf("zone: reset server: %w", err)
	}
	s, ok := z.server(serverID)
	if !ok {
		return fmt.Errorf("zone: reset server: %w: %d in zone %d", ErrNoSuchServer, serverID, zoneID)
	}
	if serverID == m.cfg.ServerID {
		return fmt.Errorf("zone: reset server %d: %w: cannot reset the leader; transfer leadership first (onezone leader-transfer)", serverID, ErrSelf)
	}
	addr, err := RaftAddress(s.Endpoint)
	if err != nil {
		return fmt.Errorf("zone: reset server %d: %w", serverID, err)
	}
	conf, err := m.node.Configuration(ctx)
	if err != nil {
		return fmt.Errorf("zone: reset server: %w", err)
	}
	if err := m.checkQuorumWithout(ctx, z, conf, serverID); err != nil {
		return fmt.Errorf("zone: reset server %d: %w", serverID, err)
	}
	if err := m.checkUpToDateWithout(ctx, z, conf, serverID); err != nil {
		return fmt.Errorf("zone: reset server %d: %w", serverID, err)
	}
	others := z
	others.Servers = nil
	for _, o := range z.Servers {
		if o.ID != serverID {
			others.Servers = append(others.Servers, o)
		}
	}
	var otherConf []raft.Server
	for _, rs := range conf {
		if string(rs.ID) != raftID(serverID) {
			otherConf = append(otherConf, rs)
		}
	}
	if why, ok := pendingJoin(others, otherConf, m.cfg.ServerID); ok {
		return fmt.Errorf("zone: reset server %d: %w: %s", serverID, ErrJoinInProgress, why)
	}
	if m.cfg.Resync != nil {
		if err := m.resyncLocked(ctx, zoneID, s, conf); err != nil {
			return fmt.Errorf("zone: reset server %d: %w", serverID, err)
		}
	}
	if inConf(conf, raftID(serverID)) {
		if err := m.node.RemoveServer(ctx, raftID(serverID)); err != nil {
			return fmt.Errorf("zone: reset server %d: remove from raft: %w", serverID, err)
		}
	}
	delete(m.caughtUp, serverID)
	if err := m.node.AddNonvoter(ctx, raftID(serverID), addr); err != nil {
		return fmt.Errorf("zone: reset server %d: removed from raft, re-adding failed (the leader's reconciliation retries): %w", serverID, err)
	}
	m.log.Info("server reset: re-joining as a non-voter", "server", serverID, "addr", addr)
	return nil
}

// checkQuorumWithout refuses removing voter target when fewer than a
// majority of the other voters are reachable (this leader, plus those whose
// Status answers). Non-voters and absent servers pass. Without
// Config.Status nothing is checked.
func (m *Manager) checkQuorumWithout(ctx context.Context, z Zone, conf []raft.Server, target int) error {
	var voters []raft.Server
	isVoter := false
	for _, rs := range conf {
		if rs.Suffrage != raft.Voter {
			continue
		}
		if string(rs.ID) == raftID(target) {
			isVoter = true
			continue
		}
		voters = append(voters, rs)
	}
	if !isVoter || m.cfg.Status == nil {
		return nil
	}
	up := 0
	var down []string
	for _, rs := range voters {
		if string(rs.ID) == raftID(m.cfg.ServerID) {
			up++
			continue
		}
		s, ok := z.server(atoiOr(string(rs.ID), -1))
		if ok {
			sctx, cancel := context.WithTimeout(ctx, statusTimeout)
			_, err := m.cfg.Status(sctx, s.Endpoint)
			cancel()
			if err == nil {
				up++
				continue
			}
		}
		down = append(down, string(rs.ID))
	}
	if up <= len(voters)/2 {
		return fmt.Errorf("%w: %d of the %d other voters answer (unreachable: %s)", ErrNoQuorum, up, len(voters), strings.Join(down, ", "))
	}
	return nil
}
