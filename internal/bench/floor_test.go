package bench

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/raft"
	wal "github.com/hashicorp/raft-wal"

	"github.com/oneha/oneha/internal/harness"
)

// floorMaxBatch bounds one floor batch, as MaxAppendEntries bounds one FSM
// batch in a zone.
const floorMaxBatch = 512

// BenchmarkReplicaFloor measures a bound that no implementation of OneHA's
// design can beat on this machine, beside direct MariaDB in the same run:
// every write is written and fsynced to three logs and applied by three
// mariadbd (innodb_flush_log_at_trx_commit=2) the way the FSM applies a
// batch on MySQL, one multi-statement round trip
//
//	START TRANSACTION; SET <context>; INSERT …; …; UPDATE applied; COMMIT
//
// and nothing else: no Raft, no oned, no network between servers, no
// XML-RPC, no checks. Writers hand their row to the "leader" replica in
// this process. Whenever that replica is free it takes every queued row
// (up to floorMaxBatch) as one batch, passes it to the two "followers"
// (each takes batches in order, at most 8 behind, so their work is paid
// within the window), appends it to its raft-wal log (written and
// fsynced, one entry per write, as in a zone) and applies the batch; its
// writers are then acknowledged. The followers append to their own logs
// and apply the same batches. The leader does not wait for a follower's fsync: that
// makes this a lower bound on latency as well.
//
// The CPU column counts the three mariadbd; the fsyncs and the batching
// run in this process and, like the load generator, are not counted.
// Results go to $ONEHA_RESULTS/floor.md.
func BenchmarkReplicaFloor(b *testing.B) {
	probe := probePerf()
	targets := []*apiTarget{startFloorTarget(b), startDirectTarget(b, 64)}
	res := map[cellKey]cellResult{}
	for _, w := range []int{1, 64} {
		for _, t := range targets {
			b.Run(fmt.Sprintf("writers=%d/%s", w, t.name), func(b *testing.B) {
				r := runTargetCell(b, probe, t, wlInsert, w)
				res[cellKey{wlInsert, w, t.name}] = r
				b.ReportMetric(r.rate(), "ops/s")
				b.ReportMetric(ms(r.p50), "p50-ms")
			})
		}
	}
	var out strings.Builder
	fmt.Fprintf(&out, "# Replica floor: 3 raft-wal logs fsynced and 3 mariadbd applying every write, nothing else (%s per cell)\n\n", apiMeasure)
	fmt.Fprintf(&out, "| writers | floor ops/s | direct ops/s | floor/direct | floor p50 ms | direct p50 ms | floor p50/direct p50 | floor: 3 mariadbd CPU µs/write | direct: mariadbd CPU µs/write |\n|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n")
	for _, w := range []int{1, 64} {
		f, d := res[cellKey{wlInsert, w, "floor"}], res[cellKey{wlInsert, w, "direct"}]
		fc, fok := f.cpuPerWrite("3 mariadbd")
		dc, dok := d.cpuPerWrite("mariadbd")
		fmt.Fprintf(&out, "| %d | %.0f | %.0f | %.2f | %.2f | %.2f | %.1f | %s | %s |\n", w, f.rate(), d.rate(), f.rate()/d.rate(),
			ms(f.p50), ms(d.p50), float64(f.p50)/float64(d.p50), cell(fok, "%.0f", fc), cell(dok, "%.0f", dc))
	}
	fmt.Print("\n" + out.String())
	if err := os.WriteFile(filepath.Join(resultsDir(b), "floor.md"), []byte(out.String()), 0o644); err != nil {
		b.Error(err)
	}
}

// floorWrite is one writer's row waiting for its batch.
type floorWrite struct {
	seq  int64
	done chan error
}

// floorReplica is one server of the floor: its Raft log store (raft-wal,
// as a zone's) and database.
type floorReplica struct {
	log  *wal.WAL
	next uint64 // the next log index
	db   *sql.Conn
}

