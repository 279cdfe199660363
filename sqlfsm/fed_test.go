package sqlfsm_test

import (
	"errors"
	"testing"
	"time"

	"github.com/hashicorp/raft"

	"github.com/oneha/oneha/internal/harness"
	"github.com/oneha/oneha/sqlcheck"
	"github.com/oneha/oneha/sqlfsm"
)

// fed builds the next entry carrying fd.
func (b *logBuilder) fed(fd sqlfsm.Fed, ctx sqlfsm.Context, ddl bool, stmts ...sqlfsm.Statement) *raft.Log {
	b.t.Helper()
	if ctx.Time.IsZero() {
		ctx = sqlfsm.Context{Time: t0.Add(time.Duration(b.next) * time.Millisecond), Seed1: uint32(b.next), Seed2: 7}
	}
	data, err := sqlfsm.Encode(&sqlfsm.Entry{Context: ctx, DDL: ddl, Statements: stmts, Fed: &fd})
	if err != nil {
		b.t.Fatal(err)
	}
	l := &raft.Log{Index: b.next, Term: b.term, Type: raft.LogCommand, Data: data}
	b.next++
	return l
}

// TestFederatedRecordsReplayIdenticallyInOrderOnce is the federation
// stream's rule: on the master an entry that applies takes the next
// federation index and leaves its record (context included) in the
// federation log, in its own transaction; one that fails takes none. A
// slave that applies the records in order, each only after its
// predecessor, ends with the master's federated rows, time-dependent
// values included, although its own entries carry other contexts; a
// record delivered twice, or one after a gap, applies nothing and names
// the slave's last index. The log keeps Keep records.
func TestFederatedRecordsReplayIdenticallyInOrderOnce(t *testing.T) {
	for _, be := range harness.Backends {
		t.Run(be.Name, func(t *testing.T) {
			lm, ls := harness.OpenLocal(t, be.Dialect, nil, be.Fast), harness.OpenLocal(t, be.Dialect, nil, be.Fast)
			master, slave := newFSM(t, lm, nil), newFSM(t, ls, nil)
			mb, sb := newLogs(t), newLogs(t)
			sb.next = 40                                       // the slave's own log is elsewhere
			master.ApplyBatch([]*raft.Log{mb.sql("SELECT 1")}) // a local entry: no index

			mkUsers := sqlfsm.Statement{SQL: "CREATE TABLE user_pool (oid BIGINT NOT NULL PRIMARY KEY, name VARCHAR(64) NOT NULL, created DATETIME(6) NOT NULL)"}
			if be.Dialect == sqlcheck.SQLite {
				mkUsers.SQL = "CREATE TABLE user_pool (oid BIGINT NOT NULL PRIMARY KEY, name VARCHAR(64) NOT NULL, created TEXT NOT NULL)"
			}
			ins := func(oid int64, name string) sqlfsm.Statement {
				return sqlfsm.Statement{SQL: "INSERT INTO user_pool (oid, name, created) VALUES (?, ?, CURRENT_TIMESTAMP)", Params: []any{oid, name}}
			}
			keep := sqlfsm.Fed{Keep: 3}
			r := results(t, master.ApplyBatch([]*raft.Log{mb.fed(keep, sqlfsm.Context{}, true, mkUsers)}))
			r = append(r, results(t, master.ApplyBatch([]*raft.Log{
				mb.fed(keep, sqlfsm.Context{}, false, ins(1, "alice")),
				mb.fed(keep, sqlfsm.Context{}, false, ins(1, "dup")), // fails: takes no index
				mb.fed(keep, sqlfsm.Context{}, false, ins(2, "bob"), sqlfsm.Statement{SQL: "UPDATE user_pool SET name = 'robert' WHERE oid = 2"}),
			}))...)
			for i, want := range []uint64{1, 2, 0, 3} {
				if r[i].FedIndex != want || (want == 0) != (r[i].Err != nil) {
					t.Fatalf("master entry %d: index %d err %v, want index %d", i, r[i].FedIndex, r[i].Err, want)
				}
			}
			recs, oldest, err := master.FedRecords(harness.Ctx(t, 10*time.Second), 1, 100)
			if err != nil || len(recs) != 3 || oldest != 1 {
				t.Fatalf("master log: %d records from %d, %v; want 3 from 1", len(recs), oldest, err)
			}
			if last, _ := master.FedLast(harness.Ctx(t, 10*time.Second)); last != 3 {
				t.Fatalf("master last index %d, want 3", last)
			}

			// The slave gets them out of order first, then in order, one twice.
			send := func(rec sqlfsm.FedRecord, prev uint64) *sqlfsm.Result {
				t.Helper()
				e, err := sqlfsm.DecodeRecord(rec.Data)
				if err != nil {
					t.Fatal(err)
				}
				return results(t, slave.ApplyBatch([]*raft.Log{sb.fed(sqlfsm.Fed{Index: rec.Index, Prev: prev}, e.Context, e.DDL, e.Statements...)}))[0]
			}
			var gap *sqlfsm.FedGapError
			if res := send(recs[1], 1); !errors.As(res.Err, &gap) || gap.Last != 0 {
				t.Fatalf("record 2 before 1: %+v, want a gap naming last 0", res)
			}
			for i, rec := range recs {
				if res := send(rec, uint64(i)); res.Err != nil || res.FedIndex != rec.Index {
					t.Fatalf("record %d: %+v", rec.Index, res)
				}
			}
			if res := send(recs[2], 2); !errors.As(res.Err, &gap) || gap.Last != 3 {
				t.Fatalf("record 3 again: %+v, want a gap naming last 3", res)
			}
			for _, q := range []string{"SELECT oid, name, created FROM user_pool ORDER BY oid"} {
				a, b := dump(t, master.DB(), q), dump(t, slave.DB(), q)
				if a != b || a == "" {
					t.Fatalf("federated table differs:\nmaster %s\nslave  %s", a, b)
				}
			}
			if last, _ := slave.FedLast(harness.Ctx(t, 10*time.Second)); last != 3 {
				t.Fatalf("slave last index %d, want 3", last)
			}

			// Keep 3: a fourth record drops the first.
			master.ApplyBatch([]*raft.Log{mb.fed(keep, sqlfsm.Context{}, false, ins(3, "carol"))})
			if _, oldest, _ := master.FedRecords(harness.Ctx(t, 10*time.Second), 1, 100); oldest != 2 {
				t.Fatalf("after 4 records with keep 3 the log starts at %d, want 2", oldest)
			}

			// A slave that has nothing (a new zone) gets a snapshot: the
			// federated tables and index 4; an older snapshot afterwards
			// applies nothing; the next record follows it.
			fresh := newFSM(t, harness.OpenLocal(t, be.Dialect, nil, be.Fast), nil)
			fb := newLogs(t)
			fresh.ApplyBatch([]*raft.Log{fb.sql("CREATE TABLE acl (oid INT PRIMARY KEY)")}) // a federated table the master lacks
			tables := []string{"user_pool", "acl"}
			idx, text, err := master.FedSnapshot(harness.Ctx(t, 10*time.Second), tables, 1<<20)
			if err != nil || idx != 4 {
				t.Fatalf("FedSnapshot: index %d, %v; want 4", idx, err)
			}
			snap := func(idx uint64) *sqlfsm.Result {
				params := []any{"user_pool", "acl"}
				return results(t, fresh.ApplyBatch([]*raft.Log{fb.fed(sqlfsm.Fed{Index: idx, Snapshot: true}, sqlfsm.Context{}, false, sqlfsm.Statement{SQL: string(text), Params: params})}))[0]
			}
			if res := snap(idx); res.Err != nil || res.FedIndex != 4 {
				t.Fatalf("snapshot: %+v", res)
			}
			if res := snap(3); !errors.As(res.Err, &gap) || gap.Last != 4 {
				t.Fatalf("an older snapshot: %+v, want a gap naming 4", res)
			}
			if _, err := fresh.DB().Exec("SELECT * FROM acl"); err == nil {
				t.Fatal("the snapshot kept a federated table the master does not have")
			}
			if _, err := fresh.DB().Exec("SELECT * FROM oneha_applied"); err != nil {
				t.Fatalf("the snapshot touched a table it does not name: %v", err)
			}
			master.ApplyBatch([]*raft.Log{mb.fed(keep, sqlfsm.Context{}, false, ins(4, "dave"))})
			recs, _, _ = master.FedRecords(harness.Ctx(t, 10*time.Second), 5, 10)
			e5, _ := sqlfsm.DecodeRecord(recs[0].Data)
			if res := results(t, fresh.ApplyBatch([]*raft.Log{fb.fed(sqlfsm.Fed{Index: 5, Prev: 4}, e5.Context, false, e5.Statements...)}))[0]; res.Err != nil {
				t.Fatalf("record 5 after the snapshot: %+v", res)
			}
			q := "SELECT oid, name, created FROM user_pool ORDER BY oid"
			if a, b := dump(t, master.DB(), q), dump(t, fresh.DB(), q); a != b {
				t.Fatalf("after snapshot and record:\nmaster %s\nslave  %s", a, b)
			}
		})
	}
}

