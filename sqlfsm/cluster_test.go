package sqlfsm_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/oneha/oneha/internal/harness"
	"github.com/oneha/oneha/raftlog"
	"github.com/oneha/oneha/sqlcheck"
	"github.com/oneha/oneha/sqlfsm"
)

func exec(t testing.TB, c *harness.Cluster, q string, params ...any) *sqlfsm.Result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	r, err := c.Exec(ctx, sqlfsm.Statement{SQL: q, Params: params})
	if err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return r
}

func TestClusterReplicatesAndRoutesByRole(t *testing.T) {
	for _, d := range harness.Dialects {
		for _, n := range []int{3, 5} {
			t.Run(fmt.Sprintf("%s/%d", d, n), func(t *testing.T) {
				c := harness.MakeCluster(t, harness.ClusterOptions{N: n, Dialect: d})
				exec(t, c, "CREATE TABLE kv (k VARCHAR(64) PRIMARY KEY, v TEXT, at DATETIME(6))")
				for i := 0; i < 20; i++ {
					r := exec(t, c, "INSERT INTO kv (k, v, at) VALUES (?, ?, CURRENT_TIMESTAMP)", fmt.Sprintf("k%02d", i), "v")
					if r.Statements[0].RowsAffected != 1 {
						t.Fatalf("insert %d: %+v", i, r)
					}
				}
				c.Converge(t, 20*time.Second)

				leader := c.Leader()
				var follower *harness.Server
				for _, s := range c.Servers {
					if s != leader {
						follower = s
						break
					}
				}
				ctx := harness.Ctx(t, 10*time.Second)
				// Writes and non-stale reads on a follower name the leader.
				_, err := follower.SQL.Exec(ctx, []sqlfsm.Statement{{SQL: "INSERT INTO kv (k) VALUES ('x')"}})
				var nl *raftlog.NotLeaderError
				if !errors.As(err, &nl) || nl.LeaderAddr != leader.Addr {
					t.Fatalf("follower Exec = %v, want NotLeaderError naming %s", err, leader.Addr)
				}
				for _, lvl := range []sqlfsm.Consistency{sqlfsm.Default, sqlfsm.Strong} {
					if _, err := follower.SQL.Query(ctx, lvl, "SELECT COUNT(*) FROM kv"); !errors.Is(err, raftlog.ErrNotLeader) {
						t.Fatalf("follower %s read = %v, want ErrNotLeader", lvl, err)
					}
				}
				rows, err := follower.SQL.Query(ctx, sqlfsm.Stale, "SELECT COUNT(*) FROM kv WHERE v = ?", "v")
				if err != nil || len(rows.Rows) != 1 || fmt.Sprint(rows.Rows[0][0]) != "20" {
					t.Fatalf("stale follower read = %+v, %v; want 20", rows, err)
				}
				for _, lvl := range []sqlfsm.Consistency{sqlfsm.Default, sqlfsm.Strong} {
					rows, err := leader.SQL.Query(ctx, lvl, "SELECT k FROM kv ORDER BY k LIMIT 1")
					if err != nil || rows.Rows[0][0] != "k00" || rows.Columns[0] != "k" {
						t.Fatalf("leader %s read = %+v, %v", lvl, rows, err)
					}
				}
				// A deterministic SQL error is the client's answer, identical everywhere.
				_, err = leader.SQL.Exec(ctx, []sqlfsm.Statement{{SQL: "INSERT INTO kv (k) VALUES ('k00')"}})
				if !errors.Is(err, sqlfsm.ErrSQL) {
					t.Fatalf("duplicate key = %v, want ErrSQL", err)
				}
				c.Converge(t, 20*time.Second)
			})
		}
	}
}

// counterWorkload runs writers that each, in one transaction, record a unique
// op id and increment a counter. Acknowledged ops must all be present after
// any crash, and the counter must equal the number of recorded ops.
type counterWorkload struct {
	acked   sync.Map // op id -> true
	nAcked  atomic.Int64
	unknown atomic.Int64
	stop    chan struct{}
	wg      sync.WaitGroup
}

func setupCounterTables(t testing.TB, c *harness.Cluster) {
	exec(t, c, "CREATE TABLE counter (id INTEGER PRIMARY KEY, n BIGINT NOT NULL)")
	exec(t, c, "CREATE TABLE ops (id BIGINT PRIMARY KEY)")
	exec(t, c, "INSERT INTO counter (id, n) VALUES (1, 0)")
}

