package sqlfsm_test

import (
	"errors"
	"testing"
	"time"

	"github.com/hashicorp/raft"

	"github.com/oneha/oneha/internal/harness"
	"github.com/oneha/oneha/sqlfsm"
)

// req builds the next entry carrying request id (scope, id), at time at
// (zero: the builder's clock).
func (b *logBuilder) req(scope, id string, at time.Time, keep uint64, ddl bool, stmts ...sqlfsm.Statement) *raft.Log {
	b.t.Helper()
	if at.IsZero() {
		at = t0.Add(time.Duration(b.next) * time.Millisecond)
	}
	if keep == 0 {
		keep = sqlfsm.DefaultRequestKeep
	}
	data, err := sqlfsm.Encode(&sqlfsm.Entry{
		Context:    sqlfsm.Context{Time: at, Seed1: uint32(b.next)},
		DDL:        ddl,
		Statements: stmts,
		Request:    &sqlfsm.Request{Scope: scope, ID: id, Window: 60, Keep: keep},
	})
	if err != nil {
		b.t.Fatal(err)
	}
	l := &raft.Log{Index: b.next, Term: b.term, Type: raft.LogCommand, Data: data}
	b.next++
	return l
}

var incStmt = sqlfsm.Statement{SQL: "UPDATE counter SET n = n + 1 WHERE id = 1"}

