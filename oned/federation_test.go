package oned_test

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
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
// beforeSlave runs on the formed master before the slave zone forms.
func fedZones(t *testing.T, beforeSlave func(master *harness.ProcZone)) (master, slave *harness.ProcZone) {
	t.Helper()
	master = harness.NewProcZone(t, harness.ZoneOptions{Federation: "MODE: MASTER"})
	slave = harness.NewProcZone(t, harness.ZoneOptions{ZoneID: 100, AuthFrom: master,
		Federation: "MODE: SLAVE, MASTER_ONED: " + master.Servers[0].Endpoint})
	master.FormZone()
	ctx := harness.Ctx(t, 30*time.Second)
	v, err := master.Leader(20*time.Second).Call(ctx, "one.zone.allocate",
		fmt.Sprintf("NAME = \"zone-b\"\nENDPOINT = \"%s\"", slave.Servers[0].Endpoint))
	if err != nil || v != int64(100) {
		t.Fatalf("onezone create on the master: %v, %v; want zone 100", v, err)
	}
	beforeSlave(master)
	slave.FormZone()
	return master, slave
}

// TestFederatedTablesAreTheSameOnEveryServerOfEveryZone is federation's
// rule, on real processes: writes on federated tables, sent to the master
// zone or to a slave zone (which forwards them to the master), reach all
// six servers in one order with the master's values (CURRENT_TIMESTAMP
// included), and FEDLOG_INDEX counts them on every server; local tables
// stay in their zone; a transaction mixing both is refused in either zone
// before anything is logged; a standalone-style call of fedreplicate on
// the master is refused. A slave zone that was down while the master
// wrote catches up from the master's new leader (a gap, then a rewind),
// and a client of the slave zone gets the master's answers unchanged.
func TestFederatedTablesAreTheSameOnEveryServerOfEveryZone(t *testing.T) {
	if testing.Short() {
		t.Skip("two zones of oned processes")
	}
	ctx := harness.Ctx(t, 90*time.Second)
	execOn := func(o *harness.Oned, stmts ...any) error {
		_, err := o.Call(ctx, "one.sql.exec", stmts)
		return err
	}
	mustExec := func(o *harness.Oned, stmts ...any) {
		t.Helper()
		if err := execOn(o, stmts...); err != nil {
			t.Fatalf("server %d: %v: %v", o.ID, stmts, err)
		}
	}
	// The master holds two records before the slave zone exists: the
	// stream's first send to the empty slave is answered with a gap, and
	// it rewinds to record 1.
	master, slave := fedZones(t, func(master *harness.ProcZone) {
		ml := master.Leader(20 * time.Second)
		mustExec(ml, "CREATE TABLE user_pool (oid INTEGER PRIMARY KEY, name VARCHAR(128) NOT NULL, created TEXT NOT NULL)")
		mustExec(ml, []any{"INSERT INTO user_pool (oid, name, created) VALUES (?, ?, CURRENT_TIMESTAMP)", int64(0), "oneadmin"})
	})
	ml := master.Leader(20 * time.Second)
	mustExec(ml, "CREATE TABLE vm_pool (oid INTEGER PRIMARY KEY, body TEXT)") // local to the master zone
	mustExec(ml, "INSERT INTO vm_pool (oid, body) VALUES (1, 'master vm')")
	harness.WaitFedIndex(t, 2, master, slave)

	// A slave zone's write on a federated table goes through the master;
	// through a follower of the slave too.
	sl := slave.Leader(20 * time.Second)
	var sf *harness.Oned
	for _, o := range slave.Servers {
		if o != sl {
			sf = o
		}
	}
	// The client gets the master's answer, as the master gives it.
	v, err := sl.Call(ctx, "one.sql.exec", []any{[]any{"INSERT INTO user_pool (oid, name, created) VALUES (?, ?, CURRENT_TIMESTAMP)", int64(1), "from-slave-leader"}})
	if r, ok := v.([]any); err != nil || !ok || len(r) != 1 || fmt.Sprint(r[0].(map[string]any)["ROWS_AFFECTED"]) != "1" {
		t.Fatalf("a federated write on the slave zone answered %#v, %v; want one statement's ROWS_AFFECTED 1", v, err)
	}
	if _, err := sl.Call(ctx, "one.sql.exec", []any{"INSERT INTO user_pool (oid, name, created) VALUES (1, 'dup', 'x')"}); err == nil || !strings.Contains(err.Error(), "[ACTION]") {
		t.Fatalf("a failing federated write on the slave zone answered %v; want the master's ACTION failure", err)
	}
	mustExec(sf, []any{"INSERT INTO user_pool (oid, name, created) VALUES (?, ?, CURRENT_TIMESTAMP)", int64(2), "from-slave-follower"},
		"UPDATE user_pool SET name = 'renamed' WHERE oid = 0")
	// The master's answer comes back as it is: a result per statement,
	// or its error.
	v, err = sf.Call(ctx, "one.sql.exec", []any{[]any{"UPDATE user_pool SET name = ? WHERE oid = ?", "renamed", int64(0)}})
	if r, _ := v.([]any); err != nil || len(r) != 1 || r[0].(map[string]any)["ROWS_AFFECTED"] != int64(1) {
		t.Fatalf("a forwarded write answered %#v, %v; want one result of 1 row", v, err)
	}
	if err := execOn(sf, "INSERT INTO user_pool (oid, name, created) VALUES (0, 'dup', 'x')"); err == nil || !strings.Contains(err.Error(), "UNIQUE") && !strings.Contains(err.Error(), "Duplicate") {
		t.Fatalf("a forwarded write that fails on the master answered %v, want its SQL error", err)
	}
	mustExec(sl, "CREATE TABLE host_pool (oid INTEGER PRIMARY KEY, body TEXT)") // local to the slave zone
	mustExec(sl, "INSERT INTO host_pool (oid, body) VALUES (7, 'slave host')")
	harness.WaitFedIndex(t, 5, master, slave)

	// Mixed transactions are refused in both zones, and log nothing.
	for _, o := range []*harness.Oned{ml, sl} {
		local := map[*harness.Oned]string{ml: "vm_pool", sl: "host_pool"}[o]
		err := execOn(o, "INSERT INTO user_pool (oid, name, created) VALUES (9, 'mixed', 'x')", "DELETE FROM "+local)
		if err == nil || !strings.Contains(err.Error(), "cannot mix federated and local tables") || !strings.Contains(err.Error(), local) {
			t.Fatalf("server %d: a mixed transaction answered %v, want a refusal naming %s", o.ID, err, local)
		}
	}
	// A master declaring other federated tables is refused, naming them;
	// nothing is applied.
	if _, err := sl.Call(ctx, "one.zone.fedreplicate", int64(6), int64(5), "eA==", "acl,user_pool,extra_table"); err == nil ||
		!strings.Contains(err.Error(), "only on the master: [extra_table]") || !strings.Contains(err.Error(), "only here: [db_versioning group_pool marketplace_pool marketplaceapp_pool vdc_pool zone_pool]") {
		t.Fatalf("fedreplicate with another table list: %v", err)
	}
	// Zones are created and deleted on the master only.
	for _, m := range [][]any{{"one.zone.allocate", "NAME = \"x\"\nENDPOINT = \"http://x:2633/RPC2\""}, {"one.zone.delete", int64(0)}} {
		if _, err := sf.Call(ctx, m[0].(string), m[1:]...); err == nil || !strings.Contains(err.Error(), "on the federation master") {
			t.Fatalf("%s on a slave: %v", m[0], err)
		}
	}
	// fedreplicate is refused on the master.
	if _, err := ml.Call(ctx, "one.zone.fedreplicate", int64(5), int64(4), "eA==", "acl"); err == nil || !strings.Contains(err.Error(), "federation master") {
		t.Fatalf("fedreplicate on the master: %v", err)
	}
	harness.WaitFedIndex(t, 5, master, slave)

	// The slave zone is down while the master writes, and the master zone
	// gets a new leader: its first send to the slave zone (the newest
	// record) is answered with a gap, and the stream rewinds to the
	// records the slave zone lacks.
	for _, o := range slave.Servers {
		o.Stop()
	}
	mustExec(ml, "INSERT INTO user_pool (oid, name, created) VALUES (3, 'while-down', 'x')")
	mustExec(ml, "INSERT INTO user_pool (oid, name, created) VALUES (4, 'while-down', 'y')")
	ml.Kill()
	master.Leader(20 * time.Second)
	ml.Start()
	for _, o := range slave.Servers {
		o.Start()
	}
	harness.WaitFedIndex(t, 7, master, slave)
	ml = master.Leader(20 * time.Second)

	want := ml.StaleRows(t, "SELECT oid, name, created FROM user_pool ORDER BY oid")
	if !strings.Contains(want, "renamed") || !strings.Contains(want, "from-slave-follower") {
		t.Fatalf("master's user_pool: %s", want)
	}
	for _, z := range []*harness.ProcZone{master, slave} {
		for _, o := range z.Servers {
			if got := o.StaleRows(t, "SELECT oid, name, created FROM user_pool ORDER BY oid"); got != want {
				t.Fatalf("zone %v server %d user_pool:\n%s\nwant the master's:\n%s", z == slave, o.ID, got, want)
			}
		}
	}
	for _, o := range slave.Servers {
		if got := o.StaleRows(t, "SELECT oid FROM vm_pool"); !strings.Contains(got, "no such table") {
			t.Fatalf("slave server %d sees the master's local vm_pool: %s", o.ID, got)
		}
		if got := o.StaleRows(t, "SELECT body FROM host_pool"); got != "[[slave host]]" {
			t.Fatalf("slave server %d host_pool: %s", o.ID, got)
		}
	}
	for _, o := range master.Servers {
		if got := o.StaleRows(t, "SELECT oid FROM host_pool"); !strings.Contains(got, "no such table") {
			t.Fatalf("master server %d sees the slave's local host_pool: %s", o.ID, got)
		}
	}

	// How far behind: a slave server knows the master's index; the
	// master's leader knows each slave zone's.
	for _, tc := range []struct {
		o    *harness.Oned
		want []string
	}{
		{sf, []string{"<MODE>SLAVE</MODE>", "<ZONE_ID>100</ZONE_ID>", "<FEDLOG_INDEX>7</FEDLOG_INDEX>", "<MASTER_FEDLOG_INDEX>7</MASTER_FEDLOG_INDEX>", "<BEHIND>0</BEHIND>"}},
		{ml, []string{"<MODE>MASTER</MODE>", "<FEDLOG_INDEX>7</FEDLOG_INDEX>", "<ZONE><ID>100</ID><ACKED>7</ACKED><BEHIND>0</BEHIND><ERROR></ERROR></ZONE>"}},
	} {
		v, err := tc.o.Call(ctx, "one.zone.fedstatus")
		if err != nil {
			t.Fatal(err)
		}
		for _, w := range tc.want {
			if !strings.Contains(v.(string), w) {
				t.Fatalf("fedstatus of server %d: %s\nwant %s", tc.o.ID, v, w)
			}
		}
	}

	// What an operator sees: FED_INDEX 7 on every server of both zones,
	// and where each zone stands.
	for _, tc := range []struct {
		z    *harness.ProcZone
		o    *harness.Oned
		zone string
		line string
	}{
		{master, ml, "0", "FEDERATION: MASTER at index 7; zone 100 at 7 (0 behind)"},
		{slave, sf, "100", "FEDERATION: SLAVE of " + master.Servers[0].Endpoint + ", at index 7, master at 7 (0 behind)"},
	} {
		cmd := exec.Command(filepath.Join(tc.z.Bin, "onezone"), "show", tc.zone)
		cmd.Env = append(os.Environ(), "ONE_AUTH="+tc.z.Auth, "ONE_XMLRPC="+tc.o.Endpoint)
		out, err := cmd.CombinedOutput()
		if err != nil || !strings.Contains(string(out), tc.line) {
			t.Fatalf("onezone show %s: %v\n%s\nwant the line %q", tc.zone, err, out, tc.line)
		}
		ha := string(out)[strings.Index(string(out), "HA & FEDERATION SYNC STATUS"):]
		ha = ha[:strings.Index(ha, "ZONE TEMPLATE")]
		if rows := regexp.MustCompile(`(?m)^\s+\d+ server-\d .* 7\s*$`).FindAllString(ha, -1); len(rows) != 3 {
			t.Fatalf("onezone show %s: want 3 servers with FED_INDEX 7:\n%s", tc.zone, ha)
		}
		t.Logf("onezone show %s:\n%s", tc.zone, out)
	}

	// A zone whose servers hold another CA (its .one folder was not
	// copied) gets nothing from the master: not even the session.
	other := harness.NewProcZone(t, harness.ZoneOptions{N: 1, ZoneID: 101,
		Federation: "MODE: SLAVE, MASTER_ONED: " + master.Servers[0].Endpoint})
	other.FormFirst()
	if _, err := ml.Call(ctx, "one.zone.allocate", fmt.Sprintf("NAME = \"zone-c\"\nENDPOINT = \"%s\"", other.Servers[0].Endpoint)); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		v, err := ml.Call(ctx, "one.zone.fedstatus")
		if err == nil && regexp.MustCompile(`<ZONE><ID>101</ID><ACKED>0</ACKED><BEHIND>7</BEHIND><ERROR>[^<]*certificate`).MatchString(v.(string)) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the master's stream to a zone of another CA: %v, %v; want a certificate error", v, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if n := other.Servers[0].FedLogIndex(t); n != 0 {
		t.Fatalf("the zone of another CA is at federation index %d", n)
	}
}

