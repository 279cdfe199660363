package sqlfsm

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"

	"github.com/hashicorp/raft"
)

var driverBadConn = driver.ErrBadConn

// batchLost is returned by applyOnce when a deterministic error in entry
// Index also rolled back the batch's whole transaction (SQLite does so when
// it interrupts a write, e.g. at the statement budget). The caller retries
// the batch with the entry's result known, so it does not run again.
type batchLost struct {
	Index  uint64
	Result *Result
}

func (e *batchLost) Error() string {
	return fmt.Sprintf("entry %d failed and took its batch's transaction with it: %v", e.Index, e.Result.Err)
}

// applyOnce makes one attempt at a batch. It returns nil when every entry in
// logs is applied (each response set), or the first transient fault, after
// which nothing uncommitted remains and the caller retries the batch, or a
// *batchLost. Entries already committed by an earlier attempt are skipped by
// index; entries in known get their result without running.
func (f *FSM) applyOnce(ctx context.Context, logs []*raft.Log, resps []any, known map[uint64]*Result) error {
	opened, err := f.ensureConn(ctx)
	if err != nil {
		return err
	}
	if opened {
		// After a fault the database is the truth: a commit may have
		// succeeded just before the connection broke.
		st, err := readApplied(ctx, f.conn)
		if err != nil {
			return err
		}
		f.setApplied(st)
		if err := f.noteConn(ctx, f.conn); err != nil {
			return err
		}
	}
	if f.fast {
		done, err := f.applyFast(ctx, logs, resps)
		if done || err != nil {
			return err
		}
		// An entry the fast path does not take (nothing ran), or a
		// failure of a statement of its own (rolled back): apply the
		// batch entry by entry, with savepoints.
	}
	b := &batch{f: f, ctx: ctx}
	defer b.rollback()
	for i, l := range logs {
		if l.Index <= f.applied.Index {
			continue // applied before a crash or by an earlier attempt
		}
		if l.Type != raft.LogCommand {
			if err := b.begin(); err != nil {
				return err
			}
			b.advance(l, 0)
			continue
		}
		e, err := Decode(l.Data)
		if err == nil && e.DDL && len(e.Statements) != 1 {
			err = fmt.Errorf("%w: a DDL entry holds %d statements, want 1", ErrBadEntry, len(e.Statements))
		}
		if err == nil && e.Fed != nil && e.Fed.Snapshot && (len(e.Statements) != 1 || e.DDL || e.Request != nil) {
			err = fmt.Errorf("%w: a federation snapshot entry holds %d statements (DDL %v, request %v), want one dump", ErrBadEntry, len(e.Statements), e.DDL, e.Request != nil)
		}
		if err != nil {
			// Same bytes on every server: the same error everywhere.
			resps[i] = err
			if err := b.begin(); err != nil {
				return err
			}
			b.advance(l, 0)
			continue
		}
		if e.Fed != nil && e.Fed.Snapshot {
			if err := b.commit(); err != nil {
				return err
			}
			res, err := f.applyFedSnapshot(ctx, l, e)
			f.autoInc.invalidate() // it loaded tables
			if err != nil {
				return fmt.Errorf("entry %d: %w", l.Index, err)
			}
			resps[i] = res
			continue
		}
		if e.DDL && !f.b.transactionalDDL() {
			if err := b.commit(); err != nil {
				return err
			}
			res, err := f.applyDDL(ctx, l, e)
			f.autoInc.invalidate()
			if err != nil {
				return err
			}
			resps[i] = res
			continue
		}
		if err := b.begin(); err != nil {
			return err
		}
		if e.Request != nil {
			prior, err := requestPrior(ctx, b.tx, l.Index, e)
			if err != nil {
				return fmt.Errorf("entry %d: %w", l.Index, err)
			}
			if prior != nil { // a retry: apply nothing, answer the first result
				resps[i] = prior
				b.advance(l, e.Context.Time.UnixMicro())
				continue
			}
		}
		if e.Fed != nil {
			prior, err := fedPrior(ctx, b.tx, e)
			if err != nil {
				return fmt.Errorf("entry %d: %w", l.Index, err)
			}
			if prior != nil { // a gap or a repeat: apply nothing
				resps[i] = prior
				b.advance(l, 0) // nor take its time: it did not apply
				continue
			}
		}
		res, ok := known[l.Index]
		if !ok {
			res, err = f.applyEntry(ctx, b.tx, e)
		}
		if lost := (*batchLost)(nil); errors.As(err, &lost) {
			lost.Index = l.Index
			return lost
		}
		if err != nil {
			return fmt.Errorf("entry %d: %w", l.Index, err)
		}
		if e.Request != nil {
			if err := recordRequest(ctx, b.tx, l.Index, e, res); err != nil {
				return fmt.Errorf("entry %d: %w", l.Index, err)
			}
		}
		if e.Fed != nil {
			if err := recordFed(ctx, b.tx, e, res); err != nil {
				return fmt.Errorf("entry %d: %w", l.Index, err)
			}
		}
		resps[i] = res
		b.advance(l, e.Context.Time.UnixMicro())
	}
	return b.commit()
}

