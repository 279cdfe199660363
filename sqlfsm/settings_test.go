package sqlfsm_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/oneha/oneha/internal/harness"
	"github.com/oneha/oneha/sqlcheck"
	"github.com/oneha/oneha/sqlfsm"
)

// hostileServer is how server 2 of the hostile-settings zone differs from
// the others: every server default that changed results in issue 10.
var hostileServer = []string{
	"--lc-time-names=de_DE",
	"--div-precision-increment=8",
	"--default-time-zone=+05:00",
	"--group-concat-max-len=64",
	"--default-week-format=3",
	"--max-recursive-iterations=4294967295",
	"--sql-mode=ANSI_QUOTES,PAD_CHAR_TO_FULL_LENGTH",
}

// hostileZone starts a 3-server MySQL zone whose server 2 runs its own
// mariadbd with hostileServer's defaults, and the corpus tables.
func hostileZone(t *testing.T) *harness.Cluster {
	harness.RequireOrSkip(t, true, "")
	c := harness.MakeCluster(t, harness.ClusterOptions{
		N: 3, Dialect: sqlcheck.MySQL, MariaDBPerServer: true,
		MariaDBOptionsFor: func(i int) []harness.MariaDBOption {
			if i == 2 {
				return []harness.MariaDBOption{harness.WithServerArgs(hostileServer...)}
			}
			return nil
		},
	})
	exec(t, c, "CREATE TABLE h (id INT AUTO_INCREMENT PRIMARY KEY, s TEXT, d DECIMAL(40,20), dt DATETIME(6))")
	exec(t, c, "CREATE TABLE vm (id INT PRIMARY KEY, name VARCHAR(128))")
	exec(t, c, "CREATE TABLE src (id INT PRIMARY KEY, v VARCHAR(32))")
	exec(t, c, "CREATE TABLE g (k VARCHAR(64) PRIMARY KEY, s TEXT)")
	exec(t, c, "INSERT INTO vm (id, name) VALUES (1, 'one'), (1001, 'thousand')")
	var vals []string
	for i := 1; i <= 200; i++ {
		vals = append(vals, fmt.Sprintf("(%d, 'value-%03d')", i, i))
	}
	exec(t, c, "INSERT INTO src (id, v) VALUES "+strings.Join(vals, ", "))
	return c
}

// hostileCorpus: statements whose result depends on a session variable or a
// server default. Each must be refused before it is logged or give the same
// result on every server.
var hostileCorpus = []string{
	"INSERT INTO h (s) VALUES (DATE_FORMAT('2024-03-05 10:00:00', '%M %W %b %a'))",
	"INSERT INTO h (s) VALUES (MONTHNAME('2024-03-05')), (DAYNAME('2024-03-05'))",
	"INSERT INTO h (s) VALUES (STR_TO_DATE('March 5 2024', '%M %d %Y'))",
	"INSERT INTO h (d) VALUES (1/3), (10/7)",
	"INSERT INTO h (s) VALUES (CAST(1/7 AS CHAR))",
	"INSERT INTO h (s) VALUES (WEEK('2024-01-07')), (YEARWEEK('2024-01-07'))",
	"INSERT INTO h (s) VALUES (CAST(CONVERT_TZ('2024-07-01 12:00:00', 'SYSTEM', '+00:00') AS CHAR))",
	"INSERT INTO h (s) VALUES (CAST(FROM_UNIXTIME(0) AS CHAR))",
	"INSERT INTO h (dt) VALUES (NOW(6)), (CURRENT_TIMESTAMP)",
	"INSERT INTO h (s) VALUES (UNIX_TIMESTAMP())",
	"INSERT INTO g (k, s) SELECT 'concat', GROUP_CONCAT(v ORDER BY id) FROM src",
	"INSERT INTO h (d) VALUES (RAND()), (RAND())",
	"INSERT INTO h (s) VALUES (UUID())",
	"INSERT INTO h (s) VALUES ('a' = 'A'), (LOWER('ÄÖ'))",
	`INSERT INTO h (s) VALUES ("double quoted")`,
	"CREATE TABLE pad (c CHAR(8) PRIMARY KEY)",
	"INSERT INTO pad (c) VALUES ('ab')",
	"INSERT INTO g (k, s) SELECT CONCAT('[', c, ']'), c FROM pad",
	"INSERT INTO g (k, s) SELECT 'recursive', (WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT COUNT(*) FROM c)",
	"UPDATE vm SET name = CONCAT(name, '!') WHERE id = (WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT COUNT(*) FROM c)",
}

