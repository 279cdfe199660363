package sqlfsm

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/oneha/oneha/internal/stagetime"
)

// Consensus is what DB needs from the Raft node (raftlog.Node implements it).
type Consensus interface {
	// Apply appends data to the log and returns the leader's FSM response
	// for it once committed and applied.
	Apply(ctx context.Context, data []byte) (any, error)
	// LeaseRead returns nil when this server may answer a default read: it
	// is the leader, within its lease, and has applied every entry of
	// earlier terms.
	LeaseRead(ctx context.Context) error
	// ReadIndex returns nil once this server is a confirmed leader and has
	// applied everything committed when the call began.
	ReadIndex(ctx context.Context) error
}

// DB is the replicated database as clients see it: writes go through the log,
// reads run locally at the requested consistency.
type DB struct {
	fsm *FSM
	log Consensus
	now func() time.Time
	enc Encoder
}

// NewDB joins an FSM with the node that drives it.
func NewDB(f *FSM, c Consensus) *DB {
	return &DB{fsm: f, log: c, now: time.Now}
}

// FSM is the state machine behind the DB.
func (d *DB) FSM() *FSM { return d.fsm }

// Exec applies stmts as one transaction on every server. It checks them on
// this server first (I4): unsafe SQL returns an *UnsafeError and nothing is
// appended. A deterministic SQL error returns the *Result whose Err is that
// *SQLError (and also returns the error). When the node reports an unknown
// outcome (leadership lost after appending), that error is returned as is:
// the transaction may or may not have been applied.
func (d *DB) Exec(ctx context.Context, stmts []Statement) (*Result, error) {
	return d.ExecRequest(ctx, stmts, nil)
}

// ExecRequest is Exec with an optional request id (req may be nil): the
// entry carries it, and the FSM applies it at most once per (Scope, ID)
// within the retention req states (see Request). A retry of a request whose
// outcome was unknown, sent to any server, applies nothing and returns the
// first result (Result.Replayed); a retry with other statements returns
// ErrRequestMismatch. An invalid id returns ErrRequestID before appending.
func (d *DB) ExecRequest(ctx context.Context, stmts []Statement, req *Request) (*Result, error) {
	return d.exec(ctx, stmts, req, nil)
}

// ExecFederated is ExecRequest for a transaction on federated tables on
// the master zone: once applied it holds the next federation index
// (Result.FedIndex) and its record is in FedLogTable, which keeps the
// newest keep records (0: all).
func (d *DB) ExecFederated(ctx context.Context, stmts []Statement, req *Request, keep uint64) (*Result, error) {
	return d.exec(ctx, stmts, req, &Fed{Keep: keep})
}

// ApplyRecord appends the master's federation record rec (DecodeRecord)
// as federation index index after prev, with the master's context, so
// every server of this zone applies it once, in order (see Fed). A gap or
// a repeat returns a *FedGapError naming this zone's last index. The
// statements are checked again as a client's would be (the caller holds
// credentials, not necessarily good intent), without the trial run.
func (d *DB) ApplyRecord(ctx context.Context, rec *Entry, index, prev uint64) (*Result, error) {
	fd := &Fed{Index: index, Prev: prev}
	if err := fd.validate(); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadEntry, err)
	}
	ddl, err := checkEntry(ctx, d.fsm.texts, d.fsm.Dialect(), rec.Statements, d.fsm.Schema())
	if err != nil {
		return nil, err
	}
	if ddl != rec.DDL {
		return nil, fmt.Errorf("%w: a record marked DDL %v holds DDL %v", ErrBadEntry, rec.DDL, ddl)
	}
	e := &Entry{Context: rec.Context, DDL: rec.DDL, Statements: rec.Statements, Fed: fd}
	data, err := d.enc.Encode(e)
	if err != nil {
		return nil, err
	}
	return d.apply(ctx, data)
}

// ApplySnapshot appends the master's snapshot of the federated tables
// (FSM.FedSnapshot: dump, at federation index index; tables: every
// federated table name, so a table the master does not have is dropped),
// so every server of this zone replaces them and takes index, unless it
// already holds index or more (*FedGapError naming its last).
func (d *DB) ApplySnapshot(ctx context.Context, index uint64, dump string, tables []string) (*Result, error) {
	params := make([]any, len(tables))
	for i, t := range tables {
		params[i] = t
	}
	e := &Entry{Context: d.context(), Statements: []Statement{{SQL: dump, Params: params}}, Fed: &Fed{Index: index, Snapshot: true}}
	if err := e.Fed.validate(); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadEntry, err)
	}
	data, err := d.enc.Encode(e)
	if err != nil {
		return nil, err
	}
	return d.apply(ctx, data)
}

func (d *DB) exec(ctx context.Context, stmts []Statement, req *Request, fed *Fed) (*Result, error) {
	tr := stagetime.From(ctx)
	t := tr.Now()
	if req != nil {
		if err := req.validate(); err != nil {
			return nil, err
		}
	}
	norm := make([]Statement, len(stmts))
	for i, st := range stmts {
		norm[i] = Statement{SQL: st.SQL}
		if len(st.Params) > 0 {
			norm[i].Params = make([]any, len(st.Params))
		}
		for j, p := range st.Params {
			v, err := Normalize(p)
			if err != nil {
				return nil, fmt.Errorf("statement %d, parameter %d: %w", i, j, err)
			}
			norm[i].Params[j] = v
		}
	}
	ddl, err := checkEntry(ctx, d.fsm.texts, d.fsm.Dialect(), norm, d.fsm.Schema())
	if err != nil {
		return nil, err
	}
	e := &Entry{Context: d.context(), DDL: ddl, Statements: norm, Request: req, Fed: fed}
	if err := d.trial(ctx, e); err != nil {
		return nil, err
	}
	t = tr.Since(stagetime.Check, t)
	data, err := d.enc.Encode(e)
	if err != nil {
		return nil, err
	}
	tr.Since(stagetime.Encode, t) // raftlog's Apply stamps raft_commit and leader_apply
	return d.apply(ctx, data)
}

// apply appends an encoded entry and returns the leader's FSM result.
func (d *DB) apply(ctx context.Context, data []byte) (*Result, error) {
	resp, err := d.log.Apply(ctx, data)
	if err != nil {
		return nil, err
	}
	switch r := resp.(type) {
	case *Result:
		return r, r.Err
	case error:
		return nil, r
	default:
		return nil, fmt.Errorf("sqlfsm: unexpected FSM response %T", resp)
	}
}

// context binds the leader's clock and fresh RAND seeds. The time never goes
// backwards relative to the newest applied entry. Exec runs concurrently, so
// the seeds come from math/rand/v2's top-level generator, which is safe for
// concurrent use (a shared *rand.Rand is not).
func (d *DB) context() Context {
	t := d.now().UTC().Truncate(time.Microsecond)
	if last := d.fsm.LastTime(); !t.After(last) {
		t = last.Add(time.Microsecond)
	}
	return Context{Time: t, Seed1: rand.Uint32() % (1 << 30), Seed2: rand.Uint32() % (1 << 30)}
}

// IsUnsafe reports whether err means the SQL was refused before appending.
func IsUnsafe(err error) bool { return errors.Is(err, ErrUnsafe) }
