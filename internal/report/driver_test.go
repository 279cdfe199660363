package report

import (
	"bufio"
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	_ "github.com/go-sql-driver/mysql"

	"github.com/oneha/oneha/internal/harness"
	"github.com/oneha/oneha/sqlcheck"
	"github.com/oneha/oneha/xmlrpc"
)

func TestMain(m *testing.M) { harness.Main(m) }

const benchSchema = "CREATE TABLE bench (id BIGINT PRIMARY KEY, w INT NOT NULL, payload VARCHAR(64) NOT NULL)"

func envInt(t *testing.T, name string, def int) int {
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n <= 0 {
		t.Fatalf("%s=%q: want a positive integer", name, v)
	}
	return n
}

// TestBenchReport measures everything and writes $ONEHA_RESULTS/REPORT.md
// and the plots. Opt-in: ONEHA_BENCH_REPORT=1 (make bench-report).
func TestBenchReport(t *testing.T) {
	if os.Getenv("ONEHA_BENCH_REPORT") != "1" {
		t.Skip("the benchmark report takes minutes: set ONEHA_BENCH_REPORT=1 (make bench-report)")
	}
	begin := time.Now()
	root, err := harness.ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	dir := os.Getenv("ONEHA_RESULTS")
	if dir == "" {
		dir = filepath.Join(root, "results")
	}
	seconds := envInt(t, "ONEHA_BENCH_SECONDS", 5)
	catchMB := envInt(t, "ONEHA_CATCHUP_MB", 1024)
	writers := []int{1, 16, 64, 256}
	if v := os.Getenv("ONEHA_BENCH_WRITERS"); v != "" {
		writers = nil
		for _, f := range strings.Split(v, ",") {
			n, err := strconv.Atoi(strings.TrimSpace(f))
			if err != nil || n <= 0 {
				t.Fatalf("ONEHA_BENCH_WRITERS=%q", v)
			}
			writers = append(writers, n)
		}
	}
	parts := "writes,failover,catchup"
	if v := os.Getenv("ONEHA_BENCH_PARTS"); v != "" {
		parts = v
	}
	want := func(p string) bool { return strings.Contains(","+parts+",", ","+p+",") }

	m := harness.SharedMariaDB(t)
	r := &Report{Seconds: float64(seconds), Machine: machine(t, m)}
	tuneMariaDB(t, m, r)
	r.Settings = append(r.Settings,
		"oned processes from `go build ./cmd/...` on 127.0.0.1 (internal/harness ProcZone, LOG_LEVEL debug, ELECTION_TIMEOUT_MS 500); zones formed by the seed's procedure",
		"SQLite: one file per server; MariaDB: one database per server on ONE shared mariadbd (the zone's servers and their databases share the 2 cores)",
		fmt.Sprintf("writes: `INSERT INTO bench (id, w, payload) VALUES (?, ?, ?)` with unique ids, a 23-byte payload, %d s per cell, writers %v", seconds, writers),
	)
	write := func() {
		r.Total = time.Since(begin)
		files, err := r.Write(dir)
		if err != nil {
			t.Errorf("write report: %v", err)
		}
		t.Logf("wrote %s", strings.Join(files, ", "))
	}
	defer func() {
		write()
		b, _ := os.ReadFile(filepath.Join(dir, "REPORT.md"))
		t.Logf("\n%s", b)
	}()

	if want("writes") {
		for _, be := range []struct {
			name    string
			dialect sqlcheck.Dialect
		}{{SQLite, sqlcheck.SQLite}, {MariaDB, sqlcheck.MySQL}} {
			for _, n := range []int{1, 3, 5} {
				cfg := map[int]string{1: Direct, 3: Zone3, 5: Zone5}[n]
				ok := t.Run(be.name+"-"+cfg, func(t *testing.T) {
					cells, rss := writeGrid(t, be.dialect, n, writers, time.Duration(seconds)*time.Second)
					for i := range cells {
						cells[i].Backend, cells[i].Config = be.name, cfg
					}
					r.Cells = append(r.Cells, cells...)
					if rss != nil {
						rss.Backend, rss.Config = be.name, cfg
						r.RSS = append(r.RSS, *rss)
					}
				})
				if !ok {
					r.Notes = append(r.Notes, fmt.Sprintf("writes %s %s: the run failed (see the test log); its cells may be missing", be.name, cfg))
				}
			}
		}
		write()
	}
	if want("failover") {
		t.Run("failover", func(t *testing.T) { r.Failover, r.Switchover, r.GracefulStop = failover(t, root, r) })
		write()
	}
	if want("catchup") {
		if !t.Run("catchup", func(t *testing.T) { r.CatchUp = catchUp(t, m, catchMB) }) {
			r.Notes = append(r.Notes, "catch-up: the run failed (see the test log)")
		}
	}
}

