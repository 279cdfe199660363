package chaos

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/anishathalye/porcupine"
	"github.com/oneha/oneha/internal/harness"
	"github.com/oneha/oneha/sqlcheck"
	"github.com/oneha/oneha/sqlfsm"
)

// config is one suite run: a zone shape and the faults to inject.
type config struct {
	Name    string
	N       int
	MariaDB bool // a private mariadbd per host; SQLite otherwise
	Subnet  string
	Faults  []fault
	Clients int
	KeysPer int           // keys per phase
	Settle  time.Duration // quiet time before and after each fault
	Hold    time.Duration // how long each fault lasts
	Timeout time.Duration // per operation
	Check   time.Duration // porcupine timeout per phase
	// Retry: writes carry request ids and unknown outcomes are retried
	// with them (workload.retry); audit rows get no key on id, so a write
	// applied twice shows as two rows (checkExactlyOnce).
	Retry bool
}

// env is what a fault acts on.
type env struct {
	t   *testing.T
	z   *harness.ProcZone
	dbs []*harness.HostMariaDB // with MariaDB
}

func (e *env) hosts() []*harness.Host {
	out := make([]*harness.Host, len(e.z.Servers))
	for i, o := range e.z.Servers {
		out[i] = o.Host
	}
	return out
}

func (e *env) leader() *harness.Oned { return e.z.Leader(30 * time.Second) }

// currentLeader returns the server that reports STATE 3 now, or nil. Unlike
// leader it does not wait or fail, so goroutines may call it.
func (e *env) currentLeader() *harness.Oned {
	for _, o := range e.z.Servers {
		if o.Running() && o.RaftState() == 3 {
			return o
		}
	}
	return nil
}