func requestRows(t testing.TB, f *sqlfsm.FSM) int {
	t.Helper()
	var n int
	if err := f.DB().QueryRow("SELECT COUNT(*) FROM " + sqlfsm.RequestTable).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestRequestAppliesOnce: entries carrying the same request id apply once,
// also when both are in one batch (a retry appended while the first was in
// flight) and after a restart; the retries answer the first result and
// apply nothing; another scope with the same id is independent; the same
// id with other statements is refused and applies nothing; a first attempt
// that failed with an SQL error is replayed as that error even once the
// statement would succeed. Two servers applying the same log end with the
// same database, the request table included.
func TestRequestAppliesOnce(t *testing.T) {
	for _, be := range harness.Backends {
		t.Run(be.Name, func(t *testing.T) {
			la, lb := harness.OpenLocal(t, be.Dialect, nil, be.Fast), harness.OpenLocal(t, be.Dialect, nil, be.Fast)
			f, g := newFSM(t, la, nil), newFSM(t, lb, nil)
			b := setupCounter(t, f)
			setupCounter(t, g)
			var log []*raft.Log
			apply := func(ls ...*raft.Log) []*sqlfsm.Result {
				t.Helper()
				log = append(log, ls...)
				return results(t, f.ApplyBatch(ls))
			}
			ins := sqlfsm.Statement{SQL: "INSERT INTO counter (id, n) VALUES (2, 0)"}
			r := apply(
				b.req("alice", "op-1", time.Time{}, 0, false, incStmt, incStmt),
				b.req("alice", "op-1", time.Time{}, 0, false, incStmt, incStmt), // in flight twice
			)
			if r[0].Err != nil || r[0].Replayed || len(r[0].Statements) != 2 {
				t.Fatalf("first attempt: %+v", r[0])
			}
			if !r[1].Replayed || r[1].Err != nil || len(r[1].Statements) != 2 || r[1].Statements[0] != r[0].Statements[0] {
				t.Fatalf("retry in the same batch: %+v, want the first result replayed", r[1])
			}
			if got := counter(t, la.DB); got != 2 {
				t.Fatalf("counter = %d, want 2 (the retry applied nothing)", got)
			}
			r = apply(
				b.req("alice", "op-1", time.Time{}, 0, false, incStmt, incStmt),
				b.req("bob", "op-1", time.Time{}, 0, false, incStmt),
				b.req("alice", "op-1", time.Time{}, 0, false, incStmt),
				b.req("alice", "dup", time.Time{}, 0, false, ins, ins), // fails: duplicate key
			)
			if !r[0].Replayed || r[0].Err != nil {
				t.Fatalf("retry in a later batch: %+v", r[0])
			}
			if r[1].Replayed || r[1].Err != nil {
				t.Fatalf("bob's op-1 must run on its own: %+v", r[1])
			}
			if !errors.Is(r[2].Err, sqlfsm.ErrRequestMismatch) || r[2].Replayed {
				t.Fatalf("same id, other statements: %+v, want ErrRequestMismatch", r[2])
			}
			var first *sqlfsm.SQLError
			if !errors.As(r[3].Err, &first) {
				t.Fatalf("dup: %+v, want an SQL error", r[3])
			}
			if got := counter(t, la.DB); got != 3 {
				t.Fatalf("counter = %d, want 3 (bob's increment only)", got)
			}
			// The failed request stays failed: the retry would now succeed
			// (the row 2 does not exist) but applies nothing.
			r = apply(b.req("alice", "dup", time.Time{}, 0, false, ins, ins))
			var again *sqlfsm.SQLError
			if !r[0].Replayed || !errors.As(r[0].Err, &again) || again.Code != first.Code || again.Statement != first.Statement {
				t.Fatalf("retry of a failed request: %+v, want the first error (code %d) replayed", r[0], first.Code)
			}
			var rows int
			if err := la.DB.QueryRow("SELECT COUNT(*) FROM counter").Scan(&rows); err != nil || rows != 1 {
				t.Fatalf("counter rows = %d (%v), want 1", rows, err)
			}
			// A DDL entry with an id (MySQL: applied outside the batch).
			ddl := sqlfsm.Statement{SQL: "CREATE TABLE extra (id INT PRIMARY KEY)"}
			r = apply(b.req("alice", "ddl-1", time.Time{}, 0, true, ddl))
			if r[0].Err != nil || r[0].Replayed {
				t.Fatalf("DDL with an id: %+v", r[0])
			}
			r = apply(b.req("alice", "ddl-1", time.Time{}, 0, true, ddl))
			if r[0].Err != nil || !r[0].Replayed {
				t.Fatalf("DDL retry: %+v, want replayed (CREATE would fail)", r[0])
			}
			// After a restart the ids are still known.
			f.Close()
			f = newFSM(t, la, nil)
			r = apply(b.req("alice", "op-1", time.Time{}, 0, false, incStmt, incStmt))
			if !r[0].Replayed || counter(t, la.DB) != 3 {
				t.Fatalf("retry after restart: %+v, counter %d", r[0], counter(t, la.DB))
			}
			// Another server applying the same log ends the same.
			for _, l := range log {
				g.ApplyBatch([]*raft.Log{l})
			}
			if a, c := harness.Checksum(t, la.DB, be.Dialect), harness.Checksum(t, lb.DB, be.Dialect); a != c {
				t.Fatalf("replicas differ after the same log: %s vs %s", a, c)
			}
			if n := requestRows(t, g); n != 4 {
				t.Fatalf("%d request ids kept, want 4 (alice op-1, dup, ddl-1; bob op-1)", n)
			}
		})
	}
}

// TestRequestWindow: ids are forgotten once the entry's (leader-stamped)
// time is past the window, or once Keep entries have followed; the local
// clock plays no part. A forgotten id runs again.
func TestRequestWindow(t *testing.T) {
	for _, be := range harness.Backends {
		t.Run(be.Name, func(t *testing.T) {
			local := harness.OpenLocal(t, be.Dialect, nil, be.Fast)
			f := newFSM(t, local, nil)
			b := setupCounter(t, f)
			at := t0.Add(time.Hour)
			apply := func(l *raft.Log) *sqlfsm.Result { t.Helper(); return results(t, f.ApplyBatch([]*raft.Log{l}))[0] }
			apply(b.req("u", "a", at, 0, false, incStmt))
			// 59 s later (window 60 s): still known.
			if r := apply(b.req("u", "a", at.Add(59*time.Second), 0, false, incStmt)); !r.Replayed {
				t.Fatalf("within the window: %+v, want replayed", r)
			}
			// 61 s after the first: forgotten, runs again.
			if r := apply(b.req("u", "a", at.Add(61*time.Second), 0, false, incStmt)); r.Replayed || r.Err != nil {
				t.Fatalf("past the window: %+v, want applied", r)
			}
			if got := counter(t, local.DB); got != 2 {
				t.Fatalf("counter = %d, want 2", got)
			}
			// Keep 3: an id recorded 3 entries back is gone.
			at = at.Add(2 * time.Minute)
			apply(b.req("u", "k", at, 3, false, incStmt))
			apply(b.sql("UPDATE counter SET n = n WHERE id = 1"))
			if r := apply(b.req("u", "k", at, 3, false, incStmt)); !r.Replayed {
				t.Fatalf("2 entries later with keep 3: %+v, want replayed", r)
			}
			if r := apply(b.req("u", "k", at, 3, false, incStmt)); r.Replayed {
				t.Fatalf("3 entries later with keep 3: %+v, want applied again", r)
			}
			if n := requestRows(t, f); n != 1 {
				t.Fatalf("%d ids kept, want 1 (the newest)", n)
			}
		})
	}
}
