package bench

import (
	"context"
	"fmt"
	"io"
	"math"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/oneha/oneha/internal/harness"
	"github.com/oneha/oneha/internal/stagetime"
	"github.com/oneha/oneha/sqlcheck"
	"github.com/oneha/oneha/xmlrpc"
)

// stageSeconds is how long each writer count runs, and the length of the
// leader's CPU profile taken meanwhile.
const stageSeconds = 6

// BenchmarkWriteStages drives one.sql.exec over XML-RPC (as
// /work/shared/tools/loadgen does) against the leader of a 3-server zone
// of oned processes (SQLite, 127.0.0.1) with 1 and 64 writers, and reports
// where the leader's time goes: p50/p99 per stage from the difference of
// the leader's oneha_write_stage_seconds before and after each run. The
// servers run with PPROF: yes; CPU profiles of the leader and of one
// follower over each run are written to $ONEHA_RESULTS (default results/)
// as leader-cpu-<writers>w.pprof and follower-cpu-<writers>w.pprof, next
// to stages.md with the table. Go's
// b.N does not apply: each cell runs stageSeconds.
func BenchmarkWriteStages(b *testing.B) {
	// ONEHA_BENCH_STAGES_DB=mysql runs the zone on MariaDB (each server its
	// own mariadbd, flush=2) instead of SQLite; ONEHA_BENCH_RAFT goes into
	// every server's RAFT mapping (A/B of a Raft setting).
	opts := harness.ZoneOptions{N: 3, Extra: "PPROF: yes\n", Raft: os.Getenv("ONEHA_BENCH_RAFT")}
	backend := "SQLite"
	if os.Getenv("ONEHA_BENCH_STAGES_DB") == "mysql" {
		backend = "MariaDB"
		dbs := make([]*harness.MariaDB, opts.N)
		for i := range dbs {
			dbs[i] = harness.StartMariaDB(b, harness.WithFlushLogAtTrxCommit(2))
		}
		opts.Dialect, opts.MariaDBFor = sqlcheck.MySQL, func(i int) *harness.MariaDB { return dbs[i] }
	}
	z := harness.NewProcZone(b, opts)
	z.FormZone()
	leader := z.Leader(20 * time.Second)
	if _, err := leader.Call(context.Background(), "one.sql.exec", []any{"CREATE TABLE bench (id BIGINT PRIMARY KEY, w INTEGER NOT NULL, payload TEXT NOT NULL)"}); err != nil {
		b.Fatal(err)
	}
	dir := resultsDir(b)
	var out strings.Builder
	fmt.Fprintf(&out, "# Write stages on the leader (3-server zone, %s, one.sql.exec over XML-RPC, %d s per row)\n\n", backend, stageSeconds)
	fmt.Fprintf(&out, "Stages from `oneha_write_stage_seconds` (README, Metrics); batch stages (raft_append, replication, leader_apply) count once per entry, replication once per follower; follower_append is a follower's. p50/p99 interpolated within histogram buckets (√2 apart).\n\n")
	fmt.Fprintf(&out, "| writers | ops/s | stage | count | p50 ms | p99 ms | mean ms |\n|---|---|---|---|---|---|---|\n")
	var next atomic.Int64
	for _, w := range []int{1, 64} {
		b.Run(fmt.Sprintf("writers=%d", w), func(b *testing.B) {
			// CPU profiles over the run: the leader's and a follower's.
			profiled := []*harness.Oned{leader}
			for _, o := range z.Servers {
				if o != leader {
					profiled = append(profiled, o)
					break
				}
			}
			follower := profiled[1]
			before := scrapeStages(b, z, leader)
			fbefore := scrapeStages(b, z, follower)
			profile := make(chan error, len(profiled))
			for i, o := range profiled {
				role := map[bool]string{true: "leader", false: "follower"}[i == 0]
				path := filepath.Join(dir, fmt.Sprintf("%s-cpu-%dw.pprof", role, w))
				go func() { profile <- fetchProfile(z, o, path) }()
			}
			ops := load(b, leader, z.Session, w, stageSeconds*time.Second, &next)
			for range profiled {
				if err := <-profile; err != nil {
					b.Errorf("CPU profile: %v", err)
				}
			}
			after := scrapeStages(b, z, leader)
			fafter := scrapeStages(b, z, follower)
			rate := float64(ops) / stageSeconds
			b.ReportMetric(rate, "ops/s")
			for s := range stagetime.NumStages {
				name := s.String()
				h := after[name].sub(before[name])
				if s == stagetime.FollowerAppend {
					// The leader appends as raft_append; this row is a
					// follower's (part of replication).
					h = fafter[name].sub(fbefore[name])
				}
				if h.count == 0 {
					continue
				}
				fmt.Fprintf(&out, "| %d | %.0f | %s | %d | %.3f | %.3f | %.3f |\n", w, rate, name, h.count,
					1000*h.quantile(0.5), 1000*h.quantile(0.99), 1000*h.sum/float64(h.count))
			}
		})
	}
	fmt.Print("\n" + out.String()) // shown by make bench without -v
	if err := os.WriteFile(filepath.Join(dir, "stages.md"), []byte(out.String()), 0o644); err != nil {
		b.Error(err)
	}
}

