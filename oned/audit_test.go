package oned_test

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/oneha/oneha/internal/harness"
	"github.com/oneha/oneha/oned"
	"github.com/oneha/oneha/sqlcheck"
	"github.com/oneha/oneha/sqlfsm"
)

// auditZone forms a 3-server SQLite zone with the given AUDIT section and
// returns it with its leader.
func auditZone(t *testing.T, audit string) (*harness.ProcZone, *harness.Oned) {
	t.Helper()
	z := harness.NewProcZone(t, harness.ZoneOptions{N: 3, Extra: "AUDIT: " + audit + "\n"})
	z.FormZone()
	return z, z.Leader(20 * time.Second)
}

// httpGetCode GETs path on o with oneadmin's credentials and returns the
// status code and body.
func httpGetCode(t *testing.T, z *harness.ProcZone, o *harness.Oned, path string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, strings.TrimSuffix(o.Endpoint, "/RPC2")+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	user, pass, _ := strings.Cut(z.Session, ":")
	req.SetBasicAuth(user, pass)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// httpGet is httpGetCode that requires 200 OK.
func httpGet(t *testing.T, z *harness.ProcZone, o *harness.Oned, path string) string {
	t.Helper()
	code, body := httpGetCode(t, z, o, path)
	if code != http.StatusOK {
		t.Fatalf("GET %s on server %d: HTTP %d", path, o.ID, code)
	}
	return body
}

// diverged is the leader's /status AUDIT.DIVERGED.
func diverged(t *testing.T, z *harness.ProcZone, leader *harness.Oned) []oned.Divergence {
	t.Helper()
	var st struct {
		Audit struct {
			Diverged []oned.Divergence `json:"DIVERGED"`
		} `json:"AUDIT"`
	}
	if err := json.Unmarshal([]byte(httpGet(t, z, leader, "/status")), &st); err != nil {
		t.Fatal(err)
	}
	return st.Audit.Diverged
}

// waitDiverged waits until the leader reports server id diverged.
func waitDiverged(t *testing.T, z *harness.ProcZone, leader *harness.Oned, id int) oned.Divergence {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		for _, d := range diverged(t, z, leader) {
			if d.ServerID == id {
				return d
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("leader never reported server %d diverged:\n%s", id, leader.LogTail(30))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// behindTheZonesBack runs stmts on o's database directly: SQLite, with o
// stopped and started again; MariaDB, while o runs.
func behindTheZonesBack(t *testing.T, o *harness.Oned, stmts ...string) {
	t.Helper()
	var db *sql.DB
	var err error
	if o.DSN != "" {
		db, err = sql.Open("mysql", o.DSN)
	} else {
		o.Stop()
		db, err = sqlfsm.OpenSQLite(filepath.Join(o.Dir, "data", "one.db"))
	}
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range stmts {
		if _, err := db.Exec(q); err != nil {
			db.Close()
			t.Fatalf("%s on server %d's file: %v", q, o.ID, err)
		}
	}
	db.Close()
	if o.DSN == "" {
		o.Start()
	}
}

// insertRows writes rows ids from..to-1 into vm through o.
func insertRows(t *testing.T, o *harness.Oned, from, to int) {
	t.Helper()
	for i := from; i < to; i++ {
		call(t, o, "one.sql.exec", []any{[]any{"INSERT INTO vm (id, name) VALUES (?, 'x')", int64(i)}})
	}
}

// writeUntilDiverged writes rows through the leader (ids from *next on)
// until it reports every server of ids diverged: an audit index may be
// skipped by a server whose previous checksum still runs, so the test keeps
// crossing audit indices rather than counting on one.
func writeUntilDiverged(t *testing.T, z *harness.ProcZone, leader *harness.Oned, next *int, ids ...int) map[int]oned.Divergence {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		got := map[int]oned.Divergence{}
		for _, d := range diverged(t, z, leader) {
			got[d.ServerID] = d
		}
		all := true
		for _, id := range ids {
			_, ok := got[id]
			all = all && ok
		}
		if all {
			return got
		}
		if time.Now().After(deadline) {
			t.Fatalf("leader reports %+v, want servers %v diverged:\n%s", got, ids, leader.LogTail(30))
		}
		insertRows(t, leader, *next, *next+1)
		*next++
	}
}

// onezoneShow runs `onezone show 0` against o.
func onezoneShow(t *testing.T, z *harness.ProcZone, o *harness.Oned) string {
	t.Helper()
	cmd := exec.Command(filepath.Join(z.Bin, "onezone"), "show", "0")
	cmd.Env = append(os.Environ(), "ONE_AUTH="+z.Auth, "ONE_XMLRPC="+o.Endpoint)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if err := cmd.Run(); err != nil {
		t.Fatalf("onezone show: %v: %s", err, errOut.String())
	}
	return out.String()
}

// vmRows is o's own copy of vm, in id order.
func vmRows(t *testing.T, o *harness.Oned) [][]any {
	t.Helper()
	v := call(t, o, "one.sql.query", "SELECT id, name FROM vm ORDER BY id", []any{}, "stale")
	var out [][]any
	for _, r := range v.(map[string]any)["ROWS"].([]any) {
		out = append(out, r.([]any))
	}
	return out
}

// TestAuditDetectsCorruptedFollowerTable: a row of one follower's table
// changed behind the zone's back is found at the next audit index: the
// leader names that server and table in /status, its metrics and `onezone
// show`; the untouched follower is not reported. (SQLite: the follower is
// stopped and its file edited; MariaDB: its database is edited while it
// runs.)
func TestAuditDetectsCorruptedFollowerTable(t *testing.T) {
	t.Parallel()
	for _, d := range harness.Dialects {
		t.Run(string(d), func(t *testing.T) { testAuditDetectsCorruptedFollowerTable(t, d) })
	}
}

func testAuditDetectsCorruptedFollowerTable(t *testing.T, dialect sqlcheck.Dialect) {
	z := harness.NewProcZone(t, harness.ZoneOptions{N: 3, Dialect: dialect, Extra: "AUDIT: {INTERVAL: 20}\n"})
	z.FormZone()
	leader := z.Leader(20 * time.Second)
	seedRows(t, leader, 10)
	fs := followers(z, leader)
	bad, good := fs[0], fs[1]
	waitCount(t, bad, 10, 20*time.Second, "follower never saw the rows")
	behindTheZonesBack(t, bad, "UPDATE vm SET name = 'evil' WHERE id = 3")
	next := 10
	d := writeUntilDiverged(t, z, leader, &next, bad.ID)[bad.ID]
	if d.Table != "vm" || d.Index == 0 || d.Index%20 != 0 {
		t.Fatalf("divergence %+v, want table vm at an audit index (multiple of 20)", d)
	}
	t.Logf("reported: %s", d)
	for _, o := range diverged(t, z, leader) {
		if o.ServerID == good.ID {
			t.Fatalf("untouched server %d reported diverged: %+v", good.ID, o)
		}
	}
	m := httpGet(t, z, leader, "/metrics")
	for _, want := range []string{fmt.Sprintf(`oneha_audit_divergent{server="%d"} 1`, bad.ID), "oneha_audit_mismatches_total 1"} {
		if !strings.Contains(m, want) {
			t.Errorf("leader /metrics lacks %q", want)
		}
	}
	resp, err := http.Get(strings.TrimSuffix(leader.Endpoint, "/RPC2") + "/audit")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("GET /audit without credentials: %s, want 401", resp.Status)
	}
	show := onezoneShow(t, z, good)
	if want := fmt.Sprintf("DIVERGED: server %d at index %d: table vm differs", bad.ID, d.Index); !strings.Contains(show, want) {
		t.Errorf("onezone show lacks %q:\n%s", want, show)
	}
	if !strings.Contains(leader.LogTail(400), fmt.Sprintf("server %d at index %d: table vm differs", bad.ID, d.Index)) {
		t.Errorf("leader log does not name the divergence")
	}
}

// TestAuditAutoRepairRestoresFollower: with AUDIT.AUTO_REPAIR the leader
// resets the diverged follower by itself (onezone server-reset: it exits
// 75, systemd restarts it); started again it receives everything from the
// leader, its table equals the leader's and the report clears.
func TestAuditAutoRepairRestoresFollower(t *testing.T) {
	z, leader := auditZone(t, "{INTERVAL: 20, AUTO_REPAIR: true}")
	seedRows(t, leader, 10)
	bad := followers(z, leader)[0]
	waitCount(t, bad, 10, 20*time.Second, "follower never saw the rows")
	behindTheZonesBack(t, bad, "UPDATE vm SET name = 'evil' WHERE id = 3")
	next := 10
	writeUntilDiverged(t, z, leader, &next, bad.ID)
	if code := bad.WaitExit(60 * time.Second); code != 75 {
		t.Fatalf("diverged server exited with %d, want 75 (reset by AUTO_REPAIR):\n%s", code, leader.LogTail(30))
	}
	if !strings.Contains(leader.LogTail(400), "AUTO_REPAIR reset the diverged server") {
		t.Errorf("leader log does not record the repair")
	}
	bad.Start()
	z.WaitVoters(3, 60*time.Second)
	insertRows(t, leader, next, next+30) // past further audit indices
	next += 30
	waitCount(t, bad, int64(next), 20*time.Second, "repaired server did not catch up")
	if got, want := vmRows(t, bad), vmRows(t, leader); !reflect.DeepEqual(got, want) {
		t.Fatalf("repaired server's vm differs from the leader's:\n%v\n%v", got, want)
	}
	deadline := time.Now().Add(60 * time.Second)
	for len(diverged(t, z, leader)) > 0 { // cleared by a later matching audit
		if time.Now().After(deadline) {
			t.Fatalf("divergence still reported after the repair: %+v", diverged(t, z, leader))
		}
		insertRows(t, leader, next, next+1)
		next++
	}
}

// TestAuditOutcomeMismatchCaughtAtTheEntry: a follower given an extra
// UNIQUE index behind the zone's back fails an INSERT the leader applied;
// the leader reports that exact entry's index, before any table audit.
func TestAuditOutcomeMismatchCaughtAtTheEntry(t *testing.T) {
	t.Parallel()
	for _, d := range harness.Dialects {
		t.Run(string(d), func(t *testing.T) { testAuditOutcomeMismatchCaughtAtTheEntry(t, d) })
	}
}

func testAuditOutcomeMismatchCaughtAtTheEntry(t *testing.T, dialect sqlcheck.Dialect) {
	z := harness.NewProcZone(t, harness.ZoneOptions{N: 3, Dialect: dialect, Extra: "AUDIT: {INTERVAL: 1000}\n"})
	z.FormZone()
	leader := z.Leader(20 * time.Second)
	call(t, leader, "one.sql.exec", []any{"CREATE TABLE u (id INTEGER PRIMARY KEY, name VARCHAR(32))"})
	call(t, leader, "one.sql.exec", []any{"INSERT INTO u (id, name) VALUES (1, 'a')"})
	bad := followers(z, leader)[0]
	waitFor(t, 20*time.Second, "follower never saw table u", func() bool {
		v, err := bad.Call(context.Background(), "one.sql.query", "SELECT COUNT(*) FROM u", []any{}, "stale")
		return err == nil && v.(map[string]any)["ROWS"].([]any)[0].([]any)[0].(int64) == 1
	})
	behindTheZonesBack(t, bad, "CREATE UNIQUE INDEX evil ON u (name)")
	z.WaitVoters(3, 60*time.Second)

	var entry uint64
	for attempt := 0; entry == 0; attempt++ {
		before := applied(t, leader)
		call(t, leader, "one.sql.exec", []any{[]any{"INSERT INTO u (id, name) VALUES (?, 'a')", int64(2 + attempt)}})
		if after := applied(t, leader); after == before+1 {
			entry = after // nothing else was applied in between: that entry
		} else if attempt == 5 {
			t.Fatalf("could not isolate the entry's index (%d..%d)", before, after)
		}
	}
	d := waitDiverged(t, z, leader, bad.ID)
	if d.Index != entry || d.Table != "" {
		t.Fatalf("divergence %+v, want the outcome of entry %d", d, entry)
	}
	t.Logf("reported: %s", d)
}

// applied is o's APPLIED_INDEX.
func applied(t *testing.T, o *harness.Oned) uint64 {
	t.Helper()
	h, err := o.Health(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return h.AppliedIndex
}

// waitFor polls cond until it holds.
func waitFor(t *testing.T, timeout time.Duration, why string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal(why)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestAuditAutoRepairRespectsTheMajorityRule: with both followers diverged,
// AUTO_REPAIR resets one; the reset of the other would leave fewer than a
// majority up to date, so it is refused, logged, and that follower stays
// running and reported.
func TestAuditAutoRepairRespectsTheMajorityRule(t *testing.T) {
	// The first audit index (50) must come after BOTH corruptions: at 20,
	// a busy machine could audit between them, repair the first follower
	// while the second is stopped, and leave the zone without a quorum.
	z, leader := auditZone(t, "{INTERVAL: 50, AUTO_REPAIR: true}")
	seedRows(t, leader, 10)
	if a := applied(t, leader); a >= 45 {
		t.Fatalf("setup used %d entries; the first audit index (50) must follow both corruptions", a)
	}
	fs := followers(z, leader)
	for i, f := range fs {
		waitCount(t, f, 10, 20*time.Second, "follower never saw the rows")
		behindTheZonesBack(t, f, fmt.Sprintf("UPDATE vm SET name = 'evil' WHERE id = %d", i+1))
		z.WaitVoters(3, 60*time.Second)
	}
	next := 10
	writeUntilDiverged(t, z, leader, &next, fs[0].ID, fs[1].ID)

	// The leader logs which one it reset; that one exits 75.
	var reset, other *harness.Oned
	waitFor(t, 60*time.Second, "no diverged follower was reset", func() bool {
		for _, line := range strings.Split(leader.LogTail(400), "\n") {
			if !strings.Contains(line, "AUTO_REPAIR reset the diverged server") {
				continue
			}
			for i, f := range fs {
				if strings.Contains(line, fmt.Sprintf(" server=%d ", f.ID)) {
					reset, other = f, fs[1-i]
					return true
				}
			}
		}
		return false
	})
	if code := reset.WaitExit(20 * time.Second); code != 75 {
		t.Fatalf("reset server %d exited with %d, want 75", reset.ID, code)
	}
	waitFor(t, 30*time.Second, "the second reset was not refused", func() bool {
		return strings.Contains(leader.LogTail(400), "AUTO_REPAIR reset refused; still diverged")
	})
	if !other.Running() || other.RaftState() != 2 {
		t.Fatalf("server %d was reset too, or stopped following:\n%s", other.ID, other.LogTail(30))
	}
	if d := waitDiverged(t, z, leader, other.ID); d.Table != "vm" {
		t.Fatalf("server %d reported as %+v, want table vm", other.ID, d)
	}
}

// TestAuditIdenticalZoneReportsNoDivergence: under concurrent writers the
// leader compares several audit indices of both followers and reports
// nothing.
func TestAuditIdenticalZoneReportsNoDivergence(t *testing.T) {
	z, leader := auditZone(t, "{INTERVAL: 20}")
	seedRows(t, leader, 1)
	const writers, each = 4, 40
	errs := make(chan error, writers)
	for w := 0; w < writers; w++ {
		go func() {
			var err error
			for i := 0; i < each && err == nil; i++ {
				id := 1000 + w*each + i
				_, err = leader.Call(context.Background(), "one.sql.exec", []any{
					[]any{"INSERT INTO vm (id, name) VALUES (?, 'c')", int64(id)},
					[]any{"UPDATE vm SET name = name || 'u' WHERE id = ?", int64(id - 1)},
				})
			}
			errs <- err
		}()
	}
	for w := 0; w < writers; w++ {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	want := applied(t, leader) / 20 * 20
	var st struct {
		Audit struct {
			Diverged []oned.Divergence `json:"DIVERGED"`
			Compared map[string]uint64 `json:"COMPARED"`
		} `json:"AUDIT"`
	}
	waitFor(t, 60*time.Second, "the leader did not compare the followers' latest audits", func() bool {
		if err := json.Unmarshal([]byte(httpGet(t, z, leader, "/status")), &st); err != nil {
			t.Fatal(err)
		}
		for _, f := range followers(z, leader) {
			if st.Audit.Compared[fmt.Sprint(f.ID)] < want-20 { // the last index may be skipped
				return false
			}
		}
		return true
	})
	if len(st.Audit.Diverged) > 0 {
		t.Fatalf("identical servers reported diverged: %+v", st.Audit.Diverged)
	}
	if m := httpGet(t, z, leader, "/metrics"); !strings.Contains(m, "oneha_audit_mismatches_total 0") {
		t.Fatalf("mismatches counted on an identical zone")
	}
	t.Logf("compared up to %v (applied %d)", st.Audit.Compared, applied(t, leader))
}
