package sqlfsm

import (
	"context"
	"database/sql/driver"
	"fmt"
	"strings"

	"github.com/go-sql-driver/mysql"
	"github.com/hashicorp/raft"
)

// maxFastScript bounds the text of one fast batch; larger batches take the
// per-statement path (and stay under any max_allowed_packet >= 4 MiB).
const maxFastScript = 4 << 20

// applyFast applies a MySQL batch of DML entries in one round trip:
//
//	START TRANSACTION; SET <ctx 1>; <entry 1>; SET <ctx 2>; <entry 2>; …;
//	UPDATE oneha_applied …; COMMIT
//
// It returns done=true when the batch is applied (or nothing was left to
// apply), or the transient fault that stopped it (nothing committed). It
// returns done=false with nil error when the batch needs the per-entry path:
// a DDL or undecodable entry, an oversized batch, or a deterministic SQL
// error, after which the transaction has been rolled back (a failed rollback
// is a transient fault).
func (f *FSM) applyFast(ctx context.Context, logs []*raft.Log, resps []any) (bool, error) {
	type item struct{ resp, first, n int }
	var (
		script     strings.Builder
		count      int
		items      []item
		last, term uint64
		maxTime    int64
	)
	sep := func() {
		if count > 0 {
			script.WriteString(";\n")
		}
		count++
	}
	add := func(s string) {
		sep()
		script.WriteString(s)
	}
	size := 256
	for _, l := range logs {
		size += len(l.Data) + 128
	}
	script.Grow(min(size, maxFastScript))
	var bind [112]byte
	add("START TRANSACTION")
	for i, l := range logs {
		if l.Index <= f.applied.Index {
			continue
		}
		if l.Type == raft.LogCommand {
			e, err := Decode(l.Data)
			if err != nil || e.DDL || e.Request != nil || e.Fed != nil {
				return false, nil // request ids: the per-entry path looks them up
			}
			sep()
			script.Write(appendMySQLBind(bind[:0], e.Context))
			it := item{resp: i, first: count, n: len(e.Statements)}
			for j, st := range e.Statements {
				q, _, err := f.b.prepare(st, e.Context, j)
				if err != nil {
					return false, nil
				}
				add(q)
			}
			items = append(items, it)
			maxTime = max(maxTime, e.Context.Time.UnixMicro())
		}
		last, term = l.Index, l.Term
	}
	if last == 0 {
		return true, nil
	}
	add(fmt.Sprintf("UPDATE %s SET applied_index = %d, applied_term = %d, ddl_index = 0, ddl_fingerprint = '' WHERE id = 1", AppliedTable, last, term))
	// The index only grows, so the UPDATE changes one row unless the row is
	// gone; then this fails (error 1242, subquery returns 2 rows) before
	// COMMIT and the per-entry path reports ErrAppliedMissing, with nothing
	// committed. (DO would swallow the error; SET does not.)
	add("SET @oneha_applied_row = (SELECT 1 UNION ALL SELECT 1 FROM DUAL WHERE ROW_COUNT() = 0)")
	commitInScript := f.cfg.Faults == nil
	if commitInScript {
		add("COMMIT")
	}
	if script.Len() > maxFastScript {
		return false, nil
	}
	res, err := f.rawExec(ctx, script.String())
	if err == nil && !commitInScript {
		if err = f.cfg.Faults.at(PointBeforeCommit, last); err == nil {
			_, err = f.rawExec(ctx, "COMMIT")
		}
	}
	if err != nil {
		if _, rbErr := f.rawExec(ctx, "ROLLBACK"); rbErr != nil {
			// The connection is gone (resetConn): a transient fault, retried
			// on a fresh one, whatever err was. Both are wrapped so an
			// injected ErrCrash still halts the FSM.
			f.resetConn()
			return true, fmt.Errorf("fast batch rollback: %w (after %w)", rbErr, err)
		}
		if f.b.classify(err) == deterministic {
			return false, nil
		}
		return true, fmt.Errorf("fast batch %d..%d: %w", logs[0].Index, last, err)
	}
	rows, ids := res.AllRowsAffected(), res.AllLastInsertIds()
	for _, it := range items {
		r := &Result{Statements: make([]StmtResult, it.n)}
		for j := 0; j < it.n; j++ {
			if k := it.first + j; k < len(rows) && k < len(ids) {
				r.Statements[j] = StmtResult{RowsAffected: rows[k], LastInsertID: ids[k]}
			}
		}
		resps[it.resp] = r
	}
	f.setApplied(appliedState{Index: last, Term: term})
	f.noteTime(maxTime)
	return true, nil
}

// rawExec runs a multi-statement text on the apply connection and returns
// the driver's per-statement results.
func (f *FSM) rawExec(ctx context.Context, q string) (mysql.Result, error) {
	var out mysql.Result
	err := f.conn.Raw(func(dc any) error {
		ex, ok := dc.(driver.ExecerContext)
		if !ok {
			return fmt.Errorf("apply connection %T cannot Exec", dc)
		}
		res, err := ex.ExecContext(ctx, q, nil)
		if err != nil {
			return err
		}
		if out, ok = res.(mysql.Result); !ok {
			return fmt.Errorf("driver result %T lacks per-statement results", res)
		}
		return nil
	})
	return out, err
}