// runCorpus runs each statement through the zone: it is refused (nothing
// logged), or it is applied and every server's database stays identical.
func runCorpus(t *testing.T, c *harness.Cluster, corpus []string) {
	for _, q := range corpus {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		before := c.Leader().FSM.AppliedIndex()
		_, err := c.Exec(ctx, sqlfsm.Statement{SQL: q})
		cancel()
		switch {
		case sqlfsm.IsUnsafe(err):
			if after := c.Leader().FSM.AppliedIndex(); after != before {
				t.Errorf("%s: refused (%v) but the applied index moved %d -> %d", q, err, before, after)
			}
			t.Logf("refused: %s: %v", q, err)
		case err != nil:
			t.Logf("applied with error: %s: %v", q, err)
		default:
			t.Logf("applied: %s", q)
		}
		c.Converge(t, 30*time.Second)
	}
}

func TestHostileSettingsCorpusLeavesReplicasIdentical(t *testing.T) {
	c := hostileZone(t)
	// The pins hold on the hostile server: its session is the others'.
	ref := c.Servers[0].FSM.Settings()
	for _, k := range []string{"session.lc_time_names", "session.div_precision_increment", "session.time_zone",
		"session.group_concat_max_len", "session.max_recursive_iterations", "session.sql_mode", "session.default_week_format"} {
		if got, want := c.Servers[2].FSM.Settings()[k], ref[k]; got != want || want == "" {
			t.Errorf("%s on the hostile server = %q, want %q", k, got, want)
		}
	}
	runCorpus(t, c, hostileCorpus)
	// If the checker let the GROUP_CONCAT through, it holds all 200 values
	// everywhere (the hostile server's 64-byte default would truncate).
	rows, err := c.Leader().SQL.Query(harness.Ctx(t, 10*time.Second), sqlfsm.Default,
		"SELECT s FROM g WHERE k = 'concat'")
	if err != nil || len(rows.Rows) > 1 || len(rows.Rows) == 1 && !strings.HasSuffix(fmt.Sprint(rows.Rows[0][0]), "value-200") {
		t.Fatalf("GROUP_CONCAT of 200 rows = %+v, %v; want the whole list (or refused)", rows, err)
	}
}

// refusedAfterSqlcheck: statements that read state outside the replicated
// tables (system schemas), pick rows in an unspecified order (LIMIT without
// ORDER BY) or read system-versioning history. The sqlcheck rules refuse
// them; on a branch without those rules some are applied and the test
// reports whether the replicas still agree.
var refusedAfterSqlcheck = []string{
	"INSERT INTO g (k, s) SELECT 'processes', COUNT(*) FROM information_schema.PROCESSLIST",
	"INSERT INTO g (k, s) SELECT 'users', COUNT(*) FROM mysql.user",
	"INSERT INTO g (k, s) SELECT 'first', v FROM src LIMIT 1",
	"UPDATE vm SET name = 'limited' LIMIT 1",
	"CREATE TABLE ver (a INT) WITH SYSTEM VERSIONING",
	"INSERT INTO ver (a) VALUES (1)",
	"INSERT INTO g (k, s) SELECT 'history', CAST(ROW_START AS CHAR) FROM ver FOR SYSTEM_TIME ALL",
}

func TestSystemStateStatementsAreRefusedOrIdentical(t *testing.T) {
	c := hostileZone(t)
	runCorpus(t, c, refusedAfterSqlcheck)
}
