package oned_test

import (
	"bufio"
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/oneha/oneha/internal/harness"
	"github.com/oneha/oneha/xmlrpc"
)

// haproxyExample is the shipped example the test runs.
const haproxyExample = "../deploy/examples/haproxy.cfg"

// findHAProxy returns the haproxy binary, or skips (fails under CI=true:
// make test installs it through scripts/install-deps.sh).
func findHAProxy(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("haproxy")
	if err != nil {
		if _, serr := os.Stat("/usr/sbin/haproxy"); serr == nil {
			p, err = "/usr/sbin/haproxy", nil
		}
	}
	harness.RequireOrSkip(t, err == nil, "haproxy not found: cannot run deploy/examples/haproxy.cfg (apt-get install haproxy, or make deps as root)")
	return p
}

// renderHAProxy returns the example with only its addresses, ports and
// socket path replaced: each placeholder must occur exactly as often as
// expected, so an edit of the example that this test would no longer cover
// fails here instead of silently testing something else.
func renderHAProxy(t *testing.T, z *harness.ProcZone, writePort, readPort int, sock string) string {
	t.Helper()
	b, err := os.ReadFile(haproxyExample)
	if err != nil {
		t.Fatal(err)
	}
	cfg := string(b)
	type sub struct {
		old, new string
		n        int
	}
	subs := []sub{
		{"bind :2633\n", fmt.Sprintf("bind 127.0.0.1:%d\n", writePort), 1},
		{"bind :2634\n", fmt.Sprintf("bind 127.0.0.1:%d\n", readPort), 1},
		{"stats socket /run/haproxy/oneha.sock ", "stats socket " + sock + " ", 1},
	}
	for i, o := range z.Servers {
		subs = append(subs, sub{fmt.Sprintf(" 198.18.10.1%d:2633 ", i), fmt.Sprintf(" 127.0.0.1:%d ", o.Port), 2})
	}
	for _, s := range subs {
		if got := strings.Count(cfg, s.old); got != s.n {
			t.Fatalf("%s: %q occurs %d times, want %d", haproxyExample, s.old, got, s.n)
		}
		cfg = strings.ReplaceAll(cfg, s.old, s.new)
	}
	for _, line := range strings.Split(cfg, "\n") {
		if l := strings.TrimSpace(line); !strings.HasPrefix(l, "#") && strings.Contains(l, "198.18.") {
			t.Fatalf("%s: the test does not replace the address in %q", haproxyExample, l)
		}
	}
	return cfg
}

// haproxyProc is a running haproxy.
type haproxyProc struct {
	sock string
	log  string
	done chan struct{}
	cmd  *exec.Cmd
}

// startHAProxy checks cfg with haproxy -c, runs it in the foreground and
// registers a clean stop (SIGUSR1: soft stop, exit 0) as a cleanup.
func startHAProxy(t *testing.T, bin, dir, cfg, sock string) *haproxyProc {
	t.Helper()
	path := filepath.Join(dir, "haproxy.cfg")
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(bin, "-c", "-f", path).CombinedOutput(); err != nil {
		t.Fatalf("haproxy -c: %v\n%s", err, out)
	}
	h := &haproxyProc{sock: sock, log: filepath.Join(dir, "haproxy.log"), done: make(chan struct{})}
	logf, err := os.Create(h.log)
	if err != nil {
		t.Fatal(err)
	}
	h.cmd = exec.Command(bin, "-db", "-f", path)
	h.cmd.Stdout, h.cmd.Stderr = logf, logf
	h.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := h.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { h.cmd.Wait(); logf.Close(); close(h.done) }()
	t.Cleanup(func() {
		h.cmd.Process.Signal(syscall.SIGUSR1)
		select {
		case <-h.done:
			if !h.cmd.ProcessState.Success() {
				t.Errorf("haproxy stopped with %v:\n%s", h.cmd.ProcessState, h.logTail())
			}
		case <-time.After(15 * time.Second):
			h.cmd.Process.Kill()
			<-h.done
			t.Errorf("haproxy ignored SIGUSR1 for 15s:\n%s", h.logTail())
		}
	})
	return h
}

func (h *haproxyProc) logTail() string {
	b, _ := os.ReadFile(h.log)
	if len(b) > 4000 {
		b = b[len(b)-4000:]
	}
	return string(b)
}

