package oned_test

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/oneha/oneha/internal/harness"
)

// fedZones forms a master zone (zone 0) and a slave zone (zone 100) of
// three oned processes each, sharing ONE_AUTH, and registers the slave
// zone on the master (onezone create) with its server 0's ENDPOINT.
func fedZones(t *testing.T) (master, slave *harness.ProcZone) {
	t.Helper()
	master = harness.NewProcZone(t, harness.ZoneOptions{Federation: "MODE: MASTER"})
	slave = harness.NewProcZone(t, harness.ZoneOptions{ZoneID: 100, Session: master.Session,
		Federation: "MODE: SLAVE, MASTER_ONED: " + master.Servers[0].Endpoint})
	master.FormZone()
	ctx := harness.Ctx(t, 30*time.Second)
	v, err := master.Leader(20*time.Second).Call(ctx, "one.zone.allocate",
		fmt.Sprintf("NAME = \"zone-b\"\nENDPOINT = \"%s\"", slave.Servers[0].Endpoint))
	if err != nil || v != int64(100) {
		t.Fatalf("onezone create on the master: %v, %v; want zone 100", v, err)
	}
	slave.FormZone()
	return master, slave
}

var fedIndexRE = regexp.MustCompile(`<FEDLOG_INDEX>(-?\d+)</FEDLOG_INDEX>`)

// fedIndex is a server's FEDLOG_INDEX (one.zone.raftstatus).
func fedIndex(t *testing.T, o *harness.Oned) int64 {
	t.Helper()
	v, err := o.Call(harness.Ctx(t, 10*time.Second), "one.zone.raftstatus")
	if err != nil {
		return -2
	}
	m := fedIndexRE.FindStringSubmatch(v.(string))
	if m == nil {
		t.Fatalf("server %d: raftstatus without FEDLOG_INDEX: %s", o.ID, v)
	}
	n, _ := strconv.ParseInt(m[1], 10, 64)
	return n
}

// staleRows is a query's rows as one server holds them.
func staleRows(t *testing.T, o *harness.Oned, q string) string {
	t.Helper()
	v, err := o.Call(harness.Ctx(t, 10*time.Second), "one.sql.query", q, []any{}, "stale")
	if err != nil {
		return "error: " + err.Error()
	}
	return fmt.Sprint(v.(map[string]any)["ROWS"])
}

