package zone

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"fmt"
	"strings"
	"time"

	"github.com/hashicorp/raft"

	"github.com/oneha/oneha/sqlfsm"
)

// ResetTable holds the one-time tokens with which a leader authorises a
// server to wipe itself (server-reset). Only the SHA-256 of a token is
// stored: the replicated state (and every dump of it) never holds a token
// that could be replayed.
const ResetTable = "oneha_server_reset"

// ResetTokenTTL is how long a reset token stays valid; the leader deletes
// rows older than this on every tick.
const ResetTokenTTL = 2 * time.Minute

// resetTokenBytes: tokens are 128-bit random values, sent hex-encoded.
const resetTokenBytes = 16

const (
	sqlCreateReset = `CREATE TABLE IF NOT EXISTS oneha_server_reset (
  zone_id BIGINT NOT NULL,
  server_id BIGINT NOT NULL,
  token_sha256 VARCHAR(64) NOT NULL,
  expires_unix BIGINT NOT NULL,
  PRIMARY KEY (zone_id, server_id)
)`
	sqlDeleteReset  = `DELETE FROM oneha_server_reset WHERE zone_id = ? AND server_id = ?`
	sqlInsertReset  = `INSERT INTO oneha_server_reset (zone_id, server_id, token_sha256, expires_unix) VALUES (?, ?, ?, ?)`
	sqlExpireResets = `DELETE FROM oneha_server_reset WHERE zone_id = ? AND expires_unix <= ?`
)

// ResetTokenHash is the hex SHA-256 of a reset token, as ResetTable and a
// server's record of used tokens keep it.
func ResetTokenHash(token string) string {
	h := sha256.Sum256([]byte(token))
	return hex.EncodeToString(h[:])
}

// newResetToken returns a fresh 128-bit random token, hex-encoded.
func newResetToken() (string, error) {
	b := make([]byte, resetTokenBytes)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("reset token: %w", err)
	}
	return hex.EncodeToString(b), nil
}

// authoriseReset writes a fresh token for serverID through the log and
// returns it with an index the target must have applied to see it (this
// leader's applied index once the write returned). Caller holds m.mu.
func (m *Manager) authoriseReset(ctx context.Context, zoneID, serverID int) (token string, index uint64, err error) {
	if token, err = newResetToken(); err != nil {
		return "", 0, err
	}
	expires := time.Now().Add(ResetTokenTTL).Unix()
	_, err = m.db.Exec(ctx, []sqlfsm.Statement{
		{SQL: sqlDeleteReset, Params: []any{zoneID, serverID}},
		{SQL: sqlInsertReset, Params: []any{zoneID, serverID, ResetTokenHash(token), expires}},
	})
	if err != nil {
		return "", 0, fmt.Errorf("write reset token: %w", err)
	}
	return token, m.db.FSM().AppliedIndex(), nil
}

// resyncLocked asks server s to wipe itself, authorised by a fresh token.
// A voter is demoted first (it stays in the configuration and keeps
// receiving entries, the token's among them): a wiped voter would count
// towards commits it no longer holds. If the server refuses or cannot be
// reached it stays a non-voter with its data, and Run promotes it again
// once caught up. Caller holds m.mu.
func (m *Manager) resyncLocked(ctx context.Context, zoneID int, s Server, conf []raft.Server) error {
	for _, rs := range conf {
		if string(rs.ID) == raftID(s.ID) && rs.Suffrage == raft.Voter {
			if err := m.node.DemoteVoter(ctx, string(rs.ID)); err != nil {
				return fmt.Errorf("demote to non-voter: %w", err)
			}
			m.log.Info("server reset: demoted to a non-voter before its resync", "server", s.ID)
		}
	}
	token, index, err := m.authoriseReset(ctx, zoneID, s.ID)
	if err != nil {
		return err
	}
	err = m.cfg.Resync(ctx, s.Endpoint, token, index)
	// Accepted or not, the token has served: a server that accepted
	// recorded it as used, and one that did not must not be wiped later by
	// a copy of it. (A leader that crashes here leaves it to expiry.)
	m.revokeReset(ctx, zoneID, s.ID)
	if err != nil {
		return fmt.Errorf("it did not accept the resync (is it running?): %w", err)
	}
	m.log.Info("server reset: it accepted the resync and restarts empty", "server", s.ID)
	return nil
}

// revokeReset deletes serverID's token row (through the log). Errors are
// only logged: an unrevoked token expires after ResetTokenTTL.
func (m *Manager) revokeReset(ctx context.Context, zoneID, serverID int) {
	if _, err := m.db.Exec(ctx, []sqlfsm.Statement{{SQL: sqlDeleteReset, Params: []any{zoneID, serverID}}}); err != nil {
		m.log.Warn("zone: reset token not revoked; it expires by itself", "server", serverID, "error", err)
	}
}

// expireResetsLocked deletes expired reset tokens (through the log, and only
// when the local copy shows some, so an idle zone appends nothing). Leader
// only; caller holds m.mu.
func (m *Manager) expireResetsLocked(ctx context.Context) {
	ok, err := m.tableExists(ctx, ResetTable)
	if err != nil || !ok {
		return
	}
	now := time.Now().Unix()
	rows, err := m.db.Query(ctx, sqlfsm.Stale, `SELECT COUNT(*) FROM oneha_server_reset WHERE zone_id = ? AND expires_unix <= ?`, m.cfg.ZoneID, now)
	if err != nil || len(rows.Rows) != 1 {
		return
	}
	if n, _ := asInt(rows.Rows[0][0]); n == 0 {
		return
	}
	if _, err := m.db.Exec(ctx, []sqlfsm.Statement{{SQL: sqlExpireResets, Params: []any{m.cfg.ZoneID, now}}}); err != nil && ctx.Err() == nil {
		m.log.Warn("zone: expired reset tokens not deleted, retrying", "error", err)
	}
}

