package sqlfsm_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/raft"

	"github.com/oneha/oneha/internal/harness"
	"github.com/oneha/oneha/sqlcheck"
	"github.com/oneha/oneha/sqlfsm"
)

// crossJoinRunaway is legal, checker-approved SQL that runs for hours: a count over a
// five-way cross join of a 100-row table (10^10 rows), with no recursion
// for a bound to stop.
const crossJoinRunaway = "UPDATE vm SET name = name WHERE id = (SELECT COUNT(*) FROM big a, big b, big c, big d, big e)"

// setupRunaway creates vm and big on f and returns the log builder.
func setupRunaway(t *testing.T, f *sqlfsm.FSM) *logBuilder {
	b := newLogs(t)
	var vals []string
	for i := 1; i <= 100; i++ {
		vals = append(vals, fmt.Sprintf("(%d)", i))
	}
	for _, l := range []*raft.Log{
		b.ddl("CREATE TABLE vm (id INT PRIMARY KEY, name VARCHAR(64))"),
		b.ddl("CREATE TABLE big (id INT PRIMARY KEY)"),
		b.sql("INSERT INTO vm (id, name) VALUES (1, 'one')"),
		b.sql("INSERT INTO big (id) VALUES " + strings.Join(vals, ", ")),
	} {
		if r := f.Apply(l); asErr(r) != nil {
			t.Fatalf("setup: %v", asErr(r))
		}
	}
	return b
}

