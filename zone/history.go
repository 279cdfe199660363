package zone

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/oneha/oneha/raftlog"
	"github.com/oneha/oneha/sqlcheck"
	"github.com/oneha/oneha/sqlfsm"
)

// HistoryTable is the leadership history (onezone history): one row per
// term in which a leader became ready, written through the log by that
// leader.
const HistoryTable = "oneha_leader_history"

// HistoryKeep bounds the history: the entry that adds a row also deletes
// every row older than the HistoryKeep newest (same rows on every server:
// the cut-off term is a parameter of the entry).
const HistoryKeep = 1000

// Reasons of a leadership change, as history shows them. The three
// step-down reasons are the ones raftlog and the zone give a transfer
// (raftlog.StepDown*); ReasonElection is everything else (a leader that
// died, was cut off, or lost a transfer's election).
const (
	ReasonElection     = "election"
	ReasonTransfer     = raftlog.StepDownTransfer
	ReasonGracefulStop = raftlog.StepDownGracefulStop
	ReasonDegraded     = raftlog.StepDownDegraded
)

// maxReasonLen bounds the reason column (and what MarkStepDown accepts).
const maxReasonLen = 32

// sqlCreateHistory: changed_ms is the Unix time in milliseconds of the
// entry that wrote the row (the leader's stamp, bound at apply: identical
// everywhere). end_reason is the intent the row's leader recorded before
// handing leadership away ("" if none).
const sqlCreateHistory = `CREATE TABLE IF NOT EXISTS oneha_leader_history (
  zone_id BIGINT NOT NULL,
  term BIGINT NOT NULL,
  changed_ms BIGINT NOT NULL,
  old_leader BIGINT NOT NULL,
  new_leader BIGINT NOT NULL,
  reason VARCHAR(32) NOT NULL,
  end_reason VARCHAR(32) NOT NULL,
  PRIMARY KEY (zone_id, term)
)`

// sqlInsertHistory inserts the row of a term only if it is missing (a
// retried write is a no-op). %s is the dialect's expression of the entry's
// time in ms. Params: zone, term, old, new, reason, zone, term.
const sqlInsertHistory = `INSERT INTO oneha_leader_history (zone_id, term, changed_ms, old_leader, new_leader, reason, end_reason)
SELECT ?, ?, %s, ?, ?, ?, '' FROM (SELECT COUNT(*) AS n FROM oneha_leader_history WHERE zone_id = ? AND term = ?) AS existing WHERE existing.n = 0`

// Entry-time expressions: MariaDB's NOW(3) and SQLite's 'now' are the
// entry's timestamp on the apply connection (sqlfsm binds them).
const (
	nowMSMySQL  = `FLOOR(UNIX_TIMESTAMP(NOW(3)) * 1000)`
	nowMSSQLite = `(CAST(strftime('%s', 'now') AS INTEGER) * 1000 + CAST(substr(strftime('%f', 'now'), 4, 3) AS INTEGER))`
)

const (
	sqlPruneHistory = `DELETE FROM oneha_leader_history WHERE zone_id = ? AND term < ?`
	sqlMarkHistory  = `UPDATE oneha_leader_history SET end_reason = ? WHERE zone_id = ? AND term = ?`
)

// LeaderChange is one row of the history.
type LeaderChange struct {
	Term      uint64
	Time      time.Time // the entry's time, UTC, ms
	OldLeader int       // -1: none recorded before
	NewLeader int
	Reason    string
}

func (m *Manager) insertHistorySQL() string {
	if m.db.FSM().Dialect() == sqlcheck.MySQL {
		return fmt.Sprintf(sqlInsertHistory, nowMSMySQL)
	}
	return fmt.Sprintf(sqlInsertHistory, nowMSSQLite)
}

