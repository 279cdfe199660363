package oned_test

import (
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/oneha/oneha/internal/harness"
	"github.com/oneha/oneha/oned"
	"github.com/oneha/oneha/sqlcheck"
)

// runOned runs the oned binary of z with args and returns its combined
// output and exit status.
func runOned(t *testing.T, z *harness.ProcZone, args ...string) (string, int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, filepath.Join(z.Bin, "oned"), args...).CombinedOutput()
	var ee *exec.ExitError
	switch {
	case err == nil:
		return string(out), 0
	case errors.As(err, &ee):
		return string(out), ee.ExitCode()
	}
	t.Fatalf("oned %v: %v\n%s", args, err, out)
	return "", -1
}

// zoneServers is the server pool of one.zone.info on o.
func zoneServers(t *testing.T, o *harness.Oned) map[int]string {
	t.Helper()
	var doc struct {
		Servers []struct {
			ID       int    `xml:"ID"`
			Name     string `xml:"NAME"`
			Endpoint string `xml:"ENDPOINT"`
		} `xml:"SERVER_POOL>SERVER"`
	}
	if err := xml.Unmarshal([]byte(call(t, o, "one.zone.info", 0).(string)), &doc); err != nil {
		t.Fatalf("one.zone.info: %v", err)
	}
	out := map[int]string{}
	for _, s := range doc.Servers {
		out[s.ID] = s.Name
	}
	return out
}

// memberVoters maps each Raft member of o's configuration to whether it
// votes.
func memberVoters(t *testing.T, o *harness.Oned) map[int]bool {
	t.Helper()
	out := map[int]bool{}
	for _, m := range call(t, o, "one.zone.members").([]any) {
		mm := m.(map[string]any)
		out[int(mm["ID"].(int64))] = mm["VOTER"] == true
	}
	return out
}

