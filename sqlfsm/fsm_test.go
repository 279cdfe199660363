package sqlfsm_test

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hashicorp/raft"

	"github.com/oneha/oneha/internal/harness"
	"github.com/oneha/oneha/sqlcheck"
	"github.com/oneha/oneha/sqlfsm"
)

func TestMain(m *testing.M) { harness.Main(m) }

var t0 = time.Date(2026, 11, 25, 10, 0, 0, 123456000, time.UTC)

// logBuilder hands out consecutive raft log entries, as a leader would.
type logBuilder struct {
	t    testing.TB
	next uint64
	term uint64
}

func newLogs(t testing.TB) *logBuilder { return &logBuilder{t: t, next: 1, term: 1} }

func (b *logBuilder) entry(ddl bool, stmts ...sqlfsm.Statement) *raft.Log {
	b.t.Helper()
	data, err := sqlfsm.Encode(&sqlfsm.Entry{
		Context:    sqlfsm.Context{Time: t0.Add(time.Duration(b.next) * time.Millisecond), Seed1: uint32(b.next), Seed2: 99},
		DDL:        ddl,
		Statements: stmts,
	})
	if err != nil {
		b.t.Fatal(err)
	}
	l := &raft.Log{Index: b.next, Term: b.term, Type: raft.LogCommand, Data: data}
	b.next++
	return l
}

func (b *logBuilder) sql(q string, params ...any) *raft.Log {
	return b.entry(false, sqlfsm.Statement{SQL: q, Params: params})
}

func (b *logBuilder) ddl(q string) *raft.Log { return b.entry(true, sqlfsm.Statement{SQL: q}) }

