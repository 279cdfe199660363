package oned_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/oneha/oneha/internal/harness"
	"github.com/oneha/oneha/sqlcheck"
)

// TestLeadershipHistoryDegradedStepDown: a leader whose own MariaDB dies
// (SIGKILL of its mariadbd, each server has its own) cannot apply, reports
// itself degraded and hands leadership over; the replicated history names
// that change "degraded step-down" (old leader → new leader, new term), and
// once the old server's database is back it catches up and shows the same
// history as every other server.
func TestLeadershipHistoryDegradedStepDown(t *testing.T) {
	t.Parallel()
	dbs := make([]*harness.MariaDB, 3)
	for i := range dbs {
		dbs[i] = harness.StartMariaDB(t)
	}
	z := harness.NewProcZone(t, harness.ZoneOptions{N: 3, Dialect: sqlcheck.MySQL,
		MariaDBFor: func(i int) *harness.MariaDB { return dbs[i] }})
	z.FormZone()
	old := z.Leader(20 * time.Second)
	first := waitHistory(t, z, old, 1)

	// The leader's database goes away: its FSM cannot apply (the probe
	// of its database fails), and the degraded watcher steps it down.
	dbs[old.ID].Kill(t)

	var nw *harness.Oned
	deadline := time.Now().Add(20 * time.Second)
	for nw == nil {
		for _, o := range z.Servers {
			if o != old && o.RaftState() == 3 {
				nw = o
			}
		}
		if nw == nil && time.Now().After(deadline) {
			t.Fatalf("no other server took over from degraded leader %d:\n%s", old.ID, old.LogTail(40))
		}
		time.Sleep(50 * time.Millisecond)
	}
	rows := waitHistory(t, z, nw, 2)
	if got := rows[1]; got.OldLeader != int64(old.ID) || got.NewLeader != int64(nw.ID) ||
		got.Reason != "degraded step-down" || got.Term <= first[0].Term {
		t.Fatalf("row 2 = %+v after %+v, want %d -> %d (degraded step-down) in a later term:\n%s",
			got, first[0], old.ID, nw.ID, old.LogTail(40))
	}

	// The old server's database comes back: it catches up and shows the
	// same history as the others.
	dbs[old.ID].Start(t)
	for _, o := range z.Servers {
		if got := waitHistory(t, z, o, 2); fmt.Sprint(got) != fmt.Sprint(rows) {
			t.Errorf("server %d history %+v, leader's %+v", o.ID, got, rows)
		}
	}
}