// RecordLeadership writes this leader's row for its current term, once it
// is ready (every earlier entry applied, so its local reads see every
// earlier row). The old leader is the previous row's; the reason is the
// intent that leader recorded (MarkStepDown) when this server won the
// election a transfer started (raftlog.Node.ElectedByTransfer), "transfer"
// when it recorded none, else "election". In the same entry rows beyond
// the HistoryKeep newest are deleted. Idempotent; followers and solo
// servers do nothing.
func (m *Manager) RecordLeadership(ctx context.Context) error {
	if m.solo() {
		return nil
	}
	if err := m.node.WaitReady(ctx); err != nil {
		if errors.Is(err, raftlog.ErrNotLeader) {
			return nil
		}
		return fmt.Errorf("zone: record leadership: %w", err)
	}
	term := m.node.Raft().CurrentTerm()
	if ok, err := m.tableExists(ctx, HistoryTable); err != nil || !ok {
		return fmt.Errorf("zone: record leadership: table %s missing: %w", HistoryTable, err)
	}
	rows, err := m.db.Query(ctx, sqlfsm.Stale, `SELECT term, new_leader, end_reason FROM oneha_leader_history WHERE zone_id = ? ORDER BY term DESC LIMIT 1`, m.cfg.ZoneID)
	if err != nil {
		return fmt.Errorf("zone: record leadership: %w", err)
	}
	old, reason := int64(-1), ReasonElection
	if len(rows.Rows) == 1 {
		prevTerm, _ := asInt(rows.Rows[0][0])
		if uint64(prevTerm) >= term {
			return nil // recorded already
		}
		old, _ = asInt(rows.Rows[0][1])
		if m.node.ElectedByTransfer(term) {
			reason = ReasonTransfer
			if end := asString(rows.Rows[0][2]); end != "" && uint64(prevTerm)+1 == term {
				reason = end
			}
		}
	} else if m.node.ElectedByTransfer(term) {
		reason = ReasonTransfer
	}
	stmts := []sqlfsm.Statement{{SQL: m.insertHistorySQL(),
		Params: []any{m.cfg.ZoneID, term, old, m.cfg.ServerID, reason, m.cfg.ZoneID, term}}}
	cut, err := m.db.Query(ctx, sqlfsm.Stale, `SELECT term FROM oneha_leader_history WHERE zone_id = ? ORDER BY term DESC LIMIT 1 OFFSET ?`, m.cfg.ZoneID, HistoryKeep-2)
	if err != nil {
		return fmt.Errorf("zone: record leadership: %w", err)
	}
	if len(cut.Rows) == 1 {
		c, _ := asInt(cut.Rows[0][0])
		stmts = append(stmts, sqlfsm.Statement{SQL: sqlPruneHistory, Params: []any{m.cfg.ZoneID, c}})
	}
	if _, err := m.db.Exec(ctx, stmts); err != nil {
		return fmt.Errorf("zone: record leadership of term %d: %w", term, err)
	}
	m.log.Info("leadership recorded", "term", term, "old_leader", old, "reason", reason)
	return nil
}

// MarkStepDown records, through the log, why this leader is about to hand
// leadership away (one of the raftlog.StepDown* reasons; "" clears it after
// a transfer that failed). The next leader reads it if a transfer elected
// it. Errors are returned but harmless: without the mark the change shows
// as "transfer". On a degraded leader the write commits on the followers
// while the call times out (the leader's own apply is stuck): ctx bounds it.
func (m *Manager) MarkStepDown(ctx context.Context, reason string) error {
	if m.solo() {
		return nil
	}
	if len(reason) > maxReasonLen {
		return fmt.Errorf("zone: mark step-down: reason longer than %d bytes", maxReasonLen)
	}
	term := m.node.Raft().CurrentTerm()
	_, err := m.db.Exec(ctx, []sqlfsm.Statement{{SQL: sqlMarkHistory, Params: []any{reason, m.cfg.ZoneID, term}}})
	if err != nil {
		return fmt.Errorf("zone: mark step-down (%s): %w", reason, err)
	}
	return nil
}

// History returns the zone's leadership changes, oldest first, from the
// local database (a stale read). A zone without the table has none.
func (m *Manager) History(ctx context.Context, zoneID int) ([]LeaderChange, error) {
	if zoneID != m.cfg.ZoneID {
		return nil, fmt.Errorf("zone: history: %w: %d (this server manages zone %d)", ErrNoSuchZone, zoneID, m.cfg.ZoneID)
	}
	out := []LeaderChange{}
	ok, err := m.tableExists(ctx, HistoryTable)
	if err != nil {
		return nil, fmt.Errorf("zone: history: %w", err)
	}
	if !ok {
		return out, nil
	}
	rows, err := m.db.Query(ctx, sqlfsm.Stale, `SELECT term, changed_ms, old_leader, new_leader, reason FROM oneha_leader_history WHERE zone_id = ? ORDER BY term`, zoneID)
	if err != nil {
		return nil, fmt.Errorf("zone: history: %w", err)
	}
	for _, r := range rows.Rows {
		term, err1 := asInt(r[0])
		ms, err2 := asInt(r[1])
		old, err3 := asInt(r[2])
		nw, err4 := asInt(r[3])
		if err := errors.Join(err1, err2, err3, err4); err != nil {
			return nil, fmt.Errorf("zone: history: bad row %v: %w", r, err)
		}
		out = append(out, LeaderChange{Term: uint64(term), Time: time.UnixMilli(ms).UTC(), OldLeader: int(old), NewLeader: int(nw), Reason: asString(r[4])})
	}
	return out, nil
}