// waitRunning waits until the runaway statement runs on the server.
func waitRunning(t *testing.T, l harness.Local) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for runningRunaways(t, l) == 0 {
		if time.Now().After(deadline) {
			t.Fatal("the runaway statement never started")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func runningRunaways(t *testing.T, l harness.Local) int {
	t.Helper()
	var n int
	err := l.DB.QueryRow("SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE DB = DATABASE() AND INFO LIKE '%FROM big a, big b%' AND ID <> CONNECTION_ID()").Scan(&n)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func TestRunawayRecursionFailsDeterministicallyAndZoneStaysWritable(t *testing.T) {
	c := harness.MakeCluster(t, harness.ClusterOptions{N: 3, Dialect: sqlcheck.MySQL})
	exec(t, c, "CREATE TABLE vm (id INT PRIMARY KEY, name VARCHAR(64))")
	exec(t, c, "INSERT INTO vm (id, name) VALUES (1, 'one')")
	ctx := harness.Ctx(t, 30*time.Second)
	for _, q := range []string{
		"UPDATE vm SET name = name WHERE id = (WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT COUNT(*) FROM c)",
		"UPDATE vm SET name = 'deep' WHERE id = (WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 5000) SELECT COUNT(*) FROM c)",
	} {
		_, err := c.Exec(ctx, sqlfsm.Statement{SQL: q})
		var se *sqlfsm.SQLError
		if !errors.As(err, &se) || !strings.Contains(se.Error(), "max_recursive_iterations") {
			t.Fatalf("%s = %v, want the recursion bound's SQL error", q, err)
		}
	}
	// A recursion within the bound gives its full result.
	exec(t, c, "UPDATE vm SET name = 'counted' WHERE id = (WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 1000) SELECT COUNT(*) FROM c) - 999")
	exec(t, c, "INSERT INTO vm (id, name) VALUES (2, 'two')")
	c.Converge(t, 30*time.Second)
	rows, err := c.Leader().SQL.Query(ctx, sqlfsm.Default, "SELECT name FROM vm ORDER BY id")
	if err != nil || len(rows.Rows) != 2 || rows.Rows[0][0] != "counted" || rows.Rows[1][0] != "two" {
		t.Fatalf("rows = %+v, %v", rows, err)
	}
}

func TestApplyHonoursShutdownMySQL(t *testing.T) {
	local := harness.OpenLocal(t, sqlcheck.MySQL, nil, true)
	f := newFSM(t, local, nil)
	b := setupRunaway(t, f)
	base := f.AppliedIndex()
	logs := []*raft.Log{b.sql("INSERT INTO vm (id, name) VALUES (2, 'two')"), b.sql(crossJoinRunaway)}
	done := make(chan []any, 1)
	go func() { done <- f.ApplyBatch(logs) }()
	waitRunning(t, local)
	closed := make(chan error, 1)
	go func() { closed <- f.Close() }()
	select {
	case resps := <-done:
		for i, r := range resps {
			if !errors.Is(asErr(r), sqlfsm.ErrClosed) {
				t.Fatalf("entry %d after Close = %v, want ErrClosed (not the entry's result)", i, r)
			}
		}
	case <-time.After(30 * time.Second):
		t.Fatal("ApplyBatch still running 30 s after Close")
	}
	<-closed
	deadline := time.Now().Add(20 * time.Second)
	for runningRunaways(t, local) != 0 {
		if time.Now().After(deadline) {
			t.Fatal("the statement still runs on the server after Close")
		}
		time.Sleep(10 * time.Millisecond)
	}
	// Restart: nothing of the batch was committed, and it is applied again.
	f2 := newFSM(t, local, nil)
	if f2.AppliedIndex() != base {
		t.Fatalf("applied index after restart = %d, want %d", f2.AppliedIndex(), base)
	}
	go func() { done <- f2.ApplyBatch(logs) }()
	waitRunning(t, local)
	f2.Close()
	<-done
}

func TestStalledApplyShowsDegraded(t *testing.T) {
	local := harness.OpenLocal(t, sqlcheck.MySQL, nil, true)
	f, err := sqlfsm.New(harness.Ctx(t, 30*time.Second), sqlfsm.Config{Dialect: local.Dialect, DB: local.DB, ApplyDB: local.ApplyDB, StallAfter: 300 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	b := setupRunaway(t, f)
	if err := f.Stalled(); err != nil {
		t.Fatalf("stalled before the runaway: %v", err)
	}
	l := b.sql(crossJoinRunaway)
	done := make(chan any, 1)
	go func() { done <- f.Apply(l) }()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for !errors.Is(f.Stalled(), sqlfsm.ErrStalled) {
		if ctx.Err() != nil {
			t.Fatalf("never reported a stall; Stalled = %v", f.Stalled())
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err := f.Degraded(); err != nil {
		t.Fatalf("a stall is not a fault of this server, but Degraded = %v", err)
	}
	if msg := f.Stalled().Error(); !strings.Contains(msg, fmt.Sprint(l.Index)) {
		t.Fatalf("stall %q does not name entry %d", msg, l.Index)
	}
	f.Close()
	<-done
}

func TestRunawayWriteIsRefusedBeforeItIsLogged(t *testing.T) {
	c := harness.MakeCluster(t, harness.ClusterOptions{N: 3, Dialect: sqlcheck.MySQL})
	exec(t, c, "CREATE TABLE vm (id INT PRIMARY KEY, name VARCHAR(64))")
	exec(t, c, "CREATE TABLE big (id INT PRIMARY KEY)")
	exec(t, c, "INSERT INTO vm (id, name) VALUES (1, 'one')")
	var vals []string
	for i := 1; i <= 100; i++ {
		vals = append(vals, fmt.Sprintf("(%d)", i))
	}
	exec(t, c, "INSERT INTO big (id) VALUES "+strings.Join(vals, ", "))
	for _, q := range []string{
		crossJoinRunaway,
		"UPDATE vm, big a, big b, big c, big d, big e SET vm.name = vm.name WHERE vm.id = 1",
	} {
		before := c.Leader().FSM.AppliedIndex()
		_, err := c.Exec(harness.Ctx(t, 60*time.Second), sqlfsm.Statement{SQL: q})
		if !sqlfsm.IsUnsafe(err) {
			t.Fatalf("%s = %v, want refused before it is logged", q, err)
		}
		if after := c.Leader().FSM.AppliedIndex(); after != before {
			t.Fatalf("%s: applied index moved %d -> %d: the runaway was logged", q, before, after)
		}
	}
	// A bounded write with a subquery passes its trial and applies.
	r := exec(t, c, "UPDATE vm SET name = 'hundred' WHERE id = (SELECT COUNT(*) FROM big) - 99")
	if r.Statements[0].RowsAffected != 1 {
		t.Fatalf("bounded subquery write: %+v", r)
	}
	c.Converge(t, 30*time.Second)
}

// TestTrialLeavesTheLeadersAutoIncrementAsTheFollowers: the leader's trial
// of an INSERT with a subquery runs the INSERT and rolls it back; InnoDB
// does not give back the auto-increment values it took, so unless the
// trial leaves such INSERTs alone the leader's next id runs ahead of the
// followers' and the same entry stores different ids.
func TestTrialLeavesTheLeadersAutoIncrementAsTheFollowers(t *testing.T) {
	c := harness.MakeCluster(t, harness.ClusterOptions{N: 3, Dialect: sqlcheck.MySQL})
	exec(t, c, "CREATE TABLE src (id INT PRIMARY KEY, v INT NOT NULL)")
	exec(t, c, "INSERT INTO src (id, v) VALUES (1, 7)")
	// A trial while no table has such a column: the leader remembers that,
	// until the next DDL.
	exec(t, c, "UPDATE src SET v = (SELECT 7) WHERE id = 1")
	exec(t, c, "CREATE TABLE items (id BIGINT AUTO_INCREMENT PRIMARY KEY, v INT NOT NULL)")
	first := exec(t, c, "INSERT INTO items (v) VALUES ((SELECT v FROM src WHERE id = 1))")
	second := exec(t, c, "INSERT INTO items (v) VALUES (8)")
	if a, b := first.Statements[0].LastInsertID, second.Statements[0].LastInsertID; a != 1 || b != 2 {
		t.Fatalf("ids %d, %d; want 1, 2", a, b)
	}
	c.Converge(t, 30*time.Second)
}
