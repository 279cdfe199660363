package sqlfsm_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/raft"

	"github.com/oneha/oneha/internal/harness"
	"github.com/oneha/oneha/sqlcheck"
	"github.com/oneha/oneha/sqlfsm"
)

// auditWorkload is a log mixing inserts, updates with float arithmetic,
// deletes and entries that fail (duplicate key) on every server.
func auditWorkload(t *testing.T, n int) []*raft.Log {
	b := newLogs(t)
	logs := []*raft.Log{b.ddl("CREATE TABLE au (id INTEGER PRIMARY KEY, name VARCHAR(40), f DOUBLE, t VARCHAR(40))")}
	for i := 0; len(logs) < n; i++ {
		switch i % 5 {
		case 0, 1:
			logs = append(logs, b.sql("INSERT INTO au (id, name, f, t) VALUES (?, ?, ?, CURRENT_TIMESTAMP)", int64(i), fmt.Sprintf("n-%d é", i), float64(i)/3))
		case 2:
			logs = append(logs, b.sql("UPDATE au SET f = f * 1.1, name = 'u' WHERE id < ?", int64(i/2)))
		case 3:
			logs = append(logs, b.sql("INSERT INTO au (id, name) VALUES (?, 'dup')", int64(i-3))) // duplicate key: fails everywhere
		case 4:
			logs = append(logs, b.sql("DELETE FROM au WHERE id = ?", int64(i-4)))
		}
	}
	return logs
}

// applyIn applies logs to f in batches of size n, as a server whose Raft
// batches differ from the others' would.
func applyIn(f *sqlfsm.FSM, logs []*raft.Log, n int) {
	for len(logs) > 0 {
		k := min(n, len(logs))
		f.ApplyBatch(logs[:k])
		logs = logs[k:]
	}
}

// waitAudit waits until f holds a finished audit at index.
func waitAudit(t *testing.T, f *sqlfsm.FSM, index uint64) sqlfsm.Audit {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		for _, a := range f.Audits() {
			if a.Index == index {
				return a
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no audit at index %d; have %+v", index, f.Audits())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestAuditIdenticalReplicasNeverDiverge: three replicas apply the same log
// in different batch sizes (MySQL: the fast and the per-statement path mixed)
// while their checksums run in the background; every audit index they share
// has identical table checksums, and every entry the same outcome. A row
// changed behind one replica's back then shows in its next audit.
func TestAuditIdenticalReplicasNeverDiverge(t *testing.T) {
	for _, d := range harness.Dialects {
		t.Run(string(d), func(t *testing.T) {
			const interval = 10
			var fsms []*sqlfsm.FSM
			var locals []harness.Local
			for i := 0; i < 3; i++ {
				l := harness.OpenLocal(t, d, nil, d == sqlcheck.MySQL && i != 1)
				f, err := sqlfsm.New(harness.Ctx(t, 30*time.Second), sqlfsm.Config{Dialect: d, DB: l.DB, ApplyDB: l.ApplyDB, AuditInterval: interval})
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { f.Close() })
				fsms, locals = append(fsms, f), append(locals, l)
			}
			logs := auditWorkload(t, 75)
			sizes := []int{1, 7, 64}
			// Rounds end 5 entries past an audit index, so those 5 apply
			// while its checksum runs; then every replica's audit of it
			// must be done (one checksum runs at a time: a later index
			// found it busy would be skipped).
			done := 0
			var last uint64
			for end := interval + 5; done < len(logs); end += interval {
				end = min(end, len(logs))
				for i, f := range fsms {
					applyIn(f, logs[done:end], sizes[i])
				}
				done = end
				if at := uint64(end-5) / interval * interval; at > last {
					last = at
					for _, f := range fsms {
						waitAudit(t, f, at)
					}
				}
			}
			want := waitAudit(t, fsms[0], last)
			var tables []string
			for _, tb := range want.Tables {
				tables = append(tables, tb.Table)
			}
			if got, wantTables := strings.Join(tables, " "), "au "+sqlfsm.FedTable+" "+sqlfsm.FedLogTable+" "+sqlfsm.RequestTable; want.Error != "" || got != wantTables {
				t.Fatalf("audit at %d: %+v, want checksums of %s (the replicated request ids and federation state too)", last, want, wantTables)
			}
			common := 0
			for _, a := range fsms[0].Audits() {
				for i, f := range fsms[1:] {
					j := slices.IndexFunc(f.Audits(), func(b sqlfsm.Audit) bool { return b.Index == a.Index })
					if j < 0 {
						continue
					}
					b := f.Audits()[j]
					if a.Error != "" || b.Error != "" || !slices.Equal(a.Tables, b.Tables) {
						t.Fatalf("audit at %d: replica 0 %+v, replica %d %+v", a.Index, a, i+1, b)
					}
					common++
				}
			}
			if common < 4 {
				t.Fatalf("only %d audits compared; want the replicas to share most indices", common)
			}
			outs := fsms[0].Outcomes(1, 0)
			if len(outs) != len(logs) {
				t.Fatalf("%d outcomes recorded for %d entries", len(outs), len(logs))
			}
			for i, f := range fsms[1:] {
				if got := f.Outcomes(1, 0); !slices.Equal(got, outs) {
					t.Fatalf("replica %d outcomes differ from replica 0's", i+1)
				}
			}
			if outs[3].Digest == outs[4].Digest || outs[4].Digest == outs[1].Digest {
				t.Fatalf("a failed entry and a successful one share an outcome digest: %+v", outs[:5])
			}

			// Positive control: a row changed behind replica 2's back.
			if _, err := locals[2].DB.Exec("UPDATE au SET t = 'corrupt' WHERE id = 1"); err != nil {
				t.Fatal(err)
			}
			more := auditWorkload(t, len(logs)+interval+5)[len(logs):]
			for i, f := range fsms {
				applyIn(f, more, sizes[i])
			}
			next := last + interval
			a, b := waitAudit(t, fsms[0], next), waitAudit(t, fsms[2], next)
			if slices.Equal(a.Tables, b.Tables) {
				t.Fatalf("audit at %d did not see the corrupted row: %+v", next, b)
			}
			if c := waitAudit(t, fsms[1], next); !slices.Equal(a.Tables, c.Tables) {
				t.Fatalf("untouched replicas differ at %d", next)
			}
		})
	}
}
