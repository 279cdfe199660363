package client_test

import (
	"context"
	"errors"
	"fmt"
	"net/http/httptrace"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/oneha/oneha/client"
	"github.com/oneha/oneha/internal/harness"
	"github.com/oneha/oneha/xmlrpc"
)

func newClient(t *testing.T, z *harness.ProcZone, opts client.Options) *client.Client {
	t.Helper()
	for _, o := range z.Servers {
		opts.Endpoints = append(opts.Endpoints, o.Endpoint)
	}
	opts.Auth = z.Session
	c, err := client.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}

func ctxT(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// count reads how many rows of ev carry tag, at Strong.
func count(ctx context.Context, t *testing.T, c *client.Client, tag string) int64 {
	t.Helper()
	r, err := c.Query(ctx, client.Strong, "SELECT COUNT(*) FROM ev WHERE tag = ?", tag)
	if err != nil {
		t.Fatalf("count %s: %v", tag, err)
	}
	return r.Rows[0][0].(int64)
}

// TestClientZone runs the client against a real three-server zone, in
// order: leader discovery and connection reuse, typed values and sqlx
// scanning, a leader that stops answering (unknown outcomes: a write
// without a request id is not resent, one with an id lands exactly once),
// and a leader SIGKILLed under a concurrent workload.
func TestClientZone(t *testing.T) {
	t.Parallel()
	z := harness.NewProcZone(t, harness.ZoneOptions{N: 3})
	z.FormZone()
	c := newClient(t, z, client.Options{
		Timeout: 2 * time.Second, MaxAttempts: 40, MaxBackoff: 500 * time.Millisecond, ProbeTimeout: 500 * time.Millisecond,
	})
	ctx := ctxT(t, 3*time.Minute)
	if _, err := c.Exec(ctx, client.Stmt("CREATE TABLE ev (id INTEGER PRIMARY KEY, tag TEXT NOT NULL, n BIGINT, x DOUBLE, b BLOB)")); err != nil {
		t.Fatal(err)
	}
	t.Run("discovery", func(t *testing.T) { discovery(ctx, t, z, c) })
	t.Run("values", func(t *testing.T) { values(ctx, t, c) })
	t.Run("unknown_outcome", func(t *testing.T) {
		// A second client, so that each meets the stopped leader first.
		c2 := newClient(t, z, client.Options{Timeout: 2 * time.Second, MaxAttempts: 40})
		unknownOutcome(ctx, t, z, c, c2)
	})
	t.Run("failover_exactly_once", func(t *testing.T) { failover(ctx, t, z, c) })
	// Last: a failed login backs off its source address (authguard).
	t.Run("bad_password", func(t *testing.T) {
		bad, err := client.New(client.Options{Endpoints: c.Endpoints(), Auth: "oneadmin:wrong-pw"})
		if err != nil {
			t.Fatal(err)
		}
		defer bad.Close()
		_, err = bad.Query(ctx, client.Default, "SELECT 1")
		if e, ok := errors.AsType[*xmlrpc.Error](err); !ok || e.Code != xmlrpc.AuthenticationError || strings.Contains(err.Error(), "wrong-pw") {
			t.Fatalf("bad password: %v, want an AUTHENTICATION error without the password", err)
		}
	})
}

// discovery: the client finds the leader among three endpoints, and
// repeated calls reuse its keep-alive connections.
func discovery(ctx context.Context, t *testing.T, z *harness.ProcZone, c *client.Client) {
	if got, want := c.LeaderEndpoint(ctx), z.Leader(20*time.Second).Endpoint; got != want {
		t.Fatalf("LeaderEndpoint = %q, want %q", got, want)
	}
	leaders := 0
	for _, o := range z.Servers {
		v, err := c.CallServer(ctx, o.Endpoint, "one.zone.raftstatus")
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(v.(string), "<STATE>3</STATE>") {
			leaders++
		}
	}
	if leaders != 1 {
		t.Errorf("one.zone.raftstatus on each server: %d leaders", leaders)
	}
	var dialled, reused atomic.Int64
	trace := &httptrace.ClientTrace{GotConn: func(i httptrace.GotConnInfo) {
		if i.Reused {
			reused.Add(1)
		} else {
			dialled.Add(1)
		}
	}}
	tctx := httptrace.WithClientTrace(ctx, trace)
	for i := range 20 {
		if _, err := c.Exec(tctx, client.Stmt("INSERT INTO ev (tag) VALUES (?)", fmt.Sprintf("reuse-%d", i))); err != nil {
			t.Fatal(err)
		}
		if _, err := c.Query(tctx, client.Strong, "SELECT COUNT(*) FROM ev"); err != nil {
			t.Fatal(err)
		}
	}
	if d, r := dialled.Load(), reused.Load(); d > 1 || r < 39 {
		t.Errorf("40 sequential calls to the leader dialled %d connections, reused %d; want one connection kept alive", d, r)
	}
}

type evRow struct {
	ID  int64    `db:"id"`
	Tag string   `db:"tag"`
	N   *int64   `db:"n"`
	X   *float64 `db:"x"`
	B   []byte   `db:"b"`
}

// values: parameters and answers keep their types (NULL, integers beyond
// 32 bits, floats, binary), rows scan into structs with sqlx, and server
// errors keep their code and are not retried.
func values(ctx context.Context, t *testing.T, c *client.Client) {
	res, err := c.ExecRequest(ctx, client.NewRequestID(),
		client.Stmt("INSERT INTO ev (tag, n, x, b) VALUES (?, ?, ?, ?)", "typed", int64(1)<<40, 2.5, []byte{0, 0xff}),
		client.Stmt("INSERT INTO ev (tag, n, x, b) VALUES (?, ?, ?, ?)", "typed", nil, nil, nil))
	if err != nil {
		t.Fatal(err)
	}
	if len(res) != 2 || res[0].RowsAffected != 1 || res[1].LastInsertID != res[0].LastInsertID+1 {
		t.Fatalf("exec results %+v", res)
	}
	var got []evRow
	if err := c.Select(ctx, client.Strong, &got, "SELECT id, tag, n, x, b FROM ev WHERE tag = ? ORDER BY id", "typed"); err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].ID != res[0].LastInsertID || *got[0].N != 1<<40 || *got[0].X != 2.5 ||
		string(got[0].B) != "\x00\xff" || got[1].N != nil || got[1].X != nil || got[1].B != nil {
		t.Fatalf("Select = %+v", got)
	}
	var n int64
	if err := c.Get(ctx, client.Stale, &n, "SELECT COUNT(*) FROM ev WHERE tag = 'typed'"); err != nil || n > 2 {
		t.Fatalf("stale Get = %d, %v", n, err)
	}
	// database/sql Exec with a request id: the second call applies nothing.
	db := c.DB(client.Default)
	defer db.Close()
	id := client.NewRequestID()
	for range 2 {
		if _, err := db.ExecContext(client.WithRequestID(ctx, id), "INSERT INTO ev (tag) VALUES ('dbexec')"); err != nil {
			t.Fatal(err)
		}
	}
	if k := count(ctx, t, c, "dbexec"); k != 1 {
		t.Fatalf("ExecContext twice under one request id inserted %d rows", k)
	}
	_, err = c.Exec(ctx, client.Stmt("INSERT INTO nosuch VALUES (1)"))
	if e, ok := errors.AsType[*xmlrpc.Error](err); !ok || e.Code != xmlrpc.ActionError || !strings.Contains(e.Message, "nosuch") {
		t.Fatalf("SQL error: %v, want an ACTION error naming the table", err)
	}
}

