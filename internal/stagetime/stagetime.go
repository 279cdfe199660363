// Package stagetime stamps the stages of one request (a write through
// one.sql.exec) so a server can export where its time goes.
//
// A *Trace travels in the request's context (NewContext, From); each layer
// adds the time it spent in its stage. Invariants: a Trace belongs to one
// request, is written by the goroutine serving it (never concurrently), and
// recording into it allocates nothing; every method is a no-op on a nil
// *Trace, so code paths without a trace (internal writers, tests) pay one
// context lookup. The package holds no state of its own.
package stagetime

import (
	"context"
	"time"
)

// Stage is one step of a write.
type Stage uint8

const (
	HTTPRead       Stage = iota // reading the request body (including waiting for the body budget)
	XMLDecode                   // XML-RPC decoding, less the body reads inside it
	Auth                        // session check
	Forward                     // a follower relaying the call to the leader and back
	Check                       // normalization, sqlcheck, the leader-side trial
	Encode                      // the entry codec (sqlfsm)
	RaftAppend                  // the leader's log-store append and fsync (per entry of the batch)
	RaftCommit                  // raft.Apply enqueue to the FSM taking the entry: append, replication, commit
	LeaderApply                 // the FSM batch that applied the entry on the leader
	ResponseEncode              // encoding and writing the XML-RPC response
	FollowerAppend              // a follower's log-store append and fsync (per entry)
	Replication                 // an AppendEntries round trip from the leader to one follower (per entry carried)
	NumStages
)

var names = [NumStages]string{"http_read", "xml_decode", "auth", "forward", "check", "encode",
	"raft_append", "raft_commit", "leader_apply", "response_encode", "follower_append", "replication"}

// String is the stage's metric label.
func (s Stage) String() string {
	if s < NumStages {
		return names[s]
	}
	return "unknown"
}

// Trace holds the time a request spent in each stage.
type Trace struct {
	d   [NumStages]time.Duration
	set uint32 // bit s: stage s was recorded
}

// Add adds d to stage s.
func (t *Trace) Add(s Stage, d time.Duration) {
	if t == nil || s >= NumStages {
		return
	}
	t.d[s] += d
	t.set |= 1 << s
}

// Since adds the time from start to now to stage s and returns now, the
// start of the next stage.
func (t *Trace) Since(s Stage, start time.Time) time.Time {
	if t == nil {
		return time.Time{}
	}
	now := time.Now()
	t.Add(s, now.Sub(start))
	return now
}

// Each calls f for every recorded stage, in Stage order.
func (t *Trace) Each(f func(Stage, time.Duration)) {
	if t == nil {
		return
	}
	for s := Stage(0); s < NumStages; s++ {
		if t.set&(1<<s) != 0 {
			f(s, t.d[s])
		}
	}
}

// Get returns stage s's time and whether it was recorded.
func (t *Trace) Get(s Stage) (time.Duration, bool) {
	if t == nil || s >= NumStages {
		return 0, false
	}
	return t.d[s], t.set&(1<<s) != 0
}

type ctxKey struct{}

// NewContext returns ctx carrying t.
func NewContext(ctx context.Context, t *Trace) context.Context {
	return context.WithValue(ctx, ctxKey{}, t)
}

// From returns the trace in ctx, or nil.
func From(ctx context.Context) *Trace {
	t, _ := ctx.Value(ctxKey{}).(*Trace)
	return t
}

// Now returns the current time when t records, and the zero time (without
// reading the clock) when t is nil.
func (t *Trace) Now() time.Time {
	if t == nil {
		return time.Time{}
	}
	return time.Now()
}
