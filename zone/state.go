package zone

import (
	"context"
	"fmt"

	"github.com/oneha/oneha/sqlfsm"
)

// sqlSetState is one.zone.enable's write. Params: state, id.
const sqlSetState = `UPDATE oneha_zone SET state = ? WHERE id = ?`

// SetState enables or disables this server's zone (OpenNebula's
// one.zone.enable): the zone row's state column is written through the
// log, so every server holds the same state and it survives restarts and
// snapshots. Leader (or solo) only. ErrNoSuchZone when zoneID is not this
// server's zone or its row does not exist yet. Setting the state it already
// has is not an error (it is written again).
func (m *Manager) SetState(ctx context.Context, zoneID int, enabled bool) error {
	if err := m.requireLeader(ctx); err != nil {
		return fmt.Errorf("zone: set state: %w", err)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, err := m.servers(ctx, sqlfsm.Default, zoneID); err != nil {
		return fmt.Errorf("zone: set state: %w", err)
	}
	state := StateEnabled
	if !enabled {
		state = StateDisabled
	}
	if _, err := m.db.Exec(ctx, []sqlfsm.Statement{{SQL: sqlSetState, Params: []any{state, zoneID}}}); err != nil {
		return fmt.Errorf("zone: set state of zone %d: %w", zoneID, err)
	}
	m.log.Info("zone state set", "state", StateName(state))
	return nil
}

// Disabled reports whether this server's zone is disabled in the local
// database (a stale read: on a ready leader it reflects every entry the
// leader has applied, including its own one.zone.enable calls, which return
// only once applied here). A database without the zone table or row is not
// disabled.
func (m *Manager) Disabled(ctx context.Context) (bool, error) {
	rows, err := m.db.Query(ctx, sqlfsm.Stale, `SELECT state FROM oneha_zone WHERE id = ?`, m.cfg.ZoneID)
	if err != nil {
		// One query in the common case; the catalog only when it failed.
		if ok, terr := m.tableExists(ctx, ZoneTable); terr == nil && !ok {
			return false, nil
		}
		return false, fmt.Errorf("zone: read state: %w", err)
	}
	if len(rows.Rows) == 0 {
		return false, nil
	}
	st, err := asInt(rows.Rows[0][0])
	if err != nil {
		return false, fmt.Errorf("zone: read state: %w", err)
	}
	return st == StateDisabled, nil
}

// StateName is OpenNebula's name of a zone state: ENABLED, DISABLED.
func StateName(state int) string {
	switch state {
	case StateEnabled:
		return "ENABLED"
	case StateDisabled:
		return "DISABLED"
	}
	return fmt.Sprint(state)
}
