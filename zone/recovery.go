package zone

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strconv"

	"github.com/hashicorp/raft"

	"github.com/oneha/oneha/sqlfsm"
)

// Recovery is what `oned recover` (majority loss) leaves for the recovered
// server: the Raft configuration it was given and the zone table rows of
// the servers left out of it. The zone table is replicated state, so the
// offline tool does not edit it; the recovered leader deletes those rows
// through the log (FinishRecovery) before its first reconciliation, which
// would otherwise add the lost servers back as non-voters.
type Recovery struct {
	// Servers are the raft IDs of the recovered configuration (all voters).
	Servers []string `json:"servers"`
	// Removed are the zone table rows of the servers left out.
	Removed []Server `json:"removed"`
}

// finishRecoveryLocked deletes the rows of Recovery.Removed through the log
// when the Raft configuration is still exactly Recovery.Servers (nothing
// was added since: a later leader with a stale marker must not delete a
// server added after the recovery, which may have reused an ID), and only
// rows whose ID, name and endpoint all match. Then the marker is done. It
// reports whether reconciliation may run (false while a deletion is still
// to be retried). Caller holds m.mu and leads.
func (m *Manager) finishRecoveryLocked(ctx context.Context, log *slog.Logger) bool {
	r := m.recovery
	if r == nil {
		return true
	}
	conf, err := m.node.Configuration(ctx)
	if err != nil {
		return false
	}
	ids := make([]string, 0, len(conf))
	for _, rs := range conf {
		ids = append(ids, string(rs.ID))
	}
	slices.Sort(ids)
	want := slices.Sorted(slices.Values(r.Servers))
	if !slices.Equal(ids, want) {
		log.Warn("zone: recovery marker left as is: the raft configuration changed since `oned recover`",
			"recovered", want, "now", ids)
	} else if err := m.deleteLostLocked(ctx, log, conf, r.Removed); err != nil {
		if ctx.Err() == nil {
			log.Warn("zone: recovery: deleting the lost servers from the zone table failed, retrying", "error", err)
		}
		return false
	}
	if m.cfg.RecoveryDone != nil {
		if err := m.cfg.RecoveryDone(); err != nil {
			log.Warn("zone: recovery: could not remove the marker", "error", err)
		}
	}
	m.recovery = nil
	return true
}

// deleteLostLocked deletes, in one log entry, the zone rows of removed that
// still match (ID, name, endpoint) and are not Raft members.
func (m *Manager) deleteLostLocked(ctx context.Context, log *slog.Logger, conf []raft.Server, removed []Server) error {
	z, err := m.servers(ctx, sqlfsm.Default, m.cfg.ZoneID)
	if err != nil {
		return err
	}
	var stmts []sqlfsm.Statement
	var gone []Server
	for _, lost := range removed {
		s, ok := z.server(lost.ID)
		if !ok || s.Name != lost.Name || s.Endpoint != lost.Endpoint || inConf(conf, raftID(lost.ID)) ||
			lost.ID == m.cfg.ServerID {
			continue
		}
		stmts = append(stmts, sqlfsm.Statement{SQL: sqlDeleteServer, Params: []any{m.cfg.ZoneID, lost.ID}})
		gone = append(gone, s)
	}
	if len(stmts) == 0 {
		return nil
	}
	if _, err := m.db.Exec(ctx, stmts); err != nil {
		return fmt.Errorf("delete %d lost server(s): %w", len(stmts), err)
	}
	for _, s := range gone {
		delete(m.caughtUp, s.ID)
		log.Warn("zone: recovery: server lost with the majority deleted from the zone table; re-add it with onezone server-add",
			"server", s.ID, "name", s.Name, "endpoint", s.Endpoint)
	}
	return nil
}

// RecoveryPending reports whether a recovery marker is still to be
// finished by this server's next term as leader.
func (m *Manager) RecoveryPending() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.recovery != nil
}

// RecoveryFor builds the Recovery of a configuration of servers (raft IDs)
// from zone table rows: every row whose ID is not kept is removed.
func RecoveryFor(kept []int, rows []Server) Recovery {
	r := Recovery{}
	for _, id := range kept {
		r.Servers = append(r.Servers, strconv.Itoa(id))
	}
	for _, s := range rows {
		if !slices.Contains(kept, s.ID) {
			r.Removed = append(r.Removed, s)
		}
	}
	return r
}
