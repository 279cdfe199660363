package zone

import (
	"context"
	"errors"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/hashicorp/raft"

	"github.com/oneha/oneha/raftlog"
	"github.com/oneha/oneha/sqlfsm"
)

// Run keeps membership in step while this server leads, and returns when ctx
// ends. On each election won it waits until the leader is ready (every
// earlier-term entry applied), runs EnsureSchema and Reconcile; then every
// Tick it reconciles again and promotes non-voters that stayed caught up
// (Status(endpoint).LogIndex >= leader commit - MaxLag and >= the leader's
// snapshot index) for PromoteAfter.
// Losing leadership stops the loop until the next election. A solo server
// has nothing to do and just waits for ctx.
func (m *Manager) Run(ctx context.Context) {
	if m.solo() {
		<-ctx.Done()
		return
	}
	if m.cfg.Status == nil {
		m.log.Warn("zone: no Status function: non-voters will never be promoted")
	}
	ch, cancel := m.node.Subscribe()
	defer cancel()
	var (
		stop func()
		term uint64
	)
	stopLeading := func() {
		if stop != nil {
			stop()
			stop, term = nil, 0
		}
	}
	defer stopLeading()
	for {
		select {
		case <-ctx.Done():
			return
		case t, ok := <-ch:
			if !ok { // node shut down
				stopLeading()
				<-ctx.Done()
				return
			}
			if t.State != raft.Leader {
				stopLeading()
				continue
			}
			if stop != nil && t.Term == term {
				continue
			}
			stopLeading()
			lctx, lcancel := context.WithCancel(ctx)
			done := make(chan struct{})
			go func() {
				defer close(done)
				m.lead(lctx, t.Term)
			}()
			stop = func() { lcancel(); <-done }
			term = t.Term
		}
	}
}

