package sqlfsm

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"fmt"
	"strings"

	"github.com/go-sql-driver/mysql"
	"github.com/hashicorp/raft"
)

// maxFastScript bounds the text of one fast batch; larger batches take the
// per-statement path (and stay under any max_allowed_packet >= 4 MiB).
const maxFastScript = 4 << 20

// fastBatch is the one-round-trip text of a MySQL batch (fastScript) and
// where each entry's results are in the driver's per-statement results.
type fastBatch struct {
	script     string
	items      []fastItem
	last, term uint64 // the last entry the script applies
	maxTime    int64  // Unix micros of the newest entry's context
	autoInc    string // the token of its auto-increment capture; "" without one
}

// fastItem: the entry at resps[resp] ran statements first..first+n-1.
type fastItem struct{ resp, first, n int }

// fastScript builds the text that applies logs (those past the applied
// index) in one transaction:
//
//	START TRANSACTION[; SET @oneha_autoinc = …]; SET <ctx 1>; <entry 1>;
//	SET <ctx 2>; <entry 2>; …; UPDATE oneha_applied …;
//	SET @oneha_applied_row = …[; COMMIT]
//
// The capture of the auto-increment counters is there when an entry may
// take values (autoinc.go; f.autoInc must be loaded). It reports false
// when the batch needs the per-entry path: a DDL, request, federation or
// undecodable entry, an entry whose parameters do not inline, an entry
// that may take auto-increment values on a server other than MariaDB
// (whose information_schema may show cached counters), or an oversized
// text. fb.last is 0 when nothing is left to apply.
func (f *FSM) fastScript(logs []*raft.Log, commit bool) (fb fastBatch, ok bool) {
	var (
		script  strings.Builder
		count   int
		capture bool // an entry may take auto-increment values
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
				return fb, false // request ids: the per-entry path looks them up
			}
			if !capture && f.takesAutoInc(e) {
				if !strings.Contains(f.Settings()["version"], "MariaDB") {
					return fb, false
				}
				capture = true
			}
			sep()
			script.Write(appendMySQLBind(bind[:0], e.Context))
			it := fastItem{resp: i, first: count, n: len(e.Statements)}
			for j, st := range e.Statements {
				q, _, err := f.b.prepare(st, e.Context, j)
				if err != nil {
					return fb, false
				}
				add(q)
			}
			fb.items = append(fb.items, it)
			fb.maxTime = max(fb.maxTime, e.Context.Time.UnixMicro())
		}
		fb.last, fb.term = l.Index, l.Term
	}
	if fb.last == 0 {
		return fb, true
	}
	add(fmt.Sprintf("UPDATE %s SET applied_index = %d, applied_term = %d, ddl_index = 0, ddl_fingerprint = '' WHERE id = 1", AppliedTable, fb.last, fb.term))
	// The index only grows, so the UPDATE changes one row unless the row is
	// gone; then this fails (error 1242, subquery returns 2 rows) before
	// COMMIT and the per-entry path reports ErrAppliedMissing, with nothing
	// committed. (DO would swallow the error; SET does not.)
	add("SET @oneha_applied_row = (SELECT 1 UNION ALL SELECT 1 FROM DUAL WHERE ROW_COUNT() = 0)")
	if commit {
		add("COMMIT")
	}
	if script.Len() > maxFastScript {
		return fb, false
	}
	fb.script = script.String()
	if capture {
		// The capture goes right after START TRANSACTION, before any
		// entry: every entry's statements move one place on.
		f.autoIncSeq++
		fb.autoInc = fmt.Sprintf("%d.%d", fb.last, f.autoIncSeq)
		begin := "START TRANSACTION;\n"
		fb.script = begin + f.autoIncCapture(fb.autoInc) + ";\n" + strings.TrimPrefix(fb.script, begin)
		for i := range fb.items {
			fb.items[i].first++
		}
	}
	return fb, true
}

// fill stores each entry's results, from the driver's results of the
// script, in resps.
func (fb *fastBatch) fill(res mysql.Result, resps []any) {
	rows, ids := res.AllRowsAffected(), res.AllLastInsertIds()
	for _, it := range fb.items {
		r := &Result{Statements: make([]StmtResult, it.n)}
		for j := 0; j < it.n; j++ {
			if k := it.first + j; k < len(rows) && k < len(ids) {
				r.Statements[j] = StmtResult{RowsAffected: rows[k], LastInsertID: ids[k]}
			}
		}
		resps[it.resp] = r
	}
}

// applyFast applies a MySQL batch of DML entries in one round trip
// (fastScript).
//
// It returns done=true when the batch is applied (or nothing was left to
// apply), or the transient fault that stopped it (nothing committed). It
// returns done=false with nil error when the batch needs the per-entry path:
// a DDL or undecodable entry, an oversized batch, or a deterministic SQL
// error, after which the transaction has been rolled back (a failed rollback
// is a transient fault).
func (f *FSM) applyFast(ctx context.Context, logs []*raft.Log, resps []any) (bool, error) {
	if !f.autoInc.loaded {
		if err := f.loadAutoInc(ctx, f.conn); err != nil {
			return true, err
		}
	}
	commitInScript := f.cfg.Faults == nil
	fb, ok := f.fastScript(logs, commitInScript)
	if !ok {
		return false, nil
	}
	if fb.last == 0 {
		return true, nil
	}
	res, err := rawExec(ctx, f.conn, fb.script)
	if err == nil && !commitInScript {
		if err = f.cfg.Faults.at(PointBeforeCommit, fb.last); err == nil {
			_, err = rawExec(ctx, f.conn, "COMMIT")
		}
	}
	if err != nil {
		if _, rbErr := rawExec(ctx, f.conn, "ROLLBACK"); rbErr != nil {
			// The connection is gone (resetConn): a transient fault, retried
			// on a fresh one, whatever err was. Both are wrapped so an
			// injected ErrCrash still halts the FSM. (The auto-increment
			// capture went with the connection: see autoinc.go.)
			f.resetConn()
			return true, fmt.Errorf("fast batch rollback: %w (after %w)", rbErr, err)
		}
		if fb.autoInc != "" {
			// The batch runs again: first, the counters go back to where
			// it found them.
			counters, rerr := readAutoIncCapture(ctx, f.conn, fb.autoInc)
			if rerr != nil {
				return true, fmt.Errorf("%w (after %w)", rerr, err)
			}
			f.autoIncPending = counters
		}
		if f.b.classify(err) == deterministic {
			if rerr := f.restoreAutoInc(ctx); rerr != nil {
				return true, rerr
			}
			return false, nil
		}
		return true, fmt.Errorf("fast batch %d..%d: %w", logs[0].Index, fb.last, err)
	}
	fb.fill(res, resps)
	f.setApplied(appliedState{Index: fb.last, Term: fb.term})
	f.noteTime(fb.maxTime)
	return true, nil
}

// rawExec runs a multi-statement text on conn and returns the driver's
// per-statement results.
func rawExec(ctx context.Context, conn *sql.Conn, q string) (mysql.Result, error) {
	var out mysql.Result
	err := conn.Raw(func(dc any) error {
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