// CheckResetToken is the target's half of server-reset: it returns nil only
// when this server's own replicated copy of ResetTable holds token for this
// server, unexpired. It first waits (until ctx ends) for the local applied
// index to reach index, the leader's index after writing the token; a row
// that does not match is never accepted, however long the wait. The
// comparison is constant time; the token is never logged.
//
// ErrSolo on a solo server; ErrResetRefused (wrapped, with the reason)
// otherwise.
func (m *Manager) CheckResetToken(ctx context.Context, token string, index uint64) error {
	if m.solo() {
		return fmt.Errorf("zone: resync: %w: nothing to resync from", ErrSolo)
	}
	if len(token) != 2*resetTokenBytes {
		return fmt.Errorf("%w: no valid one-time token from the leader (run onezone server-reset on the leader)", ErrResetRefused)
	}
	fsm := m.db.FSM()
	for fsm.AppliedIndex() < index {
		select {
		case <-ctx.Done():
			return fmt.Errorf("%w: this server did not apply the leader's token in time (applied index %d, token at %d)",
				ErrResetRefused, fsm.AppliedIndex(), index)
		case <-time.After(10 * time.Millisecond):
		}
	}
	ok, err := m.tableExists(ctx, ResetTable)
	if err != nil {
		return fmt.Errorf("zone: resync: %w", err)
	}
	if !ok {
		return fmt.Errorf("%w: no reset was authorised for server %d", ErrResetRefused, m.cfg.ServerID)
	}
	rows, err := m.db.Query(ctx, sqlfsm.Stale, `SELECT token_sha256, expires_unix FROM oneha_server_reset WHERE zone_id = ? AND server_id = ?`,
		m.cfg.ZoneID, m.cfg.ServerID)
	if err != nil {
		return fmt.Errorf("zone: resync: read reset token: %w", err)
	}
	if len(rows.Rows) != 1 {
		return fmt.Errorf("%w: no reset was authorised for server %d", ErrResetRefused, m.cfg.ServerID)
	}
	want := asString(rows.Rows[0][0])
	expires, err := asInt(rows.Rows[0][1])
	if err != nil {
		return fmt.Errorf("zone: resync: read reset token: %w", err)
	}
	if subtle.ConstantTimeCompare([]byte(ResetTokenHash(token)), []byte(want)) != 1 {
		return fmt.Errorf("%w: the token is not the one the leader issued for server %d", ErrResetRefused, m.cfg.ServerID)
	}
	if time.Now().Unix() >= expires {
		return fmt.Errorf("%w: the token for server %d has expired", ErrResetRefused, m.cfg.ServerID)
	}
	return nil
}

// checkUpToDateWithout refuses resetting target when, afterwards, fewer than
// a majority of the zone's Raft members (voters and non-voters, target
// included) would be up-to-date voters: this leader, plus each other voter
// whose applied index (Config.Status) is within MaxLag of the leader's
// commit and at or above its snapshot index. The error names the servers
// that must catch up first. Without Config.Status nothing is checked.
func (m *Manager) checkUpToDateWithout(ctx context.Context, z Zone, conf []raft.Server, target int) error {
	if m.cfg.Status == nil {
		return nil
	}
	st, err := m.node.Stats(ctx)
	if err != nil {
		return err
	}
	snapIndex, err := m.node.SnapshotIndex()
	if err != nil {
		return err
	}
	members := len(conf)
	if !inConf(conf, raftID(target)) {
		members++
	}
	upToDate := 0
	var behind []string
	for _, rs := range conf {
		id := atoiOr(string(rs.ID), -1)
		if id == target {
			continue
		}
		name := fmt.Sprintf("raft member %s (%s)", rs.ID, rs.Address)
		s, listed := z.server(id)
		if listed {
			name = fmt.Sprintf("server %d (%s, %s)", s.ID, s.Name, s.Endpoint)
		}
		switch {
		case rs.Suffrage != raft.Voter:
			behind = append(behind, name+": a non-voter still catching up")
			continue
		case id == m.cfg.ServerID:
			upToDate++
			continue
		case !listed:
			behind = append(behind, name+": not listed in the zone")
			continue
		}
		sctx, cancel := context.WithTimeout(ctx, statusTimeout)
		rst, err := m.cfg.Status(sctx, s.Endpoint)
		cancel()
		switch {
		case err != nil:
			behind = append(behind, fmt.Sprintf("%s: does not answer (%v)", name, err))
		case rst.LogIndex+m.cfg.MaxLag < st.CommitIndex || rst.LogIndex < snapIndex:
			behind = append(behind, fmt.Sprintf("%s: applied %d of the leader's %d entries", name, rst.LogIndex, st.CommitIndex))
		default:
			upToDate++
		}
	}
	if need := members/2 + 1; upToDate < need {
		why := "first let these catch up: " + strings.Join(behind, "; ")
		if len(behind) == 0 {
			why = "add a server first"
		}
		return fmt.Errorf("%w: afterwards %d of the %d servers would be up to date, fewer than a majority (%d): %s",
			ErrNotUpToDate, upToDate, members, need, why)
	}
	return nil
}