func machine(t *testing.T, m *harness.MariaDB) Machine {
	mc := Machine{Date: time.Now().UTC().Format(time.RFC3339), NProc: runtime.NumCPU(), GoVersion: runtime.Version()}
	mc.Host, _ = os.Hostname()
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		mc.Kernel = strings.TrimSpace(string(b))
	}
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(l, ":"); ok && strings.TrimSpace(k) == "model name" {
				mc.CPU = strings.TrimSpace(v)
				break
			}
		}
	}
	db, err := sql.Open("mysql", m.DSN(""))
	if err == nil {
		defer db.Close()
		_ = db.QueryRow("SELECT VERSION()").Scan(&mc.MariaDBVersion)
	}
	return mc
}

// tuneMariaDB applies the README's recommended flush setting and a buffer
// pool that holds the catch-up data to this test process's own mariadbd.
func tuneMariaDB(t *testing.T, m *harness.MariaDB, r *Report) {
	db, err := sql.Open("mysql", m.DSN(""))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, q := range []string{
		"SET GLOBAL innodb_flush_log_at_trx_commit = 2",
		"SET GLOBAL innodb_buffer_pool_size = 2147483648",
		"SET GLOBAL max_allowed_packet = 67108864",
	} {
		if _, err := db.Exec(q); err != nil {
			r.Notes = append(r.Notes, fmt.Sprintf("`%s` failed: %v", q, err))
		}
	}
	var flush, pool int64
	_ = db.QueryRow("SELECT @@innodb_flush_log_at_trx_commit, @@innodb_buffer_pool_size").Scan(&flush, &pool)
	r.Settings = append(r.Settings, fmt.Sprintf("mariadbd (private, harness.SharedMariaDB, no binlog): innodb_flush_log_at_trx_commit=%d (README's recommendation, also for `direct`), innodb_buffer_pool_size=%d MiB, redo log 8 MiB", flush, pool>>20))
}

// startZone starts a solo oned (n == 1) or forms an n-server zone, creates
// the bench table and returns the server to write to.
func startZone(t *testing.T, dialect sqlcheck.Dialect, n int) (*harness.ProcZone, *harness.Oned) {
	z := harness.NewProcZone(t, harness.ZoneOptions{N: n, Dialect: dialect})
	var target *harness.Oned
	if n == 1 {
		target = z.Servers[0]
		target.WriteConfig(-1)
		target.Start()
	} else {
		z.FormZone()
		target = z.Leader(20 * time.Second)
	}
	if _, err := target.Call(context.Background(), "one.sql.exec", []any{benchSchema}); err != nil {
		t.Fatalf("create table: %v", err)
	}
	return z, target
}

func writeGrid(t *testing.T, dialect sqlcheck.Dialect, n int, writers []int, d time.Duration) ([]Cell, *RSS) {
	z, target := startZone(t, dialect, n)
	var next atomic.Int64
	var cells []Cell
	var rss *RSS
	rssAt := writers[len(writers)-1]
	for _, w := range writers {
		if w == 64 {
			rssAt = 64
		}
	}
	for _, w := range writers {
		if n > 1 {
			target = z.Leader(20 * time.Second) // leadership may have moved under load
		}
		var stop func() RSS
		if w == rssAt {
			stop = sampleRSS(t, target)
		}
		c := runCell(target.Endpoint, z.Session, w, d, &next)
		if stop != nil {
			s := stop()
			s.Writers = w
			rss = &s
		}
		t.Logf("%d servers, %d writers: %.0f writes/s, p50 %s ms, p99 %s ms, %d errors %s", n, w, c.Throughput(), ms(c.P50), ms(c.P99), c.Errors, c.FirstErr)
		cells = append(cells, c)
	}
	return cells, rss
}