// batch is the DB transaction shared by consecutive entries of a batch.
type batch struct {
	f          *FSM
	ctx        context.Context
	tx         *sql.Tx
	last, term uint64
	time       int64
}

func (b *batch) begin() error {
	if b.tx != nil {
		return nil
	}
	tx, err := b.f.conn.BeginTx(b.ctx, nil)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	b.tx = tx
	return nil
}

func (b *batch) advance(l *raft.Log, micros int64) {
	b.last, b.term = l.Index, l.Term
	if micros > b.time {
		b.time = micros
	}
}

// commit writes the applied index into the transaction and commits it: the
// entries and the index become durable together, or neither does.
func (b *batch) commit() error {
	if b.tx == nil {
		return nil
	}
	if err := b.f.cfg.Faults.at(PointBeforeCommit, b.last); err != nil {
		return err
	}
	if err := writeApplied(b.ctx, b.tx, b.last, b.term); err != nil {
		return err
	}
	err := b.tx.Commit()
	b.tx = nil
	if err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	b.f.setApplied(appliedState{Index: b.last, Term: b.term})
	b.f.noteTime(b.time)
	return nil
}

func (b *batch) rollback() {
	if b.tx != nil {
		b.tx.Rollback()
		b.tx = nil
	}
}

func (f *FSM) noteTime(micros int64) {
	for {
		cur := f.lastTime.Load()
		if micros <= cur || f.lastTime.CompareAndSwap(cur, micros) {
			return
		}
	}
}

// applyEntry runs one entry inside the batch transaction. A deterministic SQL
// error rolls the entry back alone and becomes its Result; a transient fault
// is returned as an error and the whole batch is retried.
func (f *FSM) applyEntry(ctx context.Context, x execer, e *Entry) (*Result, error) {
	sp := f.b.needSavepoint(len(e.Statements))
	if sp {
		if _, err := x.ExecContext(ctx, "SAVEPOINT oneha_entry"); err != nil {
			return nil, fmt.Errorf("savepoint: %w", err)
		}
	}
	if err := f.b.bind(ctx, x, e.Context); err != nil {
		return nil, fmt.Errorf("bind context: %w", err)
	}
	res := &Result{Statements: make([]StmtResult, 0, len(e.Statements))}
	for j, st := range e.Statements {
		sqlErr, err := f.execStatement(ctx, x, e.Context, j, st, res)
		if err != nil {
			return nil, err
		}
		if sqlErr != nil {
			if f.b.txLost() {
				return nil, &batchLost{Result: &Result{Err: sqlErr}}
			}
			if sp {
				if _, err := x.ExecContext(ctx, "ROLLBACK TO SAVEPOINT oneha_entry"); err != nil {
					return nil, fmt.Errorf("rollback to savepoint: %w", err)
				}
			}
			return &Result{Err: sqlErr}, nil
		}
	}
	if sp {
		if _, err := x.ExecContext(ctx, "RELEASE SAVEPOINT oneha_entry"); err != nil {
			return nil, fmt.Errorf("release savepoint: %w", err)
		}
	}
	return res, nil
}

// execStatement runs statement j. It returns a *SQLError for a deterministic
// failure, or an error for a transient one.
func (f *FSM) execStatement(ctx context.Context, x execer, c Context, j int, st Statement, res *Result) (*SQLError, error) {
	q, args, err := f.b.prepare(st, c, j)
	if err != nil {
		// prepare depends only on the entry: it fails the same everywhere.
		return &SQLError{Statement: j, Message: err.Error()}, nil
	}
	r, err := f.b.exec(ctx, x, q, args)
	if err != nil {
		if ctx.Err() != nil || f.b.classify(err) == transient {
			return nil, fmt.Errorf("statement %d: %w", j, err)
		}
		code, msg := sqlErrorCode(err)
		return &SQLError{Code: code, Message: msg, Statement: j}, nil
	}
	ra, _ := r.RowsAffected()
	li, _ := r.LastInsertId()
	ra, li = f.b.counters(st, ra, li)
	res.Statements = append(res.Statements, StmtResult{RowsAffected: ra, LastInsertID: li})
	return nil, nil
}

