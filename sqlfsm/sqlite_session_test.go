package sqlfsm_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/raft"

	"github.com/oneha/oneha/internal/harness"
	"github.com/oneha/oneha/sqlcheck"
	"github.com/oneha/oneha/sqlfsm"
)

// entryTime is far from any test machine's clock: a value equal to it can
// only come from the entry's context.
var entryTime = time.Date(2001, 2, 3, 4, 5, 6, 789123000, time.UTC)

// replica is one server's FSM on its own SQLite file.
type replica struct {
	db  *sql.DB
	fsm *sqlfsm.FSM
}

func sqliteReplicas(t *testing.T, n int, budget int64) []*replica {
	t.Helper()
	out := make([]*replica, n)
	for i := range out {
		l := harness.OpenLocal(t, sqlcheck.SQLite, nil, false)
		out[i] = &replica{db: l.DB, fsm: openSQLiteFSM(t, l.DB, budget)}
	}
	return out
}

func openSQLiteFSM(t *testing.T, db *sql.DB, budget int64) *sqlfsm.FSM {
	t.Helper()
	f, err := sqlfsm.New(harness.Ctx(t, 30*time.Second), sqlfsm.Config{Dialect: sqlcheck.SQLite, DB: db, StatementBudget: budget,
		RetryMin: 5 * time.Millisecond, RetryMax: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

// ctxLogs hands out log entries carrying a chosen context.
type ctxLogs struct {
	t    *testing.T
	next uint64
}

func (b *ctxLogs) entry(c sqlfsm.Context, stmts ...sqlfsm.Statement) *raft.Log {
	b.t.Helper()
	b.next++
	ddl := len(stmts) == 1 && strings.HasPrefix(stmts[0].SQL, "CREATE")
	data, err := sqlfsm.Encode(&sqlfsm.Entry{Context: c, DDL: ddl, Statements: stmts})
	if err != nil {
		b.t.Fatal(err)
	}
	return &raft.Log{Index: b.next, Term: 1, Type: raft.LogCommand, Data: data}
}

func (b *ctxLogs) sql(q ...string) *raft.Log {
	stmts := make([]sqlfsm.Statement, len(q))
	for i := range q {
		stmts[i] = sqlfsm.Statement{SQL: q[i]}
	}
	return b.entry(sqlfsm.Context{Time: entryTime, Seed1: uint32(b.next), Seed2: 7}, stmts...)
}

// applyAll applies logs on every replica and returns each replica's
// results, failing the test on anything but a *Result.
func applyAll(t *testing.T, rs []*replica, logs ...*raft.Log) [][]*sqlfsm.Result {
	t.Helper()
	out := make([][]*sqlfsm.Result, len(rs))
	for i, r := range rs {
		out[i] = results(t, r.fsm.ApplyBatch(logs))
	}
	return out
}

func mustSucceed(t *testing.T, res [][]*sqlfsm.Result) {
	t.Helper()
	for i, rr := range res {
		for j, r := range rr {
			if r == nil || r.Err != nil {
				t.Fatalf("server %d, entry %d: %+v", i, j, r)
			}
		}
	}
}

// dump renders the rows of q on db.
func dump(t *testing.T, db *sql.DB, q string) string {
	t.Helper()
	rows, err := db.Query(q)
	if err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	defer rows.Close()
	cols, _ := rows.Columns()
	var b strings.Builder
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			t.Fatal(err)
		}
		fmt.Fprintln(&b, vals...)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

func TestSQLiteNowIsTheEntryTimeHoweverBuilt(t *testing.T) {
	rs := sqliteReplicas(t, 3, 0)
	b := &ctxLogs{t: t}
	for _, ddl := range []string{
		"CREATE TABLE t (id INTEGER PRIMARY KEY, v)",
		"CREATE TABLE d1 (id INTEGER PRIMARY KEY, v TEXT DEFAULT (datetime('now')))",
		"CREATE TABLE d2 (id INTEGER PRIMARY KEY, v TEXT DEFAULT CURRENT_TIMESTAMP, w TEXT DEFAULT CURRENT_DATE, x TEXT DEFAULT CURRENT_TIME)",
		"CREATE TABLE src (id INTEGER PRIMARY KEY, x TEXT)",
		"CREATE TRIGGER trg AFTER INSERT ON src BEGIN INSERT INTO t (id, v) VALUES (NEW.id, datetime(NEW.x)); END",
		"CREATE VIEW vw AS SELECT datetime('now') AS v",
	} {
		mustSucceed(t, applyAll(t, rs, b.sql(ddl)))
	}
	const dt = "2001-02-03 04:05:06"
	const epoch = "981173106"
	jd := fmt.Sprint(float64(entryTime.UnixMilli()+210866760000000) / 86400000)
	cases := []struct{ name, stmt, query, want string }{
		{"concatenation", "INSERT INTO t (id, v) VALUES (1, datetime('n'||'ow'))", "SELECT v FROM t WHERE id = 1", dt},
		{"lower", "INSERT INTO t (id, v) VALUES (2, datetime(lower('NOW')))", "SELECT v FROM t WHERE id = 2", dt},
		{"trim", "INSERT INTO t (id, v) VALUES (3, datetime(trim(' now ')))", "SELECT v FROM t WHERE id = 3", dt},
		{"char", "INSERT INTO t (id, v) VALUES (4, datetime(char(110,111,119)))", "SELECT v FROM t WHERE id = 4", dt},
		{"default datetime", "INSERT INTO d1 (id) VALUES (1)", "SELECT v FROM d1", dt},
		{"default CURRENT_*", "INSERT INTO d2 (id) VALUES (1)", "SELECT v || '|' || w || '|' || x FROM d2", dt + "|2001-02-03|04:05:06"},
		{"trigger", "INSERT INTO src (id, x) VALUES (7, 'now')", "SELECT v FROM t WHERE id = 7", dt},
		{"view", "INSERT INTO t (id, v) SELECT 8, v FROM vw", "SELECT v FROM t WHERE id = 8", dt},
		{"strftime", "INSERT INTO t (id, v) VALUES (9, strftime('%s','now'))", "SELECT v FROM t WHERE id = 9", epoch},
		{"julianday", "INSERT INTO t (id, v) VALUES (10, julianday('now'))", "SELECT v FROM t WHERE id = 10", jd},
		{"unixepoch", "INSERT INTO t (id, v) VALUES (11, unixepoch())", "SELECT v FROM t WHERE id = 11", epoch},
		{"milliseconds", "INSERT INTO t (id, v) VALUES (12, strftime('%Y-%m-%d %H:%M:%f'))", "SELECT v FROM t WHERE id = 12", dt + ".789"},
		{"parameter", "INSERT INTO t (id, v) VALUES (13, datetime(?))", "SELECT v FROM t WHERE id = 13", dt},
	}
	for _, c := range cases {
		var params []any
		if strings.Contains(c.stmt, "?") {
			params = []any{"now"}
		}
		mustSucceed(t, applyAll(t, rs, b.entry(sqlfsm.Context{Time: entryTime, Seed1: 1, Seed2: 2}, sqlfsm.Statement{SQL: c.stmt, Params: params})))
		for i, r := range rs {
			if got := strings.TrimSpace(dump(t, r.db, c.query)); got != c.want {
				t.Errorf("%s: server %d stored %q, want the entry's time %q", c.name, i, got, c.want)
			}
		}
	}
}

func TestSQLiteRandomIsSeededPerEntry(t *testing.T) {
	rs := sqliteReplicas(t, 3, 0)
	b := &ctxLogs{t: t}
	var log []*raft.Log
	for _, ddl := range []string{
		"CREATE TABLE r (id INTEGER PRIMARY KEY, a INTEGER DEFAULT (random()), b BLOB DEFAULT (randomblob(16)), c INTEGER, d BLOB)",
		"CREATE TABLE rt (id INTEGER PRIMARY KEY, x INTEGER, y BLOB)",
		"CREATE TRIGGER rtrg AFTER INSERT ON r BEGIN INSERT INTO rt (id, x, y) VALUES (NEW.id, random(), randomblob(16)); END",
	} {
		log = append(log, b.sql(ddl))
	}
	ins := func(id int, s1, s2 uint32) *raft.Log {
		return b.entry(sqlfsm.Context{Time: entryTime, Seed1: s1, Seed2: s2},
			sqlfsm.Statement{SQL: fmt.Sprintf("INSERT INTO r (id, c, d) VALUES (%d, random(), randomblob(16))", id)})
	}
	// Entries 1 and 3 carry the same seeds, entry 2 others.
	log = append(log, ins(1, 11, 12), ins(2, 21, 22), ins(3, 11, 12))
	mustSucceed(t, applyAll(t, rs, log...))

	const q = "SELECT r.id, a, hex(b), c, hex(d), x, hex(y) FROM r JOIN rt USING (id) ORDER BY r.id"
	want := dump(t, rs[0].db, q)
	for i, r := range rs[1:] {
		if got := dump(t, r.db, q); got != want {
			t.Fatalf("server %d differs:\n%s\nserver 0:\n%s", i+1, got, want)
		}
	}
	rows := strings.Split(strings.TrimSpace(want), "\n")
	if len(rows) != 3 {
		t.Fatalf("want 3 rows, got:\n%s", want)
	}
	f1, f2, f3 := strings.Fields(rows[0]), strings.Fields(rows[1]), strings.Fields(rows[2])
	if strings.Join(f1[1:], " ") != strings.Join(f3[1:], " ") {
		t.Errorf("entries with the same seeds drew differently:\n%s\n%s", rows[0], rows[2])
	}
	for k := 1; k < len(f1); k++ {
		if f1[k] == f2[k] {
			t.Errorf("entries with different seeds drew the same value %s", f1[k])
		}
	}
	if f1[1] == f1[3] || f1[1] == f1[5] || f1[2] == f1[4] || len(f1[2]) != 32 {
		t.Errorf("draws within an entry repeat or blobs have the wrong size: %s", rows[0])
	}

	// A restart on the same file, and a replay of the whole log on a new
	// server, give the same values.
	rs[0].fsm.Close()
	rs[0].fsm = openSQLiteFSM(t, rs[0].db, 0)
	if got := dump(t, rs[0].db, q); got != want {
		t.Fatalf("after restart:\n%s\nwant:\n%s", got, want)
	}
	fresh := sqliteReplicas(t, 1, 0)
	mustSucceed(t, applyAll(t, fresh, log...))
	if got := dump(t, fresh[0].db, q); got != want {
		t.Fatalf("replay differs:\n%s\nwant:\n%s", got, want)
	}
	// The restarted server keeps applying with the same draws.
	next := ins(4, 41, 42)
	mustSucceed(t, applyAll(t, []*replica{rs[0], rs[1], fresh[0]}, next))
	want = dump(t, rs[1].db, q)
	for _, r := range []*replica{rs[0], fresh[0]} {
		if got := dump(t, r.db, q); got != want {
			t.Fatalf("after restart and replay, servers differ:\n%s\nwant:\n%s", got, want)
		}
	}
}

func TestSQLiteRowidPastMaxIsTheSameEverywhere(t *testing.T) {
	rs := sqliteReplicas(t, 3, 0)
	b := &ctxLogs{t: t}
	mustSucceed(t, applyAll(t, rs, b.sql("CREATE TABLE m (id INTEGER PRIMARY KEY, v TEXT)"), b.sql("CREATE TABLE u (v TEXT)"),
		b.sql("CREATE TABLE w (k INTEGER PRIMARY KEY, v TEXT) WITHOUT ROWID")))
	max := fmt.Sprint(int64(math.MaxInt64))
	entries := []struct {
		log    *raft.Log
		refuse bool
	}{
		{b.sql("INSERT INTO m (id, v) VALUES (" + max + ", 'max')"), true},
		{b.sql("INSERT INTO m (v) VALUES ('a')"), false},
		{b.sql("UPDATE m SET id = " + max + " WHERE id = 1"), true},
		{b.sql("INSERT INTO u (rowid, v) VALUES (" + max + ", 'x')"), true},
		{b.sql("INSERT INTO m (v) VALUES ('b')", "INSERT INTO m (id, v) VALUES ("+max+", 'max'), (NULL, 'after')"), true},
		{b.sql("INSERT INTO m (v) VALUES ('c')"), false},
		// Not a rowid: the value is the key of a WITHOUT ROWID table.
		{b.sql("INSERT INTO w (k, v) VALUES (" + max + ", 'k')"), false},
	}
	for _, e := range entries {
		res := applyAll(t, rs, e.log)
		for i := range rs {
			r := res[i][0]
			if r == nil {
				t.Fatalf("entry %d on server %d: no result", e.log.Index, i)
			}
			if e.refuse != (r.Err != nil) {
				t.Fatalf("entry %d on server %d: %+v, refused = %v", e.log.Index, i, r, e.refuse)
			}
			if r.Err != nil && (!errors.Is(r.Err, sqlfsm.ErrSQL) || !strings.Contains(r.Err.Error(), max)) {
				t.Fatalf("entry %d: %v, want the rowid refusal", e.log.Index, r.Err)
			}
			if fmt.Sprint(r) != fmt.Sprint(res[0][0]) {
				t.Fatalf("entry %d: server %d answered %v, server 0 %v", e.log.Index, i, r, res[0][0])
			}
		}
	}
	const q = "SELECT 'm', id, v FROM m UNION ALL SELECT 'u', rowid, v FROM u UNION ALL SELECT 'w', k, v FROM w ORDER BY 1, 2"
	for i, r := range rs {
		if got := dump(t, r.db, q); got != "m 1 a\nm 2 c\nw "+max+" k\n" {
			t.Fatalf("server %d holds:\n%s", i, got)
		}
	}
}

func TestTypicalStatementsFitAThousandInstructions(t *testing.T) {
	rs := sqliteReplicas(t, 1, 1000)
	b := &ctxLogs{t: t}
	body := strings.Repeat("<VM><ID>1</ID><STATE>3</STATE></VM>", 120) // ~4 KiB
	mustSucceed(t, applyAll(t, rs,
		b.sql("CREATE TABLE vm_pool (oid INTEGER PRIMARY KEY, name VARCHAR(128), body MEDIUMTEXT, uid INTEGER, gid INTEGER, state INTEGER, lcm_state INTEGER, owner_u INTEGER, group_u INTEGER, other_u INTEGER, short_body MEDIUMTEXT, search_token MEDIUMTEXT)"),
		b.sql("CREATE INDEX state_oid_idx ON vm_pool (state, oid)")))
	mustSucceed(t, applyAll(t, rs,
		b.entry(sqlfsm.Context{Time: entryTime}, sqlfsm.Statement{SQL: "INSERT INTO vm_pool VALUES (?, 'vm', ?, 0, 0, 3, 3, 1, 0, 0, ?, ?)", Params: []any{int64(7), body, body, body}}),
		b.entry(sqlfsm.Context{Time: entryTime}, sqlfsm.Statement{SQL: "UPDATE vm_pool SET body = ?, state = 3, lcm_state = 3 WHERE oid = ?", Params: []any{body, int64(7)}})))
	// The same budget stops a statement that needs more.
	res := applyAll(t, rs, b.sql("UPDATE vm_pool SET name = name WHERE oid = (WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x+1 FROM c WHERE x < 2000) SELECT count(*) FROM c)"))
	if res[0][0] == nil || res[0][0].Err == nil {
		t.Fatalf("a 2000-row CTE under a budget of 1000 instructions: %+v", res[0][0])
	}
}

// runaway never ends on its own: count(*) over an unbounded recursive CTE.
const runaway = "UPDATE vm SET name = name WHERE id = (WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x+1 FROM c) SELECT count(*) FROM c)"

func TestRunawayStatementFailsDeterministicallyAndZoneStaysWritable(t *testing.T) {
	c := harness.MakeCluster(t, harness.ClusterOptions{N: 3, StatementBudget: 500_000})
	exec(t, c, "CREATE TABLE vm (id INTEGER PRIMARY KEY, name TEXT)")
	exec(t, c, "INSERT INTO vm (id, name) VALUES (1, 'one')")
	ctx := harness.Ctx(t, 60*time.Second)
	r, err := c.Exec(ctx, sqlfsm.Statement{SQL: runaway})
	var se *sqlfsm.SQLError
	if !errors.As(err, &se) || r == nil || !strings.Contains(se.Message, "budget") {
		t.Fatalf("runaway statement = %+v, %v; want the budget error", r, err)
	}
	leader := c.Leader()
	index := leader.FSM.AppliedIndex()
	c.WaitApplied(t, index, 30*time.Second)
	for _, s := range c.Servers {
		if err := s.FSM.Degraded(); err != nil {
			t.Fatalf("server %s degraded by the runaway statement: %v", s.ID, err)
		}
	}
	// The zone stays writable and its leader ready (oned's /ready).
	if got := exec(t, c, "UPDATE vm SET name = 'uno' WHERE id = 1"); got.Statements[0].RowsAffected != 1 {
		t.Fatalf("write after the runaway statement: %+v", got)
	}
	if err := c.Leader().Node.LeaseRead(ctx); err != nil {
		t.Fatalf("leader not ready after the runaway statement: %v", err)
	}
	c.Converge(t, 30*time.Second)

	// A replay of the whole log ends the same way, without hanging: a new
	// FSM applying the same entries records the same error, and a
	// restarted server comes back and converges.
	rs := sqliteReplicas(t, 1, 500_000)
	b := &ctxLogs{t: t}
	res := applyAll(t, rs,
		b.sql("CREATE TABLE vm (id INTEGER PRIMARY KEY, name TEXT)"),
		b.sql("INSERT INTO vm (id, name) VALUES (1, 'one')"),
		b.sql(runaway),
		b.sql("UPDATE vm SET name = 'uno' WHERE id = 1"))[0]
	if res[2] == nil || res[2].Err == nil || res[2].Err.Error() != se.Error() {
		t.Fatalf("replayed runaway entry: %+v, want %v", res[2], se)
	}
	if res[1] == nil || res[1].Err != nil || res[3] == nil || res[3].Err != nil || rs[0].fsm.AppliedIndex() != 4 {
		t.Fatalf("the entries around the runaway one: %+v, applied %d", res, rs[0].fsm.AppliedIndex())
	}
	if got := dump(t, rs[0].db, "SELECT id, name FROM vm"); got != "1 uno\n" {
		t.Fatalf("after replay: %q", got)
	}
	s := c.Servers[0]
	c.Stop(t, s)
	c.Restart(t, s)
	c.Converge(t, 30*time.Second)
}

func TestApplyHonoursShutdown(t *testing.T) {
	l := harness.OpenLocal(t, sqlcheck.SQLite, nil, false)
	f := openSQLiteFSM(t, l.DB, math.MaxInt64/2)
	b := &ctxLogs{t: t}
	mustSucceed(t, applyAll(t, []*replica{{l.DB, f}},
		b.sql("CREATE TABLE knob (n INTEGER)"),
		b.sql("CREATE TABLE vm (id INTEGER PRIMARY KEY, n INTEGER)"),
		b.sql("INSERT INTO knob VALUES (5000000000)", "INSERT INTO vm VALUES (1, 0)")))
	// Long but finite: minutes of counting.
	long := b.sql("UPDATE vm SET n = (WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x+1 FROM c WHERE x < (SELECT n FROM knob)) SELECT count(*) FROM c) WHERE id = 1")
	done := make(chan any, 1)
	go func() { done <- f.ApplyBatch([]*raft.Log{long})[0] }()

	// The apply transaction holds the write lock while the statement runs.
	var path string
	if err := l.DB.QueryRow("SELECT file FROM pragma_database_list WHERE name = 'main'").Scan(&path); err != nil {
		t.Fatal(err)
	}
	probe, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(0)")
	if err != nil {
		t.Fatal(err)
	}
	defer probe.Close()
	deadline := time.Now().Add(30 * time.Second)
	for {
		_, err := probe.Exec("BEGIN IMMEDIATE; ROLLBACK")
		if err != nil && strings.Contains(err.Error(), "locked") {
			break
		}
		probe.Exec("ROLLBACK")
		if time.Now().After(deadline) {
			t.Fatal("the long statement never started")
		}
		time.Sleep(5 * time.Millisecond)
	}
	closed := make(chan error, 1)
	go func() { closed <- f.Close() }()
	select {
	case err := <-closed:
		if err != nil {
			t.Fatalf("Close: %v", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("Close did not interrupt the running statement")
	}
	if resp := <-done; !errors.Is(asErr(resp), sqlfsm.ErrClosed) {
		t.Fatalf("interrupted entry answered %v, want ErrClosed (not a result)", resp)
	}

	// Not recorded: after a restart the entry applies again (with a
	// smaller knob, so it ends).
	if _, err := l.DB.Exec("UPDATE knob SET n = 1000"); err != nil {
		t.Fatal(err)
	}
	f2 := openSQLiteFSM(t, l.DB, 0)
	if f2.AppliedIndex() != long.Index-1 {
		t.Fatalf("applied index %d after the interrupted entry %d", f2.AppliedIndex(), long.Index)
	}
	mustSucceed(t, applyAll(t, []*replica{{l.DB, f2}}, long))
	if got := dump(t, l.DB, "SELECT n FROM vm"); got != "1000\n" {
		t.Fatalf("re-applied entry stored %q", got)
	}
}

func TestSQLiteStartupReportsTablesHoldingMaxRowid(t *testing.T) {
	l := harness.OpenLocal(t, sqlcheck.SQLite, nil, false)
	// Written before the refusal existed (directly, not through an FSM).
	for _, q := range []string{
		"CREATE TABLE legacy (id INTEGER PRIMARY KEY, v TEXT)",
		"INSERT INTO legacy VALUES (9223372036854775807, 'max')",
		"CREATE TABLE fine (id INTEGER PRIMARY KEY)",
		"CREATE TABLE norowid (k TEXT PRIMARY KEY) WITHOUT ROWID",
	} {
		if _, err := l.DB.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	var buf strings.Builder
	f, err := sqlfsm.New(harness.Ctx(t, 30*time.Second), sqlfsm.Config{Dialect: sqlcheck.SQLite, DB: l.DB,
		Logger: slog.New(slog.NewTextHandler(&buf, nil))})
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if out := buf.String(); !strings.Contains(out, "tables=[legacy]") {
		t.Fatalf("startup log does not name the table holding rowid MaxInt64:\n%s", out)
	}
}

// BenchmarkSQLiteApply: entries of one 4 KiB INSERT reading the clock,
// applied in batches of 64 through the bound apply connection.
func BenchmarkSQLiteApply(b *testing.B) {
	l := harness.OpenLocal(b, sqlcheck.SQLite, nil, false)
	f, err := sqlfsm.New(context.Background(), sqlfsm.Config{Dialect: sqlcheck.SQLite, DB: l.DB})
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	next := uint64(0)
	entry := func(ddl bool, q string, params ...any) *raft.Log {
		next++
		data, err := sqlfsm.Encode(&sqlfsm.Entry{Context: sqlfsm.Context{Time: entryTime, Seed1: uint32(next)}, DDL: ddl,
			Statements: []sqlfsm.Statement{{SQL: q, Params: params}}})
		if err != nil {
			b.Fatal(err)
		}
		return &raft.Log{Index: next, Term: 1, Type: raft.LogCommand, Data: data}
	}
	f.ApplyBatch([]*raft.Log{entry(true, "CREATE TABLE bench (id INTEGER PRIMARY KEY, at TEXT, body TEXT)")})
	ins := entry(false, "INSERT INTO bench (at, body) VALUES (datetime('now'), ?)", strings.Repeat("x", 4096)).Data
	for b.Loop() {
		logs := make([]*raft.Log, 64)
		for i := range logs {
			next++
			logs[i] = &raft.Log{Index: next, Term: 1, Type: raft.LogCommand, Data: ins}
		}
		for _, r := range f.ApplyBatch(logs) {
			if res, ok := r.(*sqlfsm.Result); !ok || res.Err != nil {
				b.Fatalf("%v", r)
			}
		}
	}
	b.ReportMetric(float64(b.N*64)/b.Elapsed().Seconds(), "entries/s")
}
