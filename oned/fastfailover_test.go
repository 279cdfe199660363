package oned_test

import (
	"testing"
	"time"

	"github.com/oneha/oneha/internal/harness"
)

// TestKilledLeaderIsReplacedBeforeAnyHeartbeatTimeout: with
// ELECTION_TIMEOUT_MS 10000 a follower's heartbeat timeout starts an
// election 10 to 20 s after the leader's last contact; a SIGKILLed leader is
// replaced before that, by an election the death watch started (its metric
// says so), and the zone keeps every acknowledged row: RAFT FAST_FAILOVER
// (on by default) sees the leader's Raft connections close and its PORT
// refuse, over the zone's mutual TLS, and elects once the dead leader's
// lease (5 s) and ELECTION_TIMEOUT_MS/5 have passed.
func TestKilledLeaderIsReplacedBeforeAnyHeartbeatTimeout(t *testing.T) {
	t.Parallel()
	z := harness.NewProcZone(t, harness.ZoneOptions{N: 3})
	z.FormZone()
	z.SetElectionTimeout(10000)
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
	next := z.Leader(30 * time.Second)
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