// addFresh adds o to the zone led by leader under the ID the zone gives it
// (retrying while the previous joiner catches up), starts it with an empty
// database and waits until it follows.
func addFresh(t *testing.T, leader, o *harness.Oned) {
	t.Helper()
	name := "fresh-" + filepath.Base(o.Dir)
	tmpl := fmt.Sprintf(`SERVER = [ NAME = "%s", ENDPOINT = "%s" ]`, name, o.Endpoint)
	deadline := time.Now().Add(30 * time.Second)
	for {
		_, err := leader.Call(context.Background(), "one.zone.addserver", 0, tmpl)
		if err == nil {
			break
		}
		if !strings.Contains(err.Error(), "join") || time.Now().After(deadline) {
			t.Fatalf("server-add %s: %v", name, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	o.ID = -1
	for id, n := range zoneServers(t, leader) {
		if n == name {
			o.ID = id
		}
	}
	if o.ID < 0 {
		t.Fatalf("server %s not in the zone table after server-add", name)
	}
	o.WriteConfig(o.ID)
	o.Start()
	o.WaitState(2, 30*time.Second)
}

// TestRecoverAfterMajorityLoss: 3 servers, 2 SIGKILLed for good. `oned
// recover` refuses while oned runs, prints its plan and changes nothing
// without --yes, refuses IDs it does not know; with --yes the survivor
// starts as the leader of a 1-server zone (Raft and zone table) holding
// every acknowledged write, takes writes, and two fresh servers join it by
// the usual server-add and replicate everything.
func TestRecoverAfterMajorityLoss(t *testing.T) {
	t.Parallel()
	for _, d := range harness.Dialects {
		t.Run(string(d), func(t *testing.T) { testRecoverAfterMajorityLoss(t, d) })
	}
}

func testRecoverAfterMajorityLoss(t *testing.T, d sqlcheck.Dialect) {
	z := harness.NewProcZone(t, harness.ZoneOptions{N: 5, Dialect: d})
	z.FormFirst()
	z.AddServer(z.Servers[1])
	z.AddServer(z.Servers[2])
	z.WaitVoters(3, 60*time.Second)
	leader := z.Leader(20 * time.Second)
	seedRows(t, leader, 30)
	survivor := followers(z, leader)[0]
	waitCount(t, survivor, 30, 20*time.Second, "survivor never had every acknowledged write")

	out, code := runOned(t, z, "recover", "--config", survivor.Config, "--yes")
	if code == 0 || !strings.Contains(out, "in use by another oned") {
		t.Fatalf("recover under a running oned: exit %d, want a refusal naming the lock:\n%s", code, out)
	}
	var lost []int
	for _, o := range z.Servers[:3] {
		if o != survivor {
			o.Kill()
			lost = append(lost, o.ID)
		}
	}
	survivor.Stop()

	// Refusals: unknown ID, a list without this server, garbage.
	for _, c := range []struct{ servers, want string }{
		{fmt.Sprintf("%d,9", survivor.ID), "server 9 is neither in the zone table nor in the Raft configuration"},
		{strconv.Itoa(lost[0]), "does not include this server"},
		{"1,x", "is not a server ID"},
		{fmt.Sprintf("%d,%d", survivor.ID, survivor.ID), "given twice"},
	} {
		if out, code := runOned(t, z, "recover", "--config", survivor.Config, "--servers", c.servers, "--yes"); code == 0 || !strings.Contains(out, c.want) {
			t.Errorf("recover --servers %s: exit %d, want %q:\n%s", c.servers, code, c.want, out)
		}
	}
	// The plan, without --yes: names every server and changes nothing.
	out, code = runOned(t, z, "recover", "--config", survivor.Config)
	if code != 0 || !strings.Contains(out, "Nothing changed") || strings.Count(out, "lost: removed") != 2 {
		t.Fatalf("recover without --yes: exit %d:\n%s", code, out)
	}
	for _, o := range z.Servers[:3] {
		if !strings.Contains(out, o.Endpoint) || !strings.Contains(out, fmt.Sprintf("server-%d", o.ID)) {
			t.Errorf("plan does not name server %d (%s):\n%s", o.ID, o.Endpoint, out)
		}
	}
	t.Logf("plan:\n%s", out)
	survivor.Start()
	if v := memberVoters(t, survivor); len(v) != 3 || !v[lost[0]] || !v[lost[1]] {
		t.Fatalf("configuration after a recover without --yes: %v, want the 3 voters unchanged", v)
	}
	survivor.Stop()

	out, code = runOned(t, z, "recover", "--config", survivor.Config, "--yes")
	if code != 0 || !strings.Contains(out, "Recovered") {
		t.Fatalf("recover --yes: exit %d:\n%s", code, out)
	}
	survivor.Start()
	survivor.WaitState(3, 20*time.Second)
	if v := memberVoters(t, survivor); len(v) != 1 || !v[survivor.ID] {
		t.Fatalf("recovered configuration %v, want only server %d voting", v, survivor.ID)
	}
	waitFor(t, 20*time.Second, "the zone table never listed only the survivor", func() bool {
		s := zoneServers(t, survivor)
		_, ok := s[survivor.ID]
		return len(s) == 1 && ok
	})
	if _, err := os.Stat(filepath.Join(survivor.Dir, "data", "RECOVERED")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("recovery marker left after the zone table was fixed (stat: %v)", err)
	}
	if n := count(t, survivor, "strong"); n != 30 {
		t.Fatalf("recovered leader has %d rows, want every acknowledged one (30)", n)
	}
	call(t, survivor, "one.sql.exec", []any{[]any{"INSERT INTO vm (id, name) VALUES (?, 'x')", int64(30)}})

	for _, o := range z.Servers[3:] {
		addFresh(t, survivor, o)
	}
	z.WaitVoters(3, 60*time.Second)
	for _, o := range z.Servers[3:] {
		waitCount(t, o, 31, 20*time.Second, "fresh server did not receive every row")
	}
	if s := zoneServers(t, survivor); len(s) != 3 {
		t.Fatalf("zone table after adding two servers: %v", s)
	}
}

// deadVoters is the leader's DEAD list (dead-server cleanup): server ID →
// removed from the voters (false: kept by MIN_QUORUM).
func deadVoters(t *testing.T, leader *harness.Oned) map[int]bool {
	t.Helper()
	var st oned.RaftStatus
	if err := xml.Unmarshal([]byte(call(t, leader, "one.zone.raftstatus").(string)), &st); err != nil {
		t.Fatalf("raftstatus: %v", err)
	}
	out := map[int]bool{}
	for _, d := range st.Dead {
		out[d.ServerID] = d.Removed
	}
	return out
}

func voterCount(v map[int]bool) int {
	n := 0
	for _, voter := range v {
		if voter {
			n++
		}
	}
	return n
}

// TestDeadServerCleanupKeepsMinQuorumAndRejoins: RAFT
// {DEAD_SERVER_TIMEOUT_S: 3, MIN_QUORUM: 3} on 4 servers. A killed
// follower is removed from the voters after 3 s but stays in the zone
// table (DEAD in raftstatus); a second killed follower is kept a voter
// (removing it would leave 2 < MIN_QUORUM voters) and the zone keeps
// writing. The first one, restarted, is promoted again and gets every row;
// the voters are 4 again, so the second dead one is then removed.
func TestDeadServerCleanupKeepsMinQuorumAndRejoins(t *testing.T) {
	t.Parallel()
	z := harness.NewProcZone(t, harness.ZoneOptions{N: 4, Raft: "DEAD_SERVER_TIMEOUT_S: 3, MIN_QUORUM: 3"})
	z.FormZone()
	leader := z.Leader(20 * time.Second)
	seedRows(t, leader, 5)
	fs := followers(z, leader)
	a, b := fs[0], fs[1]

	a.Kill()
	waitFor(t, 30*time.Second, "the dead server was never removed from the voters", func() bool {
		v := memberVoters(t, leader)
		return !v[a.ID] && voterCount(v) == 3 && deadVoters(t, leader)[a.ID]
	})
	if _, ok := zoneServers(t, leader)[a.ID]; !ok {
		t.Fatalf("dead server %d removed from the zone table; it must stay", a.ID)
	}
	call(t, leader, "one.sql.exec", []any{[]any{"INSERT INTO vm (id, name) VALUES (?, 'x')", int64(5)}})

	b.Kill()
	waitFor(t, 30*time.Second, "the second dead server was never reported kept by MIN_QUORUM", func() bool {
		removed, ok := deadVoters(t, leader)[b.ID]
		return ok && !removed
	})
	if v := memberVoters(t, leader); voterCount(v) != 3 || !v[b.ID] {
		t.Fatalf("voters %v after the second death, want 3 with server %d kept (MIN_QUORUM 3)", v, b.ID)
	}
	call(t, leader, "one.sql.exec", []any{[]any{"INSERT INTO vm (id, name) VALUES (?, 'x')", int64(6)}})

	a.Start()
	waitFor(t, 60*time.Second, "the returning server was never promoted and the other dead one removed", func() bool {
		v := memberVoters(t, leader)
		return v[a.ID] && !v[b.ID] && voterCount(v) == 3
	})
	waitCount(t, a, 7, 20*time.Second, "returning server did not receive every row")
	if d := deadVoters(t, leader); len(d) != 1 || !d[b.ID] {
		t.Fatalf("DEAD after the return: %v, want only server %d, removed", d, b.ID)
	}
}