func newFSM(t testing.TB, l harness.Local, faults *sqlfsm.Faults) *sqlfsm.FSM {
	t.Helper()
	f, err := sqlfsm.New(harness.Ctx(t, 30*time.Second), sqlfsm.Config{Dialect: l.Dialect, DB: l.DB, ApplyDB: l.ApplyDB, Faults: faults, RetryMin: 5 * time.Millisecond, RetryMax: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

func counter(t testing.TB, db *sql.DB) int64 {
	t.Helper()
	var n int64
	if err := db.QueryRow("SELECT n FROM counter WHERE id = 1").Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func results(t testing.TB, resps []any) []*sqlfsm.Result {
	t.Helper()
	out := make([]*sqlfsm.Result, len(resps))
	for i, r := range resps {
		switch x := r.(type) {
		case *sqlfsm.Result:
			out[i] = x
		case nil:
		default:
			t.Fatalf("response %d: %v", i, r)
		}
	}
	return out
}

// setupCounter applies the schema and returns the builder positioned after it.
func setupCounter(t testing.TB, f *sqlfsm.FSM) *logBuilder {
	b := newLogs(t)
	resps := f.ApplyBatch([]*raft.Log{
		b.ddl("CREATE TABLE counter (id INTEGER PRIMARY KEY, n BIGINT NOT NULL)"),
	})
	resps = append(resps, f.ApplyBatch([]*raft.Log{b.sql("INSERT INTO counter (id, n) VALUES (1, 0)")})...)
	for i, r := range results(t, resps) {
		if r == nil || r.Err != nil {
			t.Fatalf("setup entry %d: %+v", i, r)
		}
	}
	return b
}

func incs(b *logBuilder, n int) []*raft.Log {
	out := make([]*raft.Log, n)
	for i := range out {
		out[i] = b.sql("UPDATE counter SET n = n + 1 WHERE id = 1")
	}
	return out
}

func TestApplyExactlyOnce(t *testing.T) {
	for _, be := range harness.Backends {
		t.Run(be.Name, func(t *testing.T) {
			local := harness.OpenLocal(t, be.Dialect, nil, be.Fast)
			db := local.DB
			f := newFSM(t, local, nil)
			b := setupCounter(t, f)
			first, second := incs(b, 4), incs(b, 6)
			f.ApplyBatch(first)
			f.ApplyBatch(second)
			if got := counter(t, db); got != 10 {
				t.Fatalf("counter = %d after 10 increments", got)
			}
			// Raft replays after a restart: nothing may apply twice.
			for i, r := range f.ApplyBatch(append(first, second...)) {
				if r != nil {
					t.Fatalf("replayed entry %d answered %v, want skip", i, r)
				}
			}
			f.Close()
			f2 := newFSM(t, local, nil)
			if got, want := f2.AppliedIndex(), b.next-1; got != want {
				t.Fatalf("AppliedIndex after reopen = %d, want %d", got, want)
			}
			f2.ApplyBatch(append(first, second...))
			if got := counter(t, db); got != 10 {
				t.Fatalf("counter = %d after replay on reopen, want 10", got)
			}
		})
	}
}

func TestDeterministicErrorRollsBackEntryAlone(t *testing.T) {
	for _, be := range harness.Backends {
		t.Run(be.Name, func(t *testing.T) {
			local := harness.OpenLocal(t, be.Dialect, nil, be.Fast)
			db := local.DB
			f := newFSM(t, local, nil)
			b := setupCounter(t, f)
			batch := []*raft.Log{
				b.sql("UPDATE counter SET n = n + 1 WHERE id = 1"),
				b.entry(false,
					sqlfsm.Statement{SQL: "UPDATE counter SET n = n + 100 WHERE id = 1"},
					sqlfsm.Statement{SQL: "INSERT INTO counter (id, n) VALUES (1, 5)"}), // duplicate key
				b.sql("INSERT INTO no_such_table VALUES (1)"),
				b.sql("UPDATE counter SET n = n + 1 WHERE id = 1"),
			}
			res := results(t, f.ApplyBatch(batch))
			if got := counter(t, db); got != 2 {
				t.Fatalf("counter = %d, want 2: the failing entry must roll back alone", got)
			}
			for _, i := range []int{1, 2} {
				var se *sqlfsm.SQLError
				if res[i] == nil || !errors.As(res[i].Err, &se) || !errors.Is(res[i].Err, sqlfsm.ErrSQL) {
					t.Fatalf("entry %d result %+v, want *SQLError", i, res[i])
				}
			}
			if res[0].Err != nil || res[3].Err != nil || res[3].Statements[0].RowsAffected != 1 {
				t.Fatalf("healthy entries: %+v %+v", res[0], res[3])
			}
			if got, want := f.AppliedIndex(), batch[3].Index; got != want {
				t.Fatalf("AppliedIndex = %d, want %d (failed entries count as applied)", got, want)
			}
		})
	}
}

// TestStatementCounters: a DDL reports no rows and no id (SQLite would
// otherwise repeat the previous statement's), and on MySQL the per-entry and
// fast paths report the same LAST_INSERT_ID(expr).
func TestStatementCounters(t *testing.T) {
	for _, be := range harness.Backends {
		t.Run(be.Name, func(t *testing.T) {
			f := newFSM(t, harness.OpenLocal(t, be.Dialect, nil, be.Fast), nil)
			b := setupCounter(t, f) // ends with an INSERT: ROWS_AFFECTED 1
			want := []sqlfsm.StmtResult{{}}
			batches := [][]*raft.Log{{b.ddl("CREATE TABLE other (id INT)")}}
			if be.Dialect == sqlcheck.MySQL {
				want = append(want, sqlfsm.StmtResult{RowsAffected: 1, LastInsertID: 2})
				batches = append(batches, []*raft.Log{b.sql("UPDATE counter SET id = LAST_INSERT_ID(id + 1)")})
			}
			for i, batch := range batches {
				r := results(t, f.ApplyBatch(batch))[0]
				if r == nil || r.Err != nil || len(r.Statements) != 1 || r.Statements[0] != want[i] {
					t.Fatalf("batch %d: %+v, want %+v", i, r, want[i])
				}
			}
		})
	}
}

func TestTransientFaultRetriesWithoutSkipping(t *testing.T) {
	for _, be := range harness.Backends {
		t.Run(be.Name, func(t *testing.T) {
			local := harness.OpenLocal(t, be.Dialect, nil, be.Fast)
			db := local.DB
			var calls atomic.Int32
			var sawDegraded atomic.Bool
			var f *sqlfsm.FSM
			faults := &sqlfsm.Faults{Hook: func(p sqlfsm.FaultPoint, _ uint64) error {
				if p != sqlfsm.PointBeforeCommit || calls.Load() < 0 {
					return nil
				}
				n := calls.Add(1)
				if n > 1 && f.Degraded() != nil {
					sawDegraded.Store(true)
				}
				if n <= 3 {
					return errors.New("disk full (injected)")
				}
				return nil
			}}
			calls.Store(-1000) // setup passes untouched
			f = newFSM(t, local, faults)
			b := setupCounter(t, f)
			calls.Store(0)
			res := results(t, f.ApplyBatch(incs(b, 5)))
			if got := counter(t, db); got != 5 {
				t.Fatalf("counter = %d, want 5", got)
			}
			if calls.Load() != 4 || !sawDegraded.Load() || f.Degraded() != nil {
				t.Fatalf("commit attempts %d, saw degraded %v, degraded now %v", calls.Load(), sawDegraded.Load(), f.Degraded())
			}
			for i, r := range res {
				if r == nil || r.Err != nil {
					t.Fatalf("entry %d: %+v", i, r)
				}
			}
		})
	}
}

// TestMariaDBKilledMidBatch kills the server's database under the FSM: the
// batch stalls (degraded), resumes when mariadbd is back, and applies once.
func TestMariaDBKilledMidBatch(t *testing.T) {
	m := harness.StartMariaDB(t)
	local := harness.OpenLocal(t, sqlcheck.MySQL, m, true)
	db := local.DB
	f := newFSM(t, local, nil)
	b := setupCounter(t, f)
	f.ApplyBatch(incs(b, 3))
	m.Kill(t)
	done := make(chan []any)
	go func() { done <- f.ApplyBatch(incs(b, 7)) }()
	deadline := time.Now().Add(20 * time.Second)
	for f.Degraded() == nil {
		if time.Now().After(deadline) {
			t.Fatal("FSM never reported degraded with its database down")
		}
		time.Sleep(10 * time.Millisecond)
	}
	select {
	case <-done:
		t.Fatal("batch returned while the database was down")
	default:
	}
	m.Start(t)
	select {
	case resps := <-done:
		for i, r := range results(t, resps) {
			if r == nil || r.Err != nil {
				t.Fatalf("entry %d: %+v", i, r)
			}
		}
	case <-time.After(60 * time.Second):
		t.Fatal("batch did not finish after mariadbd restarted")
	}
	if got := counter(t, db); got != 10 {
		t.Fatalf("counter = %d, want 10", got)
	}
	if f.Degraded() != nil {
		t.Fatalf("still degraded: %v", f.Degraded())
	}
}

func TestCrashBeforeCommitReplaysOnce(t *testing.T) {
	for _, be := range harness.Backends {
		t.Run(be.Name, func(t *testing.T) {
			local := harness.OpenLocal(t, be.Dialect, nil, be.Fast)
			db := local.DB
			var crashAt atomic.Uint64
			faults := &sqlfsm.Faults{Hook: func(p sqlfsm.FaultPoint, idx uint64) error {
				if p == sqlfsm.PointBeforeCommit && idx == crashAt.Load() {
					return sqlfsm.ErrCrash
				}
				return nil
			}}
			f := newFSM(t, local, faults)
			b := setupCounter(t, f)
			f.ApplyBatch(incs(b, 2))
			before := f.AppliedIndex()
			batch := incs(b, 5)
			crashAt.Store(batch[4].Index)
			for i, r := range f.ApplyBatch(batch) {
				if !errors.Is(asErr(r), sqlfsm.ErrClosed) {
					t.Fatalf("entry %d of crashed batch answered %v, want ErrClosed", i, r)
				}
			}
			f.Close()
			crashAt.Store(0)
			f2 := newFSM(t, local, faults)
			if f2.AppliedIndex() != before || counter(t, db) != 2 {
				t.Fatalf("after crash: index %d (want %d), counter %d (want 2)", f2.AppliedIndex(), before, counter(t, db))
			}
			f2.ApplyBatch(batch)
			if got := counter(t, db); got != 7 {
				t.Fatalf("counter = %d after replay, want 7", got)
			}
		})
	}
}

func asErr(v any) error {
	err, _ := v.(error)
	return err
}

// TestDDLCrashWindow crashes a MySQL DDL entry exactly between the DDL (which
// commits implicitly) and the applied-index update, and just before the DDL:
// on replay the DDL must run exactly once. A repeated ALTER ... ADD COLUMN
// would fail with "duplicate column"; a lost one leaves no column.
func TestDDLCrashWindow(t *testing.T) {
	for _, point := range []sqlfsm.FaultPoint{sqlfsm.PointBeforeDDL, sqlfsm.PointAfterDDL} {
		t.Run(string(point), func(t *testing.T) {
			local := harness.OpenLocal(t, sqlcheck.MySQL, nil, true)
			db := local.DB
			var crashAt atomic.Uint64
			var ddlRuns atomic.Int32
			faults := &sqlfsm.Faults{Hook: func(p sqlfsm.FaultPoint, idx uint64) error {
				if p == sqlfsm.PointAfterDDL && idx == crashAt.Load() {
					ddlRuns.Add(1)
				}
				if p == point && idx == crashAt.Load() && crashAt.Load() != 0 {
					return sqlfsm.ErrCrash
				}
				return nil
			}}
			f := newFSM(t, local, faults)
			b := setupCounter(t, f)
			alter := b.ddl("ALTER TABLE counter ADD COLUMN extra INT NOT NULL DEFAULT 7")
			after := b.sql("UPDATE counter SET n = extra WHERE id = 1")
			crashAt.Store(alter.Index)
			f.ApplyBatch([]*raft.Log{alter, after})
			f.Close()

			faults.Hook = func(p sqlfsm.FaultPoint, idx uint64) error {
				if p == sqlfsm.PointAfterDDL && idx == alter.Index {
					ddlRuns.Add(1)
				}
				return nil
			}
			f2 := newFSM(t, local, faults)
			if f2.AppliedIndex() >= alter.Index {
				t.Fatalf("applied index %d covers the crashed DDL %d", f2.AppliedIndex(), alter.Index)
			}
			res := results(t, f2.ApplyBatch([]*raft.Log{alter, after}))
			if res[0] == nil || res[0].Err != nil {
				t.Fatalf("replayed DDL result %+v (a repeat would fail with duplicate column)", res[0])
			}
			if got := counter(t, db); got != 7 {
				t.Fatalf("n = %d, want 7 (the column must exist once)", got)
			}
			// Crash after the DDL: it ran once and the replay only records it.
			// Crash before: it never ran and the replay runs it once.
			if got := ddlRuns.Load(); got != 1 {
				t.Fatalf("DDL executed %d times, want exactly 1", got)
			}
			if f2.AppliedIndex() != after.Index {
				t.Fatalf("AppliedIndex = %d, want %d", f2.AppliedIndex(), after.Index)
			}
		})
	}
}

// TestDeterministicFunctions applies the same entry on two servers at
// different wall-clock times: clock and random functions agree, and equal the
// leader's bound time.
func TestDeterministicFunctions(t *testing.T) {
	cases := map[sqlcheck.Dialect][]string{
		sqlcheck.MySQL: {
			"CREATE TABLE r (id INT PRIMARY KEY, t DATETIME(6), u BIGINT, x DOUBLE, d DATETIME(6) DEFAULT CURRENT_TIMESTAMP(6))",
			"INSERT INTO r (id, t, u, x) VALUES (1, NOW(6), UNIX_TIMESTAMP(), RAND())",
			"SELECT CAST(t AS CHAR), u, x, CAST(d AS CHAR) FROM r",
			"2026-11-25 10:00:00.",
		},
		sqlcheck.SQLite: {
			"CREATE TABLE r (id INTEGER PRIMARY KEY, t TEXT, u INTEGER, x INTEGER, d TEXT)",
			"INSERT INTO r (id, t, u, x, d) VALUES (1, datetime('now'), unixepoch('now'), random(), CURRENT_TIMESTAMP)",
			"SELECT t, u, x, d FROM r",
			"2026-11-25 10:00:00",
		},
	}
	for _, be := range harness.Backends {
		t.Run(be.Name, func(t *testing.T) {
			c := cases[be.Dialect]
			var got []string
			for i := 0; i < 2; i++ {
				local := harness.OpenLocal(t, be.Dialect, nil, be.Fast)
				db := local.DB
				f := newFSM(t, local, nil)
				b := newLogs(t)
				for _, r := range results(t, f.ApplyBatch([]*raft.Log{b.ddl(c[0]), b.sql(c[1])})) {
					if r == nil || r.Err != nil {
						t.Fatalf("apply: %+v", r)
					}
				}
				var a, bb, x, dd string
				if err := db.QueryRow(c[2]).Scan(&a, &bb, &x, &dd); err != nil {
					t.Fatal(err)
				}
				got = append(got, fmt.Sprintf("%s|%s|%s|%s", a, bb, x, dd))
				if len(a) < len(c[3]) || a[:len(c[3])] != c[3] {
					t.Fatalf("time %q is not the entry's bound time %s…", a, c[3])
				}
				time.Sleep(1100 * time.Millisecond) // the wall clock moves on between "servers"
			}
			if got[0] != got[1] {
				t.Fatalf("servers differ:\n%s\n%s", got[0], got[1])
			}
		})
	}
}

// memSink is a raft.SnapshotSink in memory.
type memSink struct{ bytes.Buffer }

func (*memSink) ID() string              { return "mem" }
func (*memSink) Cancel() error           { return nil }
func (*memSink) Close() error            { return nil }
func (s *memSink) reader() io.ReadCloser { return io.NopCloser(bytes.NewReader(s.Bytes())) }

func TestSnapshotRestore(t *testing.T) {
	for _, be := range harness.Backends {
		t.Run(be.Name, func(t *testing.T) {
			d := be.Dialect
			la, lb := harness.OpenLocal(t, d, nil, be.Fast), harness.OpenLocal(t, d, nil, be.Fast)
			dbA, dbB := la.DB, lb.DB
			a := newFSM(t, la, nil)
			bl := setupCounter(t, a)
			a.ApplyBatch(incs(bl, 5))
			a.ApplyBatch([]*raft.Log{bl.sql("CREATE TABLE blobs (id INT PRIMARY KEY, v BLOB)")})
			a.ApplyBatch([]*raft.Log{bl.sql("INSERT INTO blobs VALUES (?, ?)", int64(1), []byte{0, 1, 2, 255})})
			wantIndex, wantSum := a.AppliedIndex(), harness.Checksum(t, dbA, d)
			snap, err := a.Snapshot()
			if err != nil {
				t.Fatal(err)
			}
			// Writes go on after the view opened; they are not in the snapshot.
			a.ApplyBatch(incs(bl, 3))
			var sink memSink
			if err := snap.Persist(&sink); err != nil {
				t.Fatal(err)
			}
			snap.Release()
			if idx, err := a.SnapshotAppliedIndex(bytes.NewReader(sink.Bytes())); err != nil || idx != wantIndex {
				t.Fatalf("SnapshotAppliedIndex = %d, %v; want %d", idx, err, wantIndex)
			}
			b := newFSM(t, lb, nil)
			setupCounter(t, b) // stale content that the restore must replace
			if err := b.Restore(sink.reader()); err != nil {
				t.Fatal(err)
			}
			if b.AppliedIndex() != wantIndex {
				t.Fatalf("restored AppliedIndex = %d, want %d", b.AppliedIndex(), wantIndex)
			}
			if got := harness.Checksum(t, dbB, d); got != wantSum {
				t.Fatal("restored database differs from the snapshot's view")
			}
			// The restored server continues from the log where the snapshot ends.
			b.ApplyBatch(incs(&logBuilder{t: t, next: wantIndex + 1, term: 1}, 3))
			if counter(t, dbB) != 8 || counter(t, dbA) != 8 {
				t.Fatalf("after catching up: A=%d B=%d, want 8", counter(t, dbA), counter(t, dbB))
			}
		})
	}
}

// countingLog is a Consensus that must never be reached.
type countingLog struct{ applies atomic.Int32 }

func (c *countingLog) Apply(context.Context, []byte) (any, error) {
	c.applies.Add(1)
	return nil, errors.New("unexpected")
}
func (c *countingLog) LeaseRead(context.Context) error { return nil }
func (c *countingLog) ReadIndex(context.Context) error { return nil }

func TestExecRefusesUnsafeBeforeAppending(t *testing.T) {
	for _, be := range harness.Backends {
		t.Run(be.Name, func(t *testing.T) {
			f := newFSM(t, harness.OpenLocal(t, be.Dialect, nil, be.Fast), nil)
			var log countingLog
			db := sqlfsm.NewDB(f, &log)
			for _, q := range []string{"INSERT INTO t VALUES (UUID())", "DELETE FROM t LIMIT 1", "BEGIN", "INSERT INTO t VALUES (@@hostname)"} {
				_, err := db.Exec(context.Background(), []sqlfsm.Statement{{SQL: q}})
				if !errors.Is(err, sqlfsm.ErrUnsafe) {
					t.Errorf("%s: err = %v, want ErrUnsafe", q, err)
				}
			}
			if _, err := db.Exec(context.Background(), []sqlfsm.Statement{{SQL: "CREATE TABLE a (id INT)"}, {SQL: "INSERT INTO a VALUES (1)"}}); err == nil {
				t.Error("DDL mixed with DML in one entry was accepted")
			}
			if n := log.applies.Load(); n != 0 {
				t.Fatalf("%d refused entries reached the log", n)
			}
		})
	}
}
