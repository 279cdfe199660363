package oned_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/oneha/oneha/internal/harness"
	"github.com/oneha/oneha/xmlrpc"
)

// zoneState reads STATE from o's own one.zone.info (its local copy).
func zoneState(t *testing.T, o *harness.Oned) string {
	t.Helper()
	doc, _ := call(t, o, "one.zone.info", 0).(string)
	m := regexp.MustCompile(`<STATE>(\d+)</STATE>`).FindStringSubmatch(doc)
	if m == nil {
		t.Fatalf("server %d: zone.info without STATE: %s", o.ID, doc)
	}
	return m[1]
}

// waitZoneState waits until o's local zone.info shows state.
func waitZoneState(t *testing.T, o *harness.Oned, state string, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for zoneState(t, o) != state {
		if time.Now().After(deadline) {
			t.Fatalf("server %d: zone STATE %s, want %s", o.ID, zoneState(t, o), state)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// onezone runs the onezone binary against o's endpoint.
func onezone(t *testing.T, z *harness.ProcZone, o *harness.Oned, args ...string) (string, error) {
	t.Helper()
	cmd := exec.Command(filepath.Join(z.Bin, "onezone"), args...)
	cmd.Env = append(os.Environ(), "ONE_XMLRPC="+o.Endpoint, "ONE_AUTH="+z.Auth)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// refusedAsDisabled checks that one.sql.exec on o is refused as a
// disabled zone: OpenNebula's code for it (INTERNAL) and a message naming
// it, distinct from "no leader found".
func refusedAsDisabled(t *testing.T, o *harness.Oned, sql string) {
	t.Helper()
	e := callFails(t, o, "one.sql.exec", []any{sql})
	if e.Code != xmlrpc.InternalError || !strings.Contains(e.Message, "zone is disabled") || strings.Contains(e.Message, "no leader") {
		t.Fatalf("exec on server %d while disabled: %v; want 0x2000 \"zone is disabled\"", o.ID, e)
	}
}

// TestZoneDisableIsMaintenanceMode: onezone disable (one.zone.enable with
// false, as OpenNebula's CLI sends it) makes every server refuse
// one.sql.exec with "zone is disabled" while reads, zone management and
// replication go on (a server added while disabled joins and catches up);
// STATE is DISABLED on every server, survives a restart of the whole zone,
// and onezone enable accepts writes again.
func TestZoneDisableIsMaintenanceMode(t *testing.T) {
	t.Parallel()
	z := harness.NewProcZone(t, harness.ZoneOptions{N: 3})
	z.FormFirst()
	z.AddServer(z.Servers[1])
	leader := z.Leader(20 * time.Second)
	seedRows(t, leader, 5)
	f := followers(z, leader)[0]
	waitCount(t, f, 5, 20*time.Second, "follower never saw the rows")

	if e := callFails(t, leader, "one.zone.enable", 0); e.Code != xmlrpc.XMLRPCAPIError {
		t.Fatalf("one.zone.enable without the flag: %v, want a parameter error", e)
	}
	if e := callFails(t, leader, "one.zone.enable", 7, false); e.Code != xmlrpc.NoExistsError {
		t.Fatalf("one.zone.enable of zone 7: %v, want NO_EXISTS", e)
	}
	waitZoneState(t, f, "0", 5*time.Second)

	// Disable through a follower (forwarded to the leader), as the CLI does.
	if out, err := onezone(t, z, f, "disable", "0"); err != nil {
		t.Fatalf("onezone disable 0: %v\n%s", err, out)
	}
	for _, o := range []*harness.Oned{leader, f} {
		waitZoneState(t, o, "1", 20*time.Second)
	}
	out, err := onezone(t, z, leader, "show", "0")
	if err != nil || !regexp.MustCompile(`STATE\s+: DISABLED`).MatchString(out) {
		t.Fatalf("onezone show 0 (%v):\n%s\nwant STATE : DISABLED", err, out)
	}
	refusedAsDisabled(t, leader, "INSERT INTO vm (id, name) VALUES (100, 'x')")
	refusedAsDisabled(t, f, "INSERT INTO vm (id, name) VALUES (100, 'x')")
	if out, err := onezone(t, z, leader, "disable", "0"); err != nil { // idempotent
		t.Fatalf("second onezone disable: %v\n%s", err, out)
	}
	// Reads at every level.
	for _, c := range []string{"stale", "default", "strong"} {
		if n := count(t, f, c); n != 5 {
			t.Fatalf("%s read on a follower while disabled: %d rows, want 5", c, n)
		}
	}
	// Zone management and replication: a server added while disabled joins,
	// catches up (data and the disabled state) and becomes a voter.
	z.AddServer(z.Servers[2])
	z.WaitVoters(3, 60*time.Second)
	waitCount(t, z.Servers[2], 5, 20*time.Second, "server added while disabled never caught up")
	waitZoneState(t, z.Servers[2], "1", 20*time.Second)

	// The state is replicated data: it survives a restart of every server.
	for _, o := range z.Servers {
		o.Stop()
	}
	for _, o := range z.Servers {
		o.Start()
	}
	leader = z.Leader(30 * time.Second)
	for _, o := range z.Servers {
		waitZoneState(t, o, "1", 20*time.Second)
	}
	refusedAsDisabled(t, leader, "INSERT INTO vm (id, name) VALUES (100, 'x')")

	// Enable (integer flag, as some clients send booleans): writes again,
	// replicated to every server.
	if _, err := leader.Call(context.Background(), "one.zone.enable", 0, 1); err != nil {
		t.Fatalf("one.zone.enable(0, 1): %v", err)
	}
	if out, err := onezone(t, z, z.Servers[2], "enable", "0", "-v"); err != nil || !strings.Contains(out, "ZONE 0: enable zone") {
		t.Fatalf("onezone enable 0 -v: %v\n%s", err, out)
	}
	call(t, f, "one.sql.exec", []any{"INSERT INTO vm (id, name) VALUES (100, 'x')"})
	for _, o := range z.Servers {
		waitCount(t, o, 6, 20*time.Second, "write after enable not replicated")
		waitZoneState(t, o, "0", 20*time.Second)
	}

	// Who may: oneadmin's session only; a wrong password is refused (last:
	// it slows this address down) and the zone stays enabled.
	bad := xmlrpc.NewClient(leader.Endpoint, 5*time.Second)
	if _, err := bad.CallONE(context.Background(), "one.zone.enable", "oneadmin:wrong", 0, false); err == nil ||
		!strings.Contains(err.Error(), "AUTHENTICATION") {
		t.Fatalf("one.zone.enable with a wrong password: %v, want an authentication error", err)
	}
	if st := zoneState(t, followers(z, leader)[0]); st != "0" { // another server: the leader now slows this address
		t.Fatalf("zone STATE %s after a refused disable, want 0", st)
	}
}