// lead runs while this server leads in term.
func (m *Manager) lead(ctx context.Context, term uint64) {
	log := m.log.With("term", term)
	for {
		err := m.node.WaitReady(ctx)
		if err == nil {
			break
		}
		if errors.Is(err, raftlog.ErrNotLeader) || errors.Is(err, raftlog.ErrShutdown) || ctx.Err() != nil {
			return
		}
		log.Warn("zone: waiting for the leader to become ready", "error", err)
		select {
		case <-ctx.Done():
			return
		case <-time.After(m.cfg.Tick):
		}
	}
	log.Info("zone: leading: reconciling membership")
	m.mu.Lock()
	clear(m.caughtUp) // progress seen by an earlier term is not evidence now
	clear(m.blocked)
	clear(m.dead)
	m.mu.Unlock()
	tick := time.NewTicker(m.cfg.Tick)
	defer tick.Stop()
	schemaOK := false
	for {
		if !schemaOK {
			if err := m.EnsureSchema(ctx); err != nil {
				if ctx.Err() == nil {
					log.Warn("zone: ensure schema failed, retrying", "error", err)
				}
			} else {
				schemaOK = true
			}
		}
		if schemaOK {
			m.mu.Lock()
			if m.finishRecoveryLocked(ctx, log) {
				if err := m.reconcileLocked(ctx); err != nil && ctx.Err() == nil {
					log.Warn("zone: reconcile failed, retrying", "error", err)
				}
			}
			m.promoteLocked(ctx, log)
			m.cleanupDeadLocked(ctx, log)
			m.expireResetsLocked(ctx)
			m.mu.Unlock()
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// promoteLocked promotes the non-voters of the zone that have stayed caught
// up for PromoteAfter. Caller holds m.mu.
func (m *Manager) promoteLocked(ctx context.Context, log *slog.Logger) {
	if m.cfg.Status == nil || ctx.Err() != nil {
		return
	}
	conf, err := m.node.Configuration(ctx)
	if err != nil {
		return
	}
	if !slices.ContainsFunc(conf, func(rs raft.Server) bool { return rs.Suffrage != raft.Voter }) {
		// The usual case: nobody to promote, so no stats and no listing
		// of the snapshot store.
		clear(m.caughtUp)
		return
	}
	z, err := m.servers(ctx, sqlfsm.Stale, m.cfg.ZoneID)
	if err != nil {
		return
	}
	st, err := m.node.Stats(ctx)
	if err != nil {
		return
	}
	snapIndex, err := m.node.SnapshotIndex()
	if err != nil {
		log.Warn("zone: no promotion this tick", "error", err)
		return
	}
	nonvoters := map[int]bool{}
	for _, rs := range conf {
		if rs.Suffrage == raft.Voter {
			continue
		}
		id := atoiOr(string(rs.ID), -1)
		s, ok := z.server(id)
		if !ok {
			continue // not listed: reconciliation removes it
		}
		nonvoters[id] = true
		sctx, cancel := context.WithTimeout(ctx, min(statusTimeout, m.cfg.Tick*2))
		rst, err := m.cfg.Status(sctx, s.Endpoint)
		cancel()
		if err == nil {
			delete(m.dead, id) // a demoted dead server answers again: it is a joiner now
		}
		if err != nil {
			if _, seen := m.caughtUp[id]; seen {
				log.Info("zone: joining server unreachable, restarting its catch-up clock", "server", id, "error", err)
			}
			delete(m.caughtUp, id)
			continue
		}
		if reason := m.settingsMismatch(rst); reason != "" {
			if m.blocked[id] != reason {
				log.Warn("zone: joining server not promoted: its database settings differ from the leader's",
					"server", id, "differences", reason)
			}
			m.blocked[id] = reason
			delete(m.caughtUp, id)
			continue
		}
		delete(m.blocked, id)
		// Within MaxLag entries is not enough on its own: entries up to the
		// leader's snapshot may exist only in the snapshot, so a server
		// below it (e.g. still restoring a large one, applied index 0) is
		// missing all of that data however few entries it seems to lag.
		if rst.LogIndex+m.cfg.MaxLag < st.CommitIndex || rst.LogIndex < snapIndex {
			log.Debug("zone: joining server behind", "server", id, "log_index", rst.LogIndex,
				"leader_commit", st.CommitIndex, "leader_snapshot", snapIndex)
			delete(m.caughtUp, id)
			continue
		}
		since, seen := m.caughtUp[id]
		now := time.Now()
		if !seen {
			m.caughtUp[id] = now
			log.Info("zone: joining server caught up", "server", id, "log_index", rst.LogIndex, "leader_commit", st.CommitIndex)
			continue
		}
		if now.Sub(since) < m.cfg.PromoteAfter {
			continue
		}
		if err := m.node.AddVoter(ctx, raftID(id), string(rs.Address)); err != nil {
			log.Warn("zone: promotion failed, retrying", "server", id, "error", err)
			continue
		}
		delete(m.caughtUp, id)
		log.Info("zone: server promoted to voter", "server", id, "caught_up_for", now.Sub(since).Round(time.Millisecond))
	}
	for id := range m.caughtUp {
		if !nonvoters[id] {
			delete(m.caughtUp, id)
		}
	}
	for id := range m.blocked {
		if !nonvoters[id] {
			delete(m.blocked, id)
		}
	}
}

// settingsMismatch says why a joiner's database would give replicated SQL
// other results than the leader's ("" when the fingerprints are equal).
func (m *Manager) settingsMismatch(rst RemoteStatus) string {
	if rst.Settings == nil {
		return "the server reports no database settings (DB_SETTINGS)"
	}
	if diff := rst.Settings.Diff(m.db.FSM().Settings()); len(diff) > 0 {
		return strings.Join(diff, "; ")
	}
	return ""
}

// PromotionBlocked maps each non-voter this leader refuses to promote to
// the reason (its database settings differ from the leader's).
func (m *Manager) PromotionBlocked() map[int]string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return maps.Clone(m.blocked)
}