// runCell drives w writers for d, each with its own keep-alive connection.
func runCell(endpoint, session string, w int, d time.Duration, next *atomic.Int64) Cell {
	c := Cell{Writers: w}
	lat := make([][]time.Duration, w)
	errs := make([]int, w)
	var firstErr atomic.Value
	var wg sync.WaitGroup
	start := time.Now()
	deadline := start.Add(d)
	for i := 0; i < w; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			tr := &http.Transport{MaxIdleConns: 1, MaxIdleConnsPerHost: 1, DisableCompression: true}
			defer tr.CloseIdleConnections()
			cl := xmlrpc.NewClient(endpoint, 0)
			cl.HTTP = &http.Client{Transport: tr, Timeout: 60 * time.Second}
			payload := fmt.Sprintf("writer-%06d-payload-xx", i)
			for time.Now().Before(deadline) {
				id := next.Add(1)
				t0 := time.Now()
				ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
				_, err := cl.CallONE(ctx, "one.sql.exec", session, []any{[]any{"INSERT INTO bench (id, w, payload) VALUES (?, ?, ?)", id, i, payload}})
				cancel()
				if err != nil {
					errs[i]++
					firstErr.CompareAndSwap(nil, err.Error())
					time.Sleep(10 * time.Millisecond)
					continue
				}
				lat[i] = append(lat[i], time.Since(t0))
			}
		}(i)
	}
	wg.Wait()
	c.Elapsed = time.Since(start)
	var all []time.Duration
	for i := range lat {
		all = append(all, lat[i]...)
		c.Errors += errs[i]
	}
	if s, ok := firstErr.Load().(string); ok {
		c.FirstErr = s
		if len(c.FirstErr) > 200 {
			c.FirstErr = c.FirstErr[:200]
		}
	}
	all = Sorted(all)
	c.Ops, c.P50, c.P99 = len(all), Percentile(all, 50), Percentile(all, 99)
	return c
}

func vmRSS(pid int) int64 {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			n, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return n
		}
	}
	return 0
}

// sampleRSS samples o's VmRSS every 100 ms until the returned func is called.
func sampleRSS(t *testing.T, o *harness.Oned) func() RSS {
	pid := o.Pid()
	if pid == 0 {
		t.Logf("rss: no pid found for %s", o.Config)
		return func() RSS { return RSS{} }
	}
	s := RSS{IdleKB: vmRSS(pid)}
	done, finished := make(chan struct{}), make(chan struct{})
	var sum int64
	go func() {
		defer close(finished)
		tk := time.NewTicker(100 * time.Millisecond)
		defer tk.Stop()
		for {
			select {
			case <-done:
				return
			case <-tk.C:
				v := vmRSS(pid)
				if v == 0 {
					continue
				}
				sum += v
				s.Samples++
				s.PeakKB = max(s.PeakKB, v)
			}
		}
	}()
	return func() RSS {
		close(done)
		<-finished
		if s.Samples > 0 {
			s.MeanKB = sum / int64(s.Samples)
		}
		return s
	}
}

var runsLine = regexp.MustCompile(`runs: ((?:[0-9.]+[µmn]?s\s*)+)$`)