// hapServer is one server's row of haproxy's "show stat".
type hapServer struct {
	Status, Check string // e.g. "UP" "L7OK", "DOWN" "L7STS"
	Sessions      int    // stot: sessions (requests, without keep-alive) sent to it
}

// stats reads "show stat" from the stats socket: backend -> server name ->
// row.
func (h *haproxyProc) stats() (map[string]map[string]hapServer, error) {
	c, err := net.DialTimeout("unix", h.sock, 2*time.Second)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.WriteString(c, "show stat\n"); err != nil {
		return nil, err
	}
	r := csv.NewReader(bufio.NewReader(io.LimitReader(c, 1<<20)))
	r.FieldsPerRecord = -1
	rows, err := r.ReadAll()
	if err != nil {
		return nil, err
	}
	if len(rows) == 0 {
		return nil, fmt.Errorf("show stat: empty")
	}
	col := map[string]int{}
	for i, name := range rows[0] {
		col[strings.TrimPrefix(name, "# ")] = i
	}
	for _, k := range []string{"pxname", "svname", "status", "check_status", "stot"} {
		if _, ok := col[k]; !ok {
			return nil, fmt.Errorf("show stat: no column %s", k)
		}
	}
	out := map[string]map[string]hapServer{}
	for _, row := range rows[1:] {
		if len(row) < len(rows[0])-1 {
			continue
		}
		px, sv := row[col["pxname"]], row[col["svname"]]
		if sv == "FRONTEND" || sv == "BACKEND" {
			continue
		}
		n, _ := strconv.Atoi(row[col["stot"]])
		if out[px] == nil {
			out[px] = map[string]hapServer{}
		}
		out[px][sv] = hapServer{Status: row[col["status"]], Check: row[col["check_status"]], Sessions: n}
	}
	return out, nil
}

