package oned_test

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/oneha/oneha/backup"
	"github.com/oneha/oneha/internal/harness"
)

// metricValue reads one unlabelled metric from o's /metrics (-1: absent).
func metricValue(t *testing.T, z *harness.ProcZone, o *harness.Oned, name string) float64 {
	t.Helper()
	m := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(name) + ` (\S+)$`).FindStringSubmatch(httpGet(t, z, o, "/metrics"))
	if m == nil {
		return -1
	}
	v, err := strconv.ParseFloat(m[1], 64)
	if err != nil {
		t.Fatalf("%s = %q", name, m[1])
	}
	return v
}

// dumpsIn lists the onedb-named SQLite dumps in dir.
func dumpsIn(t *testing.T, dir string) []string {
	t.Helper()
	files, err := backup.Dumps(dir, "sqlite", "", "")
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		t.Fatal(err)
	}
	return files
}

// TestScheduledBackupsAndEveryHostLost: with BACKUP configured, the zone's
// follower (not the leader) writes a dump every INTERVAL_S, named as onedb
// backup names it, mode 0600, rotated to KEEP, its applied index in the
// header and in /metrics. Then every host is lost: the newest scheduled
// dump is restored with onedb restore --new-zone into a fresh server, which
// bootstraps a new zone by the seed procedure, holds every row, accepts
// writes and replicates them to a server that joins it.
func TestScheduledBackupsAndEveryHostLost(t *testing.T) {
	t.Parallel()
	z := harness.NewProcZone(t, harness.ZoneOptions{N: 2})
	for _, o := range z.Servers {
		o.Extra = fmt.Sprintf("BACKUP: {DIR: %s, INTERVAL_S: 5, KEEP: 1}\n", filepath.Join(o.Dir, "backups"))
	}
	z.FormFirst()
	z.AddServer(z.Servers[1])
	leader := z.Leader(20 * time.Second)
	f := followers(z, leader)[0]
	seedRows(t, leader, 10)
	rows := int64(10)

	// Two backups on the follower, with a write between them (an unchanged
	// database is not dumped again): KEEP 1 leaves only the second.
	wantTaken := func(n float64) {
		t.Helper()
		deadline := time.Now().Add(30 * time.Second)
		for metricValue(t, z, f, "oneha_backups_total") < n {
			if time.Now().After(deadline) {
				t.Fatalf("follower took %v backups, want %v:\n%s", metricValue(t, z, f, "oneha_backups_total"), n, f.LogTail(20))
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	wantTaken(1)
	call(t, leader, "one.sql.exec", []any{[]any{"INSERT INTO vm (id, name) VALUES (?, 'x')", rows}})
	rows++
	applied := metricValue(t, z, leader, "oneha_applied_index")
	wantTaken(2)
	files := dumpsIn(t, filepath.Join(f.Dir, "backups"))
	if len(files) != 1 {
		t.Fatalf("follower's BACKUP.DIR holds %v, want the newest dump only (KEEP 1)", files)
	}
	if n := len(dumpsIn(t, filepath.Join(leader.Dir, "backups"))); n != 0 || metricValue(t, z, leader, "oneha_backups_total") != 0 {
		t.Fatalf("the leader wrote %d dumps while it has a healthy follower", n)
	}
	dump := files[0]
	if !regexp.MustCompile(`/sqlite_\d{4}-\d{1,2}-\d{1,2}_\d{1,2}:\d{1,2}:\d{1,2}\.sql$`).MatchString(dump) {
		t.Fatalf("dump name %s is not onedb backup's", dump)
	}
	if st, err := os.Stat(dump); err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("dump %s: %v, mode %v; want 0600", dump, err, st.Mode().Perm())
	}
	fh, err := os.Open(dump)
	if err != nil {
		t.Fatal(err)
	}
	h, err := backup.Verify(fh)
	fh.Close()
	if err != nil {
		t.Fatalf("the scheduled dump does not verify: %v", err)
	}
	if float64(h.AppliedIndex) < applied || float64(h.AppliedIndex) != metricValue(t, z, f, "oneha_backup_last_applied_index") {
		t.Fatalf("dump applied_index %d; metric %v; want >= %v (the last write) and equal to the metric",
			h.AppliedIndex, metricValue(t, z, f, "oneha_backup_last_applied_index"), applied)
	}
	if v := metricValue(t, z, f, "oneha_backup_failures_total"); v != 0 {
		t.Fatalf("oneha_backup_failures_total = %v", v)
	}
	if v := metricValue(t, z, f, "oneha_backup_last_success_timestamp_seconds"); v < float64(time.Now().Add(-time.Minute).Unix()) {
		t.Fatalf("oneha_backup_last_success_timestamp_seconds = %v", v)
	}
	saved := filepath.Join(t.TempDir(), filepath.Base(dump))
	if b, err := os.ReadFile(dump); err != nil || os.WriteFile(saved, b, 0o600) != nil {
		t.Fatalf("copy the dump off the host: %v", err)
	}

	// Every host is lost.
	for _, o := range z.Servers {
		o.Kill()
	}

	// A new zone on fresh hosts from the saved dump.
	nz := harness.NewProcZone(t, harness.ZoneOptions{N: 2})
	first := nz.Servers[0]
	if err := os.MkdirAll(filepath.Join(first.Dir, "data"), 0o750); err != nil {
		t.Fatal(err)
	}
	onedb := filepath.Join(nz.Bin, "onedb")
	if out, err := exec.Command(onedb, append([]string{"restore", "--new-zone", saved}, first.DBFlags()...)...).CombinedOutput(); err != nil {
		t.Fatalf("onedb restore --new-zone: %v\n%s", err, out)
	}
	nz.FormFirst() // solo, server-add, restart with SERVER_ID 0: bootstraps
	if n := count(t, first, "stale"); n != rows {
		t.Fatalf("new zone holds %d rows, want %d (the dump's)", n, rows)
	}
	doc, _ := call(t, first, "one.zone.info", 0).(string)
	if got := len(regexp.MustCompile(`<SERVER>`).FindAllString(doc, -1)); got != 1 {
		t.Fatalf("new zone lists %d servers, want only its own:\n%s", got, doc)
	}
	call(t, first, "one.sql.exec", []any{[]any{"INSERT INTO vm (id, name) VALUES (?, 'new')", rows}})
	nz.AddServer(nz.Servers[1])
	waitCount(t, nz.Servers[1], rows+1, 30*time.Second, "a server joining the new zone never got the restored data")
}
