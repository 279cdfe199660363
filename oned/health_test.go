package oned_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/oneha/oneha/internal/harness"
	"github.com/oneha/oneha/sqlfsm"
)

// publicGet GETs path on o WITHOUT credentials, as a load balancer does.
func publicGet(t *testing.T, o *harness.Oned, method, path string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, strings.TrimSuffix(o.Endpoint, "/RPC2")+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	return resp.StatusCode, string(b)
}

// waitCode polls path on o (no credentials) until it answers want.
func waitCode(t *testing.T, o *harness.Oned, path string, want int, timeout time.Duration) string {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		code, body := publicGet(t, o, http.MethodGet, path)
		if code == want {
			return body
		}
		if time.Now().After(deadline) {
			t.Fatalf("server %d GET %s = %d %q, want %d", o.ID, path, code, body, want)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// runOnezone runs the onezone CLI against via.
func runOnezone(t *testing.T, z *harness.ProcZone, via *harness.Oned, args ...string) string {
	t.Helper()
	cmd := exec.Command(filepath.Join(z.Bin, "onezone"), args...)
	cmd.Env = append(os.Environ(), "ONE_AUTH="+z.Auth, "ONE_XMLRPC="+via.Endpoint)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if err := cmd.Run(); err != nil {
		t.Fatalf("onezone %v: %v: %s", args, err, errOut.String())
	}
	return out.String()
}

// TestLoadBalancerHealthChecks: without credentials /leader is 200 only on
// the ready leader, /follower only on followers within max_lag of the
// leader's commit (a follower whose database is held back by a lock is
// refused until it catches up), bad queries get 400, and /health shows
// role, term, voter, lag and contact but no secret.
func TestLoadBalancerHealthChecks(t *testing.T) {
	t.Parallel()
	z := harness.NewProcZone(t, harness.ZoneOptions{N: 3})
	z.FormZone()
	leader := z.Leader(20 * time.Second)
	call(t, leader, "one.sql.exec", []any{"CREATE TABLE vm (id INTEGER PRIMARY KEY, name VARCHAR(32))"})
	var followers []*harness.Oned
	for _, o := range z.Servers {
		if o != leader {
			followers = append(followers, o)
		}
	}
	if code, body := publicGet(t, leader, http.MethodGet, "/leader"); code != 200 {
		t.Errorf("leader /leader = %d %q", code, body)
	}
	if code, body := publicGet(t, leader, http.MethodGet, "/follower"); code != 503 || !strings.Contains(body, "not a follower") {
		t.Errorf("leader /follower = %d %q, want 503 not a follower", code, body)
	}
	for _, f := range followers {
		if code, _ := publicGet(t, f, http.MethodGet, "/leader"); code != 503 {
			t.Errorf("follower %d /leader = %d, want 503", f.ID, code)
		}
		waitCode(t, f, "/follower?max_lag=0", 200, 10*time.Second)
		if code, _ := publicGet(t, f, http.MethodHead, "/follower"); code != 200 {
			t.Errorf("follower %d HEAD /follower = %d", f.ID, code)
		}
	}

	// Bad requests: 400 (or 405), never a 200 by accident.
	for path, want := range map[string]int{
		"/follower?max_lag=abc":                         400,
		"/follower?max_lag=-1":                          400,
		"/follower?max_lag=1&max_lag=2":                 400,
		"/follower?max_lag=1e3":                         400,
		"/follower?max_lag=%zz":                         400,
		"/follower?lag=5":                               400,
		"/leader?max_lag=5":                             400,
		"/follower?max_lag=" + strings.Repeat("9", 300): 400,
	} {
		if code, body := publicGet(t, followers[0], http.MethodGet, path); code != want {
			t.Errorf("GET %s = %d %q, want %d", path, code, body, want)
		}
	}
	if code, _ := publicGet(t, followers[0], http.MethodPost, "/follower"); code != 405 {
		t.Errorf("POST /follower = %d, want 405", code)
	}

	// /health without credentials: the numbers, nothing secret.
	user, pass, _ := strings.Cut(z.Session, ":")
	for _, o := range z.Servers {
		code, body := publicGet(t, o, http.MethodGet, "/health")
		if code != 200 {
			t.Fatalf("server %d /health = %d %s", o.ID, code, body)
		}
		var h map[string]any
		if err := json.Unmarshal([]byte(body), &h); err != nil {
			t.Fatalf("/health: %v: %s", err, body)
		}
		wantRole := map[bool]string{true: "leader", false: "follower"}[o == leader]
		if h["ROLE"] != wantRole || h["VOTER"] != true || h["DEGRADED"] != false || h["TERM"].(float64) < 1 || h["LAG"] == nil || h["LAST_CONTACT_S"] == nil {
			t.Errorf("server %d /health = %s", o.ID, body)
		}
		for _, secret := range []string{pass, "127.0.0.1", "DEGRADED_REASON", "RPC2", user + ":"} {
			if strings.Contains(body, secret) {
				t.Errorf("server %d /health without credentials shows %q: %s", o.ID, secret, body)
			}
		}
	}

	// A follower whose database is held back lags: refused with max_lag
	// below its lag, accepted above it, and again at 0 once it caught up.
	slow := followers[0]
	db, err := sqlfsm.OpenSQLite(filepath.Join(slow.DataDir(), "one.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, "BEGIN IMMEDIATE"); err != nil {
		t.Fatal(err)
	}
	for i := range 5 {
		call(t, leader, "one.sql.exec", []any{[]any{"INSERT INTO vm (id, name) VALUES (?, 'x')", int64(i)}})
	}
	body := waitCode(t, slow, "/follower?max_lag=2", 503, 5*time.Second)
	if !strings.Contains(body, "max_lag 2") {
		t.Errorf("held-back follower /follower?max_lag=2: %q", body)
	}
	if code, body := publicGet(t, slow, http.MethodGet, "/follower?max_lag=1000"); code != 200 {
		t.Errorf("held-back follower /follower?max_lag=1000 = %d %q", code, body)
	}
	// The other follower catches up by itself (it may be an entry behind
	// the leader's acknowledgement for a moment on a busy machine).
	waitCode(t, followers[1], "/follower?max_lag=0", 200, 15*time.Second)
	if _, err := conn.ExecContext(ctx, "ROLLBACK"); err != nil {
		t.Fatal(err)
	}
	waitCode(t, slow, "/follower?max_lag=0", 200, 15*time.Second)
}

// TestFollowerLagVisible: the leader's /metrics has each follower's lag and
// last contact; `onezone show` marks a follower whose contact is stale
// (killed) and none while the zone is healthy.
func TestFollowerLagVisible(t *testing.T) {
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
	metric := func(name string, id int) string { return fmt.Sprintf("%s{server=\"%d\"} ", name, id) }
	deadline := time.Now().Add(10 * time.Second)
	for {
		_, m := httpGetCode(t, z, leader, "/metrics")
		if strings.Contains(m, metric("oneha_follower_lag_entries", down.ID)+"0") &&
			strings.Contains(m, metric("oneha_follower_last_contact_seconds", down.ID)+"0") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("leader /metrics lacks follower %d lag 0 and contact 0:\n%s", down.ID, grepLines(m, "oneha_follower"))
		}
		time.Sleep(100 * time.Millisecond)
	}
	if show := onezoneShow(t, z, leader); strings.Contains(show, "STALE:") || strings.Contains(show, "NON-VOTER:") || strings.Contains(show, "BEHIND:") {
		t.Errorf("healthy zone marked:\n%s", show)
	}
	down.Kill()
	for deadline := time.Now().Add(15 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		_, m := httpGetCode(t, z, leader, "/metrics")
		if strings.Contains(m, metric("oneha_follower_stale", down.ID)+"1") {
			if strings.Contains(m, metric("oneha_follower_last_contact_seconds", down.ID)+"0\n") {
				t.Errorf("stale follower with last contact 0:\n%s", grepLines(m, "oneha_follower"))
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("leader /metrics does not mark the killed server %d stale:\n%s", down.ID, grepLines(m, "oneha_follower"))
		}
	}
	want := fmt.Sprintf("STALE: server %d: no contact with the leader for ", down.ID)
	if show := onezoneShow(t, z, leader); !strings.Contains(show, want) {
		t.Errorf("onezone show does not mark the killed server %d stale:\n%s", down.ID, show)
	}
}

func grepLines(s, substr string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, substr) && !strings.HasPrefix(l, "#") {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
