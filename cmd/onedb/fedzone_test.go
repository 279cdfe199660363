package main

import (
	"database/sql"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/oneha/oneha/internal/harness"
	"github.com/oneha/oneha/sqlcheck"
	"github.com/oneha/oneha/sqlfsm"
)

// TestSeedSlaveZoneWithFederatedBackup is OpenNebula's procedure for a new
// slave zone, on real oned processes: the slave zone is registered on the
// master (onezone create), onedb backup --federated is taken of a running
// master server's database, onedb restore --federated puts it into the
// new slave zone's first server before the zone is formed, then the zone
// is formed. Every slave server holds the master's federated rows at the
// master's FEDLOG_INDEX, the master's local tables stay in the master
// zone, and the stream goes on from the seeded index: later writes arrive,
// nothing was sent twice, and no snapshot was needed.
func TestSeedSlaveZoneWithFederatedBackup(t *testing.T) {
	if testing.Short() {
		t.Skip("two zones of oned processes")
	}
	for _, d := range harness.Dialects {
		t.Run(string(d), func(t *testing.T) { seedSlaveZone(t, d) })
	}
}

func seedSlaveZone(t *testing.T, d sqlcheck.Dialect) {
	tables := "FEDERATED_TABLES: [fed_extra]\n"
	master := harness.NewProcZone(t, harness.ZoneOptions{Dialect: d, Federation: "MODE: MASTER", Extra: tables})
	slave := harness.NewProcZone(t, harness.ZoneOptions{Dialect: d, ZoneID: 100, AuthFrom: master, Extra: tables,
		Federation: "MODE: SLAVE, MASTER_ONED: " + master.Servers[0].Endpoint})
	master.FormZone()
	ctx := harness.Ctx(t, 3*time.Minute)
	ml := master.Leader(20 * time.Second)
	if v, err := ml.Call(ctx, "one.zone.allocate", fmt.Sprintf("NAME = \"zone-b\"\nENDPOINT = \"%s\"", slave.Servers[0].Endpoint)); err != nil || v != int64(100) {
		t.Fatalf("onezone create on the master: %v, %v; want zone 100", v, err)
	}
	write := func(stmts ...any) {
		t.Helper()
		if _, err := master.Leader(20*time.Second).Call(ctx, "one.sql.exec", stmts); err != nil {
			t.Fatalf("%v: %v", stmts, err)
		}
	}
	write("CREATE TABLE user_pool (oid INTEGER PRIMARY KEY, name VARCHAR(128) NOT NULL, created TEXT NOT NULL)")
	write([]any{"INSERT INTO user_pool (oid, name, created) VALUES (?, ?, CURRENT_TIMESTAMP)", int64(0), "oneadmin"},
		[]any{"INSERT INTO user_pool (oid, name, created) VALUES (?, ?, CURRENT_TIMESTAMP)", int64(1), "serveradmin"})
	write("CREATE TABLE fed_extra (id INTEGER PRIMARY KEY, v VARCHAR(32))")
	write("INSERT INTO fed_extra (id, v) VALUES (1, 'one')")
	write("CREATE TABLE vm_pool (oid INTEGER PRIMARY KEY, body TEXT)") // local to the master zone
	write("INSERT INTO vm_pool (oid, body) VALUES (1, 'master vm')")
	harness.WaitFedIndex(t, 4, master)

	// onedb backup --federated of a running master follower's database:
	// the tables come from its oned config (DB, FEDERATED_TABLES).
	var src *harness.Oned
	ml = master.Leader(20 * time.Second)
	for _, o := range master.Servers {
		if o != ml {
			src = o
		}
	}
	onedb := filepath.Join(master.Bin, "onedb")
	dump := filepath.Join(t.TempDir(), "federated.sql")
	out, err := exec.Command(onedb, "backup", "--federated", "--config", src.Config, dump).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "(federation index 4)") {
		t.Fatalf("onedb backup --federated: %v\n%s", err, out)
	}

	// onedb restore --federated into the slave zone's first server, before
	// the zone is formed.
	first := slave.Servers[0]
	first.WriteConfig(0)
	if err := os.MkdirAll(filepath.Join(first.Dir, "data"), 0o750); err != nil {
		t.Fatal(err)
	}
	out, err = exec.Command(onedb, "restore", "--federated", "--config", first.Config, dump).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "restored: federated tables at federation index 4.") {
		t.Fatalf("onedb restore --federated: %v\n%s", err, out)
	}
	var db *sql.DB
	if d == sqlcheck.SQLite {
		db, err = sqlfsm.OpenSQLite(filepath.Join(first.DataDir(), "one.db"))
	} else {
		db, err = sqlfsm.OpenMySQL(first.DSN, 1)
	}
	if err != nil {
		t.Fatal(err)
	}
	if got := rows(t, db, "SELECT name FROM user_pool ORDER BY oid") + "/" + rows(t, db, "SELECT v FROM fed_extra"); got != "oneadmin\nserveradmin/one" {
		t.Fatalf("restored slave database holds %q", got)
	}
	db.Close()

	slave.FormZone()
	harness.WaitFedIndex(t, 4, master, slave)
	check := func(q string) {
		t.Helper()
		want := master.Leader(20*time.Second).StaleRows(t, q)
		for _, o := range slave.Servers {
			deadline := time.Now().Add(30 * time.Second)
			for {
				got := o.StaleRows(t, q)
				if got == want {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("slave server %d: %s\n%s\nwant the master's:\n%s", o.ID, q, got, want)
				}
				time.Sleep(50 * time.Millisecond)
			}
		}
	}
	check("SELECT oid, name, created FROM user_pool ORDER BY oid")
	check("SELECT id, v FROM fed_extra ORDER BY id")
	for _, o := range slave.Servers {
		if got := o.StaleRows(t, "SELECT oid FROM vm_pool"); !strings.HasPrefix(got, "error: ") {
			t.Fatalf("slave server %d holds the master's local vm_pool: %s", o.ID, got)
		}
	}

	// The stream goes on from index 5.
	write([]any{"INSERT INTO user_pool (oid, name, created) VALUES (?, ?, CURRENT_TIMESTAMP)", int64(2), "after-seed"})
	write("UPDATE fed_extra SET v = 'two' WHERE id = 1")
	harness.WaitFedIndex(t, 6, master, slave)
	check("SELECT oid, name, created FROM user_pool ORDER BY oid")
	check("SELECT id, v FROM fed_extra ORDER BY id")
	for _, o := range master.Servers {
		if log := o.LogTail(100000); strings.Contains(log, "sending a snapshot of the federated tables") {
			t.Fatalf("master server %d sent a snapshot to the seeded slave zone:\n%s", o.ID, o.LogTail(40))
		}
	}
	for _, o := range slave.Servers {
		if log := o.LogTail(100000); strings.Contains(log, "failed here") || strings.Contains(log, "replacing the federated tables") {
			t.Fatalf("slave server %d got records the seed held, or a snapshot:\n%s", o.ID, o.LogTail(40))
		}
	}
}