// failover runs deploy/lab's BenchmarkFailover (network namespaces, root) as
// a subprocess and parses its runs; without the lab it measures on 127.0.0.1.
func failover(t *testing.T, root string, r *Report) (failover, switchover, stop *Failover) {
	if os.Geteuid() == 0 {
		cmd := exec.Command("go", "test", "-count=1", "-run", "^$", "-bench", "^Benchmark(Failover|Switchover|GracefulStop)$", "-benchtime", "1x", "-timeout", "30m", "./deploy/lab/")
		cmd.Dir = root
		out, err := cmd.CombinedOutput()
		runs := map[string][]time.Duration{}
		cur := ""
		for _, l := range strings.Split(string(out), "\n") {
			switch {
			case strings.Contains(l, "leader SIGKILL ->"):
				cur = "failover"
			case strings.Contains(l, "leader transfer ->"):
				cur = "switchover"
			case strings.Contains(l, "leader SIGTERM ->"):
				cur = "stop"
			}
			if m := runsLine.FindStringSubmatch(strings.TrimSpace(l)); m != nil && cur != "" {
				for _, f := range strings.Fields(m[1]) {
					if d, perr := time.ParseDuration(f); perr == nil {
						runs[cur] = append(runs[cur], d)
					}
				}
			}
		}
		if n := len(runs["switchover"]); n > 0 {
			switchover = &Failover{Runs: runs["switchover"], Source: fmt.Sprintf("deploy/lab BenchmarkSwitchover (same lab): from the one.zone.leadertransfer call (what `onezone leader-transfer` sends) to the first successful write through the floating IP on a fresh connection (200 ms per attempt), each run to the next server in turn. %d runs.", n)}
		} else {
			r.Notes = append(r.Notes, "deploy/lab BenchmarkSwitchover printed no runs")
		}
		if n := len(runs["stop"]); n > 0 {
			stop = &Failover{Runs: runs["stop"], Source: fmt.Sprintf("deploy/lab BenchmarkGracefulStop (same lab): from SIGTERM of the leader's oned (systemctl stop) to the first successful write through the floating IP on a fresh connection (200 ms per attempt); the stopped server is started again between runs. %d runs.", n)}
		} else {
			r.Notes = append(r.Notes, "deploy/lab BenchmarkGracefulStop printed no runs")
		}
		if n := len(runs["failover"]); err == nil && n > 0 {
			return &Failover{Runs: runs["failover"], Source: fmt.Sprintf("deploy/lab BenchmarkFailover (network-namespace lab, 3 servers on SQLite, ELECTION_TIMEOUT_MS 500): SIGKILL of the leader's oned, then `oned vip release` as systemd's ExecStopPost does, to the first successful write through the floating IP on a fresh connection (200 ms per attempt); the killed server is restarted and rejoins between runs. %d runs.", n)}, switchover, stop
		}
		t.Logf("the lab benchmarks did not give failover runs (%v):\n%s", err, lastLines(string(out), 30))
		r.Notes = append(r.Notes, fmt.Sprintf("deploy/lab BenchmarkFailover failed or printed no runs (%v); the failover figures come from the loopback fallback", err))
	} else {
		r.Notes = append(r.Notes, "not root: no network-namespace lab; the failover figures come from the loopback fallback")
	}
	return failoverLoopback(t), switchover, stop
}

func lastLines(s string, n int) string {
	l := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return strings.Join(l[max(len(l)-n, 0):], "\n")
}

// failoverLoopback: a 3-server SQLite zone on 127.0.0.1; SIGKILL the leader,
// then write to the survivors (200 ms per attempt, fresh connection) until
// one succeeds (a follower forwards to the new leader).
func failoverLoopback(t *testing.T) *Failover {
	runsN := envInt(t, "ONEHA_FAILOVER_RUNS", 20)
	z, _ := startZone(t, sqlcheck.SQLite, 3)
	var runs []time.Duration
	for run := 0; run < runsN; run++ {
		leader := z.Leader(20 * time.Second)
		leader.Kill()
		t0 := time.Now()
	retry:
		for {
			for _, o := range z.Servers {
				if !o.Running() {
					continue
				}
				c := xmlrpc.NewClient(o.Endpoint, 200*time.Millisecond)
				c.HTTP.Transport = &http.Transport{DisableKeepAlives: true}
				ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
				_, err := c.CallONE(ctx, "one.sql.exec", z.Session, []any{fmt.Sprintf("INSERT INTO bench (id, w, payload) VALUES (%d, 0, 'failover')", 1_000_000+run)})
				cancel()
				if err == nil {
					break retry
				}
			}
			if time.Since(t0) > 30*time.Second {
				t.Fatalf("run %d: no write 30 s after the leader died", run)
			}
		}
		runs = append(runs, time.Since(t0))
		leader.Start()
		leader.WaitState(2, 30*time.Second)
		z.WaitVoters(3, 60*time.Second)
	}
	return &Failover{Runs: runs, Source: fmt.Sprintf("Loopback approximation (no VIP): 3 oned on 127.0.0.1 (SQLite, ELECTION_TIMEOUT_MS 500); SIGKILL of the leader to the first successful write sent to any survivor (fresh connection, 200 ms per attempt). %d runs.", len(runs))}
}

