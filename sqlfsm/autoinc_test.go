package sqlfsm_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hashicorp/raft"

	"github.com/oneha/oneha/internal/harness"
	"github.com/oneha/oneha/sqlcheck"
	"github.com/oneha/oneha/sqlfsm"
)

// TestAutoIncrementIdsDoNotDependOnBatches: servers cut the same entries
// into different batches (each applies what has committed when its FSM is
// free), and InnoDB keeps the AUTO_INCREMENT values a rolled-back INSERT
// took; an entry that fails must not make the entries of its batch run
// twice, and the ids every entry stores must be the same on every server.
func TestAutoIncrementIdsDoNotDependOnBatches(t *testing.T) {
	for _, be := range harness.Backends {
		t.Run(be.Name, func(t *testing.T) {
			ids := func(batches [][]int) []int64 {
				l := harness.OpenLocal(t, be.Dialect, nil, be.Fast)
				f := newFSM(t, l, nil)
				b := newLogs(t)
				create := "CREATE TABLE items (id BIGINT AUTO_INCREMENT PRIMARY KEY, v INT NOT NULL UNIQUE)"
				if be.Dialect == sqlcheck.SQLite {
					create = "CREATE TABLE items (id INTEGER PRIMARY KEY, v INT NOT NULL UNIQUE)"
				}
				f.ApplyBatch([]*raft.Log{b.ddl(create)})
				// A, then B (a duplicate of A: fails), then C.
				logs := []*raft.Log{
					b.sql("INSERT INTO items (v) VALUES (1)"),
					b.sql("INSERT INTO items (v) VALUES (1)"),
					b.sql("INSERT INTO items (v) VALUES (2)"),
				}
				var out []int64
				for _, batch := range batches {
					var in []*raft.Log
					for _, i := range batch {
						in = append(in, logs[i])
					}
					for _, r := range results(t, f.ApplyBatch(in)) {
						if r != nil && r.Err == nil {
							out = append(out, r.Statements[0].LastInsertID)
						}
					}
				}
				return append(out, itemIDs(t, l.DB, "v")...)
			}
			one := ids([][]int{{0, 1, 2}})
			split := ids([][]int{{0}, {1}, {2}})
			if len(one) != 4 || len(split) != 4 {
				t.Fatalf("ids %v and %v: want 2 results and 2 rows each", one, split)
			}
			for i := range one {
				if one[i] != split[i] {
					t.Fatalf("one batch stored/answered ids %v, one entry per batch %v", one, split)
				}
			}
		})
	}
}

// TestConcurrentAutoIncrementWritesWithErrorsConverge: writers race into a
// table with an AUTO_INCREMENT id and a unique column, so that many
// inserts fail on a duplicate; each server cuts its batches as its commits
// come, yet every server stores the same ids.
func TestConcurrentAutoIncrementWritesWithErrorsConverge(t *testing.T) {
	c := harness.MakeCluster(t, harness.ClusterOptions{N: 3, Dialect: sqlcheck.MySQL})
	exec(t, c, "CREATE TABLE items (id BIGINT AUTO_INCREMENT PRIMARY KEY, v INT NOT NULL UNIQUE)")
	var wg sync.WaitGroup
	var dups atomic.Int64
	for w := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 40 {
				ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
				_, err := c.Exec(ctx, sqlfsm.Statement{SQL: "INSERT INTO items (v) VALUES (?)", Params: []any{int64((w*7 + i*3) % 60)}})
				cancel()
				switch {
				case errors.Is(err, sqlfsm.ErrSQL):
					dups.Add(1)
				case err != nil:
					t.Errorf("writer %d: %v", w, err)
					return
				}
			}
		}()
	}
	wg.Wait()
	if dups.Load() == 0 {
		t.Fatal("no insert failed on a duplicate: the test proves nothing")
	}
	c.Converge(t, 30*time.Second)
}