func startWriters(c *harness.Cluster, writers int) *counterWorkload {
	w := &counterWorkload{stop: make(chan struct{})}
	for i := 0; i < writers; i++ {
		w.wg.Add(1)
		go func(id int) {
			defer w.wg.Done()
			for seq := 0; seq < 100000; seq++ {
				select {
				case <-w.stop:
					return
				default:
				}
				op := int64(id)*1_000_000 + int64(seq)
				ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				_, err := c.Exec(ctx,
					sqlfsm.Statement{SQL: "INSERT INTO ops (id) VALUES (?)", Params: []any{op}},
					sqlfsm.Statement{SQL: "UPDATE counter SET n = n + 1 WHERE id = 1"})
				cancel()
				if err == nil {
					w.acked.Store(op, true)
					w.nAcked.Add(1)
				} else {
					w.unknown.Add(1) // may or may not have happened
				}
			}
		}(i)
	}
	return w
}

func (w *counterWorkload) finish() { close(w.stop); w.wg.Wait() }

// check verifies, on every running server, counter == number of ops rows
// and every acknowledged op is present.
func (w *counterWorkload) check(t testing.TB, c *harness.Cluster) {
	t.Helper()
	c.Converge(t, 60*time.Second)
	for _, s := range c.Running() {
		var n, ops int64
		if err := s.DB.QueryRow("SELECT n FROM counter WHERE id = 1").Scan(&n); err != nil {
			t.Fatal(err)
		}
		if err := s.DB.QueryRow("SELECT COUNT(*) FROM ops").Scan(&ops); err != nil {
			t.Fatal(err)
		}
		if n != ops {
			t.Fatalf("server %s: counter %d != %d recorded ops (an entry applied partly or twice)", s.ID, n, ops)
		}
		if n < w.nAcked.Load() || n > w.nAcked.Load()+w.unknown.Load() {
			t.Fatalf("server %s: counter %d outside [acked %d, acked+unknown %d]", s.ID, n, w.nAcked.Load(), w.nAcked.Load()+w.unknown.Load())
		}
		missing := 0
		w.acked.Range(func(k, _ any) bool {
			var x int64
			if err := s.DB.QueryRow("SELECT id FROM ops WHERE id = ?", k).Scan(&x); err != nil {
				missing++
			}
			return true
		})
		if missing > 0 {
			t.Fatalf("server %s: %d acknowledged ops lost", s.ID, missing)
		}
	}
	t.Logf("acknowledged %d, unknown outcome %d", w.nAcked.Load(), w.unknown.Load())
}

// TestCrashesLoseNothing kills the leader and a follower (no leadership
// transfer, open DB transactions rolled back) under concurrent writers over
// real TCP, restarts them, and checks I1/I2/I3.
func TestCrashesLoseNothing(t *testing.T) {
	for _, d := range harness.Dialects {
		t.Run(string(d), func(t *testing.T) {
			c := harness.MakeCluster(t, harness.ClusterOptions{N: 3, Dialect: d, TCP: true})
			setupCounterTables(t, c)
			w := startWriters(c, 8)
			for round := 0; round < 2; round++ {
				time.Sleep(700 * time.Millisecond)
				leader := c.WaitForLeader(t, 15*time.Second)
				c.Crash(t, leader)
				newLeader := c.WaitForLeader(t, 15*time.Second)
				var follower *harness.Server
				for _, s := range c.Running() {
					if s != newLeader {
						follower = s
					}
				}
				time.Sleep(300 * time.Millisecond)
				c.Restart(t, leader)
				time.Sleep(300 * time.Millisecond)
				c.Crash(t, follower)
				time.Sleep(500 * time.Millisecond)
				c.Restart(t, follower)
			}
			time.Sleep(500 * time.Millisecond)
			w.finish()
			if w.nAcked.Load() == 0 {
				t.Fatal("no write was acknowledged")
			}
			w.check(t, c)
		})
	}
}

// TestFollowerFSMStopsMidBatch halts a follower's FSM just before it commits
// a batch (a crash with statements executed but not committed), restarts it
// and checks it converges with every entry applied once.
func TestFollowerFSMStopsMidBatch(t *testing.T) {
	for _, d := range harness.Dialects {
		t.Run(string(d), func(t *testing.T) {
			var victim, crashes atomic.Int32
			victim.Store(-1)
			c := harness.MakeCluster(t, harness.ClusterOptions{N: 3, Dialect: d, Faults: func(i int) *sqlfsm.Faults {
				return &sqlfsm.Faults{Hook: func(p sqlfsm.FaultPoint, _ uint64) error {
					if p == sqlfsm.PointBeforeCommit && victim.Load() == int32(i) {
						crashes.Add(1)
						return sqlfsm.ErrCrash
					}
					return nil
				}}
			}})
			setupCounterTables(t, c)
			w := startWriters(c, 4)
			time.Sleep(300 * time.Millisecond)
			leader := c.WaitForLeader(t, 10*time.Second)
			follower := c.Servers[(leader.Index+1)%3]
			victim.Store(int32(follower.Index))
			time.Sleep(300 * time.Millisecond)
			c.Crash(t, follower)
			victim.Store(-1)
			if crashes.Load() == 0 {
				t.Fatal("the follower's FSM never reached the injected crash: the test exercised nothing")
			}
			c.Restart(t, follower)
			time.Sleep(300 * time.Millisecond)
			w.finish()
			w.check(t, c)
		})
	}
}

