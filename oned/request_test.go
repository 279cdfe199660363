package oned_test

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/oneha/oneha/internal/harness"
	"github.com/oneha/oneha/xmlrpc"
)

// execID runs one.sql.exec with a request id on o.
func execID(o *harness.Oned, timeout time.Duration, stmts []any, id any) (any, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	return o.Call(ctx, "one.sql.exec", stmts, id)
}

// strongInt reads one integer at strong consistency through o.
func strongInt(t *testing.T, o *harness.Oned, q string) int64 {
	t.Helper()
	v := call(t, o, "one.sql.query", q, []any{}, "strong")
	return v.(map[string]any)["ROWS"].([]any)[0].([]any)[0].(int64)
}

// TestRequestIDRetries: a write with a request id, retried after SIGKILL of
// the leader through another server, answers the first result and applies
// nothing; the same id with other statements is refused (ACTION) and
// applies nothing; malformed ids are refused (XML_RPC_API); a write whose
// answer was OUTCOME_UNKNOWN (its followers stopped under it), retried with
// its id until a definite answer, is applied exactly once; and an id older
// than REQUEST_ID.MAX entries is forgotten (the retry applies again).
func TestRequestIDRetries(t *testing.T) {
	t.Parallel()
	z := harness.NewProcZone(t, harness.ZoneOptions{N: 3, Extra: "REQUEST_ID: {MAX: 12}\n"})
	z.FormZone()
	leader := z.Leader(20 * time.Second)
	call(t, leader, "one.sql.exec", []any{"CREATE TABLE ctr (id INTEGER PRIMARY KEY, n BIGINT NOT NULL)"})
	call(t, leader, "one.sql.exec", []any{"CREATE TABLE ev (id INTEGER PRIMARY KEY, tag TEXT)"})
	call(t, leader, "one.sql.exec", []any{"INSERT INTO ctr (id, n) VALUES (1, 0)"})
	op := func(tag string) []any {
		return []any{"UPDATE ctr SET n = n + 1 WHERE id = 1", []any{"INSERT INTO ev (tag) VALUES (?)", tag}}
	}
	state := func(o *harness.Oned) (n, events int64) {
		return strongInt(t, o, "SELECT n FROM ctr WHERE id = 1"), strongInt(t, o, "SELECT COUNT(*) FROM ev")
	}

	first, err := execID(leader, 20*time.Second, op("one"), "op-1")
	if err != nil {
		t.Fatal(err)
	}
	leader.Kill()
	next := z.Leader(20 * time.Second)
	var follower *harness.Oned
	for _, o := range z.Servers {
		if o != leader && o != next {
			follower = o
		}
	}
	for _, o := range []*harness.Oned{follower, next} { // forwarded, and on the new leader
		again, err := execID(o, 20*time.Second, op("one"), "op-1")
		if err != nil || !reflect.DeepEqual(again, first) {
			t.Fatalf("retry of op-1 through server %d: %#v, %v; want the first result %#v", o.ID, again, err, first)
		}
	}
	if n, ev := state(next); n != 1 || ev != 1 {
		t.Fatalf("after 3 attempts of op-1: n = %d, %d events; want 1 and 1", n, ev)
	}

	// Same id, other statements: refused, nothing applied.
	_, err = execID(next, 20*time.Second, op("other"), "op-1")
	var oe *xmlrpc.Error
	if !errors.As(err, &oe) || oe.Code != xmlrpc.ActionError || !strings.Contains(oe.Message, "different statements") {
		t.Fatalf("op-1 with other statements: %v, want ACTION different statements", err)
	}
	for _, bad := range []any{"has space", strings.Repeat("x", 129), "ünï", int64(7)} {
		_, err := execID(next, 20*time.Second, op("bad"), bad)
		if !errors.As(err, &oe) || oe.Code != xmlrpc.XMLRPCAPIError {
			t.Fatalf("request id %v: %v, want XML_RPC_API", bad, err)
		}
	}
	if n, ev := state(next); n != 1 || ev != 1 {
		t.Fatalf("refused requests applied something: n = %d, %d events", n, ev)
	}

	// Outcome unknown: the leader appends op-2, then loses its quorum.
	leader.Start()
	leader.WaitState(2, 20*time.Second)
	unknown := false
	for try := 0; try < 3 && !unknown; try++ {
		lead := z.Leader(20 * time.Second)
		var stopped []*harness.Oned
		for _, o := range z.Servers {
			if o != lead {
				o.Signal(syscall.SIGSTOP)
				stopped = append(stopped, o)
			}
		}
		_, err := execID(lead, 20*time.Second, op("two"), "op-2")
		for _, o := range stopped {
			o.Signal(syscall.SIGCONT)
		}
		switch {
		case xmlrpc.OutcomeUnknown(err):
			unknown = true
		case xmlrpc.RetrySafe(err):
			t.Logf("try %d: the leader stepped down before appending (%v); again", try, err)
		default:
			t.Fatalf("op-2 without a quorum: %v, want OUTCOME_UNKNOWN (or NOT APPLIED)", err)
		}
	}
	if !unknown {
		t.Fatal("three tries never produced OUTCOME_UNKNOWN")
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		_, err := execID(z.Leader(20*time.Second), 20*time.Second, op("two"), "op-2")
		if err == nil {
			break
		}
		if !xmlrpc.OutcomeUnknown(err) && !xmlrpc.RetrySafe(err) || time.Now().After(deadline) {
			t.Fatalf("retry of op-2: %v", err)
		}
	}
	next = z.Leader(20 * time.Second)
	if n, ev := state(next); n != 2 || ev != 2 {
		t.Fatalf("op-2 after OUTCOME_UNKNOWN and retries: n = %d, %d events; want 2 and 2 (applied exactly once)", n, ev)
	}

	// REQUEST_ID.MAX 12: after 12 more entries op-1 is forgotten.
	for i := 0; i < 12; i++ {
		call(t, next, "one.sql.exec", []any{"UPDATE ctr SET n = n WHERE id = 1"})
	}
	if _, err := execID(next, 20*time.Second, op("one"), "op-1"); err != nil {
		t.Fatal(err)
	}
	if n, ev := state(next); n != 3 || ev != 3 {
		t.Fatalf("op-1 past REQUEST_ID.MAX: n = %d, %d events; want it applied again (3, 3)", n, ev)
	}
}
