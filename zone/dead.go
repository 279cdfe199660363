package zone

import (
	"cmp"
	"context"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/hashicorp/raft"

	"github.com/oneha/oneha/sqlfsm"
)

// demoteTimeout bounds one demotion of a dead voter (a configuration
// change that cannot commit, e.g. the leader is losing its quorum, must not
// hold m.mu for long).
const demoteTimeout = 10 * time.Second

// deadServer is a voter the leader has seen unreachable this term.
type deadServer struct {
	since   time.Time // first failed Status since the last answer
	demoted bool      // removed from the voters by cleanup
	held    bool      // dead long enough, but kept a voter by MinQuorum
}

// DeadServer is a voter this leader found unreachable for at least
// Config.DeadServerTimeout, for status displays.
type DeadServer struct {
	ID    int
	Since time.Time
	// Demoted: removed from the voters (it rejoins as a non-voter and is
	// promoted once it answers and is caught up). False: kept a voter
	// because removing it would leave fewer than MinQuorum voters.
	Demoted bool
	Reason  string
}

// DeadServers lists the voters this leader removed as dead, or would have
// removed but for MinQuorum, by ID. Empty on a follower and with
// dead-server cleanup off.
func (m *Manager) DeadServers() []DeadServer {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []DeadServer
	for id, d := range m.dead {
		if !d.demoted && !d.held {
			continue
		}
		ds := DeadServer{ID: id, Since: d.since, Demoted: d.demoted}
		since := d.since.UTC().Format(time.RFC3339)
		if d.demoted {
			ds.Reason = fmt.Sprintf("unreachable since %s: removed from the voters (DEAD_SERVER_TIMEOUT_S); it rejoins as a non-voter when it answers", since)
		} else {
			ds.Reason = fmt.Sprintf("unreachable since %s: kept a voter, removing it would leave fewer than MIN_QUORUM %d voters", since, m.cfg.MinQuorum)
		}
		out = append(out, ds)
	}
	slices.SortFunc(out, func(a, b DeadServer) int { return cmp.Compare(a.ID, b.ID) })
	return out
}

// cleanupDeadLocked is dead-server cleanup (autopilot's CleanupDeadServers):
// every other voter is probed through Config.Status; one that has not
// answered for DeadServerTimeout is demoted to a non-voter, oldest failure
// first, while at least MinQuorum voters remain. Its zone row stays (it
// shows as error in onezone show); promoteLocked makes it a voter again
// once it answers and is caught up. The clock restarts with each term: a
// new leader demotes nobody before DeadServerTimeout of its own probes.
// Caller holds m.mu and leads.
func (m *Manager) cleanupDeadLocked(ctx context.Context, log *slog.Logger) {
	if m.cfg.DeadServerTimeout <= 0 || m.cfg.Status == nil || ctx.Err() != nil {
		return
	}
	conf, err := m.node.Configuration(ctx)
	if err != nil {
		return
	}
	z, err := m.servers(ctx, sqlfsm.Stale, m.cfg.ZoneID)
	if err != nil {
		return
	}
	voters := 0
	var probe []Server
	isVoter := map[int]bool{}
	for _, rs := range conf {
		if rs.Suffrage != raft.Voter {
			continue
		}
		voters++
		id := atoiOr(string(rs.ID), -1)
		isVoter[id] = true
		if s, ok := z.server(id); ok && id != m.cfg.ServerID {
			probe = append(probe, s)
		}
	}
	for id, d := range m.dead { // promoted again, deleted, or gone from raft
		if _, listed := z.server(id); !listed || (d.demoted && isVoter[id]) || (!d.demoted && !isVoter[id]) {
			delete(m.dead, id)
		}
	}
	answered := m.probe(ctx, probe)
	now := time.Now()
	var due []int
	for _, s := range probe {
		if answered[s.ID] {
			delete(m.dead, s.ID)
			continue
		}
		d, ok := m.dead[s.ID]
		if !ok {
			m.dead[s.ID] = &deadServer{since: now}
			continue
		}
		if now.Sub(d.since) >= m.cfg.DeadServerTimeout {
			due = append(due, s.ID)
		}
	}
	slices.SortFunc(due, func(a, b int) int { return m.dead[a].since.Compare(m.dead[b].since) })
	for _, id := range due {
		d := m.dead[id]
		if voters-1 < m.cfg.MinQuorum {
			if !d.held {
				log.Warn("zone: dead server kept a voter: removing it would leave fewer than MIN_QUORUM voters",
					"server", id, "unreachable_since", d.since, "voters", voters, "min_quorum", m.cfg.MinQuorum)
			}
			d.held = true
			continue
		}
		dctx, cancel := context.WithTimeout(ctx, demoteTimeout)
		err := m.node.DemoteVoter(dctx, raftID(id))
		cancel()
		if err != nil {
			log.Warn("zone: removing a dead server from the voters failed, retrying", "server", id, "error", err)
			continue
		}
		voters--
		d.demoted, d.held = true, false
		delete(m.caughtUp, id)
		log.Warn("zone: dead server removed from the voters; its zone row stays and it rejoins as a non-voter when it answers",
			"server", id, "unreachable_since", d.since, "voters", voters, "min_quorum", m.cfg.MinQuorum)
	}
}

// probe calls Status on every server at once (bounded like promotion's
// calls) and reports which answered.
func (m *Manager) probe(ctx context.Context, servers []Server) map[int]bool {
	var (
		mu sync.Mutex
		wg sync.WaitGroup
	)
	ok := make(map[int]bool, len(servers))
	for _, s := range servers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sctx, cancel := context.WithTimeout(ctx, min(statusTimeout, m.cfg.Tick*2))
			defer cancel()
			if _, err := m.cfg.Status(sctx, s.Endpoint); err == nil {
				mu.Lock()
				ok[s.ID] = true
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return ok
}

// deadHintLocked tells an operator whose server-add is refused which
// pending non-voters are demoted dead servers ("" when none). Caller holds
// m.mu.
func (m *Manager) deadHintLocked() string {
	var ids []int
	for id, d := range m.dead {
		if d.demoted {
			ids = append(ids, id)
		}
	}
	if len(ids) == 0 {
		return ""
	}
	slices.Sort(ids)
	return fmt.Sprintf(" (server(s) %v were removed from the voters as dead: bring them back, or onezone server-del them first)", ids)
}