// TestDegradedLeaderStepsDown breaks the leader's database (every commit
// fails transiently): it must hand leadership away, writes continue on the
// new leader, and once its database heals it catches up without skipping.
func TestDegradedLeaderStepsDown(t *testing.T) {
	var broken atomic.Int32
	broken.Store(-1)
	c := harness.MakeCluster(t, harness.ClusterOptions{N: 3, Faults: func(i int) *sqlfsm.Faults {
		return &sqlfsm.Faults{Hook: func(p sqlfsm.FaultPoint, _ uint64) error {
			if p == sqlfsm.PointBeforeCommit && broken.Load() == int32(i) {
				return errors.New("read-only file system (injected)")
			}
			return nil
		}}
	}})
	setupCounterTables(t, c)
	old := c.WaitForLeader(t, 10*time.Second)
	broken.Store(int32(old.Index))
	// This write commits in the log but cannot apply on the old leader.
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		defer cancel()
		old.SQL.Exec(ctx, []sqlfsm.Statement{{SQL: "UPDATE counter SET n = n + 1 WHERE id = 1"}})
	}()
	deadline := time.Now().Add(15 * time.Second)
	for {
		if l := c.Leader(); l != nil && l != old {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("leader %s kept leadership with a broken database (degraded: %v)", old.ID, old.FSM.Degraded())
		}
		time.Sleep(20 * time.Millisecond)
	}
	exec(t, c, "UPDATE counter SET n = n + 1 WHERE id = 1")
	broken.Store(-1)
	c.Converge(t, 30*time.Second)
	for _, s := range c.Servers {
		if got := counter(t, s.DB); got != 2 {
			t.Fatalf("server %s counter = %d, want 2", s.ID, got)
		}
	}
}

// TestLaggingFollowerCatchesUpFromSnapshot: a follower down while the leader
// compacts its log past the follower's position gets a snapshot (a logical
// dump) and then the log — OpenNebula's followers never catch up here.
func TestLaggingFollowerCatchesUpFromSnapshot(t *testing.T) {
	for _, d := range harness.Dialects {
		t.Run(string(d), func(t *testing.T) {
			c := harness.MakeCluster(t, harness.ClusterOptions{N: 3, Dialect: d, Raft: func(cfg *raftlog.Config) {
				cfg.TrailingLogs = 10
				cfg.SnapshotThreshold = 1 << 40 // only explicit snapshots
				// raft-wal keeps serving compacted entries while they sit in
				// its open 64 MiB tail segment; boltdb deletes them, which
				// forces the snapshot path this test is about.
				cfg.LogStore = raftlog.LogStoreBoltDB
			}})
			setupCounterTables(t, c)
			leader := c.WaitForLeader(t, 10*time.Second)
			var lag *harness.Server
			for _, s := range c.Servers {
				if s != leader {
					lag = s
				}
			}
			c.Crash(t, lag)
			// Two servers left: an election under load must not fail (or
			// double) a write, so each carries a request id.
			insert := func(i int) {
				t.Helper()
				ctx := harness.Ctx(t, 30*time.Second)
				if _, err := c.ExecOnce(ctx, fmt.Sprintf("op-%d", i), sqlfsm.Statement{SQL: "INSERT INTO ops (id) VALUES (?)", Params: []any{int64(i)}}); err != nil {
					t.Fatalf("insert %d: %v", i, err)
				}
			}
			for i := 0; i < 60; i++ {
				insert(i)
			}
			ctx := harness.Ctx(t, 30*time.Second)
			if err := c.Leader().Node.Snapshot(ctx); err != nil {
				t.Fatal(err)
			}
			for i := 60; i < 80; i++ {
				insert(i)
			}
			c.Restart(t, lag)
			c.Converge(t, 60*time.Second)
			var n int
			if err := lag.DB.QueryRow("SELECT COUNT(*) FROM ops").Scan(&n); err != nil || n != 80 {
				t.Fatalf("lagging follower has %d ops (%v), want 80", n, err)
			}
			// It caught up through an installed snapshot, not the log.
			if got := lag.Node.Raft().Stats()["last_snapshot_index"]; got == "0" || got == "" {
				t.Fatalf("lagging follower's last_snapshot_index = %q: no snapshot was installed", got)
			}
		})
	}
}