// waitFedIndex waits until every server of the zones reports FEDLOG_INDEX
// want.
func waitFedIndex(t *testing.T, want int64, zones ...*harness.ProcZone) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		var got []string
		ok := true
		for _, z := range zones {
			for _, o := range z.Servers {
				n := fedIndex(t, o)
				got = append(got, strconv.FormatInt(n, 10))
				ok = ok && n == want
			}
		}
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("FEDLOG_INDEX of the 6 servers: %v, want all %d; master leader's log:\n%s", got, want, zones[0].Leader(time.Second).LogTail(30))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestFederatedTablesAreTheSameOnEveryServerOfEveryZone is federation's
// rule, on real processes: writes on federated tables, sent to the master
// zone or to a slave zone (which forwards them to the master), reach all
// six servers in one order with the master's values (CURRENT_TIMESTAMP
// included), and FEDLOG_INDEX counts them on every server; local tables
// stay in their zone; a transaction mixing both is refused in either zone
// before anything is logged; a standalone-style call of fedreplicate on
// the master is refused.
func TestFederatedTablesAreTheSameOnEveryServerOfEveryZone(t *testing.T) {
	if testing.Short() {
		t.Skip("two zones of oned processes")
	}
	master, slave := fedZones(t)
	ctx := harness.Ctx(t, 60*time.Second)
	exec := func(o *harness.Oned, stmts ...any) error {
		_, err := o.Call(ctx, "one.sql.exec", stmts)
		return err
	}
	ml := master.Leader(20 * time.Second)
	mustExec := func(o *harness.Oned, stmts ...any) {
		t.Helper()
		if err := exec(o, stmts...); err != nil {
			t.Fatalf("server %d: %v: %v", o.ID, stmts, err)
		}
	}
	mustExec(ml, "CREATE TABLE user_pool (oid INTEGER PRIMARY KEY, name VARCHAR(128) NOT NULL, created TEXT NOT NULL)")
	mustExec(ml, []any{"INSERT INTO user_pool (oid, name, created) VALUES (?, ?, CURRENT_TIMESTAMP)", int64(0), "oneadmin"})
	mustExec(ml, "CREATE TABLE vm_pool (oid INTEGER PRIMARY KEY, body TEXT)") // local to the master zone
	mustExec(ml, "INSERT INTO vm_pool (oid, body) VALUES (1, 'master vm')")
	waitFedIndex(t, 2, master, slave)

	// A slave zone's write on a federated table goes through the master;
	// through a follower of the slave too.
	sl := slave.Leader(20 * time.Second)
	var sf *harness.Oned
	for _, o := range slave.Servers {
		if o != sl {
			sf = o
		}
	}
	mustExec(sl, []any{"INSERT INTO user_pool (oid, name, created) VALUES (?, ?, CURRENT_TIMESTAMP)", int64(1), "from-slave-leader"})
	mustExec(sf, []any{"INSERT INTO user_pool (oid, name, created) VALUES (?, ?, CURRENT_TIMESTAMP)", int64(2), "from-slave-follower"},
		"UPDATE user_pool SET name = 'renamed' WHERE oid = 0")
	mustExec(sl, "CREATE TABLE host_pool (oid INTEGER PRIMARY KEY, body TEXT)") // local to the slave zone
	mustExec(sl, "INSERT INTO host_pool (oid, body) VALUES (7, 'slave host')")
	waitFedIndex(t, 4, master, slave)

	// Mixed transactions are refused in both zones, and log nothing.
	for _, o := range []*harness.Oned{ml, sl} {
		local := map[*harness.Oned]string{ml: "vm_pool", sl: "host_pool"}[o]
		err := exec(o, "INSERT INTO user_pool (oid, name, created) VALUES (9, 'mixed', 'x')", "DELETE FROM "+local)
		if err == nil || !strings.Contains(err.Error(), "cannot mix federated and local tables") || !strings.Contains(err.Error(), local) {
			t.Fatalf("server %d: a mixed transaction answered %v, want a refusal naming %s", o.ID, err, local)
		}
	}
	// fedreplicate is refused on the master.
	if _, err := ml.Call(ctx, "one.zone.fedreplicate", int64(5), int64(4), "eA==", "acl"); err == nil || !strings.Contains(err.Error(), "federation master") {
		t.Fatalf("fedreplicate on the master: %v", err)
	}
	waitFedIndex(t, 4, master, slave)

	want := staleRows(t, ml, "SELECT oid, name, created FROM user_pool ORDER BY oid")
	if !strings.Contains(want, "renamed") || !strings.Contains(want, "from-slave-follower") {
		t.Fatalf("master's user_pool: %s", want)
	}
	for _, z := range []*harness.ProcZone{master, slave} {
		for _, o := range z.Servers {
			if got := staleRows(t, o, "SELECT oid, name, created FROM user_pool ORDER BY oid"); got != want {
				t.Fatalf("zone %v server %d user_pool:\n%s\nwant the master's:\n%s", z == slave, o.ID, got, want)
			}
		}
	}
	for _, o := range slave.Servers {
		if got := staleRows(t, o, "SELECT oid FROM vm_pool"); !strings.Contains(got, "no such table") {
			t.Fatalf("slave server %d sees the master's local vm_pool: %s", o.ID, got)
		}
		if got := staleRows(t, o, "SELECT body FROM host_pool"); got != "[[slave host]]" {
			t.Fatalf("slave server %d host_pool: %s", o.ID, got)
		}
	}
	for _, o := range master.Servers {
		if got := staleRows(t, o, "SELECT oid FROM host_pool"); !strings.Contains(got, "no such table") {
			t.Fatalf("master server %d sees the slave's local host_pool: %s", o.ID, got)
		}
	}
}
