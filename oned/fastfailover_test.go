package oned_test

import (
	"testing"
	"time"

	"github.com/oneha/oneha/internal/harness"
)

// TestKilledLeaderIsReplacedBeforeAnyHeartbeatTimeout: with
// ELECTION_TIMEOUT_MS 60000 no follower can time out within the test, yet a
// SIGKILLed leader is replaced and the zone keeps every acknowledged row:
// RAFT FAST_FAILOVER (on by default) sees the leader's Raft connections
// close and its PORT refuse, over the zone's mutual TLS, and elects at once.
func TestKilledLeaderIsReplacedBeforeAnyHeartbeatTimeout(t *testing.T) {
	t.Parallel()
	z := harness.NewProcZone(t, harness.ZoneOptions{N: 3})
	z.FormZone()
	z.SetElectionTimeout(60000)
	leader := z.Leader(20 * time.Second)
	for _, o := range z.Servers { // followers first; the leader's stop hands over
		if o == leader {
			continue
		}
		o.Stop()
		o.WriteConfig(o.ID)
		o.Start()
		o.WaitState(2, 20*time.Second)
	}
	leader.Stop()
	leader.WriteConfig(leader.ID)
	leader.Start()
	leader.WaitState(2, 20*time.Second)
	z.WaitVoters(3, 30*time.Second)

	leader = z.Leader(20 * time.Second)
	seedRows(t, leader, 5)
	leader.Kill()
	next := z.Leader(30 * time.Second) // half the heartbeat timeout
	if next == leader {
		t.Fatal("the killed server is still reported as leader")
	}
	if n := metric(t, next, "oneha_raft_death_elections_total"); n < 1 {
		t.Fatalf("new leader %d reports %v death-watch elections, want >= 1", next.ID, n)
	}
	if n := count(t, next, "strong"); n != 5 {
		t.Fatalf("after failover the zone has %d rows, want 5", n)
	}
	call(t, next, "one.sql.exec", []any{"INSERT INTO vm (id, name) VALUES (100, 'after')"})
}
