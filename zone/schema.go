package zone

import (
	"context"
	"errors"
	"fmt"

	"github.com/oneha/oneha/raftlog"
	"github.com/oneha/oneha/sqlcheck"
	"github.com/oneha/oneha/sqlfsm"
)

// Table names.
const (
	ZoneTable   = "oneha_zone"
	ServerTable = "oneha_server"
	// TemplateTable holds a zone's template (XML, Template.XML) when it has
	// more than the ENDPOINT of oneha_zone (one.zone.allocate/update). A
	// zone without a row has the template ENDPOINT = its endpoint column.
	TemplateTable = "oneha_zone_template"
)

// Column limits, enforced before anything is written. They keep the unique
// keys within MySQL's index length on utf8mb4.
const (
	maxNameLen     = 128
	maxEndpointLen = 255
)

// The DDL; each statement is its own log entry (DDL goes alone). Portable:
// BIGINT/INT/VARCHAR mean the same on both backends, and no column is
// auto-increment (on SQLite only "INTEGER PRIMARY KEY" is a rowid alias;
// BIGINT in a separate PRIMARY KEY clause is not).
const (
	sqlCreateZone = `CREATE TABLE IF NOT EXISTS oneha_zone (
  id BIGINT NOT NULL,
  name VARCHAR(128) NOT NULL,
  state INT NOT NULL,
  endpoint VARCHAR(255) NOT NULL,
  PRIMARY KEY (id)
)`
	sqlCreateTemplate = `CREATE TABLE IF NOT EXISTS oneha_zone_template (
  zone_id BIGINT NOT NULL,
  body MEDIUMTEXT NOT NULL,
  PRIMARY KEY (zone_id)
)`
	sqlCreateServer = `CREATE TABLE IF NOT EXISTS oneha_server (
  zone_id BIGINT NOT NULL,
  id BIGINT NOT NULL,
  name VARCHAR(128) NOT NULL,
  endpoint VARCHAR(255) NOT NULL,
  PRIMARY KEY (zone_id, id),
  UNIQUE (zone_id, name),
  UNIQUE (zone_id, endpoint)
)`
)

// Statements of the package, in one place so a test can run them through
// sqlfsm.CheckEntry on both dialects.
const (
	// sqlInsertZone inserts the zone row only if it is missing (the derived
	// table yields its one row only when the count is 0), so a repeated or racing
	// EnsureSchema is a no-op, not an error. Params: id, name, state,
	// endpoint, id.
	sqlInsertZone = `INSERT INTO oneha_zone (id, name, state, endpoint)
SELECT ?, ?, ?, ? FROM (SELECT COUNT(*) AS n FROM oneha_zone WHERE id = ?) AS existing WHERE existing.n = 0`
	// sqlInsertServer computes the new ID as max + 1 (from 0) inside the
	// inserting transaction, but never below a floor (the next free raft ID).
	// Params: zone, floor, floor, name, endpoint, zone.
	sqlInsertServer = `INSERT INTO oneha_server (zone_id, id, name, endpoint)
SELECT ?, CASE WHEN COALESCE(MAX(id), -1) + 1 < ? THEN ? ELSE COALESCE(MAX(id), -1) + 1 END, ?, ?
FROM oneha_server WHERE zone_id = ?`
	// sqlRegisterServer inserts a server under a given ID (a raft member
	// being registered). Params: zone, id, name, endpoint.
	sqlRegisterServer = `INSERT INTO oneha_server (zone_id, id, name, endpoint) VALUES (?, ?, ?, ?)`
	sqlDeleteServer   = `DELETE FROM oneha_server WHERE zone_id = ? AND id = ?`
)

// ZoneState values (OpenNebula: 0 enabled, 1 disabled).
const (
	StateEnabled  = 0
	StateDisabled = 1
)

// EnsureSchema creates the tables and the zone row if missing. On a solo
// server it writes directly (the DB is solo); on a leader through the log
// (waiting until the leader is ready); followers do nothing and return nil.
// Idempotent: it reads first and writes only what is missing, so a second
// call appends nothing to the log.
func (m *Manager) EnsureSchema(ctx context.Context) error {
	if !m.solo() {
		if err := m.node.WaitReady(ctx); err != nil {
			if errors.Is(err, raftlog.ErrNotLeader) {
				return nil // the leader creates them; they arrive through the log
			}
			return fmt.Errorf("zone: ensure schema: %w", err)
		}
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, t := range []struct{ table, ddl string }{{ZoneTable, sqlCreateZone}, {ServerTable, sqlCreateServer}, {ResetTable, sqlCreateReset}, {HistoryTable, sqlCreateHistory}, {TemplateTable, sqlCreateTemplate}} {
		table := t.table
		ok, err := m.tableExists(ctx, table)
		if err != nil {
			return fmt.Errorf("zone: ensure schema: %w", err)
		}
		if ok {
			continue
		}
		if _, err := m.db.Exec(ctx, []sqlfsm.Statement{{SQL: t.ddl}}); err != nil {
			return fmt.Errorf("zone: create table %s: %w", table, err)
		}
		m.log.Info("zone table created", "table", table)
	}
	rows, err := m.db.Query(ctx, sqlfsm.Stale, `SELECT COUNT(*) FROM oneha_zone WHERE id = ?`, m.cfg.ZoneID)
	if err != nil {
		return fmt.Errorf("zone: ensure schema: read zone %d: %w", m.cfg.ZoneID, err)
	}
	if n, _ := asInt(rows.Rows[0][0]); n > 0 {
		return nil
	}
	_, err = m.db.Exec(ctx, []sqlfsm.Statement{{SQL: sqlInsertZone,
		Params: []any{m.cfg.ZoneID, m.cfg.ZoneName, StateEnabled, m.cfg.ZoneEndpoint, m.cfg.ZoneID}}})
	if err != nil {
		return fmt.Errorf("zone: create zone %d: %w", m.cfg.ZoneID, err)
	}
	m.log.Info("zone created", "name", m.cfg.ZoneName, "endpoint", m.cfg.ZoneEndpoint)
	return nil
}

// tableExists asks the local catalog (a stale read: on a leader the local DB
// has applied every earlier entry).
func (m *Manager) tableExists(ctx context.Context, table string) (bool, error) {
	var q string
	switch m.db.FSM().Dialect() {
	case sqlcheck.MySQL:
		q = `SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ?`
	default:
		q = `SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = ?`
	}
	rows, err := m.db.Query(ctx, sqlfsm.Stale, q, table)
	if err != nil {
		return false, fmt.Errorf("look up table %s: %w", table, err)
	}
	n, err := asInt(rows.Rows[0][0])
	if err != nil {
		return false, fmt.Errorf("look up table %s: %w", table, err)
	}
	return n > 0, nil
}

// asInt converts a column value (int64, or a decimal string/bytes) to int64.
func asInt(v any) (int64, error) {
	switch x := v.(type) {
	case int64:
		return x, nil
	case string:
		var n int64
		_, err := fmt.Sscan(x, &n)
		return n, err
	case []byte:
		return asInt(string(x))
	case float64:
		return int64(x), nil
	}
	return 0, fmt.Errorf("unexpected column value %T", v)
}

// asString converts a column value to a string.
func asString(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case []byte:
		return string(x)
	}
	return fmt.Sprint(v)
}