// unknownOutcome: the leader stops answering (SIGSTOP) after receiving the
// call. A write with a request id is resent until a new leader takes it,
// and lands exactly once even though the stopped leader still holds the
// first copy and forwards it when resumed; a write without one fails with
// ErrOutcomeUnknown instead of being resent elsewhere. Both clients know
// the old leader when it stops.
func unknownOutcome(ctx context.Context, t *testing.T, z *harness.ProcZone, c, c2 *client.Client) {
	old := z.Leader(20 * time.Second)
	if c.LeaderEndpoint(ctx) != old.Endpoint || c2.LeaderEndpoint(ctx) != old.Endpoint {
		t.Fatalf("the clients' leader is not %s", old.Endpoint)
	}
	old.Signal(syscall.SIGSTOP)
	resumed := false
	resume := func() {
		if !resumed {
			resumed = true
			old.Signal(syscall.SIGCONT)
		}
	}
	defer resume()
	id := client.NewRequestID()
	if _, err := c.ExecRequest(ctx, id, client.Stmt("INSERT INTO ev (tag) VALUES ('withid')")); err != nil {
		t.Fatalf("write with request id across the leader change: %v", err)
	}
	if k := count(ctx, t, c, "withid"); k != 1 {
		t.Fatalf("after the retried write: %d rows, want 1", k)
	}
	_, err := c2.Exec(ctx, client.Stmt("INSERT INTO ev (tag) VALUES ('noid')"))
	if !errors.Is(err, client.ErrOutcomeUnknown) || !strings.HasPrefix(err.Error(), "outcome unknown: ") { // the form of a first attempt
		t.Fatalf("write without request id to a stopped leader: %v, want ErrOutcomeUnknown after one attempt", err)
	}
	resume()
	old.WaitState(2, 30*time.Second) // back as a follower: its queued calls were handled
	// Both copies the stopped leader held have been handled by now; the
	// one with an id applied nothing more, the other at most once.
	if _, err := c.ExecRequest(ctx, id, client.Stmt("INSERT INTO ev (tag) VALUES ('withid')")); err != nil {
		t.Fatal(err)
	}
	if k := count(ctx, t, c, "withid"); k != 1 {
		t.Fatalf("request id applied %d times, want once", k)
	}
	if k := count(ctx, t, c, "noid"); k > 1 {
		t.Fatalf("write without request id applied %d times", k)
	}
}