// applyDDL applies a MySQL DDL entry, which commits implicitly and so cannot
// share a transaction with the applied index. Protocol:
//
//  1. commit a marker (ddl_index = entry, ddl_fingerprint = schema hash now);
//  2. run the DDL;
//  3. write the applied index and clear the marker.
//
// After a crash between 1 and 3 the entry is replayed and finds its marker:
// if the schema hash changed, the DDL ran and is only recorded (not
// repeated); if not, it did not run (or failed, changing nothing) and runs
// now. A DDL that changes no schema object is idempotent, so rerunning it is
// harmless.
func (f *FSM) applyDDL(ctx context.Context, l *raft.Log, e *Entry) (*Result, error) {
	if e.Request != nil && f.applied.DDLIndex != l.Index {
		// Pruning and the lookup run in autocommit: repeating them after a
		// crash deletes and finds the same rows.
		prior, err := requestPrior(ctx, f.conn, l.Index, e)
		if err != nil {
			return nil, err
		}
		if prior != nil {
			return f.finishDDL(ctx, l, e, prior)
		}
	}
	if e.Fed != nil && f.applied.DDLIndex != l.Index {
		prior, err := fedPrior(ctx, f.conn, e)
		if err != nil {
			return nil, err
		}
		if prior != nil {
			return f.finishDDL(ctx, l, e, prior)
		}
	}
	fp, err := f.b.schemaFingerprint(ctx, f.conn)
	if err != nil {
		return nil, err
	}
	if f.applied.DDLIndex == l.Index && f.applied.DDLFingerprint != "" {
		if fp != f.applied.DDLFingerprint {
			f.log.Info("DDL entry ran before a crash; recording it without running it again", "index", l.Index)
			return f.finishDDL(ctx, l, e, &Result{Statements: []StmtResult{{}}})
		}
	} else {
		if err := writeDDLMarker(ctx, f.conn, l.Index, fp); err != nil {
			return nil, err
		}
		f.applied.DDLIndex, f.applied.DDLFingerprint = l.Index, fp
	}
	if err := f.cfg.Faults.at(PointBeforeDDL, l.Index); err != nil {
		return nil, err
	}
	if err := f.b.bind(ctx, f.conn, e.Context); err != nil {
		return nil, fmt.Errorf("bind context: %w", err)
	}
	res := &Result{}
	sqlErr, err := f.execStatement(ctx, f.conn, e.Context, 0, e.Statements[0], res)
	if err != nil {
		return nil, err
	}
	if sqlErr != nil {
		res = &Result{Err: sqlErr}
	}
	if err := f.cfg.Faults.at(PointAfterDDL, l.Index); err != nil {
		return nil, err
	}
	return f.finishDDL(ctx, l, e, res)
}

func (f *FSM) finishDDL(ctx context.Context, l *raft.Log, e *Entry, res *Result) (*Result, error) {
	if (e.Request != nil || e.Fed != nil) && !res.Replayed {
		// The request row, the federation index and the applied index
		// commit together.
		tx, err := f.conn.BeginTx(ctx, nil)
		if err != nil {
			return nil, fmt.Errorf("begin: %w", err)
		}
		if e.Request != nil {
			err = recordRequest(ctx, tx, l.Index, e, res)
		}
		if err == nil && e.Fed != nil {
			err = recordFed(ctx, tx, e, res)
		}
		if err == nil {
			err = writeApplied(ctx, tx, l.Index, l.Term)
		}
		if err == nil {
			err = tx.Commit()
		} else {
			tx.Rollback()
		}
		if err != nil {
			return nil, err
		}
	} else if err := writeApplied(ctx, f.conn, l.Index, l.Term); err != nil {
		return nil, err
	}
	f.setApplied(appliedState{Index: l.Index, Term: l.Term})
	if !errors.Is(res.Err, ErrFedGap) { // a federation record that did not apply leaves the clock alone
		f.noteTime(e.Context.Time.UnixMicro())
	}
	return res, nil
}