// resultsDir is $ONEHA_RESULTS, or results/ at the module root.
func resultsDir(b *testing.B) string {
	dir := os.Getenv("ONEHA_RESULTS")
	if dir == "" {
		root, err := harness.ModuleRoot()
		if err != nil {
			b.Fatal(err)
		}
		dir = filepath.Join(root, "results")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		b.Fatal(err)
	}
	return dir
}

// load runs w writers for d, each with its own keep-alive connection, each
// call one single-row INSERT with a unique id; it returns the calls done.
func load(b *testing.B, o *harness.Oned, session string, w int, d time.Duration, next *atomic.Int64) int64 {
	// Open every writer's connection first, a few at a time: oned refuses
	// more than 128 connections of one address awaiting their first byte
	// (mux MaxPendingPerSource), and the table is about writes.
	clients := make([]*xmlrpc.Client, w)
	for i := range clients {
		clients[i] = xmlrpc.NewClient(o.Endpoint, 30*time.Second)
		clients[i].HTTP.Transport = &http.Transport{MaxIdleConnsPerHost: 1}
		defer clients[i].HTTP.CloseIdleConnections()
		if _, err := clients[i].CallONE(context.Background(), "one.system.version", session); err != nil {
			b.Fatalf("writer %d: connect: %v", i, err)
		}
	}
	var done atomic.Int64
	var wg sync.WaitGroup
	stop := time.Now().Add(d)
	for i, c := range clients {
		wg.Go(func() {
			for time.Now().Before(stop) {
				id := next.Add(1)
				_, err := c.CallONE(context.Background(), "one.sql.exec", session,
					[]any{[]any{"INSERT INTO bench (id, w, payload) VALUES (?, ?, ?)", id, int64(i), "payload-payload-payload"}})
				if err != nil {
					b.Errorf("writer %d: %v", i, err)
					return
				}
				done.Add(1)
			}
		})
	}
	wg.Wait()
	return done.Load()
}

// fetchProfile saves a stageSeconds CPU profile of o to path.
func fetchProfile(z *harness.ProcZone, o *harness.Oned, path string) error {
	resp, err := authGet(z, o, fmt.Sprintf("/debug/pprof/profile?seconds=%d", stageSeconds))
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		msg, _ := io.ReadAll(resp.Body)
		return fmt.Errorf("%s: %s", resp.Status, msg)
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, resp.Body); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func authGet(z *harness.ProcZone, o *harness.Oned, path string) (*http.Response, error) {
	req, err := http.NewRequest(http.MethodGet, strings.TrimSuffix(o.Endpoint, "/RPC2")+path, nil)
	if err != nil {
		return nil, err
	}
	user, pass, _ := strings.Cut(z.Session, ":")
	req.SetBasicAuth(user, pass)
	return http.DefaultClient.Do(req)
}

// hist is one stage's cumulative histogram.
type hist struct {
	count   uint64
	sum     float64
	uppers  []float64 // bucket upper bounds, ascending, without +Inf
	buckets []uint64  // cumulative counts per upper bound
}

func (h hist) sub(o hist) hist {
	out := hist{count: h.count - o.count, sum: h.sum - o.sum, uppers: h.uppers, buckets: make([]uint64, len(h.buckets))}
	for i := range h.buckets {
		out.buckets[i] = h.buckets[i]
		if i < len(o.buckets) {
			out.buckets[i] -= o.buckets[i]
		}
	}
	return out
}

// quantile interpolates linearly within the bucket holding q, as
// Prometheus's histogram_quantile does (the last finite bound when beyond).
func (h hist) quantile(q float64) float64 {
	if h.count == 0 {
		return math.NaN()
	}
	rank := q * float64(h.count)
	lower, below := 0.0, uint64(0)
	for i, c := range h.buckets {
		if float64(c) >= rank {
			if c == below {
				return h.uppers[i]
			}
			return lower + (h.uppers[i]-lower)*(rank-float64(below))/float64(c-below)
		}
		lower, below = h.uppers[i], c
	}
	return lower
}

// scrapeStages reads oneha_write_stage_seconds from o's /metrics.
func scrapeStages(b *testing.B, z *harness.ProcZone, o *harness.Oned) map[string]hist {
	resp, err := authGet(z, o, "/metrics")
	if err != nil {
		b.Fatal(err)
	}
	defer resp.Body.Close()
	parser := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := parser.TextToMetricFamilies(resp.Body)
	if err != nil {
		b.Fatal(err)
	}
	out := map[string]hist{}
	fam := fams["oneha_write_stage_seconds"]
	if fam == nil {
		b.Fatal("/metrics lacks oneha_write_stage_seconds")
	}
	for _, m := range fam.GetMetric() {
		var stage string
		for _, l := range m.GetLabel() {
			if l.GetName() == "stage" {
				stage = l.GetValue()
			}
		}
		ph := m.GetHistogram()
		h := hist{count: ph.GetSampleCount(), sum: ph.GetSampleSum()}
		for _, bk := range ph.GetBucket() {
			if math.IsInf(bk.GetUpperBound(), 1) {
				continue
			}
			h.uppers = append(h.uppers, bk.GetUpperBound())
			h.buckets = append(h.buckets, bk.GetCumulativeCount())
		}
		out[stage] = h
	}
	return out
}
