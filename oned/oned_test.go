package oned_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
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
	"github.com/oneha/oneha/xmlrpc"
	"github.com/oneha/oneha/zoneca"
)

func TestMain(m *testing.M) { harness.Main(m) }

func call(t *testing.T, o *harness.Oned, method string, params ...any) any {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	v, err := o.Call(ctx, method, params...)
	if err != nil {
		t.Fatalf("%s on server %d: %v", method, o.ID, err)
	}
	return v
}

func count(t *testing.T, o *harness.Oned, consistency string) int64 {
	t.Helper()
	v := call(t, o, "one.sql.query", "SELECT COUNT(*) FROM vm", []any{}, consistency)
	rows := v.(map[string]any)["ROWS"].([]any)
	return rows[0].([]any)[0].(int64)
}

// seedRows creates table vm on o and writes n acknowledged rows, ids 0..n-1.
func seedRows(t *testing.T, o *harness.Oned, n int) {
	t.Helper()
	call(t, o, "one.sql.exec", []any{"CREATE TABLE vm (id INTEGER PRIMARY KEY, name VARCHAR(32))"})
	for i := 0; i < n; i++ {
		call(t, o, "one.sql.exec", []any{[]any{"INSERT INTO vm (id, name) VALUES (?, 'x')", int64(i)}})
	}
}

// waitCount waits until o's own copy (a stale read) of vm has n rows. A
// server that has not applied the CREATE TABLE yet answers "no such table":
// that is "not yet", not a failure.
func waitCount(t *testing.T, o *harness.Oned, n int64, timeout time.Duration, why string) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		got, err := tryCount(o, "stale")
		if err == nil && got == n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("server %d has %d rows (%v), want %d: %s", o.ID, got, err, n, why)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// tryCount is count without failing the test on an error.
func tryCount(o *harness.Oned, consistency string) (int64, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	v, err := o.Call(ctx, "one.sql.query", "SELECT COUNT(*) FROM vm", []any{}, consistency)
	if err != nil {
		return -1, err
	}
	rows, _ := v.(map[string]any)["ROWS"].([]any)
	if len(rows) != 1 {
		return -1, fmt.Errorf("unexpected rows %v", v)
	}
	n, _ := rows[0].([]any)[0].(int64)
	return n, nil
}

// TestZoneFormsBySeedProcedure builds zones the way seed 003 does, with
// real oned processes, and checks roles, forwarding and replication.
func TestZoneFormsBySeedProcedure(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		d sqlcheck.Dialect
		n int
	}{{sqlcheck.SQLite, 3}, {sqlcheck.MySQL, 3}, {sqlcheck.SQLite, 5}} {
		t.Run(fmt.Sprintf("%s/%d", tc.d, tc.n), func(t *testing.T) {
			z := harness.NewProcZone(t, harness.ZoneOptions{N: tc.n, Dialect: tc.d})
			z.FormZone()
			leader := z.Leader(20 * time.Second)
			states := map[int]int{}
			for _, o := range z.Servers {
				states[o.RaftState()]++
			}
			if states[3] != 1 || states[2] != tc.n-1 {
				t.Fatalf("states %v, want 1 leader and %d followers", states, tc.n-1)
			}
			// Every server — including those that joined with an empty
			// database — knows the whole zone, which server 0 recorded
			// while it was still solo (outside the log).
			for _, asked := range z.Servers {
				deadline := time.Now().Add(10 * time.Second)
				for {
					ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
					v, err := asked.Call(ctx, "one.zone.info", 0)
					cancel()
					info, _ := v.(string)
					missing := -1
					for _, o := range z.Servers {
						if !strings.Contains(info, o.Endpoint) {
							missing = o.ID
						}
					}
					if err == nil && missing < 0 {
						break
					}
					if time.Now().After(deadline) {
						t.Fatalf("zone info on server %d lacks server %d (err %v):\n%s", asked.ID, missing, err, info)
					}
					time.Sleep(50 * time.Millisecond)
				}
			}
			call(t, leader, "one.sql.exec", []any{"CREATE TABLE vm (id INTEGER PRIMARY KEY, name VARCHAR(32))"})
			// Writes through every server: followers forward to the leader.
			for i, o := range z.Servers {
				r := call(t, o, "one.sql.exec", []any{[]any{"INSERT INTO vm (id, name) VALUES (?, ?)", int64(i), fmt.Sprintf("vm-%d", i)}})
				if r.([]any)[0].(map[string]any)["ROWS_AFFECTED"] != int64(1) {
					t.Fatalf("insert via server %d: %v", o.ID, r)
				}
			}
			// Strong reads on followers are answered by the leader.
			for _, o := range z.Servers {
				if n := count(t, o, "strong"); n != int64(tc.n) {
					t.Fatalf("strong count via server %d = %d, want %d", o.ID, n, tc.n)
				}
			}
			// Every server's own copy converges.
			for _, o := range z.Servers {
				waitCount(t, o, int64(tc.n), 10*time.Second, "a server never saw every row")
			}
		})
	}
}

