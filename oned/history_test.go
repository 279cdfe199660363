package oned_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/oneha/oneha/internal/harness"
)

// historyRow is one item of `onezone history 0 --json`.
type historyRow struct {
	Term      int64     `json:"term"`
	Time      time.Time `json:"time"`
	OldLeader int64     `json:"old_leader"`
	NewLeader int64     `json:"new_leader"`
	Reason    string    `json:"reason"`
}

// waitHistory waits until one.zone.history through via has n rows (polled
// over XML-RPC: no process per poll) and returns what `onezone history 0
// --json` then prints.
func waitHistory(t *testing.T, z *harness.ProcZone, via *harness.Oned, n int) []historyRow {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		v, err := via.Call(ctx, "one.zone.history", 0)
		cancel()
		if items, ok := v.([]any); err == nil && ok && len(items) == n {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("history through server %d: %v (%v), want %d rows", via.ID, v, err, n)
		}
		time.Sleep(100 * time.Millisecond)
	}
	var rows []historyRow
	out := runOnezone(t, z, via, "history", "0", "--json")
	if err := json.Unmarshal([]byte(out), &rows); err != nil || len(rows) != n {
		t.Fatalf("onezone history --json: %v: %s, want %d rows", err, out, n)
	}
	return rows
}

// TestLeadershipHistory: every leadership change is in the replicated
// history with its reason, as `onezone history` shows it on any server:
// the first election, an election after the leader is SIGKILLed, a
// leader-transfer, and a graceful stop (SIGTERM).
func TestLeadershipHistory(t *testing.T) {
	t.Parallel()
	z := harness.NewProcZone(t, harness.ZoneOptions{N: 3})
	start := time.Now().Add(-time.Minute)
	z.FormZone()
	first := z.Leader(20 * time.Second)
	rows := waitHistory(t, z, first, 1)
	if rows[0].NewLeader != int64(first.ID) || rows[0].Reason != "election" || rows[0].OldLeader != -1 {
		t.Fatalf("first row %+v, want leader %d by election from none", rows[0], first.ID)
	}

	check := func(n int, old, nw *harness.Oned, reason string) []historyRow {
		t.Helper()
		rows := waitHistory(t, z, nw, n)
		last := rows[n-1]
		if last.OldLeader != int64(old.ID) || last.NewLeader != int64(nw.ID) || last.Reason != reason {
			t.Fatalf("row %d = %+v, want %d -> %d (%s)", n, last, old.ID, nw.ID, reason)
		}
		if prev := rows[n-2]; last.Term <= prev.Term || last.Time.Before(prev.Time) || last.Time.Before(start) || last.Time.After(time.Now().Add(time.Minute)) {
			t.Fatalf("row %d = %+v after %+v: term or time out of order", n, last, prev)
		}
		return rows
	}

	// SIGKILL: an election.
	first.Kill()
	second := z.Leader(20 * time.Second)
	check(2, first, second, "election")
	first.Start()
	first.WaitState(2, 20*time.Second)

	// leader-transfer to a named server.
	third := first
	runOnezone(t, z, second, "leader-transfer", "0", fmt.Sprint(third.ID))
	if got := z.Leader(10 * time.Second); got != third {
		t.Fatalf("leader is %d after the transfer, want %d", got.ID, third.ID)
	}
	check(3, second, third, "transfer")

	// SIGTERM: a graceful stop hands leadership over.
	third.Stop()
	fourth := z.Leader(20 * time.Second)
	rows = check(4, third, fourth, "graceful stop")

	// Every running server has the same history; the text output shows it.
	for _, o := range z.Servers {
		if o.Running() {
			if got := waitHistory(t, z, o, 4); fmt.Sprint(got) != fmt.Sprint(rows) {
				t.Errorf("server %d history %+v, leader's %+v", o.ID, got, rows)
			}
		}
	}
	text := runOnezone(t, z, fourth, "history", "0")
	lines := strings.Split(strings.TrimSpace(text), "\n")
	if len(lines) != 5 || !strings.Contains(lines[0], "TERM") || !strings.Contains(lines[0], "REASON") ||
		!strings.HasSuffix(lines[4], "graceful stop") || !strings.Contains(lines[1], " - ") {
		t.Errorf("onezone history:\n%s", text)
	}
}