// TestRestartRestoresOnlyWhenBehind: a server whose DB is at or past the
// newest snapshot keeps its DB on restart (no restore); one whose DB is behind
// it is restored from the local snapshot before replaying the log.
func TestRestartRestoresOnlyWhenBehind(t *testing.T) {
	for _, d := range harness.Dialects {
		t.Run(string(d), func(t *testing.T) {
			c := harness.MakeCluster(t, harness.ClusterOptions{N: 3, Dialect: d, Raft: func(cfg *raftlog.Config) {
				cfg.SnapshotThreshold = 1 << 40
			}})
			setupCounterTables(t, c)
			for i := 0; i < 10; i++ {
				exec(t, c, "UPDATE counter SET n = n + 1 WHERE id = 1")
			}
			c.Converge(t, 20*time.Second)
			s := c.Servers[1]
			if err := s.Node.Snapshot(harness.Ctx(t, 20*time.Second)); err != nil {
				t.Fatal(err)
			}
			// A table outside the log: a restore would drop it.
			if _, err := s.DB.Exec("CREATE TABLE local_marker (id INT)"); err != nil {
				t.Fatal(err)
			}
			c.Stop(t, s)
			c.Restart(t, s)
			if _, err := s.DB.Exec("SELECT COUNT(*) FROM local_marker"); err != nil {
				t.Fatalf("restart restored a snapshot over a database that was up to date: %v", err)
			}
			// Now make the database look behind the snapshot (as after a
			// crash mid-restore) and restart: the restore must run.
			if _, err := s.DB.Exec("UPDATE " + sqlfsm.AppliedTable + " SET applied_index = 0"); err != nil {
				t.Fatal(err)
			}
			c.Crash(t, s)
			c.Restart(t, s)
			if _, err := s.DB.Exec("SELECT COUNT(*) FROM local_marker"); err == nil {
				t.Fatal("database behind the snapshot was not restored")
			}
			c.Converge(t, 20*time.Second)
			if got := counter(t, s.DB); got != 10 {
				t.Fatalf("counter after restore = %d, want 10", got)
			}
		})
	}
}

// TestMariaDBKilledUnderLoad runs each server on its own mariadbd with
// relaxed flushing (innodb_flush_log_at_trx_commit=2, as recommended for
// replicas: the Raft log is the durable record) and SIGKILLs a follower's
// mariadbd, then the leader's, under concurrent writers. The follower stalls
// and resumes without skipping; the leader, unable to apply, hands leadership
// away; nothing acknowledged is lost or doubled.
func TestMariaDBKilledUnderLoad(t *testing.T) {
	c := harness.MakeCluster(t, harness.ClusterOptions{
		N: 3, Dialect: sqlcheck.MySQL, TCP: true, MariaDBPerServer: true,
		MariaDBOptions: []harness.MariaDBOption{harness.WithFlushLogAtTrxCommit(2)},
	})
	setupCounterTables(t, c)
	w := startWriters(c, 8)
	time.Sleep(500 * time.Millisecond)

	leader := c.WaitForLeader(t, 10*time.Second)
	follower := c.Servers[(leader.Index+1)%3]
	follower.MariaDB.Kill(t)
	waitDegraded(t, follower)
	time.Sleep(300 * time.Millisecond)
	follower.MariaDB.Start(t)

	time.Sleep(500 * time.Millisecond)
	leader.MariaDB.Kill(t)
	deadline := time.Now().Add(20 * time.Second)
	for {
		if l := c.Leader(); l != nil && l != leader {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("leader %s kept leadership with its mariadbd dead (degraded: %v)", leader.ID, leader.FSM.Degraded())
		}
		time.Sleep(20 * time.Millisecond)
	}
	time.Sleep(300 * time.Millisecond)
	leader.MariaDB.Start(t)
	time.Sleep(500 * time.Millisecond)
	w.finish()
	if w.nAcked.Load() == 0 {
		t.Fatal("no write was acknowledged")
	}
	w.check(t, c)
}

func waitDegraded(t *testing.T, s *harness.Server) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for s.FSM.Degraded() == nil {
		if time.Now().After(deadline) {
			t.Fatalf("server %s never reported degraded with its database down", s.ID)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