// TestLeaderKilled SIGKILLs the leader process: a new leader takes over,
// every acknowledged row is there, and the old leader rejoins and catches up.
func TestLeaderKilled(t *testing.T) {
	t.Parallel()
	for _, d := range harness.Dialects {
		t.Run(string(d), func(t *testing.T) { testLeaderKilled(t, d) })
	}
}

func testLeaderKilled(t *testing.T, d sqlcheck.Dialect) {
	z := harness.NewProcZone(t, harness.ZoneOptions{N: 3, Dialect: d})
	z.FormZone()
	leader := z.Leader(20 * time.Second)
	seedRows(t, leader, 20)
	leader.Kill()
	next := z.Leader(20 * time.Second)
	if next == leader {
		t.Fatal("killed server still reported as leader")
	}
	if n := count(t, next, "strong"); n != 20 {
		t.Fatalf("after failover the zone has %d rows, want 20", n)
	}
	call(t, next, "one.sql.exec", []any{"INSERT INTO vm (id, name) VALUES (100, 'after')"})
	leader.Start()
	leader.WaitState(2, 20*time.Second)
	waitCount(t, leader, 21, 15*time.Second, "restarted old leader did not catch up")
}

// TestNoLeaderIsAnErrorNotAHang: with the majority gone, a write on the
// survivor answers "no leader" (INTERNAL, NOT APPLIED: safe to retry)
// instead of hanging.
func TestNoLeaderIsAnErrorNotAHang(t *testing.T) {
	t.Parallel()
	z := harness.NewProcZone(t, harness.ZoneOptions{N: 3})
	z.FormZone()
	z.Servers[1].Kill()
	z.Servers[2].Kill()
	s := z.Servers[0]
	deadline := time.Now().Add(20 * time.Second)
	for s.RaftState() == 3 { // the lease expires and the leader steps down
		if time.Now().After(deadline) {
			t.Fatal("a leader without a quorum kept leadership")
		}
		time.Sleep(50 * time.Millisecond)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	_, err := s.Call(ctx, "one.sql.exec", []any{"CREATE TABLE t (id INT)"})
	var oe *xmlrpc.Error
	if !errors.As(err, &oe) || oe.Code != xmlrpc.InternalError || !strings.Contains(oe.Message, "no leader") || !xmlrpc.RetrySafe(err) {
		t.Fatalf("write without a quorum: %v, want INTERNAL NOT APPLIED: ... no leader", err)
	}
}

// TestBadInput sends malformed and hostile requests: each gets a clear
// error and the server keeps serving.
func TestBadInput(t *testing.T) {
	t.Parallel()
	for _, d := range harness.Dialects {
		t.Run(string(d), func(t *testing.T) { testBadInput(t, d) })
	}
}

func testBadInput(t *testing.T, d sqlcheck.Dialect) {
	z := harness.NewProcZone(t, harness.ZoneOptions{N: 1, Dialect: d})
	s := z.Servers[0]
	s.WriteConfig(-1)
	s.Start()
	ctx := context.Background()
	post := func(body []byte) string {
		resp, err := http.Post(s.Endpoint, "text/xml", bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return string(b)
	}
	for name, body := range map[string][]byte{
		"malformed":   []byte("<methodCall><methodName>one.zone.info</methodName><params><param>"),
		"not xml":     []byte("hello"),
		"huge":        append([]byte("<methodCall><methodName>x</methodName><params><param><value><string>"), bytes.Repeat([]byte("A"), 8<<20)...),
		"nil":         []byte("<methodCall><methodName>one.zone.info</methodName><params><param><value><nil/></value></param></params></methodCall>"),
		"unknown":     []byte("<methodCall><methodName>one.vm.allocate</methodName><params></params></methodCall>"),
		"deep arrays": []byte("<methodCall><methodName>one.zone.info</methodName><params><param>" + strings.Repeat("<value><array><data>", 200) + "</param></params></methodCall>"),
	} {
		if got := post(body); !strings.Contains(got, "<fault>") {
			t.Errorf("%s: answer %.200s, want a fault", name, got)
		}
	}
	c := xmlrpc.NewClient(s.Endpoint, 10*time.Second)
	for _, tc := range []struct {
		name   string
		method string
		params []any
		code   int
	}{
		{"no session", "one.zone.info", nil, xmlrpc.XMLRPCAPIError},
		{"wrong type", "one.zone.info", []any{z.Session, "zero"}, xmlrpc.XMLRPCAPIError},
		{"missing zone", "one.zone.info", []any{z.Session, 7}, xmlrpc.NoExistsError},
		{"bad template", "one.zone.addserver", []any{z.Session, 0, "NAME=x"}, xmlrpc.ActionError}, // oned: ACTION (was XML_RPC_API)
		{"bad endpoint", "one.zone.addserver", []any{z.Session, 0, `SERVER = [ NAME = "a", ENDPOINT = "ftp://x" ]`}, xmlrpc.ActionError},
		{"unsafe sql", "one.sql.exec", []any{z.Session, []any{"INSERT INTO t VALUES (UUID())"}}, xmlrpc.ActionError},
		{"sql error", "one.sql.exec", []any{z.Session, []any{"INSERT INTO nope VALUES (1)"}}, xmlrpc.ActionError},
		{"write in query", "one.sql.query", []any{z.Session, "DELETE FROM t", []any{}, "strong"}, xmlrpc.ActionError},
		{"bad consistency", "one.sql.query", []any{z.Session, "SELECT 1", []any{}, "eventual"}, xmlrpc.XMLRPCAPIError},
		{"statements not array", "one.sql.exec", []any{z.Session, 5}, xmlrpc.XMLRPCAPIError},
		{"non-empty struct param", "one.sql.exec", []any{z.Session, []any{[]any{"SELECT ?", map[string]any{"a": 1}}}}, xmlrpc.XMLRPCAPIError},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := c.CallONE(ctx, tc.method, tc.params...)
			var oe *xmlrpc.Error
			if !errors.As(err, &oe) || oe.Code != tc.code || !strings.HasPrefix(oe.Message, "["+tc.method+"]") {
				t.Fatalf("err = %v, want code %#x with [%s] prefix", err, tc.code, tc.method)
			}
		})
	}
	// Bad credentials last: they slow this address down for 100 ms.
	_, err := c.CallONE(ctx, "one.zone.info", "oneadmin:wrong", 0)
	if oe, ok := errors.AsType[*xmlrpc.Error](err); !ok || oe.Code != xmlrpc.AuthenticationError || !strings.HasPrefix(oe.Message, "[one.zone.info]") {
		t.Errorf("bad credentials: err = %v, want an AuthenticationError", err)
	}
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		_, err := s.Call(ctx, "one.system.version")
		if err == nil {
			break
		}
		if !strings.Contains(err.Error(), "too many failed logins") || time.Now().After(deadline) {
			t.Fatalf("server stopped answering after bad input: %v", err)
		}
	}
}