// failover: four writers insert rows under request ids while the leader is
// SIGKILLed; every write is acknowledged, every acknowledged row exists
// exactly once, and a Strong read right after each acknowledgement sees it.
func failover(ctx context.Context, t *testing.T, z *harness.ProcZone, c *client.Client) {
	const writers, each = 4, 25
	var acked atomic.Int64
	killAt := int64(writers * each / 3)
	var wg sync.WaitGroup
	errs := make(chan error, writers)
	for w := range writers {
		wg.Go(func() {
			for i := range each {
				tag := fmt.Sprintf("fo-%d-%d", w, i)
				if _, err := c.ExecRequest(ctx, client.NewRequestID(), client.Stmt("INSERT INTO ev (tag) VALUES (?)", tag)); err != nil {
					errs <- fmt.Errorf("write %s: %w", tag, err)
					return
				}
				acked.Add(1)
				r, err := c.Query(ctx, client.Strong, "SELECT COUNT(*) FROM ev WHERE tag = ?", tag)
				if err != nil {
					errs <- fmt.Errorf("strong read of %s: %w", tag, err)
					return
				}
				if n := r.Rows[0][0].(int64); n != 1 {
					errs <- fmt.Errorf("strong read after acknowledging %s: %d rows, want 1", tag, n)
					return
				}
			}
		})
	}
	leader := z.Leader(20 * time.Second)
	for acked.Load() < killAt {
		select {
		case err := <-errs:
			t.Fatal(err)
		case <-time.After(10 * time.Millisecond):
		}
	}
	leader.Kill()
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	r, err := c.Query(ctx, client.Strong, "SELECT tag, COUNT(*) FROM ev WHERE tag LIKE 'fo-%' GROUP BY tag HAVING COUNT(*) <> 1")
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Rows) != 0 {
		t.Errorf("rows applied other than once: %v", r.Rows)
	}
	r, err = c.Query(ctx, client.Strong, "SELECT COUNT(*) FROM ev WHERE tag LIKE 'fo-%'")
	if err != nil {
		t.Fatal(err)
	}
	if n := r.Rows[0][0].(int64); n != acked.Load() || n != writers*each {
		t.Errorf("%d rows, %d acknowledged, want %d", n, acked.Load(), writers*each)
	}
	if got := c.LeaderEndpoint(ctx); got == leader.Endpoint || got == "" {
		t.Errorf("after the kill the client's leader is %q", got)
	}
}
