package sqlfsm

import (
	"context"
	"errors"
	"fmt"
)

// Solo is the Consensus of a server without Raft (OpenNebula's SERVER_ID
// -1): an entry applies straight to the local database, in its own
// transaction, with the same checks and context binding as a replicated one.
// It never touches the applied index, so the database can later seed a zone
// (a server whose applied index is above 0 refuses to bootstrap one).
type Solo struct{ f *FSM }

var _ Consensus = Solo{}

// NewSolo returns the solo Consensus for f.
func NewSolo(f *FSM) Solo { return Solo{f: f} }

// Apply decodes and applies data at once and returns its *Result.
func (s Solo) Apply(ctx context.Context, data []byte) (any, error) {
	e, err := Decode(data)
	if err != nil {
		return nil, err
	}
	return s.f.applyDirect(ctx, e)
}

// LeaseRead always succeeds: a solo server is its own leader.
func (Solo) LeaseRead(context.Context) error { return nil }

// ReadIndex always succeeds: every write is applied before Apply returns.
func (Solo) ReadIndex(context.Context) error { return nil }

// applyDirect runs one entry in its own transaction (DDL on MySQL without
// one). A transient fault is returned to the caller, not retried: in solo
// mode the client is the only copy of the request.
func (f *FSM) applyDirect(ctx context.Context, e *Entry) (*Result, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.ctx.Err() != nil {
		return nil, ErrClosed
	}
	if _, err := f.ensureConn(ctx); err != nil {
		return nil, err
	}
	if e.DDL && !f.b.transactionalDDL() {
		if err := f.b.bind(ctx, f.conn, e.Context); err != nil {
			f.resetConn()
			return nil, fmt.Errorf("bind context: %w", err)
		}
		res := &Result{}
		sqlErr, err := f.execStatement(ctx, f.conn, e.Context, 0, e.Statements[0], res)
		f.autoInc.invalidate()
		if err != nil {
			f.resetConn()
			return nil, err
		}
		if sqlErr != nil {
			return &Result{Err: sqlErr}, nil
		}
		f.noteTime(e.Context.Time.UnixMicro())
		return res, nil
	}
	tx, err := f.conn.BeginTx(ctx, nil)
	if err != nil {
		f.resetConn()
		return nil, fmt.Errorf("begin: %w", err)
	}
	defer tx.Rollback()
	res, err := f.applyEntry(ctx, tx, e)
	if lost := (*batchLost)(nil); errors.As(err, &lost) {
		return lost.Result, nil // the transaction held only this entry
	}
	if err != nil {
		f.resetConn()
		return nil, err
	}
	if err := tx.Commit(); err != nil {
		f.resetConn()
		return nil, fmt.Errorf("commit: %w", err)
	}
	f.noteTime(e.Context.Time.UnixMicro())
	return res, nil
}
