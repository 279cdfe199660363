package zone

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/hashicorp/raft"

	"github.com/oneha/oneha/sqlfsm"
)

// BootstrapGuard is the raftlog.Config.BootstrapGuard hook (invariant I7):
// it refuses (ErrZoneHasServers) when the local zone table lists servers
// other than this one, because then this database belongs to a zone whose
// other servers may hold a Raft cluster already, and this server must join
// it. A database without the zone tables, or listing only this server (the
// seed's step: a solo server adds itself, then restarts with its
// SERVER_ID), may bootstrap.
//
// Raft needs the hook before the node (and so this Manager) exists; pass a
// closure: cfg.BootstrapGuard = func(ctx context.Context) error { return
// m.BootstrapGuard(ctx) }, and create m before calling Node.Bootstrap.
func (m *Manager) BootstrapGuard(ctx context.Context) error {
	zs, err := m.readZones(ctx, sqlfsm.Stale, &m.cfg.ZoneID)
	if err != nil {
		return fmt.Errorf("zone: bootstrap guard: %w", err)
	}
	if len(zs) == 0 {
		return nil
	}
	var others []string
	for _, s := range zs[0].Servers {
		if s.ID != m.cfg.ServerID {
			others = append(others, fmt.Sprintf("%d (%s, %s)", s.ID, s.Name, s.Endpoint))
		}
	}
	if len(others) > 0 {
		return fmt.Errorf("%w: zone %d lists server(s) %s; this is server %d",
			ErrZoneHasServers, m.cfg.ZoneID, strings.Join(others, ", "), m.cfg.ServerID)
	}
	return nil
}

// Reconcile makes the Raft configuration follow the zone table once: a
// server in the table but not in Raft is added as a non-voter; a server in
// Raft but not in the table is removed (never this server). An empty server
// table is left alone (a cluster that was never registered). Leader only
// (ErrNotLeader passthrough); ErrSolo on a solo server. Run calls it after
// every election and on every tick.
func (m *Manager) Reconcile(ctx context.Context) error {
	if m.solo() {
		return ErrSolo
	}
	if err := m.node.WaitReady(ctx); err != nil {
		return fmt.Errorf("zone: reconcile: %w", err)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.reconcileLocked(ctx)
}

func (m *Manager) reconcileLocked(ctx context.Context) error {
	if m.recovery != nil {
		return nil // the lost servers' rows are still listed: finishRecoveryLocked first
	}
	z, err := m.servers(ctx, sqlfsm.Stale, m.cfg.ZoneID)
	if errors.Is(err, ErrNoSuchZone) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("zone: reconcile: %w", err)
	}
	if len(z.Servers) == 0 {
		return nil
	}
	conf, err := m.node.Configuration(ctx)
	if err != nil {
		return fmt.Errorf("zone: reconcile: %w", err)
	}
	inRaft := map[string]raft.Server{}
	for _, s := range conf {
		inRaft[string(s.ID)] = s
	}
	inTable := map[string]bool{}
	var errs []error
	for _, s := range z.Servers {
		id := raftID(s.ID)
		inTable[id] = true
		if s.ID == m.cfg.ServerID {
			continue
		}
		addr, err := RaftAddress(s.Endpoint)
		if err != nil {
			errs = append(errs, fmt.Errorf("server %d: %w", s.ID, err))
			continue
		}
		rs, ok := inRaft[id]
		switch {
		case !ok:
			m.log.Warn("reconcile: server listed in the zone but not in raft: adding it as a non-voter",
				"server", s.ID, "name", s.Name, "addr", addr)
			if err := m.node.AddNonvoter(ctx, id, addr); err != nil {
				errs = append(errs, fmt.Errorf("add non-voter %d: %w", s.ID, err))
			}
		case string(rs.Address) != addr:
			m.log.Warn("reconcile: raft address differs from the zone endpoint; leaving it",
				"server", s.ID, "raft_addr", rs.Address, "endpoint_addr", addr)
		}
	}
	for _, rs := range conf {
		id := string(rs.ID)
		if inTable[id] || id == raftID(m.cfg.ServerID) {
			continue
		}
		m.log.Warn("reconcile: raft member not listed in the zone: removing it",
			"raft_id", id, "addr", rs.Address, "suffrage", rs.Suffrage.String())
		if err := m.node.RemoveServer(ctx, id); err != nil {
			errs = append(errs, fmt.Errorf("remove %s: %w", id, err))
		}
		delete(m.caughtUp, atoiOr(id, -1))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("zone: reconcile: %w", err)
	}
	return nil
}

// pendingJoin returns a description of the first server of z (other than
// this one) that is still joining: a non-voter, or absent from conf.
func pendingJoin(z Zone, conf []raft.Server, self int) (string, bool) {
	byID := map[string]raft.Server{}
	for _, s := range conf {
		byID[string(s.ID)] = s
	}
	for _, s := range z.Servers {
		if s.ID == self {
			continue
		}
		rs, ok := byID[raftID(s.ID)]
		switch {
		case !ok:
			return fmt.Sprintf("server %d (%s, %s) is listed but not yet in the raft configuration", s.ID, s.Name, s.Endpoint), true
		case rs.Suffrage != raft.Voter:
			return fmt.Sprintf("server %d (%s, %s) is a non-voter still catching up", s.ID, s.Name, s.Endpoint), true
		}
	}
	for _, rs := range conf {
		if rs.Suffrage != raft.Voter {
			return fmt.Sprintf("raft member %s (%s) is a non-voter still catching up", rs.ID, rs.Address), true
		}
	}
	return "", false
}

// memberOf returns the raft member with address addr, if any.
func memberOf(conf []raft.Server, addr string) (raft.Server, bool) {
	for _, s := range conf {
		if strings.EqualFold(string(s.Address), addr) {
			return s, true
		}
	}
	return raft.Server{}, false
}

// inConf reports whether id is in conf.
func inConf(conf []raft.Server, id string) bool {
	for _, s := range conf {
		if string(s.ID) == id {
			return true
		}
	}
	return false
}

// atoiOr parses s or returns def.
func atoiOr(s string, def int) int {
	n, err := strconv.Atoi(s)
	if err != nil {
		return def
	}
	return n
}
