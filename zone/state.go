package zone

import (
	"context"
	"fmt"
	"sync"

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
	term := m.term()
	m.state.invalidate()
	if _, err := m.db.Exec(ctx, []sqlfsm.Statement{{SQL: sqlSetState, Params: []any{state, zoneID}}}); err != nil {
		return fmt.Errorf("zone: set state of zone %d: %w", zoneID, err)
	}
	if zoneID == m.cfg.ZoneID {
		m.state.set(term, state == StateDisabled)
	}
	m.log.Info("zone state set", "state", StateName(state))
	return nil
}

// stateCache holds Disabled's answer for one leadership term, so a write
// does not read the zone row (a query per write was 24% of a busy leader's
// CPU). Only SetState writes the state, and only on the leader; a leader
// keeps it current itself, and any other server that becomes leader (a new
// term) reads the row again. The generation keeps a read that raced with
// SetState from caching the old value.
type stateCache struct {
	mu       sync.Mutex
	valid    bool
	term     uint64
	disabled bool
	gen      uint64
}

func (c *stateCache) invalidate() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.valid = false
	c.gen++
}

func (c *stateCache) set(term uint64, disabled bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.valid, c.term, c.disabled = true, term, disabled
	c.gen++
}

// get returns the cached answer for term, and the generation to pass to
// fill after reading the row.
func (c *stateCache) get(term uint64) (disabled, ok bool, gen uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.valid && c.term == term {
		return c.disabled, true, c.gen
	}
	return false, false, c.gen
}

// fill caches a value read from the row, unless SetState ran meanwhile.
func (c *stateCache) fill(gen, term uint64, disabled bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.gen == gen {
		c.valid, c.term, c.disabled = true, term, disabled
	}
}

// term is the current Raft term (0 on a solo server, whose state only its
// own SetState changes).
func (m *Manager) term() uint64 {
	if m.solo() {
		return 0
	}
	return m.node.Raft().CurrentTerm()
}

// Disabled reports whether this server's zone is disabled in the local
// database (a stale read: on a ready leader it reflects every entry the
// leader has applied, including its own one.zone.enable calls, which return
// only once applied here). A database without the zone table or row is not
// disabled. The answer is cached for the current term (stateCache): read
// once per leadership, then kept by SetState.
func (m *Manager) Disabled(ctx context.Context) (bool, error) {
	if !m.solo() && !m.node.IsLeader() {
		return m.readDisabled(ctx) // only a leader's own SetState keeps the cache current
	}
	term := m.term()
	d, ok, gen := m.state.get(term)
	if ok {
		return d, nil
	}
	d, err := m.readDisabled(ctx)
	if err != nil {
		return false, err
	}
	m.state.fill(gen, term, d)
	return d, nil
}

// readDisabled reads the zone row's state.
func (m *Manager) readDisabled(ctx context.Context) (bool, error) {
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
