package oned_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/oneha/oneha/internal/harness"
	"github.com/oneha/oneha/sqlcheck"
	"github.com/oneha/oneha/xmlrpc"
)

// callFails calls method on o and returns its OpenNebula error; it fails
// the test if the call succeeds or fails otherwise.
func callFails(t *testing.T, o *harness.Oned, method string, params ...any) *xmlrpc.Error {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	v, err := o.Call(ctx, method, params...)
	var oe *xmlrpc.Error
	if !errors.As(err, &oe) {
		t.Fatalf("%s on server %d: got %v, %v; want an OpenNebula error", method, o.ID, v, err)
	}
	return oe
}

// followers returns the running servers other than leader.
func followers(z *harness.ProcZone, leader *harness.Oned) []*harness.Oned {
	var out []*harness.Oned
	for _, o := range z.Servers {
		if o != leader && o.Running() {
			out = append(out, o)
		}
	}
	return out
}

// TestResyncWithoutLeaderTokenIsRefused: one.zone.resync with oneadmin's
// password but without the leader's one-time token (none, garbage, or a
// well-formed one the leader never issued) is refused; so is a client
// writing a token row itself. The follower keeps its data and keeps
// running and replicating.
func TestResyncWithoutLeaderTokenIsRefused(t *testing.T) {
	t.Parallel()
	z := harness.NewProcZone(t, harness.ZoneOptions{N: 3})
	z.FormZone()
	leader := z.Leader(20 * time.Second)
	seedRows(t, leader, 20)
	f := followers(z, leader)[0]
	waitCount(t, f, 20, 20*time.Second, "follower never saw the rows")

	forged := strings.Repeat("ab", 16)
	for _, params := range [][]any{
		{},
		{"garbage"},
		{forged},
		{forged, int64(0)},
		{forged, int64(1) << 40}, // an index it never reaches: refused after the bounded wait
	} {
		e := callFails(t, f, "one.zone.resync", params...)
		if e.Code != xmlrpc.AuthorizationError || !strings.Contains(e.Message, "[one.zone.resync]") || !strings.Contains(e.Message, "resync refused") {
			t.Errorf("resync %v: %v, want an authorization refusal", params, e)
		}
		t.Logf("resync %d params: %s", len(params), e.Message)
	}
	// The leader never wipes itself on request.
	if e := callFails(t, leader, "one.zone.resync", forged); !strings.Contains(e.Message, "leader") {
		t.Errorf("resync on the leader: %v, want a refusal naming the leader", e)
	}
	// Clients cannot authorise a wipe by writing the token table.
	for _, sql := range []string{
		"INSERT INTO oneha_server_reset (zone_id, server_id, token_sha256, expires_unix) VALUES (0, 1, 'x', 99999999999)",
		"DELETE FROM ONEHA_SERVER_RESET",
	} {
		if e := callFails(t, f, "one.sql.exec", []any{sql}); !strings.Contains(e.Message, "oneha_server_reset") {
			t.Errorf("client write %q: %v, want refused", sql, e)
		}
	}

	if _, err := os.Stat(filepath.Join(f.Dir, "data", "RESYNC")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("refused resync left a RESYNC marker (stat: %v)", err)
	}
	call(t, leader, "one.sql.exec", []any{[]any{"INSERT INTO vm (id, name) VALUES (?, 'x')", int64(20)}})
	waitCount(t, f, 21, 20*time.Second, "follower stopped replicating after refusing resyncs")
	if !f.Running() || f.RaftState() != 2 {
		t.Fatalf("follower %d is not a running follower after refusing resyncs:\n%s", f.ID, f.LogTail(30))
	}
}

// TestResetOfLeaderIsRefused: onezone server-reset of the leader itself is
// refused with an ACTION error; the leader keeps leading with its data.
func TestResetOfLeaderIsRefused(t *testing.T) {
	t.Parallel()
	z := harness.NewProcZone(t, harness.ZoneOptions{N: 3})
	z.FormZone()
	leader := z.Leader(20 * time.Second)
	seedRows(t, leader, 5)
	for _, asked := range z.Servers { // directly and forwarded by a follower
		e := callFails(t, asked, "one.zone.resetserver", 0, leader.ID)
		if e.Code != xmlrpc.ActionError || !strings.HasPrefix(e.Message, "[one.zone.resetserver]") || !strings.Contains(e.Message, "cannot reset the leader") {
			t.Fatalf("reset of the leader via server %d: %v, want ACTION \"cannot reset the leader\"", asked.ID, e)
		}
		t.Logf("refusal via server %d: %s", asked.ID, e.Message)
	}
	if leader.RaftState() != 3 || count(t, leader, "stale") != 5 {
		t.Fatalf("leader changed after a refused reset:\n%s", leader.LogTail(30))
	}
}

