package oned_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/oneha/oneha/internal/harness"
	"github.com/oneha/oneha/xmlrpc"
)

// oneServerZone starts a one-server Raft zone (a leader, with hooks) whose
// config ends with extra.
func oneServerZone(t *testing.T, extra string) (*harness.ProcZone, *harness.Oned) {
	t.Helper()
	z := harness.NewProcZone(t, harness.ZoneOptions{N: 1, Extra: extra})
	z.FormZone()
	return z, z.Leader(20 * time.Second)
}

func baseURL(o *harness.Oned) string { return strings.TrimSuffix(o.Endpoint, "/RPC2") }

// TestFailedLoginsAreSlowedAndLogged: after wrong passwords from an
// address, its further attempts are refused without a check (even with the
// right password) until the backoff window ends; then the right password
// works. The server logs the failures at Warn with method and address,
// never the password, and not one line per attempt.
func TestFailedLoginsAreSlowedAndLogged(t *testing.T) {
	z, o := oneServerZone(t, "")
	const secret = "wrong-SECRETPW-4711"
	c := xmlrpc.NewClient(o.Endpoint, 5*time.Second)
	ctx := context.Background()
	attempt := func(session string) error {
		_, err := c.CallONE(ctx, "one.system.version", session)
		return err
	}
	checked, refused := 0, 0
	deadline := time.Now().Add(30 * time.Second)
	for checked < 5 { // five checked failures: the window is now 1.6 s
		err := attempt("oneadmin:" + secret)
		var oe *xmlrpc.Error
		if !errors.As(err, &oe) || oe.Code != xmlrpc.AuthenticationError {
			t.Fatalf("wrong password answered %v, want an AuthenticationError", err)
		}
		switch {
		case strings.Contains(oe.Message, "too many failed logins from 127.0.0.1; retry in"):
			refused++
		case strings.Contains(oe.Message, "couldn't be authenticated"):
			checked++
		default:
			t.Fatalf("unexpected message %q", oe.Message)
		}
		if time.Now().After(deadline) {
			t.Fatalf("only %d checked failures in 30s", checked)
		}
		time.Sleep(5 * time.Millisecond)
	}
	if refused == 0 {
		t.Fatalf("no attempt was refused inside a backoff window (%d checked)", checked)
	}
	// Inside the window even the right password is refused unchecked.
	err := attempt(z.Session)
	if err == nil || !strings.Contains(err.Error(), "too many failed logins") {
		t.Fatalf("right password inside the window: %v, want refused", err)
	}
	// After the window it is accepted.
	for deadline := time.Now().Add(40 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		err := attempt(z.Session)
		if err == nil {
			break
		}
		if !strings.Contains(err.Error(), "too many failed logins") || time.Now().After(deadline) {
			t.Fatalf("right password after the window: %v", err)
		}
	}
	// A success resets: the next wrong password is checked, not refused.
	if err := attempt("oneadmin:" + secret); err == nil || !strings.Contains(err.Error(), "couldn't be authenticated") {
		t.Fatalf("first failure after a success: %v, want checked", err)
	}

	resp, err := http.Get(baseURL(o) + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	scrape, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{fmt.Sprintf("oneha_api_failed_logins_total %d", checked+1), "oneha_api_refused_logins_total "} {
		if !strings.Contains(string(scrape), want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}

	logText, err := os.ReadFile(filepath.Join(o.Dir, "oned.log"))
	if err != nil {
		t.Fatal(err)
	}
	log := string(logText)
	if strings.Contains(log, secret) {
		t.Errorf("the log holds the password")
	}
	var lines []string
	for _, l := range strings.Split(log, "\n") {
		if strings.Contains(l, "failed login") {
			lines = append(lines, l)
		}
	}
	if len(lines) == 0 || !strings.Contains(lines[0], "level=WARN") || !strings.Contains(lines[0], "method=one.system.version") ||
		!strings.Contains(lines[0], "remote=127.0.0.1:") {
		t.Fatalf("no Warn line with method and address; failed-login lines: %q", lines)
	}
	if len(lines) > checked+1 {
		t.Errorf("%d failed-login lines for %d checked failures and %d refusals: one per attempt", len(lines), checked+1, refused)
	}
}

// TestStatusNeedsCredentials: /status without oneadmin's credentials (or
// with wrong ones) is 401 with role, readiness and version only; with them
// it is the full document with term, index and hook runs.
func TestStatusNeedsCredentials(t *testing.T) {
	const token = "hooktoken-5ecret"
	z, o := oneServerZone(t, fmt.Sprintf("RAFT_LEADER_HOOK: {COMMAND: /bin/echo, ARGUMENTS: %s}\n", token))
	user, pass, _ := strings.Cut(z.Session, ":")
	get := func(user, pass string) (int, string) {
		req, err := http.NewRequest(http.MethodGet, baseURL(o)+"/status", nil)
		if err != nil {
			t.Fatal(err)
		}
		if user != "" {
			req.SetBasicAuth(user, pass)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	// With credentials: the full status, once the leader hook has run.
	var full string
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		code, body := get(user, pass)
		if code != http.StatusOK {
			t.Fatalf("with credentials: %d %s", code, body)
		}
		if strings.Contains(body, token) {
			full = body
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the leader hook never showed in /status: %s", body)
		}
	}
	for _, want := range []string{`"TERM"`, `"HOOK_RUNS"`, `"APPLIED_INDEX"`} {
		if !strings.Contains(full, want) {
			t.Errorf("full /status lacks %s: %s", want, full)
		}
	}
	for name, creds := range map[string][2]string{"none": {"", ""}, "wrong": {user, "nope"}} {
		code, body := get(creds[0], creds[1])
		if code != http.StatusUnauthorized {
			t.Errorf("%s: /status = %d, want 401", name, code)
		}
		for _, want := range []string{`"ROLE": "leader"`, `"READY": true`, `"VERSION"`} {
			if !strings.Contains(body, want) {
				t.Errorf("%s: public /status lacks %s: %s", name, want, body)
			}
		}
		for _, leak := range []string{"TERM", "HOOK_RUNS", "INDEX", token, "ERROR"} {
			if strings.Contains(body, leak) {
				t.Errorf("%s: public /status shows %s: %s", name, leak, body)
			}
		}
	}
	// /ready stays open.
	resp, err := http.Get(baseURL(o) + "/ready")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("/ready = %d, want 200", resp.StatusCode)
	}
}

// TestMetricsCarryNoSecrets: the unauthenticated /metrics scrape shows
// neither oneadmin's password, the database password nor a hook argument.
func TestMetricsCarryNoSecrets(t *testing.T) {
	const token, dbpw = "hooktoken-m3trics", "dbpass-s3cret"
	z, o := oneServerZone(t, fmt.Sprintf("RAFT_LEADER_HOOK: {COMMAND: /bin/echo, ARGUMENTS: %s}\nDB: {PASSWD: %s}\n", token, dbpw))
	_, pass, _ := strings.Cut(z.Session, ":")
	call(t, o, "one.sql.exec", []any{"CREATE TABLE m (id INT)"})
	resp, err := http.Get(baseURL(o) + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	scrape := string(b)
	if !strings.Contains(scrape, "oneha_raft_state 3") {
		t.Fatalf("not a scrape of the leader: %.500s", scrape)
	}
	for name, secret := range map[string]string{"ONE_AUTH password": pass, "DB password": dbpw, "hook argument": token} {
		if strings.Contains(scrape, secret) {
			t.Errorf("/metrics shows the %s", name)
		}
	}
}

// TestSlowPostIsCut: a POST whose body promises 1000 bytes and stalls after
// 10 is closed by the server (TIMEOUT), instead of holding the connection.
func TestSlowPostIsCut(t *testing.T) {
	_, o := oneServerZone(t, "TIMEOUT: 2\n")
	conn := dial(t, o)
	fmt.Fprintf(conn, "POST /RPC2 HTTP/1.1\r\nHost: x\r\nContent-Type: text/xml\r\nContent-Length: 1000\r\n\r\n<?xml vers")
	waitClosed(t, conn, "a stalled POST")
}

// TestIdleKeepAliveConnectionsAreClosed: a keep-alive connection that
// sends nothing after its answer is closed (KEEPALIVE_TIMEOUT), and so is
// one that never sends a request.
func TestIdleKeepAliveConnectionsAreClosed(t *testing.T) {
	z, o := oneServerZone(t, "KEEPALIVE_TIMEOUT: 2\nTIMEOUT: 3\n")
	var body strings.Builder
	if err := xmlrpc.EncodeCall(&body, "one.system.version", z.Session); err != nil {
		t.Fatal(err)
	}
	conn := dial(t, o)
	fmt.Fprintf(conn, "POST /RPC2 HTTP/1.1\r\nHost: x\r\nContent-Type: text/xml\r\nContent-Length: %d\r\n\r\n%s", body.Len(), body.String())
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.Close || !strings.Contains(string(b), "<boolean>1</boolean>") {
		t.Fatalf("answer %d close=%v %s", resp.StatusCode, resp.Close, b)
	}
	waitClosedReader(t, conn, br, "an idle keep-alive connection")

	silent := dial(t, o)
	fmt.Fprintf(silent, "P") // past the port's first-byte dispatch, then nothing
	waitClosed(t, silent, "a connection that never completes its request line")
}

// TestFaultEchoIsBounded: a 10 KB method name or SQL token comes back in
// the answer cut to about 100 bytes; a 10 KB template token at most so (the
// template parser names the line, column and rule instead).
func TestFaultEchoIsBounded(t *testing.T) {
	z, o := oneServerZone(t, "")
	long := strings.Repeat("Q", 10000)
	ctx := context.Background()
	c := xmlrpc.NewClient(o.Endpoint, 10*time.Second)
	for name, params := range map[string][]any{
		"one.x" + long:       {z.Session},
		"one.zone.addserver": {z.Session, int64(0), long},
		"one.sql.exec":       {z.Session, []any{"INSERT INTO " + long + " VALUES (1)"}},
		"one.sql.query":      {z.Session, "SELECT * FROM " + long, []any{}, "default"},
	} {
		v, err := c.Call(ctx, name, params...)
		msg := fmt.Sprint(v, err)
		if !strings.Contains(msg, "QQQQ") && name != "one.zone.addserver" {
			t.Errorf("%.20s: the answer does not quote the input at all: %.300s", name, msg)
		}
		if n := strings.Count(msg, "Q"); n > 2*xmlrpc.MaxEcho {
			t.Errorf("%.20s: the answer echoes %d bytes of input: %.300s", name, n, msg)
		}
	}
}

func dial(t *testing.T, o *harness.Oned) net.Conn {
	t.Helper()
	conn, err := net.Dial("tcp", strings.TrimPrefix(baseURL(o), "http://"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}

// waitClosed reads conn until the server closes it; it fails if the
// connection is still open after a minute (the server's bounds are seconds).
func waitClosed(t *testing.T, conn net.Conn, what string) {
	t.Helper()
	waitClosedReader(t, conn, conn, what)
}

func waitClosedReader(t *testing.T, conn net.Conn, r io.Reader, what string) {
	t.Helper()
	conn.SetReadDeadline(time.Now().Add(time.Minute))
	_, err := io.Copy(io.Discard, r) // an answer (e.g. 408 or a fault) may come first
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		t.Fatalf("%s: still open after a minute", what)
	}
}

// TestClientFailuresAtFollowerDoNotLockOutForwarding: wrong passwords sent
// to a follower are refused there and never reach the leader, so writes
// that other followers forward from the same host keep working.
func TestClientFailuresAtFollowerDoNotLockOutForwarding(t *testing.T) {
	t.Parallel()
	z := harness.NewProcZone(t, harness.ZoneOptions{N: 3})
	z.FormZone()
	leader := z.Leader(20 * time.Second)
	var followers []*harness.Oned
	for _, o := range z.Servers {
		if o != leader {
			followers = append(followers, o)
		}
	}
	call(t, leader, "one.sql.exec", []any{"CREATE TABLE f (id INT)"})
	attacked := xmlrpc.NewClient(followers[0].Endpoint, 5*time.Second)
	refused := 0
	for i := 0; i < 200 && refused == 0; i++ {
		_, err := attacked.CallONE(context.Background(), "one.sql.exec", "oneadmin:guess", []any{"DELETE FROM f"})
		if err != nil && strings.Contains(err.Error(), "too many failed logins") {
			refused++
		}
	}
	if refused == 0 {
		t.Fatal("the follower never refused the guesses")
	}
	// The same host's good calls through the other follower are forwarded
	// and accepted by the leader; so are calls to the leader itself.
	call(t, followers[1], "one.sql.exec", []any{"INSERT INTO f VALUES (1)"})
	call(t, leader, "one.sql.exec", []any{"INSERT INTO f VALUES (2)"})
	if b, _ := os.ReadFile(filepath.Join(leader.Dir, "oned.log")); strings.Contains(string(b), "failed login") {
		t.Error("the leader logged failed logins: the follower's clients' failures reached it")
	}
}
