package bench

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/oneha/oneha/internal/harness"
	"github.com/oneha/oneha/sqlcheck"
	"github.com/oneha/oneha/sqlfsm"
)

func TestMain(m *testing.M) { harness.Main(m) }

const schema = "CREATE TABLE bench (id BIGINT AUTO_INCREMENT PRIMARY KEY, w INT NOT NULL, seq BIGINT NOT NULL, payload VARCHAR(64) NOT NULL)"

// stats summarises one run.
type stats struct {
	ops      int
	elapsed  time.Duration
	p50, p99 time.Duration
}

func (s stats) rate() float64 { return float64(s.ops) / s.elapsed.Seconds() }

// drive runs n inserts spread over w writers and measures each one.
func drive(b *testing.B, n, w int, insert func(ctx context.Context, writer int, seq int64) error) stats {
	var next atomic.Int64
	lat := make([][]time.Duration, w)
	var wg sync.WaitGroup
	var failed atomic.Value
	b.ResetTimer()
	start := time.Now()
	for i := 0; i < w; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			for {
				seq := next.Add(1)
				if seq > int64(n) {
					return
				}
				t := time.Now()
				ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
				err := insert(ctx, i, seq)
				cancel()
				if err != nil {
					failed.Store(err)
					return
				}
				lat[i] = append(lat[i], time.Since(t))
			}
		}(i)
	}
	wg.Wait()
	elapsed := time.Since(start)
	b.StopTimer()
	if err, _ := failed.Load().(error); err != nil {
		b.Fatalf("insert: %v", err)
	}
	all := slices.Concat(lat...)
	sort.Slice(all, func(i, j int) bool { return all[i] < all[j] })
	s := stats{ops: len(all), elapsed: elapsed, p50: all[len(all)/2], p99: all[len(all)*99/100]}
	b.ReportMetric(s.rate(), "ops/s")
	b.ReportMetric(float64(s.p50.Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(s.p99.Microseconds())/1000, "p99-ms")
	return s
}

// BenchmarkInsert compares single-row INSERTs by 1, 16 and 64 concurrent
// writers: directly on one durable MariaDB (autocommit, flush at every
// commit) against a 3-server OneHA cluster over TCP loopback, each server
// with its own mariadbd (innodb_flush_log_at_trx_commit=2: the Raft log is
// the durable record). Each sub-benchmark reports ops/s, p50 and p99; the
// parent logs the table with the cluster/direct ratios.
func BenchmarkInsert(b *testing.B) {
	direct := harness.StartMariaDB(b)
	ddb, err := sqlfsm.OpenMySQL(direct.CreateDatabase(b, "direct"), 128)
	if err != nil {
		b.Fatal(err)
	}
	defer ddb.Close()
	if _, err := ddb.Exec(schema); err != nil {
		b.Fatal(err)
	}
	c := harness.MakeCluster(b, harness.ClusterOptions{
		N: 3, Dialect: sqlcheck.MySQL, TCP: true, MariaDBPerServer: true,
		MariaDBOptions: []harness.MariaDBOption{harness.WithFlushLogAtTrxCommit(2)},
	})
	ctx := context.Background()
	if _, err := c.Exec(ctx, sqlfsm.Statement{SQL: schema}); err != nil {
		b.Fatal(err)
	}
	results := map[string]stats{}
	writers := []int{1, 16, 64}
	for _, w := range writers {
		b.Run(fmt.Sprintf("direct/writers=%d", w), func(b *testing.B) {
			results[fmt.Sprintf("direct/%d", w)] = drive(b, max(b.N, 200), w, func(ctx context.Context, writer int, seq int64) error {
				_, err := ddb.ExecContext(ctx, "INSERT INTO bench (w, seq, payload) VALUES (?, ?, ?)", writer, seq, "payload-payload-payload")
				return err
			})
		})
		b.Run(fmt.Sprintf("oneha3/writers=%d", w), func(b *testing.B) {
			leader := c.WaitForLeader(b, 10*time.Second)
			results[fmt.Sprintf("oneha3/%d", w)] = drive(b, max(b.N, 200), w, func(ctx context.Context, writer int, seq int64) error {
				_, err := leader.SQL.Exec(ctx, []sqlfsm.Statement{{SQL: "INSERT INTO bench (w, seq, payload) VALUES (?, ?, ?)", Params: []any{writer, seq, "payload-payload-payload"}}})
				return err
			})
		})
	}
	var tbl strings.Builder
	fmt.Fprintf(&tbl, "\n| writers | direct ops/s | oneha3 ops/s | ratio | direct p50 ms | oneha3 p50 ms | p50 ratio | direct p99 ms | oneha3 p99 ms |\n|---|---|---|---|---|---|---|---|---|\n")
	for _, w := range writers {
		d, o := results[fmt.Sprintf("direct/%d", w)], results[fmt.Sprintf("oneha3/%d", w)]
		if d.ops == 0 || o.ops == 0 {
			continue
		}
		fmt.Fprintf(&tbl, "| %d | %.0f | %.0f | %.2f | %.3f | %.3f | %.2f | %.3f | %.3f |\n", w, d.rate(), o.rate(), o.rate()/d.rate(),
			ms(d.p50), ms(o.p50), ms(o.p50)/ms(d.p50), ms(d.p99), ms(o.p99))
	}
	b.Log(tbl.String())
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