// catchUp loads targetMB into the solo server's MariaDB database, forms a
// one-server zone on it (the seed's flow), then times a new empty server
// from server-add to caught-up voter, and mariadb-dump | mariadb of the same
// table.
func catchUp(t *testing.T, m *harness.MariaDB, targetMB int) *CatchUp {
	c := &CatchUp{TargetMB: targetMB}
	z := harness.NewProcZone(t, harness.ZoneOptions{N: 2, Dialect: sqlcheck.MySQL})
	s0, s1 := z.Servers[0], z.Servers[1]
	db0, err := sql.Open("mysql", s0.DSN)
	if err != nil {
		t.Fatal(err)
	}
	defer db0.Close()
	if _, err := db0.Exec("CREATE TABLE catchup (id BIGINT PRIMARY KEY, w INT NOT NULL, payload VARCHAR(1000) NOT NULL) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci"); err != nil {
		t.Fatal(err)
	}
	const rowBytes, batch = 1000, 500
	c.Rows = int64(targetMB) << 20 / (rowBytes + 30)
	t0 := time.Now()
	var nextBatch atomic.Int64
	var wg sync.WaitGroup
	var loadErr atomic.Value
	for g := 0; g < 2; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(g), 42))
			alpha := "abcdefghijklmnopqrstuvwxyz0123456789"
			pay := make([]byte, rowBytes)
			var q strings.Builder
			for {
				first := nextBatch.Add(1)*batch - batch
				if first >= c.Rows {
					return
				}
				q.Reset()
				q.WriteString("INSERT INTO catchup (id, w, payload) VALUES ")
				for id := first; id < min(first+batch, c.Rows); id++ {
					for i := range pay {
						pay[i] = alpha[rng.IntN(len(alpha))]
					}
					if id > first {
						q.WriteByte(',')
					}
					fmt.Fprintf(&q, "(%d,%d,'%s')", id, g, pay)
				}
				if _, err := db0.Exec(q.String()); err != nil {
					loadErr.Store(err)
					return
				}
			}
		}(g)
	}
	wg.Wait()
	if err, _ := loadErr.Load().(error); err != nil {
		t.Fatalf("bulk load: %v", err)
	}
	c.LoadTime = time.Since(t0)
	name := harness.DBName(s0.DSN)
	var size int64
	_, _ = db0.Exec("ANALYZE TABLE catchup")
	_ = db0.QueryRow("SELECT data_length + index_length FROM information_schema.tables WHERE table_schema = ? AND table_name = 'catchup'", name).Scan(&size)
	c.DataMB = float64(size) / (1 << 20)
	t.Logf("catch-up: loaded %d rows (%.0f MiB InnoDB) in %v", c.Rows, c.DataMB, c.LoadTime.Round(time.Millisecond))

	z.FormFirst() // solo → server-add → restart as leader of a one-server zone

	ctx := context.Background()
	t0 = time.Now()
	if _, err := s0.Call(ctx, "one.zone.addserver", 0, fmt.Sprintf(`SERVER = [ NAME = "server-1", ENDPOINT = "%s" ]`, s1.Endpoint)); err != nil {
		t.Fatalf("server-add 1: %v", err)
	}
	s1.WriteConfig(1)
	s1.Start()
	deadline := time.Now().Add(60 * time.Minute) // for becoming a voter and applying every row
	z.WaitVoters(2, time.Until(deadline))
	c.VoterTime = time.Since(t0)
	db1, err := sql.Open("mysql", s1.DSN)
	if err != nil {
		t.Fatal(err)
	}
	defer db1.Close()
	// A voter is not necessarily done applying: wait until every row is there.
	var n1, atVoter int64 = 0, -1
	for {
		n1 = 0
		_ = db1.QueryRow("SELECT COUNT(*) FROM catchup").Scan(&n1)
		if atVoter < 0 {
			atVoter = n1
		}
		if n1 == c.Rows {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("server 1 has %d of %d rows after 60 min", n1, c.Rows)
		}
		time.Sleep(100 * time.Millisecond)
	}
	c.JoinTime = time.Since(t0)
	c.RowsAtVoter = atVoter
	t.Logf("catch-up: server 1 voter after %v (%d rows then), all %d rows after %v", c.VoterTime.Round(time.Millisecond), atVoter, n1, c.JoinTime.Round(time.Millisecond))

	// The same table through mariadb-dump | mariadb into a fresh database.
	dst := m.CreateDatabase(t, "catchup_dump")
	dstName := harness.DBName(dst)
	conn := []string{"-h", "127.0.0.1", "-P", strconv.Itoa(m.Port), "-u", "root"}
	dump := exec.Command("mariadb-dump", append(conn, "--single-transaction", name, "catchup")...)
	load := exec.Command("mariadb", append(conn, dstName)...)
	pipe, err := dump.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cr := &countReader{r: pipe}
	load.Stdin = cr
	var dumpErr, loadErrB bytes.Buffer
	dump.Stderr, load.Stderr = &dumpErr, &loadErrB
	t0 = time.Now()
	if err := load.Start(); err != nil {
		t.Fatal(err)
	}
	if err := dump.Start(); err != nil {
		t.Fatal(err)
	}
	// load reads the pipe until mariadb-dump closes it: wait for load first
	// (Wait closes the pipe, so dump.Wait must not run while load still
	// reads), then close our read end so a dump that still writes after a
	// failed load ends (EPIPE) instead of blocking, then wait for dump.
	lerr := load.Wait()
	_ = pipe.Close()
	derr := dump.Wait()
	c.DumpTime = time.Since(t0)
	if derr != nil || lerr != nil {
		t.Fatalf("mariadb-dump | mariadb: %v %v\n%s\n%s", derr, lerr, dumpErr.String(), loadErrB.String())
	}
	c.DumpMB = float64(cr.n) / (1 << 20)
	dbd, err := sql.Open("mysql", dst)
	if err != nil {
		t.Fatal(err)
	}
	defer dbd.Close()
	var nd int64
	if err := dbd.QueryRow("SELECT COUNT(*) FROM catchup").Scan(&nd); err != nil {
		t.Fatal(err)
	}
	c.Verified = n1 == c.Rows && nd == c.Rows
	t.Logf("catch-up: mariadb-dump | mariadb %v (%.0f MiB stream, %d rows)", c.DumpTime.Round(time.Millisecond), c.DumpMB, nd)
	c.Procedure = fmt.Sprintf("`catchup (id BIGINT PRIMARY KEY, w INT, payload VARCHAR(1000))` bulk-loaded with 500-row INSERTs into the solo server's database, then the seed's flow: server-add 0, restart as leader of a one-server zone. **New server**: from `one.zone.addserver` of server 1 on the leader, through starting it with an EMPTY database, to `one.zone.members` listing it as a voter AND every row present in its database (polled with COUNT(*); %d rows). **Baseline**: `mariadb-dump --single-transaction db catchup | mariadb otherdb` on the same mariadbd (row count %d). Both sides share the same mariadbd and the 2 cores.", n1, nd)
	return c
}

type countReader struct {
	r io.Reader
	n int64
}

func (c *countReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}