// TestFastPathAnswersAsTheEntryByEntryPath: a one-round-trip batch whose
// entries fail here and there (a single statement; the second statement
// of two) answers and stores exactly what the entry-by-entry path does:
// the same results, errors, failing statement and ids.
func TestFastPathAnswersAsTheEntryByEntryPath(t *testing.T) {
	run := func(fast bool) ([]any, []int64) {
		l := harness.OpenLocal(t, sqlcheck.MySQL, nil, fast)
		f := newFSM(t, l, nil)
		if f.OneRoundTrip() != fast {
			t.Fatalf("fast %v: OneRoundTrip = %v", fast, f.OneRoundTrip())
		}
		b := newLogs(t)
		f.ApplyBatch([]*raft.Log{b.ddl("CREATE TABLE items (id BIGINT AUTO_INCREMENT PRIMARY KEY, v INT NOT NULL UNIQUE)")})
		ins := func(v int64) sqlfsm.Statement {
			return sqlfsm.Statement{SQL: "INSERT INTO items (v) VALUES (?)", Params: []any{v}}
		}
		logs := []*raft.Log{
			b.entry(false, ins(1)),
			b.entry(false, ins(2), ins(1)), // fails at its second statement
			b.entry(false, ins(3)),
			b.entry(false, ins(3)),                 // fails
			b.entry(false, ins(4), ins(5), ins(6)), // all three apply
			b.entry(false, ins(2)),                 // 2 was rolled back with its entry: applies
			b.entry(false, sqlfsm.Statement{SQL: "INSERT INTO items (v) VALUES (7);"}),
			b.entry(false, sqlfsm.Statement{SQL: "INSERT INTO items (v) VALUES (8) # eight"}, ins(9)),
			b.entry(false, sqlfsm.Statement{SQL: "INSERT INTO items (v) VALUES (10) -- "}),
			b.entry(false, ins(11), sqlfsm.Statement{SQL: "INSERT INTO items (v) VALUES (12"}), // a syntax error
			b.entry(false, sqlfsm.Statement{SQL: "INSERT INTO items (v)\nVALUES (13) ORDER"}),  // another, on line 2
			b.entry(false, ins(14)),
		}
		var out []any
		for _, r := range f.ApplyBatch(logs) {
			res := r.(*sqlfsm.Result)
			if res.Err != nil {
				var se *sqlfsm.SQLError
				if !errors.As(res.Err, &se) {
					t.Fatalf("error %v is not an SQLError", res.Err)
				}
				out = append(out, fmt.Sprintf("error %d at statement %d: %s", se.Code, se.Statement, se.Message))
				continue
			}
			out = append(out, fmt.Sprint(res.Statements))
		}
		return out, itemIDs(t, l.DB, "id")
	}
	fastOut, fastIDs := run(true)
	slowOut, slowIDs := run(false)
	if fmt.Sprint(fastOut) != fmt.Sprint(slowOut) || fmt.Sprint(fastIDs) != fmt.Sprint(slowIDs) {
		t.Fatalf("one round trip:\n  %v\n  ids %v\nentry by entry:\n  %v\n  ids %v", fastOut, fastIDs, slowOut, slowIDs)
	}
	if !strings.Contains(fmt.Sprint(fastOut[1]), "at statement 1") {
		t.Fatalf("the two-statement entry answered %v, want its second statement's error", fastOut[1])
	}
	if s := fmt.Sprint(fastOut[9]); !strings.Contains(s, "error 1064 at statement 1") || strings.Contains(s, "13") {
		t.Fatalf("the syntax error answered %q: want statement 1's own text, not the next entry's", s)
	}
	if s := fmt.Sprint(fastOut[10]); !strings.Contains(s, "at line 2") {
		t.Fatalf("the syntax error on the statement's line 2 answered %q", s)
	}
}

// itemIDs returns the ids of table items, ordered by column order.
func itemIDs(t *testing.T, db *sql.DB, order string) []int64 {
	t.Helper()
	rows, err := db.Query("SELECT id FROM items ORDER BY " + order)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var ids []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	return ids
}