// TestFederationGapLeavesTheClock: a record that does not apply (a gap)
// does not move the zone's clock, however far ahead its time is; one
// that applies does.
func TestFederationGapLeavesTheClock(t *testing.T) {
	l := harness.OpenLocal(t, sqlcheck.SQLite, nil, false)
	f := newFSM(t, l, nil)
	b := newLogs(t)
	f.ApplyBatch([]*raft.Log{b.sql("CREATE TABLE acl (oid INT PRIMARY KEY)")})
	before := f.LastTime()
	far := sqlfsm.Context{Time: time.Date(2500, 1, 1, 0, 0, 0, 0, time.UTC)}
	r := results(t, f.ApplyBatch([]*raft.Log{b.fed(sqlfsm.Fed{Index: 5, Prev: 4}, far, false, sqlfsm.Statement{SQL: "INSERT INTO acl VALUES (1)"})}))[0]
	var gap *sqlfsm.FedGapError
	if !errors.As(r.Err, &gap) {
		t.Fatalf("record 5 after 4 on an empty slave: %+v, want a gap", r)
	}
	if got := f.LastTime(); !got.Equal(before) {
		t.Fatalf("a record that did not apply moved the clock from %v to %v", before, got)
	}
	next := sqlfsm.Context{Time: before.Add(time.Second)}
	if r := results(t, f.ApplyBatch([]*raft.Log{b.fed(sqlfsm.Fed{Index: 1, Prev: 0}, next, false, sqlfsm.Statement{SQL: "INSERT INTO acl VALUES (1)"})}))[0]; r.Err != nil {
		t.Fatal(r.Err)
	}
	if got := f.LastTime(); !got.Equal(next.Time) {
		t.Fatalf("an applied record left the clock at %v, want %v", got, next.Time)
	}
}
