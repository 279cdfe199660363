package zone

import (
	"context"
	"fmt"
	"time"

	"github.com/hashicorp/raft"
	"github.com/oneha/oneha/sqlfsm"
)

// AnyServer asks TransferLeadership for the most up-to-date voter.
const AnyServer = -1

// TransferLeadership is OneHA's one.zone.leadertransfer: the leader hands
// leadership to serverID, or with AnyServer to the most up-to-date voter,
// for maintenance without an election timeout's worth of unavailability.
//
// Invariants: it never changes membership; it only asks a voter that is in
// the zone table and in the Raft configuration (a non-voter still catching
// up cannot lead: ErrNotVoter); it returns nil once the target (or, with
// AnyServer, some other voter) leads, and this server then runs its
// follower actions like on any step-down. Asking for the server that
// already leads is a no-op success, so the call can be retried.
//
// The change is recorded in the leadership history as ReasonTransfer; see
// TransferLeadershipFor for another reason.
func (m *Manager) TransferLeadership(ctx context.Context, zoneID, serverID int) error {
	return m.TransferLeadershipFor(ctx, zoneID, serverID, ReasonTransfer)
}

// TransferLeadershipFor is TransferLeadership recording reason (one of
// the raftlog.StepDown* reasons) as this leader's intent first
// (MarkStepDown), so the history names it; a failed transfer clears it.
func (m *Manager) TransferLeadershipFor(ctx context.Context, zoneID, serverID int, reason string) error {
	if m.solo() {
		return fmt.Errorf("zone: leader transfer: %w: there is no other server", ErrSolo)
	}
	if err := m.requireLeader(ctx); err != nil {
		return fmt.Errorf("zone: leader transfer: %w", err)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	z, err := m.servers(ctx, sqlfsm.Default, zoneID)
	if err != nil {
		return fmt.Errorf("zone: leader transfer: %w", err)
	}
	if serverID == m.cfg.ServerID {
		return nil
	}
	conf, err := m.node.Configuration(ctx)
	if err != nil {
		return fmt.Errorf("zone: leader transfer: %w", err)
	}
	if serverID == AnyServer {
		voters := 0
		for _, rs := range conf {
			if rs.Suffrage == raft.Voter && string(rs.ID) != raftID(m.cfg.ServerID) {
				voters++
			}
		}
		if voters == 0 {
			return fmt.Errorf("zone: leader transfer: %w: this leader is the only voter", ErrNotVoter)
		}
		m.markStepDown(ctx, reason)
		return m.wrapTransfer(ctx, m.node.LeadershipTransfer(ctx), "")
	}
	if _, ok := z.server(serverID); !ok {
		return fmt.Errorf("zone: leader transfer: %w: %d in zone %d", ErrNoSuchServer, serverID, zoneID)
	}
	for _, rs := range conf {
		if string(rs.ID) != raftID(serverID) {
			continue
		}
		if rs.Suffrage != raft.Voter {
			return fmt.Errorf("zone: leader transfer to %d: %w: it is still catching up", serverID, ErrNotVoter)
		}
		m.markStepDown(ctx, reason)
		return m.wrapTransfer(ctx, m.node.LeadershipTransferTo(ctx, string(rs.ID), string(rs.Address)), fmt.Sprintf(" to %d", serverID))
	}
	return fmt.Errorf("zone: leader transfer to %d: %w: it is not in the Raft configuration yet", serverID, ErrNotVoter)
}

// markStepDown is MarkStepDown bounded to stepDownMarkTimeout, logged on
// failure (a transfer never waits on it longer).
func (m *Manager) markStepDown(ctx context.Context, reason string) {
	mctx, cancel := context.WithTimeout(ctx, stepDownMarkTimeout)
	defer cancel()
	if err := m.MarkStepDown(mctx, reason); err != nil {
		m.log.Warn("leadership history: could not record the reason of this step-down", "reason", reason, "err", err)
	}
}

// stepDownMarkTimeout bounds the write of a step-down's reason.
const stepDownMarkTimeout = 2 * time.Second

func (m *Manager) wrapTransfer(ctx context.Context, err error, to string) error {
	if err != nil {
		if m.node.IsLeader() {
			m.markStepDown(ctx, "") // still leading: the intent is void
		}
		return fmt.Errorf("zone: leader transfer%s: %w", to, err)
	}
	m.log.Info("leadership transferred"+to, "from", m.cfg.ServerID)
	return nil
}