// apply appends the batch to the log (one entry per write, written and
// fsynced by raft-wal as in a zone), then runs its script on the database.
func (r *floorReplica) apply(ctx context.Context, b floorBatch) error {
	logs := make([]*raft.Log, len(b.rows))
	for i, row := range b.rows {
		logs[i] = &raft.Log{Index: r.next, Term: 1, Type: raft.LogCommand, Data: row}
		r.next++
	}
	if err := r.log.StoreLogs(logs); err != nil {
		return err
	}
	_, err := r.db.ExecContext(ctx, b.script)
	return err
}

// floorBatch is one batch: each write's entry text, and the script
// applying them all.
type floorBatch struct {
	rows   [][]byte
	script string
}

func startFloorTarget(b *testing.B) *apiTarget {
	ctx := context.Background()
	var reps []*floorReplica
	var pids []int
	for i := range 3 {
		m := harness.StartMariaDB(b, harness.WithFlushLogAtTrxCommit(2))
		pids = append(pids, m.PID())
		db, err := sql.Open("mysql", m.CreateDatabase(b, "floor")+"?multiStatements=true")
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { db.Close() })
		for _, q := range []string{insertSchema,
			"CREATE TABLE applied (id INT PRIMARY KEY, applied_index BIGINT NOT NULL)",
			"INSERT INTO applied VALUES (1, 0)"} {
			if _, err := db.Exec(q); err != nil {
				b.Fatalf("floor %d: %s: %v", i, q, err)
			}
		}
		conn, err := db.Conn(ctx)
		if err != nil {
			b.Fatal(err)
		}
		log, err := wal.Open(b.TempDir())
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { conn.Close(); log.Close() })
		reps = append(reps, &floorReplica{log: log, next: 1, db: conn})
	}
	queue := make(chan floorWrite, 1024)
	followers := []chan floorBatch{make(chan floorBatch, 8), make(chan floorBatch, 8)}
	stop := make(chan struct{})
	fail := func(err error) { b.Errorf("floor: %v", err) }
	for i, ch := range followers {
		go func() {
			for s := range ch {
				if err := reps[i+1].apply(ctx, s); err != nil {
					fail(err)
				}
			}
		}()
	}
	go func() { // the leader
		defer func() {
			for _, ch := range followers {
				close(ch)
			}
		}()
		var index int64
		for {
			var batch []floorWrite
			select {
			case w := <-queue:
				batch = append(batch, w)
			case <-stop:
				return
			}
		more:
			for len(batch) < floorMaxBatch {
				select {
				case w := <-queue:
					batch = append(batch, w)
				default:
					break more
				}
			}
			index++
			s := floorBatchOf(batch, index)
			for _, ch := range followers {
				ch <- s
			}
			err := reps[0].apply(ctx, s)
			for _, w := range batch {
				w.done <- err
			}
		}
	}()
	b.Cleanup(func() { close(stop) })
	return &apiTarget{
		name:   "floor",
		groups: []procGroup{{"3 mariadbd", pids}},
		writer: func(b *testing.B, wl workload) (writeOp, func()) {
			done := make(chan error, 1)
			return func(ctx context.Context, seq int64) error {
				queue <- floorWrite{seq: seq, done: done}
				return <-done
			}, func() {}
		},
	}
}

// floorBatchOf is a batch as the FSM sends it to MySQL: each entry's
// context, then its statement with literal values.
func floorBatchOf(batch []floorWrite, index int64) floorBatch {
	var s strings.Builder
	s.WriteString("START TRANSACTION")
	now := time.Now().UnixMicro()
	rows := make([][]byte, len(batch))
	for i, w := range batch {
		us := now + int64(i)
		start := s.Len()
		fmt.Fprintf(&s, ";\nSET TIMESTAMP = %d.%06d, @@rand_seed1 = %d, @@rand_seed2 = %d, LAST_INSERT_ID = 0", us/1e6, us%1e6, w.seq, w.seq+1)
		s.WriteString(";\nINSERT INTO bench (s, n) VALUES ('" + insertPayload + "', " + strconv.FormatInt(w.seq, 10) + ")")
		rows[i] = []byte(s.String()[start:])
	}
	fmt.Fprintf(&s, ";\nUPDATE applied SET applied_index = %d WHERE id = 1;\nCOMMIT", index)
	return floorBatch{rows: rows, script: s.String()}
}
