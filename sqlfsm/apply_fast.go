package sqlfsm

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
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
	last, term uint64 // the batch's last entry: the applied index it writes
	maxTime    int64  // Unix micros of the newest entry's context
}

// fastItem: the entry at logs[resp] is statements first..first+n-1 of the
// script (counted from 0); savepoint says a SAVEPOINT precedes it (entries
// of more than one statement).
type fastItem struct {
	resp, first, n int
	savepoint      bool
}

// fastScript builds the text that applies logs[from:] (those past the
// applied index) in one round trip:
//
//	[START TRANSACTION;] [SAVEPOINT oneha_entry;] SET <ctx 1>; <entry 1>;
//	…; UPDATE oneha_applied …; SET @oneha_applied_row = …[; COMMIT]
//
// Without begin it continues the open transaction (after a failed entry,
// see applyFast). The UPDATE writes the index of the batch's last entry,
// even when no entry is left after from. It reports false when the batch
// needs the per-entry path: a DDL, request, federation or undecodable
// entry, an entry whose parameters do not inline, a statement that does
// not join others (a trailing ';' or comment: textCache.joinable), or an
// oversized text.
// fb.last is 0 when nothing is left to apply.
func (f *FSM) fastScript(logs []*raft.Log, from int, begin, commit bool) (fb fastBatch, ok bool) {
	var (
		script strings.Builder
		count  int
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
	for _, l := range logs[from:] {
		size += len(l.Data) + 128
	}
	script.Grow(min(size, maxFastScript))
	var bind [112]byte
	if begin {
		add("START TRANSACTION")
	}
	for i := from; i < len(logs); i++ {
		l := logs[i]
		if l.Index <= f.applied.Index {
			continue
		}
		if l.Type == raft.LogCommand {
			e, err := Decode(l.Data)
			if err != nil || e.DDL || e.Request != nil || e.Fed != nil {
				return fb, false // request ids: the per-entry path looks them up
			}
			it := fastItem{resp: i, n: len(e.Statements), savepoint: f.b.needSavepoint(len(e.Statements))}
			if it.savepoint {
				add("SAVEPOINT oneha_entry")
			}
			sep()
			script.Write(appendMySQLBind(bind[:0], e.Context))
			it.first = count // the bind is statement count-1, counted from 0
			for j, st := range e.Statements {
				if !f.texts.joinable(st.SQL) {
					return fb, false
				}
				q, _, err := f.b.prepare(st, e.Context, j)
				if err != nil {
					return fb, false
				}
				add(q)
			}
			fb.items = append(fb.items, it)
			fb.maxTime = max(fb.maxTime, e.Context.Time.UnixMicro())
		}
	}
	if n := len(logs); n > 0 && logs[n-1].Index > f.applied.Index {
		fb.last, fb.term = logs[n-1].Index, logs[n-1].Term
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
	return fb, true
}

// fill stores, in resps, the results of the entries whose statements are
// all among rows and ids (the driver's results of the script's first
// statements).
func (fb *fastBatch) fill(rows, ids []int64, resps []any) {
	for _, it := range fb.items {
		if it.first+it.n > len(rows) || it.first+it.n > len(ids) {
			return
		}
		r := &Result{Statements: make([]StmtResult, it.n)}
		for j := range it.n {
			r.Statements[j] = StmtResult{RowsAffected: rows[it.first+j], LastInsertID: ids[it.first+j]}
		}
		resps[it.resp] = r
	}
}

// applyFast applies a MySQL batch of DML entries in one round trip
// (fastScript).
//
// An entry that fails on a deterministic error does not roll the batch
// back: the entries before it stay in the transaction, it is rolled back
// alone (to its savepoint, or by the server's statement rollback), its
// error becomes its result, and the entries after it go in a new round
// trip in the same transaction. So every entry runs exactly once, as on
// the per-entry path, whatever entries shared its batch: that matters
// because a rolled-back INSERT keeps the AUTO_INCREMENT values it took,
// and servers cut their batches differently (I29,
// TestAutoIncrementIdsDoNotDependOnBatches).
//
// It returns done=true when the batch is applied (or nothing was left to
// apply), or the transient fault that stopped it (nothing committed). It
// returns done=false with nil error when the batch needs the per-entry path
// (nothing ran): a DDL or undecodable entry, an oversized batch; or when a
// statement of its own (not an entry's) failed deterministically, after
// which the transaction has been rolled back (a failed rollback is a
// transient fault).
func (f *FSM) applyFast(ctx context.Context, logs []*raft.Log, resps []any) (bool, error) {
	commitInScript := f.cfg.Faults == nil
	from, begin := 0, true
	var maxTime int64
	fail := func(err error) (bool, error) {
		if _, rbErr := rawExec(ctx, f.conn, "ROLLBACK"); rbErr != nil {
			// The connection is gone (resetConn): a transient fault, retried
			// on a fresh one, whatever err was. Both are wrapped so an
			// injected ErrCrash still halts the FSM.
			f.resetConn()
			return true, fmt.Errorf("fast batch rollback: %w (after %w)", rbErr, err)
		}
		if f.b.classify(err) == deterministic {
			return false, nil
		}
		return true, fmt.Errorf("fast batch %d..%d: %w", logs[0].Index, logs[len(logs)-1].Index, err)
	}
	for {
		fb, ok := f.fastScript(logs, from, begin, commitInScript)
		if !ok {
			if !begin { // the first script took every entry: cannot happen
				return fail(fmt.Errorf("entries after %d no longer fit one round trip", logs[from-1].Index))
			}
			return false, nil
		}
		if fb.last == 0 {
			return true, nil
		}
		maxTime = max(maxTime, fb.maxTime)
		res, err := rawExec(ctx, f.conn, fb.script)
		if err == nil && !commitInScript {
			if err = f.cfg.Faults.at(PointBeforeCommit, fb.last); err == nil {
				_, err = rawExec(ctx, f.conn, "COMMIT")
			}
		}
		if err == nil {
			fb.fill(res.AllRowsAffected(), res.AllLastInsertIds(), resps)
			f.setApplied(appliedState{Index: fb.last, Term: fb.term})
			f.noteTime(maxTime)
			return true, nil
		}
		var me *mysql.MySQLError
		if !errors.As(err, &me) || f.b.classify(err) != deterministic {
			return fail(err)
		}
		rows, ids, ok := partialResults(f.conn)
		failed, fs := -1, len(rows)-1 // the item whose statement fs failed
		if ok && fs >= 0 {
			for i, it := range fb.items {
				if it.first <= fs && fs < it.first+it.n {
					failed = i
				}
			}
		}
		if failed < 0 {
			return fail(err) // not an entry's statement (the applied row's check)
		}
		it := fb.items[failed]
		if it.savepoint {
			if _, err := rawExec(ctx, f.conn, "ROLLBACK TO SAVEPOINT oneha_entry"); err != nil {
				return fail(err)
			}
		}
		fb.fill(rows[:fs], ids[:fs], resps)
		code, msg := sqlErrorCode(err)
		// A syntax error's message is the statement's own (MariaDB parses
		// and quotes each statement of a text alone): the same as entry by
		// entry (TestFastPathAnswersAsTheEntryByEntryPath).
		resps[it.resp] = &Result{Err: &SQLError{Code: code, Message: msg, Statement: fs - it.first}}
		from, begin = it.resp+1, false
	}
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