// waitUp waits until, in backend px, exactly the servers in up are UP with
// a passed check and every other server is DOWN; it returns the stats.
func (h *haproxyProc) waitUp(t *testing.T, px string, up map[int]bool, timeout time.Duration) map[string]hapServer {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		st, err := h.stats()
		ok := err == nil && len(st[px]) == 3
		for i := 0; ok && i < 3; i++ {
			s := st[px][fmt.Sprintf("host-%d", i)]
			if up[i] {
				ok = s.Status == "UP" && s.Check == "L7OK"
			} else {
				ok = strings.HasPrefix(s.Status, "DOWN")
			}
		}
		if ok {
			return st[px]
		}
		if time.Now().After(deadline) {
			t.Fatalf("haproxy %s: want UP %v, have %+v (%v)\n%s", px, up, st[px], err, h.logTail())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestHAProxyExample runs deploy/examples/haproxy.cfg (only addresses,
// ports and the socket path replaced) in front of a 3-server zone: its
// write frontend sends writes to the leader only (the followers are DOWN
// by the /leader check and receive none) and they land on every server;
// its read frontend sends stale reads to the two followers only
// (/follower?max_lag=1000, round robin); after SIGKILL of the leader, a
// write retried through haproxy (same request id) succeeds once the new
// leader is elected and is applied exactly once, and stale reads are
// served by the surviving follower.
func TestHAProxyExample(t *testing.T) {
	t.Parallel()
	bin := findHAProxy(t)
	z := harness.NewProcZone(t, harness.ZoneOptions{N: 3})
	z.FormZone()
	leader := z.Leader(20 * time.Second)

	ports := [2]int{}
	for i := range ports {
		p, err := harness.FreePort()
		if err != nil {
			t.Fatal(err)
		}
		ports[i] = p
	}
	dir := t.TempDir()
	sock := filepath.Join(dir, "haproxy.sock")
	h := startHAProxy(t, bin, dir, renderHAProxy(t, z, ports[0], ports[1], sock), sock)

	// One connection per call, so nothing idles in haproxy at the stop and
	// each call is one haproxy session (stot counts calls).
	client := func(port int) *xmlrpc.Client {
		c := xmlrpc.NewClient(fmt.Sprintf("http://127.0.0.1:%d/RPC2", port), 10*time.Second)
		c.HTTP.Transport = &http.Transport{DisableKeepAlives: true}
		return c
	}
	writes, reads := client(ports[0]), client(ports[1])
	write := func(id string, stmts ...any) error {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_, err := writes.CallONE(ctx, "one.sql.exec", z.Session, stmts, id)
		return err
	}
	staleCount := func() (int64, error) {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		v, err := reads.CallONE(ctx, "one.sql.query", z.Session, "SELECT COUNT(*) FROM vm", []any{}, "stale")
		if err != nil {
			return -1, err
		}
		return v.(map[string]any)["ROWS"].([]any)[0].([]any)[0].(int64), nil
	}
	role := func(leaderID int) (lead, follow map[int]bool) {
		lead, follow = map[int]bool{}, map[int]bool{}
		for _, o := range z.Servers {
			if o.Running() {
				lead[o.ID], follow[o.ID] = o.ID == leaderID, o.ID != leaderID
			}
		}
		return lead, follow
	}

	lead, follow := role(leader.ID)
	h.waitUp(t, "oned_leader", lead, 15*time.Second)
	h.waitUp(t, "oned_replicas", follow, 15*time.Second)

	// Writes through the write frontend reach the leader and land everywhere.
	if err := write("create", "CREATE TABLE vm (id INTEGER PRIMARY KEY, name VARCHAR(32))"); err != nil {
		t.Fatalf("write through haproxy: %v", err)
	}
	const n = 5
	for i := 0; i < n; i++ {
		if err := write(fmt.Sprintf("row-%d", i), []any{"INSERT INTO vm (id, name) VALUES (?, 'x')", int64(i)}); err != nil {
			t.Fatalf("write %d through haproxy: %v", i, err)
		}
	}
	for _, o := range z.Servers {
		waitCount(t, o, n, 10*time.Second, "writes through haproxy land on every server")
	}
	st := h.waitUp(t, "oned_leader", lead, time.Second)
	for i, s := range z.Servers {
		got := st[fmt.Sprintf("host-%d", i)].Sessions
		if s == leader && got != n+1 || s != leader && got != 0 {
			t.Errorf("oned_leader sent %d calls to server %d (leader %d), want %d to the leader and none elsewhere", got, i, leader.ID, n+1)
		}
	}

	// Stale reads through the read frontend: followers only, round robin.
	const nReads = 4
	for i := 0; i < nReads; i++ {
		if got, err := staleCount(); err != nil || got != n {
			t.Fatalf("stale read %d through haproxy: %d rows, %v; want %d", i, got, err, n)
		}
	}
	st = h.waitUp(t, "oned_replicas", follow, time.Second)
	for i, s := range z.Servers {
		got := st[fmt.Sprintf("host-%d", i)].Sessions
		if s == leader && got != 0 || s != leader && got != nReads/2 {
			t.Errorf("oned_replicas sent %d reads to server %d (leader %d), want %d to each follower and none to the leader", got, i, leader.ID, nReads/2)
		}
	}

	// SIGKILL the leader: the same write, retried through haproxy with its
	// request id, succeeds once the new leader is ready.
	leader.Kill()
	killed := time.Now()
	deadline := killed.Add(20 * time.Second)
	var err error
	for {
		if err = write("after-kill", []any{"INSERT INTO vm (id, name) VALUES (?, 'x')", int64(100)}); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no write through haproxy succeeded within 20s of the leader's SIGKILL: %v\n%s", err, h.logTail())
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Logf("first write through haproxy succeeded %v after the leader's SIGKILL", time.Since(killed).Round(time.Millisecond))
	next := z.Leader(10 * time.Second)
	if next == leader {
		t.Fatal("the killed server is still the leader")
	}
	lead, follow = role(next.ID)
	h.waitUp(t, "oned_leader", lead, 10*time.Second)
	if err := write("after-kill-2", []any{"INSERT INTO vm (id, name) VALUES (?, 'x')", int64(101)}); err != nil {
		t.Fatalf("second write after the failover: %v", err)
	}
	if got := strongInt(t, next, "SELECT COUNT(*) FROM vm"); got != n+2 {
		t.Fatalf("after the failover the zone has %d rows, want %d (each retried write applied once)", got, n+2)
	}

	// Stale reads after the failover: served by the one surviving follower.
	h.waitUp(t, "oned_replicas", follow, 15*time.Second)
	deadline = time.Now().Add(10 * time.Second)
	for {
		got, err := staleCount()
		if err == nil && got == n+2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("stale read through haproxy after the failover: %d rows, %v; want %d", got, err, n+2)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
