package harness

import (
	"context"
	"fmt"
	"regexp"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/oneha/oneha/xmlrpc"
)

var fedIndexRE = regexp.MustCompile(`<FEDLOG_INDEX>(-?\d+)</FEDLOG_INDEX>`)

// FedLogIndex is o's FEDLOG_INDEX (one.zone.raftstatus), -2 when it does
// not answer.
func (o *Oned) FedLogIndex(tb testing.TB) int64 {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	v, err := o.Call(ctx, "one.zone.raftstatus")
	if err != nil {
		return -2
	}
	m := fedIndexRE.FindStringSubmatch(fmt.Sprint(v))
	if m == nil {
		tb.Fatalf("harness: server %d: raftstatus without FEDLOG_INDEX: %v", o.ID, v)
	}
	n, _ := strconv.ParseInt(m[1], 10, 64)
	return n
}

// WaitFedIndex waits until every server of the zones reports FEDLOG_INDEX
// want, or (want -1) one same index (a write whose client gave up may
// still apply, so a final index is not always known in advance), and
// returns it.
func WaitFedIndex(tb testing.TB, want int64, zones ...*ProcZone) int64 {
	tb.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		var got []int64
		ok := true
		for _, z := range zones {
			for _, o := range z.Servers {
				n := o.FedLogIndex(tb)
				got = append(got, n)
				ok = ok && n == got[0] && (want < 0 || n == want)
			}
		}
		if ok && got[0] >= 0 {
			return got[0]
		}
		if time.Now().After(deadline) {
			tb.Fatalf("harness: FEDLOG_INDEX of the servers: %v, want all %d; the first zone's leader's log:\n%s",
				got, want, zones[0].Leader(time.Second).LogTail(30))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// StaleRows is a query's rows as o holds them (one.sql.query, stale),
// printed; "error: …" when it fails.
func (o *Oned) StaleRows(tb testing.TB, q string) string {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	v, err := o.Call(ctx, "one.sql.query", q, []any{}, "stale")
	if err != nil {
		return "error: " + err.Error()
	}
	m, _ := v.(map[string]any)
	return fmt.Sprint(m["ROWS"])
}

// FedWriter writes unique rows into a federated table fed_ops (op
// VARCHAR) through the servers of one zone in turn, skipping stopped ones,
// each write with a request id, until Stop. It remembers which writes
// were acknowledged and which had an unknown outcome (not retried).
type FedWriter struct {
	Name    string
	Acked   []string // read after Stop
	Unknown []string // read after Stop
	n       atomic.Int64
	stop    chan struct{}
	done    chan struct{}
}

// StartFedWriter starts a writer named name (ops "name-0", "name-1", …)
// on z.
func StartFedWriter(ctx context.Context, name string, z *ProcZone) *FedWriter {
	w := &FedWriter{Name: name, stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(w.done)
		next := 0
		for i := 0; ; i++ {
			select {
			case <-w.stop:
				return
			default:
			}
			o := z.Servers[0]
			for range z.Servers {
				next++
				if c := z.Servers[next%len(z.Servers)]; c.Running() {
					o = c
					break
				}
			}
			op := fmt.Sprintf("%s-%d", name, i)
			cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
			_, err := o.Call(cctx, "one.sql.exec", []any{[]any{"INSERT INTO fed_ops (op) VALUES (?)", op}}, "req-"+op)
			cancel()
			switch {
			case err == nil:
				w.Acked = append(w.Acked, op)
				w.n.Add(1)
			case xmlrpc.RetrySafe(err):
			default:
				w.Unknown = append(w.Unknown, op)
				time.Sleep(20 * time.Millisecond) // a server is down: do not spin
			}
		}
	}()
	return w
}

// Count is how many writes were acknowledged so far.
func (w *FedWriter) Count() int64 { return w.n.Load() }

// WaitMore waits until n more writes than now are acknowledged.
func (w *FedWriter) WaitMore(tb testing.TB, n int64) {
	tb.Helper()
	want := w.n.Load() + n
	deadline := time.Now().Add(60 * time.Second)
	for w.n.Load() < want {
		if time.Now().After(deadline) {
			tb.Fatalf("harness: writer %s stalled at %d acknowledged", w.Name, w.n.Load())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Stop ends the writer and waits for its last write.
func (w *FedWriter) Stop() {
	close(w.stop)
	<-w.done
}