// sameFedRows waits until every server of the zones holds the same
// FEDLOG_INDEX before and after reading q, and the same rows of q, and
// returns them. (A write whose client gave up may still apply after the
// writers stopped: the final index is not known in advance, and the rows
// are compared at one index.)
func sameFedRows(t *testing.T, q string, zones ...*harness.ProcZone) (int64, string) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		last := harness.WaitFedIndex(t, -1, zones...)
		var rows []string
		for _, z := range zones {
			for _, o := range z.Servers {
				rows = append(rows, o.StaleRows(t, q))
			}
		}
		same := true
		for _, r := range rows {
			same = same && r == rows[0]
		}
		if same && harness.WaitFedIndex(t, -1, zones...) == last {
			return last, rows[0]
		}
		if time.Now().After(deadline) {
			t.Fatalf("the servers never held the same rows of %s at one index; last pass:\n%s", q, strings.Join(rows, "\n"))
		}
	}
}

// TestFederationSurvivesLeaderDeathsAndAPurgedLog: while clients write
// federated rows to both zones, the master zone's leader is killed (and
// restarted), the slave zone's leader is killed (and restarted), and the
// whole slave zone is stopped while the master writes more records than
// its federation log keeps, then started again (it gets a snapshot).
// Afterwards every server of both zones holds the same fed_ops rows and
// the same FEDLOG_INDEX, every acknowledged write exactly once, and no
// write twice.
func TestFederationSurvivesLeaderDeathsAndAPurgedLog(t *testing.T) {
	if testing.Short() {
		t.Skip("two zones of oned processes")
	}
	tables := "FEDERATED_TABLES: [fed_ops]\n"
	master := harness.NewProcZone(t, harness.ZoneOptions{Federation: "MODE: MASTER, LOG_RETENTION: 5", Extra: tables})
	slave := harness.NewProcZone(t, harness.ZoneOptions{ZoneID: 100, AuthFrom: master, Extra: tables,
		Federation: "MODE: SLAVE, MASTER_ONED: " + master.Servers[0].Endpoint})
	master.FormZone()
	ctx := harness.Ctx(t, 5*time.Minute)
	if _, err := master.Leader(20*time.Second).Call(ctx, "one.zone.allocate",
		fmt.Sprintf("NAME = \"zone-b\"\nENDPOINT = \"%s\"", slave.Servers[0].Endpoint)); err != nil {
		t.Fatal(err)
	}
	slave.FormZone()
	if _, err := master.Leader(20*time.Second).Call(ctx, "one.sql.exec", []any{"CREATE TABLE fed_ops (op VARCHAR(64) NOT NULL)"}); err != nil {
		t.Fatal(err)
	}
	harness.WaitFedIndex(t, 1, master, slave)
	showBoth := func(when string) {
		for _, z := range []*harness.ProcZone{master, slave} {
			l := z.Leader(20 * time.Second)
			cmd := exec.Command(filepath.Join(z.Bin, "onezone"), "show", strconv.Itoa(map[*harness.ProcZone]int{master: 0, slave: 100}[z]))
			cmd.Env = append(os.Environ(), "ONE_AUTH="+z.Auth, "ONE_XMLRPC="+l.Endpoint)
			out, err := cmd.CombinedOutput()
			if err != nil {
				t.Fatalf("onezone show: %v\n%s", err, out)
			}
			t.Logf("%s, onezone show on server %d:\n%s", when, l.ID, out)
		}
	}
	showBoth("before the faults")

	writers := []*harness.FedWriter{harness.StartFedWriter(ctx, "m", master), harness.StartFedWriter(ctx, "s", slave)}
	progress := func(n int64) { writers[0].WaitMore(t, n) } // the master zone's writer goes on through every fault
	progress(10)

	// The master zone's leader dies mid-stream, and comes back.
	ml := master.Leader(20 * time.Second)
	ml.Kill()
	progress(10)
	ml.Start()

	// The slave zone's leader dies, and comes back.
	sl := slave.Leader(20 * time.Second)
	sl.Kill()
	progress(10)
	sl.Start()
	progress(5)

	// The slave zone is down while the master writes more than its
	// federation log keeps (5): it comes back to a purged log.
	for _, o := range slave.Servers {
		o.Kill()
	}
	progress(20)
	for _, o := range slave.Servers {
		o.Start()
	}
	progress(10)
	for _, w := range writers {
		w.Stop()
	}

	last, _ := sameFedRows(t, "SELECT op, COUNT(*) FROM fed_ops GROUP BY op ORDER BY op", master, slave)
	counts := map[string]string{}
	v, err := master.Leader(time.Second).Call(ctx, "one.sql.query", "SELECT op, COUNT(*) FROM fed_ops GROUP BY op", []any{}, "stale")
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range v.(map[string]any)["ROWS"].([]any) {
		row := r.([]any)
		counts[row[0].(string)] = fmt.Sprint(row[1])
	}
	for _, w := range writers {
		for _, op := range w.Acked {
			if counts[op] != "1" {
				t.Fatalf("acknowledged write %s is there %q times, want once", op, counts[op])
			}
		}
		for _, op := range w.Unknown {
			if c := counts[op]; c != "" && c != "1" {
				t.Fatalf("write %s of unknown outcome is there %s times", op, c)
			}
		}
	}
	for op, c := range counts {
		if c != "1" {
			t.Fatalf("%s applied %s times", op, c)
		}
	}
	showBoth("after the faults")
	snapshots := 0
	for _, o := range master.Servers {
		snapshots += strings.Count(o.LogTail(100000), "sending a snapshot of the federated tables")
	}
	if snapshots == 0 {
		t.Fatal("the slave zone came back to a purged log, yet no snapshot was sent")
	}
	t.Logf("acknowledged: master zone %d, slave zone %d; unknown outcome %d+%d; federation index %d; snapshots %d",
		len(writers[0].Acked), len(writers[1].Acked), len(writers[0].Unknown), len(writers[1].Unknown), last, snapshots)
}
