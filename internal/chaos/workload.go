package chaos

import (
	"context"
	"fmt"
	"math/rand"
	"sync"
	"sync/atomic"
	"time"
)

// workload runs concurrent register clients against random servers. The
// current phase (set by the nemesis) picks the keys; a negative phase stops
// the clients.
type workload struct {
	c         *client
	endpoints []string
	keysPer   int
	start     time.Time
	// retry: every write carries a request id, and a write whose outcome
	// is unknown is sent again with it (to a random server) until a
	// definite answer or the end of the run.
	retry bool

	// ctx bounds every operation; stop cancels it so that operations in
	// flight end at once instead of waiting out the client's timeout.
	ctx    context.Context
	cancel context.CancelFunc

	phase  atomic.Int64
	nextID atomic.Int64
	wg     sync.WaitGroup

	mu   sync.Mutex
	recs []record
}

func newWorkload(c *client, endpoints []string, keysPer int) *workload {
	w := &workload{c: c, endpoints: endpoints, keysPer: keysPer, start: time.Now()}
	w.ctx, w.cancel = context.WithCancel(context.Background())
	w.phase.Store(-1)
	return w
}

// now is the history clock: monotonic ns since the start.
func (w *workload) now() int64 { return time.Since(w.start).Nanoseconds() }

func (w *workload) keys(phase int) []int {
	out := make([]int, w.keysPer)
	for i := range out {
		out[i] = phase*w.keysPer + i
	}
	return out
}

// run starts n clients in phase 0.
func (w *workload) run(n int, seed int64) {
	w.phase.Store(0)
	for i := 0; i < n; i++ {
		w.wg.Add(1)
		go w.worker(i, rand.New(rand.NewSource(seed+int64(i))))
	}
}

// stop ends the clients: it cancels the operations in flight and waits for
// them to be recorded. A write cancelled after its request was sent is
// recorded as unknown (classifyWrite), one cancelled before the connection
// was made as failed (it never left), a cancelled read as failed (dropped).
func (w *workload) stop() {
	w.phase.Store(-1)
	w.cancel()
	w.wg.Wait()
}

func (w *workload) add(r record) {
	w.mu.Lock()
	w.recs = append(w.recs, r)
	w.mu.Unlock()
}

func (w *workload) records() []record {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]record(nil), w.recs...)
}

func (w *workload) worker(id int, rnd *rand.Rand) {
	defer w.wg.Done()
	seen := map[int]int64{} // last value this client saw or wrote, per key
	for {
		p := w.phase.Load()
		if p < 0 {
			return
		}
		k := int(p)*w.keysPer + rnd.Intn(w.keysPer)
		srv := rnd.Intn(len(w.endpoints))
		ep := w.endpoints[srv]
		r := record{Client: id, ID: w.nextID.Add(1), Phase: int(p), Server: srv}
		x := rnd.Intn(100)
		r.Call = w.now()
		switch {
		case x < 50:
			r.In = input{Kind: opRead, Key: k}
			v, err := w.c.read(w.ctx, ep, k)
			if err != nil {
				r.St, r.Err = stFail, err.Error()
			} else {
				r.Out.Val = v
				seen[k] = v
			}
		default:
			cas := x >= 75
			r.In = input{Kind: opWrite, Key: k, Val: r.ID}
			if cas {
				r.In = input{Kind: opCAS, Key: k, Val: r.ID, Old: seen[k]}
			}
			swapped, st, err := w.writeOp(rnd, ep, &r, k, cas)
			r.St = st
			if err != nil {
				r.Err = err.Error()
			}
			if st == stOK {
				r.Out.OK = swapped
				if swapped || !cas {
					seen[k] = r.ID
				}
			}
		}
		r.Ret = w.now()
		w.add(r)
		pause := time.Duration(2+rnd.Intn(8)) * time.Millisecond
		if r.St != stOK {
			pause += 50 * time.Millisecond // like a real client: back off after an error, don't spin on a dead server
		}
		select {
		case <-w.ctx.Done():
			return
		case <-time.After(pause):
		}
	}
}

// writeOp sends r's write to ep; in retry mode it sends an unknown outcome
// again, with the same request id, to random servers until the answer is
// definite or the workload stops (then the write stays unknown).
func (w *workload) writeOp(rnd *rand.Rand, ep string, r *record, k int, cas bool) (bool, status, error) {
	reqID := ""
	if w.retry {
		reqID = fmt.Sprintf("chaos-%d", r.ID)
	}
	unknown := false // an earlier attempt may have been applied
	for {
		r.Attempts++
		swapped, seq, st, err := w.c.write(w.ctx, ep, r.ID, k, r.In.Val, cas, r.In.Old, reqID)
		if st == stOK {
			r.AuditSeq = seq
		}
		if unknown && st == stFail {
			st = stUnknown // this attempt was not logged; the first may have been
		}
		unknown = unknown || st == stUnknown
		if !w.retry || st != stUnknown {
			return swapped, st, err
		}
		select {
		case <-w.ctx.Done():
			return swapped, st, err
		case <-time.After(50 * time.Millisecond):
		}
		ep = w.endpoints[rnd.Intn(len(w.endpoints))]
	}
}
