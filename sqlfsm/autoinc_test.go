package sqlfsm_test

import (
	"context"
	"errors"
	"fmt"
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
// free). A batch that hits a deterministic error is rolled back and run
// again entry by entry, and InnoDB keeps the AUTO_INCREMENT values a
// rolled-back INSERT took; the ids every entry stores must still be the
// same on every server.
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
				rows, err := l.DB.Query("SELECT id FROM items ORDER BY v")
				if err != nil {
					t.Fatal(err)
				}
				defer rows.Close()
				for rows.Next() {
					var id int64
					rows.Scan(&id)
					out = append(out, id)
				}
				return out
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

// TestAutoIncrementIdsSurviveARetriedBatch: a batch rolled back by a
// transient fault of this server (here injected before its COMMIT) runs
// again with the counters it found, so its rows get the ids a server
// without the fault gives them.
func TestAutoIncrementIdsSurviveARetriedBatch(t *testing.T) {
	ids := func(faults *sqlfsm.Faults) []int64 {
		l := harness.OpenLocal(t, sqlcheck.MySQL, nil, true)
		f := newFSM(t, l, faults)
		b := newLogs(t)
		f.ApplyBatch([]*raft.Log{b.ddl("CREATE TABLE items (id BIGINT AUTO_INCREMENT PRIMARY KEY, v INT NOT NULL)")})
		var out []int64
		for round := range 2 {
			logs := []*raft.Log{
				b.sql("INSERT INTO items (v) VALUES (?)", int64(2*round)),
				b.sql("INSERT INTO items (v) VALUES (?), (?)", int64(2*round+1), int64(100+round)),
			}
			for _, r := range results(t, f.ApplyBatch(logs)) {
				if r == nil || r.Err != nil {
					t.Fatalf("entry: %+v", r)
				}
				out = append(out, r.Statements[0].LastInsertID)
			}
		}
		if faults != nil && f.TransientFaults() == 0 {
			t.Fatal("the injected fault did not happen")
		}
		return out
	}
	var failed atomic.Bool
	faulty := &sqlfsm.Faults{Hook: func(p sqlfsm.FaultPoint, index uint64) error {
		if p == sqlfsm.PointBeforeCommit && index > 1 && !failed.Swap(true) {
			return errors.New("injected transient fault")
		}
		return nil
	}}
	want, got := ids(nil), ids(faulty)
	if fmt.Sprint(want) != fmt.Sprint(got) {
		t.Fatalf("ids %v after a retried batch, %v without the fault", got, want)
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