// TestResetRefusedWhenItWouldLeaveNoMajorityUpToDate: in a 3-server zone
// the reset of one follower is allowed; while it is still not caught up
// (its process stays down), the reset of the other follower would leave
// only the leader up to date: refused, naming the first.
func TestResetRefusedWhenItWouldLeaveNoMajorityUpToDate(t *testing.T) {
	t.Parallel()
	z := harness.NewProcZone(t, harness.ZoneOptions{N: 3})
	z.FormZone()
	leader := z.Leader(20 * time.Second)
	seedRows(t, leader, 10)
	fs := followers(z, leader)
	a, b := fs[0], fs[1]
	call(t, leader, "one.zone.resetserver", 0, a.ID)
	if code := a.WaitExit(20 * time.Second); code != 75 {
		t.Fatalf("reset server exited with %d, want 75", code)
	}
	// a stays down: it cannot catch up.
	e := callFails(t, leader, "one.zone.resetserver", 0, b.ID)
	if e.Code != xmlrpc.ActionError || !strings.Contains(e.Message, fmt.Sprintf("server %d (server-%d", a.ID, a.ID)) ||
		!strings.Contains(e.Message, "first let these catch up") {
		t.Fatalf("second reset: %v, want ACTION naming server %d", e, a.ID)
	}
	t.Logf("refusal: %s", e.Message)
	// b was not touched: it runs, follows and keeps replicating.
	call(t, leader, "one.sql.exec", []any{[]any{"INSERT INTO vm (id, name) VALUES (?, 'x')", int64(10)}})
	waitCount(t, b, 11, 20*time.Second, "refused reset target stopped replicating")
	if !b.Running() || b.RaftState() != 2 {
		t.Fatalf("server %d is not a running follower after a refused reset:\n%s", b.ID, b.LogTail(30))
	}
	// Once a is back and caught up, b may be reset.
	a.Start()
	z.WaitVoters(3, 60*time.Second)
	call(t, leader, "one.zone.resetserver", 0, b.ID)
	if code := b.WaitExit(20 * time.Second); code != 75 {
		t.Fatalf("server %d exited with %d after its allowed reset, want 75", b.ID, code)
	}
}

// TestServerResetStillRejoins: onezone server-reset makes the server wipe
// its database and Raft state and restart (exit 75, which systemd
// restarts); started again it receives every row from the leader and votes
// again. The token it used is recorded and never accepted again.
func TestServerResetStillRejoins(t *testing.T) {
	t.Parallel()
	for _, d := range harness.Dialects {
		t.Run(string(d), func(t *testing.T) { testServerResetStillRejoins(t, d) })
	}
}

func testServerResetStillRejoins(t *testing.T, d sqlcheck.Dialect) {
	z := harness.NewProcZone(t, harness.ZoneOptions{N: 3, Dialect: d})
	z.FormZone()
	leader := z.Leader(20 * time.Second)
	seedRows(t, leader, 30)
	target := followers(z, leader)[0]
	call(t, leader, "one.zone.resetserver", 0, target.ID)
	if code := target.WaitExit(20 * time.Second); code != 75 {
		t.Fatalf("reset server exited with %d, want 75", code)
	}
	used, err := os.ReadFile(filepath.Join(target.Dir, "data", "RESYNC.used"))
	if err != nil || len(strings.Fields(string(used))) != 1 {
		t.Fatalf("used-token record: %q, %v; want one token hash", used, err)
	}
	target.Start()
	if !strings.Contains(target.LogTail(200), "resync: wiped") {
		t.Fatalf("restarted server did not wipe its state:\n%s", target.LogTail(30))
	}
	z.WaitVoters(3, 60*time.Second)
	waitCount(t, target, 30, 20*time.Second, "reset server did not receive every row again")
	// The token row is gone everywhere once used.
	v := call(t, leader, "one.sql.query", "SELECT COUNT(*) FROM oneha_server_reset", []any{}, "strong")
	if n := v.(map[string]any)["ROWS"].([]any)[0].([]any)[0].(int64); n != 0 {
		t.Fatalf("%d reset token rows left after the reset", n)
	}
}
