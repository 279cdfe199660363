package zone

import (
	"context"
	"fmt"

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
func (m *Manager) TransferLeadership(ctx context.Context, zoneID, serverID int) error {
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
		return m.wrapTransfer(m.node.LeadershipTransfer(ctx), "")
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
		return m.wrapTransfer(m.node.LeadershipTransferTo(ctx, string(rs.ID), string(rs.Address)), fmt.Sprintf(" to %d", serverID))
	}
	return fmt.Errorf("zone: leader transfer to %d: %w: it is not in the Raft configuration yet", serverID, ErrNotVoter)
}

func (m *Manager) wrapTransfer(err error, to string) error {
	if err != nil {
		return fmt.Errorf("zone: leader transfer%s: %w", to, err)
	}
	m.log.Info("leadership transferred"+to, "from", m.cfg.ServerID)
	return nil
}