// TestConfigErrorStopsStartup: oned refuses to start on a bad key and says
// which.
func TestConfigErrorStopsStartup(t *testing.T) {
	bin := harness.Binaries(t)
	cfg := filepath.Join(t.TempDir(), "oned.yaml")
	os.WriteFile(cfg, []byte("PORT: 2633\nRAFT: {ELECTION_TIMEOUT: 5}\n"), 0o600)
	out, err := exec.Command(filepath.Join(bin, "oned"), "--config", cfg).CombinedOutput()
	if err == nil || !strings.Contains(string(out), "RAFT.ELECTION_TIMEOUT") {
		t.Fatalf("oned with a bad key: %v\n%s", err, out)
	}
}

// TestStartupFailureAfterServeReturns: a startup error after the API began
// serving (here a RAFT_LEADER_HOOK that does not exist, found by
// startLeadership) makes New return it promptly instead of hanging on the
// serving goroutine.
func TestStartupFailureAfterServeReturns(t *testing.T) {
	dir := t.TempDir()
	auth := filepath.Join(dir, "one_auth")
	if err := os.WriteFile(auth, []byte("oneadmin:pw\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	port, err := harness.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	cfg := oned.DefaultConfig()
	cfg.ListenAddress, cfg.Port, cfg.DataDir, cfg.OneAuth = "127.0.0.1", port, filepath.Join(dir, "data"), auth
	cfg.Federation.ServerID = 0
	cfg.HooksDir = dir
	cfg.LeaderHook.Command = "no-such-hook"
	crt, key := cfg.ZoneCAPaths() // the zone CA, as if copied from the zone's first server
	if _, _, err := zoneca.EnsureCA(crt, key, true); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		s, err := oned.New(context.Background(), cfg, slog.New(slog.DiscardHandler))
		if s != nil {
			s.Shutdown(context.Background())
		}
		done <- err
	}()
	select {
	case err := <-done:
		if err == nil || !strings.Contains(err.Error(), "RAFT_LEADER_HOOK") {
			t.Fatalf("New with a missing leader hook: %v, want a RAFT_LEADER_HOOK error", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("New did not return within 30s after a startup failure")
	}
}

// TestSIGTERMTransfersLeadership: a leader stopped with SIGTERM hands
// leadership to a follower before it exits, so writes continue at once.
func TestSIGTERMTransfersLeadership(t *testing.T) {
	t.Parallel()
	for _, d := range harness.Dialects {
		t.Run(string(d), func(t *testing.T) { testSIGTERMTransfersLeadership(t, d) })
	}
}

func testSIGTERMTransfersLeadership(t *testing.T, d sqlcheck.Dialect) {
	z := harness.NewProcZone(t, harness.ZoneOptions{N: 3, Dialect: d})
	z.FormZone()
	leader := z.Leader(20 * time.Second)
	leader.Stop()
	if !strings.Contains(leader.LogTail(60), "leadership transferred before shutdown") {
		t.Fatalf("the leader did not transfer leadership before stopping:\n%s", leader.LogTail(30))
	}
	next := z.Leader(10 * time.Second)
	call(t, next, "one.sql.exec", []any{"CREATE TABLE after_stop (id INT)"})
}

// TestJoinByOnedbRestore: OpenNebula's own procedure still works — onedb
// backup on the leader, server-add, onedb restore -f on the new host, start
// it — and the new server re-applies nothing already in the restored
// database (a counter bumped by UPDATE n = n + 1 would double).
func TestJoinByOnedbRestore(t *testing.T) {
	t.Parallel()
	for _, d := range harness.Dialects {
		t.Run(string(d), func(t *testing.T) {
			z := harness.NewProcZone(t, harness.ZoneOptions{N: 2, Dialect: d})
			z.FormFirst()
			leader, joiner := z.Servers[0], z.Servers[1]
			call(t, leader, "one.sql.exec", []any{"CREATE TABLE counter (id INTEGER PRIMARY KEY, n BIGINT NOT NULL)"})
			call(t, leader, "one.sql.exec", []any{"INSERT INTO counter (id, n) VALUES (1, 0)"})
			for i := 0; i < 10; i++ {
				call(t, leader, "one.sql.exec", []any{"UPDATE counter SET n = n + 1 WHERE id = 1"})
			}
			call(t, leader, "one.zone.addserver", 0, fmt.Sprintf(`SERVER = [ NAME = "server-1", ENDPOINT = "%s" ]`, joiner.Endpoint))
			dump := filepath.Join(t.TempDir(), "leader.sql")
			onedb := filepath.Join(z.Bin, "onedb")
			if out, err := exec.Command(onedb, append([]string{"backup", dump}, leader.DBFlags()...)...).CombinedOutput(); err != nil {
				t.Fatalf("onedb backup: %v\n%s", err, out)
			}
			os.MkdirAll(filepath.Join(joiner.Dir, "data"), 0o750)
			if out, err := exec.Command(onedb, append([]string{"restore", dump, "-f"}, joiner.DBFlags()...)...).CombinedOutput(); err != nil {
				t.Fatalf("onedb restore: %v\n%s", err, out)
			}
			joiner.WriteConfig(1)
			joiner.Start()
			joiner.WaitState(2, 30*time.Second)
			z.WaitVoters(2, 60*time.Second)
			call(t, leader, "one.sql.exec", []any{"UPDATE counter SET n = n + 1 WHERE id = 1"})
			deadline := time.Now().Add(20 * time.Second)
			for {
				v := call(t, joiner, "one.sql.query", "SELECT n FROM counter WHERE id = 1", []any{}, "stale")
				n := v.(map[string]any)["ROWS"].([]any)[0].([]any)[0].(int64)
				if n == 11 {
					break
				}
				if n > 11 || time.Now().After(deadline) {
					t.Fatalf("joined server's counter = %d, want 11 (entries in the restored dump must not apply again)", n)
				}
				time.Sleep(50 * time.Millisecond)
			}
		})
	}
}

// TestHealthEndpoints: /ready answers 200 only on the leader (a load
// balancer finds it without a VIP), /metrics exposes the Raft and apply
// state, /status shows the leadership actions that ran.
func TestHealthEndpoints(t *testing.T) {
	t.Parallel()
	z := harness.NewProcZone(t, harness.ZoneOptions{N: 3})
	z.FormZone()
	leader := z.Leader(20 * time.Second)
	call(t, leader, "one.sql.exec", []any{"CREATE TABLE m (id INT)"})
	get := func(o *harness.Oned, path string) (int, string) { return httpGetCode(t, z, o, path) }
	for _, o := range z.Servers {
		code, _ := get(o, "/ready")
		if want := map[bool]int{true: 200, false: 503}[o == leader]; code != want {
			t.Errorf("server %d /ready = %d, want %d", o.ID, code, want)
		}
	}
	var follower *harness.Oned
	for _, o := range z.Servers {
		if o != leader {
			follower = o
		}
	}
	call(t, follower, "one.sql.exec", []any{[]any{"INSERT INTO m VALUES (?)", int64(1)}}) // forwarded
	_, m := get(leader, "/metrics")
	for _, want := range []string{"oneha_raft_state 3", "oneha_applied_index ", "oneha_apply_lag ", "oneha_apply_degraded 0",
		"oneha_raft_term ", `oneha_write_duration_seconds_count{outcome="ok"} 2`, "oneha_hook_runs_total ", "oneha_vip_held 0"} {
		if !strings.Contains(m, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
	// Both writes are traced through every stage on the leader, the
	// forwarded one through the forward hop on the follower.
	for _, st := range []string{"http_read", "xml_decode", "auth", "check", "encode", "raft_commit", "leader_apply", "response_encode"} {
		if n := stageCount(t, m, st); n != 2 {
			t.Errorf("leader: oneha_write_stage_seconds{stage=%q} count = %d, want 2", st, n)
		}
	}
	for _, st := range []string{"raft_append", "replication"} {
		if n := stageCount(t, m, st); n < 2 {
			t.Errorf("leader: oneha_write_stage_seconds{stage=%q} count = %d, want >= 2", st, n)
		}
	}
	_, fm := get(follower, "/metrics")
	for st, want := range map[string]int{"forward": 1, "auth": 1, "http_read": 1, "raft_commit": 0, "leader_apply": 0, "raft_append": 0} {
		if n := stageCount(t, fm, st); n != want {
			t.Errorf("follower: oneha_write_stage_seconds{stage=%q} count = %d, want %d", st, n, want)
		}
	}
	if n := stageCount(t, fm, "follower_append"); n < 2 {
		t.Errorf("follower: follower_append count = %d, want >= 2", n)
	}
	_, st := get(leader, "/status")
	if !strings.Contains(st, `"HOOK_RUNS"`) || !strings.Contains(st, `"STATE": 3`) {
		t.Errorf("/status = %s", st)
	}
}

// stageCount reads oneha_write_stage_seconds_count{stage=st} from a
// /metrics text (-1 when absent).
func stageCount(t *testing.T, metrics, st string) int {
	t.Helper()
	prefix := `oneha_write_stage_seconds_count{stage="` + st + `"} `
	for _, line := range strings.Split(metrics, "\n") {
		if v, ok := strings.CutPrefix(line, prefix); ok {
			n, err := strconv.Atoi(v)
			if err != nil {
				t.Fatalf("%s: %v", line, err)
			}
			return n
		}
	}
	return -1
}

// TestServerDelOnDownServer: server-del removes a server that is down from
// the zone and from the Raft membership; the zone keeps writing.
func TestServerDelOnDownServer(t *testing.T) {
	t.Parallel()
	z := harness.NewProcZone(t, harness.ZoneOptions{N: 3})
	z.FormZone()
	leader := z.Leader(20 * time.Second)
	var down *harness.Oned
	for _, o := range z.Servers {
		if o != leader {
			down = o
		}
	}
	down.Kill()
	call(t, leader, "one.zone.delserver", 0, down.ID)
	info := call(t, leader, "one.zone.info", 0).(string)
	if strings.Contains(info, down.Endpoint) {
		t.Fatalf("deleted server still in the zone:\n%s", info)
	}
	members := call(t, leader, "one.zone.members").([]any)
	if len(members) != 2 {
		t.Fatalf("raft members after server-del: %v", members)
	}
	call(t, leader, "one.sql.exec", []any{"CREATE TABLE after_del (id INT)"})
}

// TestLeaderTransfer: `onezone leader-transfer` (sent to a follower, which
// forwards it) moves leadership to the named server, or with no server to
// another voter; nothing is lost, writes go on, and asking for the sitting
// leader is a no-op. Leadership never goes to a server still joining.
// Transfer does not depend on the backend, so this runs on SQLite only.
func TestLeaderTransfer(t *testing.T) {
	t.Parallel()
	z := harness.NewProcZone(t, harness.ZoneOptions{N: 3, Dialect: sqlcheck.SQLite})
	z.FormZone()
	leader := z.Leader(20 * time.Second)
	seedRows(t, leader, 20)
	onezone := func(via *harness.Oned, args ...string) (string, error) {
		cmd := exec.Command(filepath.Join(z.Bin, "onezone"), args...)
		cmd.Env = append(os.Environ(), "ONE_AUTH="+z.Auth, "ONE_XMLRPC="+via.Endpoint)
		var out, errOut bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errOut
		err := cmd.Run()
		if err != nil {
			err = fmt.Errorf("%w: %s", err, errOut.String())
		}
		return out.String(), err
	}
	others := func(l *harness.Oned) []*harness.Oned {
		var out []*harness.Oned
		for _, o := range z.Servers {
			if o != l {
				out = append(out, o)
			}
		}
		return out
	}

	// To a named server, through the other follower.
	rest := others(leader)
	via, target := rest[0], rest[1]
	out, err := onezone(via, "leader-transfer", "0", fmt.Sprint(target.ID), "-v")
	if err != nil {
		t.Fatalf("onezone leader-transfer: %v", err)
	}
	if want := fmt.Sprintf("ZONE 0: leadership transferred to server %d\n", target.ID); out != want {
		t.Errorf("stdout %q, want %q", out, want)
	}
	if got := z.Leader(10 * time.Second); got != target {
		t.Fatalf("leader is server %d, want %d", got.ID, target.ID)
	}
	leader.WaitState(2, 10*time.Second)
	call(t, via, "one.sql.exec", []any{"INSERT INTO vm (id, name) VALUES (20, 'after transfer')"})
	waitCount(t, leader, 21, 10*time.Second, "the old leader did not follow the new one")

	// Asking for the sitting leader changes nothing.
	if _, err := onezone(via, "leader-transfer", "0", fmt.Sprint(target.ID)); err != nil {
		t.Fatalf("leader-transfer to the sitting leader: %v", err)
	}
	if got := z.Leader(10 * time.Second); got != target {
		t.Fatalf("after a no-op transfer the leader is server %d, want %d", got.ID, target.ID)
	}

	// To any voter.
	if _, err := onezone(target, "leader-transfer", "0"); err != nil {
		t.Fatalf("leader-transfer to any voter: %v", err)
	}
	next := z.Leader(10 * time.Second)
	if next == target {
		t.Fatalf("server %d still leads after leader-transfer without a target", target.ID)
	}
	if got := count(t, next, "strong"); got != 21 {
		t.Fatalf("new leader has %d rows, want 21", got)
	}

	// Errors: no such server; a server listed but still joining.
	wantFail := func(code int, substr string, params ...any) {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		_, err := next.Call(ctx, "one.zone.leadertransfer", params...)
		var xe *xmlrpc.Error
		if !errors.As(err, &xe) || xe.Code != code || !strings.Contains(xe.Message, substr) {
			t.Errorf("leadertransfer %v: %v, want code %#x containing %q", params, err, code, substr)
		}
	}
	wantFail(xmlrpc.ActionError, "SERVER not found in zone", 0, 9) // oned's code and text (was NO_EXISTS)
	port, err := harness.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	call(t, next, "one.zone.addserver", 0, fmt.Sprintf(`SERVER = [ NAME = "joining", ENDPOINT = "http://127.0.0.1:%d/RPC2" ]`, port))
	wantFail(xmlrpc.ActionError, "not a voter", 0, 3)
	if got := z.Leader(10 * time.Second); got != next {
		t.Fatalf("a refused transfer moved leadership to server %d", got.ID)
	}

	// A voter that is down: the transfer fails with an error, and the
	// leader keeps leading and serving.
	down := others(next)[0]
	down.Kill()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if _, err := next.Call(ctx, "one.zone.leadertransfer", 0, down.ID); err == nil {
		t.Fatalf("leader transfer to the stopped server %d succeeded", down.ID)
	} else {
		t.Logf("transfer to a stopped voter: %v", err)
	}
	if got := z.Leader(10 * time.Second); got != next {
		t.Fatalf("after a failed transfer the leader is server %d, want %d", got.ID, next.ID)
	}
	call(t, next, "one.sql.exec", []any{"INSERT INTO vm (id, name) VALUES (21, 'after a failed transfer')"})
}