// waitCaughtUp waits until f's database has applied everything the leader
// had applied when called, and reports no fault.
func (e *env) waitCaughtUp(f *harness.Oned, timeout time.Duration) {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	start := time.Now()
	var target uint64
	for target == 0 && ctx.Err() == nil {
		if l := e.currentLeader(); l != nil {
			if h, err := l.Health(ctx); err == nil {
				target = h.AppliedIndex
			}
		}
		if target == 0 {
			time.Sleep(50 * time.Millisecond)
		}
	}
	for ctx.Err() == nil {
		h, err := f.Health(ctx)
		if err == nil && h.Degraded == "" && h.AppliedIndex >= target {
			e.t.Logf("chaos: server %d caught up to index %d in %v", f.ID, target, time.Since(start).Round(time.Millisecond))
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	h, err := f.Health(context.Background())
	e.t.Fatalf("chaos: server %d did not catch up to index %d in %v: %+v %v", f.ID, target, timeout, h, err)
}

// follower returns a running follower (STATE 2).
func (e *env) follower() *harness.Oned {
	e.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		for _, o := range e.z.Servers {
			if o.Running() && o.RaftState() == 2 {
				return o
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	e.t.Fatal("chaos: no follower")
	return nil
}

// waitHealthy waits until every server runs, one leads, the others follow,
// and a strong read answers through every server.
func (e *env) waitHealthy(c *client, timeout time.Duration) time.Duration {
	e.t.Helper()
	start := time.Now()
	deadline := start.Add(timeout)
	for {
		leaders, followers := 0, 0
		for _, o := range e.z.Servers {
			switch o.RaftState() {
			case 3:
				leaders++
			case 2:
				followers++
			}
		}
		ok := leaders == 1 && followers == len(e.z.Servers)-1
		if ok {
			for _, o := range e.z.Servers {
				if _, err := c.read(e.t.Context(), o.Endpoint, 0); err != nil {
					ok = false
					break
				}
			}
		}
		if ok {
			return time.Since(start)
		}
		if time.Now().After(deadline) {
			var b strings.Builder
			for _, o := range e.z.Servers {
				fmt.Fprintf(&b, "--- server %d (state %d) ---\n%s\n", o.ID, o.RaftState(), o.LogTail(25))
			}
			e.t.Fatalf("chaos: zone not healthy %v after healing (leaders %d, followers %d)\n%s", timeout, leaders, followers, b.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// row is one line of the report.
type row struct {
	Fault                       string
	Ops, Acked, Unknown, Failed int
	Lost, Phantom               int
	Linearizable                string
	Recovery                    time.Duration
	Visualization               string
}

// setupSQL creates the register and audit tables and nkeys keys at 0.
func setupSQL(t *testing.T, c *client, ep string, nkeys int, retry, mariaDB bool) {
	t.Helper()
	exec := func(stmts ...any) {
		t.Helper()
		var err error
		for try := 0; try < 50; try++ {
			if _, _, err = c.call(t.Context(), ep, "one.sql.exec", stmts); err == nil {
				return
			}
			time.Sleep(200 * time.Millisecond)
		}
		t.Fatalf("chaos: setup %v: %v", stmts, err)
	}
	exec("CREATE TABLE reg (k INT PRIMARY KEY, v BIGINT NOT NULL)")
	switch {
	case retry && mariaDB:
		exec("CREATE TABLE audit (seq BIGINT PRIMARY KEY AUTO_INCREMENT, id BIGINT NOT NULL, k INT NOT NULL)")
	case retry:
		exec("CREATE TABLE audit (seq INTEGER PRIMARY KEY, id BIGINT NOT NULL, k INT NOT NULL)")
	default:
		exec("CREATE TABLE audit (id BIGINT PRIMARY KEY, k INT NOT NULL)")
	}
	var vals []string
	for k := 0; k < nkeys; k++ {
		vals = append(vals, fmt.Sprintf("(%d, 0)", k))
	}
	exec("INSERT INTO reg (k, v) VALUES " + strings.Join(vals, ", "))
}

// newZone forms an n-server zone in a new lab on subnet (a mariadbd per
// host with mariaDB, SQLite otherwise) that the test process reaches.
func newZone(t *testing.T, subnet string, n int, mariaDB bool) (*env, *client) {
	t.Helper()
	lab := harness.NewLab(t, subnet)
	opts := harness.ZoneOptions{N: n, Lab: lab}
	if mariaDB {
		opts.Dialect = sqlcheck.MySQL
	}
	z := harness.NewProcZone(t, opts)
	e := &env{t: t, z: z}
	if mariaDB {
		e.dbs = z.UseHostMariaDBs(t)
	}
	lab.AttachRoot(t)
	z.FormZone()
	return e, &client{session: z.Session, timeout: 2 * time.Second}
}

// runSuite builds the zone, runs the workload under the nemesis, heals,
// checks and returns the per-fault rows. Violations fail t.
func runSuite(t *testing.T, cfg config) []row {
	t.Helper()
	formStart := time.Now()
	e, c := newZone(t, cfg.Subnet, cfg.N, cfg.MariaDB)
	c.timeout = cfg.Timeout
	z := e.z
	t.Logf("chaos[%s]: %d servers formed in %v", cfg.Name, cfg.N, time.Since(formStart).Round(time.Millisecond))

	var faults []fault
	for _, f := range cfg.Faults {
		if (f.Needs == nil || f.Needs(e)) && selected(f.Name) {
			faults = append(faults, f)
		}
	}
	endpoints := make([]string, len(z.Servers))
	for i, o := range z.Servers {
		endpoints[i] = o.Endpoint
	}
	setupSQL(t, c, e.leader().Endpoint, len(faults)*cfg.KeysPer, cfg.Retry, cfg.MariaDB)
	e.waitHealthy(c, 30*time.Second)

	w := newWorkload(c, endpoints, cfg.KeysPer)
	w.retry = cfg.Retry
	w.run(cfg.Clients, time.Now().UnixNano())
	stopped := false
	defer func() {
		if !stopped {
			w.stop()
		}
	}()
	recovery := make([]time.Duration, len(faults))
	for i, f := range faults {
		w.phase.Store(int64(i))
		time.Sleep(cfg.Settle)
		t0 := time.Now()
		heal := f.Inject(e)
		injected := time.Since(t0)
		time.Sleep(cfg.Hold)
		heal()
		recovery[i] = e.waitHealthy(c, 60*time.Second)
		time.Sleep(cfg.Settle)
		t.Logf("chaos[%s]: phase %d %q: injected in %v, held %v, healthy %v after healing",
			cfg.Name, i, f.Name, injected.Round(time.Millisecond), cfg.Hold, recovery[i].Round(time.Millisecond))
	}
	w.stop()
	stopped = true
	e.waitHealthy(c, 60*time.Second)

	// Final strong reads of every key through the leader: part of the
	// history, so lost acknowledged writes show as violations too.
	final := finalReads(t, e, w, len(faults))
	end := w.now() + 1
	recs := append(w.records(), final...)

	// Convergence: every replica's reg and audit tables the same.
	audits := converge(t, e, c, 60*time.Second)

	if cfg.Retry {
		checkExactlyOnce(t, c, e.z.Servers[0].Endpoint, w.records())
	}

	rows := make([]row, len(faults))
	for i, f := range faults {
		rows[i] = row{Fault: f.Name, Recovery: recovery[i]}
	}
	byPhase := make([][]record, len(faults))
	for _, r := range recs {
		byPhase[r.Phase] = append(byPhase[r.Phase], r)
		if r.Client >= cfg.Clients {
			continue // final reads are not counted as workload operations
		}
		rw := &rows[r.Phase]
		rw.Ops++
		isWrite := r.In.Kind != opRead
		switch r.St {
		case stOK:
			rw.Acked++
			if isWrite {
				if r.In.Kind == opWrite && !r.Out.OK {
					t.Errorf("chaos: acknowledged write %d of k%d changed no row", r.ID, r.In.Key)
				}
				for s, a := range audits {
					if !a[r.ID] {
						rw.Lost++
						t.Errorf("chaos: LOST acknowledged %v id %d (k%d) missing from server %d's audit", r.In.Kind, r.ID, r.In.Key, s)
						break
					}
				}
			}
		case stUnknown:
			rw.Unknown++
		case stFail:
			rw.Failed++
			if isWrite && audits[0][r.ID] {
				rw.Phantom++
				t.Errorf("chaos: PHANTOM %v id %d (k%d) failed definitely (%s) but is in audit", r.In.Kind, r.ID, r.In.Key, r.Err)
			}
		}
	}

	for i := range faults {
		v := check(byPhase[i], end, cfg.Check)
		switch v.Result {
		case porcupine.Ok:
			rows[i].Linearizable = "yes"
		case porcupine.Illegal:
			rows[i].Linearizable = "NO"
			path := filepath.Join(vizDir(t), fmt.Sprintf("chaos-%s-phase%d.html", sanitize(cfg.Name), i))
			if err := visualize(v, path); err != nil {
				t.Errorf("chaos: visualize: %v", err)
			}
			rows[i].Visualization = path
			if raw, err := json.MarshalIndent(byPhase[i], "", " "); err == nil {
				// Every record of the phase, failed and unknown ones
				// included (the visualization shows only what the checker
				// kept).
				if err := os.WriteFile(strings.TrimSuffix(path, ".html")+"-records.json", raw, 0o644); err != nil {
					t.Errorf("chaos: records: %v", err)
				}
			}
			t.Errorf("chaos[%s]: phase %q is NOT linearizable: porcupine visualization %s", cfg.Name, faults[i].Name, path)
		default:
			rows[i].Linearizable = "unknown (checker timeout)"
			t.Errorf("chaos[%s]: phase %q: porcupine gave no verdict within %v (%d ops)", cfg.Name, faults[i].Name, cfg.Check, v.Ops)
		}
	}

	checksums(t, e)
	return rows
}

// finalReads reads every key strongly through the leader and records the
// reads as operations of the key's phase (client id past the workload's).
func finalReads(t *testing.T, e *env, w *workload, phases int) []record {
	t.Helper()
	var out []record
	ep := e.leader().Endpoint
	for p := 0; p < phases; p++ {
		for _, k := range w.keys(p) {
			var (
				v   int64
				err error
			)
			for try := 0; try < 20; try++ {
				r := record{Client: 1000, ID: w.nextID.Add(1), Phase: p, In: input{Kind: opRead, Key: k}}
				r.Call = w.now()
				v, err = w.c.read(t.Context(), ep, k)
				r.Ret = w.now()
				if err == nil {
					r.Out.Val = v
					out = append(out, r)
					break
				}
				time.Sleep(200 * time.Millisecond)
				ep = e.leader().Endpoint
			}
			if err != nil {
				t.Fatalf("chaos: final read of k%d: %v", k, err)
			}
		}
	}
	return out
}

// converge waits until every server's local copy of reg and audit is the
// same and returns each server's audit ids.
func converge(t *testing.T, e *env, c *client, timeout time.Duration) []map[int64]bool {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		var (
			regs   [][][]any
			audits [][][]any
			err    error
		)
		for _, o := range e.z.Servers {
			var r, a [][]any
			if r, err = c.stale(t.Context(), o.Endpoint, "SELECT k, v FROM reg ORDER BY k"); err != nil {
				break
			}
			if a, err = c.stale(t.Context(), o.Endpoint, "SELECT id FROM audit ORDER BY id"); err != nil {
				break
			}
			regs, audits = append(regs, r), append(audits, a)
		}
		same := err == nil
		for i := 1; same && i < len(regs); i++ {
			same = reflect.DeepEqual(regs[0], regs[i]) && reflect.DeepEqual(audits[0], audits[i])
		}
		if same {
			out := make([]map[int64]bool, len(audits))
			for i, a := range audits {
				out[i] = map[int64]bool{}
				for _, r := range a {
					id, _ := r[0].(int64)
					out[i][id] = true
				}
			}
			t.Logf("chaos: replicas converged: %d keys, %d audit rows on each of %d servers", len(regs[0]), len(audits[0]), len(regs))
			return out
		}
		if time.Now().After(deadline) {
			sizes := make([]int, len(audits))
			for i, a := range audits {
				sizes[i] = len(a)
			}
			for _, o := range e.z.Servers {
				t.Logf("server %d, last log lines:\n%s", o.ID, o.LogTail(30))
			}
			t.Fatalf("chaos: replicas did not converge within %v (last error %v, audit sizes %v)", timeout, err, sizes)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// checksums stops every server cleanly and compares the checksums of their
// databases (every table but the applied index). The followers stop first:
// a leader's graceful stop logs its handover intent (the leadership
// history), which a server stopped before it would not apply; alone, the
// leader cannot commit it.
func checksums(t *testing.T, e *env) {
	t.Helper()
	for _, o := range e.z.Servers {
		o.Signal(syscall.SIGCONT) // harmless; a stopped process could not exit
	}
	leader := e.z.Leader(30 * time.Second)
	for _, o := range e.z.Servers {
		if o != leader {
			o.Stop()
		}
	}
	leader.Stop()
	sums := make([]string, len(e.z.Servers))
	for i, o := range e.z.Servers {
		var (
			db  *sql.DB
			err error
			d   = sqlcheck.SQLite
		)
		if e.dbs != nil {
			d = sqlcheck.MySQL
			db, err = sqlfsm.OpenMySQL(e.dbs[i].SocketDSN("oneha"), 2)
		} else {
			db, err = sqlfsm.OpenSQLite(filepath.Join(o.DataDir(), "one.db"))
		}
		if err != nil {
			t.Fatalf("chaos: open server %d's database: %v", o.ID, err)
		}
		sums[i] = harness.Checksum(t, db, d)
		db.Close()
	}
	for i := 1; i < len(sums); i++ {
		if sums[i] != sums[0] {
			t.Errorf("chaos: server %d's database checksum %s differs from server 0's %s", i, sums[i], sums[0])
		}
	}
	t.Logf("chaos: database checksums after stopping every server: %v", sums)
}

func sanitize(s string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(s) {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
			b.WriteRune(r)
		} else {
			b.WriteByte('-')
		}
	}
	return b.String()
}

// selected applies ONEHA_CHAOS_FAULTS, a comma-separated list of substrings
// of fault names ("power loss,bridge"): only matching faults run. Unset: all.
func selected(name string) bool {
	v := os.Getenv("ONEHA_CHAOS_FAULTS")
	if v == "" {
		return true
	}
	for _, f := range strings.Split(v, ",") {
		if f = strings.TrimSpace(f); f != "" && strings.Contains(name, f) {
			return true
		}
	}
	return false
}

// resultsDir is where ONEHA_RESULTS asks reports to go ("" when unset):
// the value itself when it names a directory, else the module's results/.
func resultsDir() string {
	v := os.Getenv("ONEHA_RESULTS")
	switch v {
	case "":
		return ""
	case "1", "true", "yes":
		abs, _ := filepath.Abs(filepath.Join("..", "..", "results"))
		return abs
	}
	return v
}

// vizDir is where violation visualizations go: results/ when asked for,
// else a directory that outlives the test.
func vizDir(t *testing.T) string {
	if d := resultsDir(); d != "" {
		if err := os.MkdirAll(d, 0o755); err == nil {
			return d
		}
	}
	d, err := os.MkdirTemp("", "oneha-chaos-")
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// table renders rows as Markdown.
func table(title string, rows []row) string {
	var b strings.Builder
	fmt.Fprintf(&b, "### %s\n\n", title)
	b.WriteString("| fault | ops | acknowledged | unknown | failed | lost | phantom | linearizable | healthy after heal |\n")
	b.WriteString("|---|---:|---:|---:|---:|---:|---:|---|---:|\n")
	var tot row
	for _, r := range rows {
		lin := r.Linearizable
		if r.Visualization != "" {
			lin += " (" + r.Visualization + ")"
		}
		fmt.Fprintf(&b, "| %s | %d | %d | %d | %d | %d | %d | %s | %v |\n", r.Fault, r.Ops, r.Acked, r.Unknown, r.Failed, r.Lost, r.Phantom, lin, r.Recovery.Round(10*time.Millisecond))
		tot.Ops += r.Ops
		tot.Acked += r.Acked
		tot.Unknown += r.Unknown
		tot.Failed += r.Failed
		tot.Lost += r.Lost
		tot.Phantom += r.Phantom
	}
	fmt.Fprintf(&b, "| **total** | %d | %d | %d | %d | %d | %d | | |\n", tot.Ops, tot.Acked, tot.Unknown, tot.Failed, tot.Lost, tot.Phantom)
	return b.String()
}

// report logs the tables and, with ONEHA_RESULTS, writes them into
// results/chaos.md under a section of the test's name (other sections kept).
func report(t *testing.T, intro string, tables ...string) {
	t.Helper()
	body := intro + "\n\n" + strings.Join(tables, "\n")
	t.Log("\n" + body)
	dir := resultsDir()
	if dir == "" {
		return
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Errorf("chaos: results: %v", err)
		return
	}
	path := filepath.Join(dir, "chaos.md")
	begin, finish := "<!-- "+t.Name()+" begin -->", "<!-- "+t.Name()+" end -->"
	section := begin + "\n## " + t.Name() + " (" + time.Now().UTC().Format("2006-01-02 15:04 UTC") + ")\n\n" + body + "\n" + finish + "\n"
	old, _ := os.ReadFile(path)
	s := string(old)
	if s == "" {
		s = "# Nemesis suite results (internal/chaos)\n\n" +
			"Per fault type: operations run during the phase, definite answers (acknowledged), writes with unknown outcome, " +
			"operations that definitely failed, acknowledged writes missing after healing (lost, must be 0), definitely failed " +
			"writes found applied (phantom, must be 0), porcupine's verdict, and the time until the zone was healthy after healing.\n\n"
	}
	if i, j := strings.Index(s, begin), strings.Index(s, finish); i >= 0 && j > i {
		s = s[:i] + section + s[j+len(finish)+1:]
	} else {
		s += section + "\n"
	}
	if err := os.WriteFile(path, []byte(s), 0o644); err != nil {
		t.Errorf("chaos: results: %v", err)
	}
}
