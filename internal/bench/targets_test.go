package bench

import (
	"context"
	"database/sql"
	"fmt"
	"net/http"
	"os"
	"sync/atomic"
	"testing"
	"time"

	_ "github.com/go-sql-driver/mysql"

	"github.com/oneha/oneha/internal/harness"
	"github.com/oneha/oneha/sqlcheck"
	"github.com/oneha/oneha/xmlrpc"
)

// workload is what one write does.
type workload string

const (
	// wlInsert is loadgen's single-row INSERT.
	wlInsert workload = "insert"
	// wlVMCreate is OpenNebula's VM create: REPLACE INTO pool_control and
	// INSERT INTO vm_pool of a ~4.9 KB body, one transaction.
	wlVMCreate workload = "vm-create"
)

// apiTarget is one way of writing: through a zone's API or to MariaDB
// directly. Its tables hold both workloads' rows.
type apiTarget struct {
	name   string
	groups []procGroup  // the processes whose CPU and system calls count
	next   atomic.Int64 // unique oids and numbers across the target's cells
	writer func(b *testing.B, wl workload) (writeOp, func())
}

// apiSchema is every table and index both workloads write.
func apiSchema() []string { return append([]string{insertSchema}, vmSchema...) }

// startZoneTarget forms a zone of n oned processes on MySQL, each server
// on its own private mariadbd with innodb_flush_log_at_trx_commit=2 (the
// README's recommendation: the Raft log is the durable record), creates
// the schema through the leader and writes through the leader's XML-RPC.
func startZoneTarget(b *testing.B, name string, n int) *apiTarget {
	dbs := make([]*harness.MariaDB, n)
	for i := range dbs {
		dbs[i] = harness.StartMariaDB(b, harness.WithFlushLogAtTrxCommit(2))
	}
	// ONEHA_BENCH_RAFT goes into every server's RAFT mapping, for A/B runs
	// of a Raft setting (e.g. "FAST_FAILOVER: no").
	z := harness.NewProcZone(b, harness.ZoneOptions{N: n, Dialect: sqlcheck.MySQL,
		Raft:       os.Getenv("ONEHA_BENCH_RAFT"),
		MariaDBFor: func(i int) *harness.MariaDB { return dbs[i] }})
	z.FormZone()
	leader := z.Leader(20 * time.Second)
	for _, ddl := range apiSchema() {
		if _, err := leader.Call(context.Background(), "one.sql.exec", []any{ddl}); err != nil {
			b.Fatalf("%s: %s: %v", name, ddl, err)
		}
	}
	t := &apiTarget{name: name}
	own := []int{leader.PID(), dbs[leader.ID].PID()}
	if n == 1 {
		t.groups = []procGroup{{"oned", own[:1]}, {"oned+mariadbd", own}}
	} else {
		var all []int
		for i, o := range z.Servers {
			all = append(all, o.PID(), dbs[i].PID())
		}
		t.groups = []procGroup{{"leader oned", own[:1]}, {"leader oned+mariadbd", own}, {"all", all}}
	}
	t.writer = func(b *testing.B, wl workload) (writeOp, func()) {
		return apiWriter(b, leader.Endpoint, z.Session, wl)
	}
	return t
}

// apiWriter opens one keep-alive connection to endpoint (its first call
// answered before it returns, so writers opened one after another stay
// below the mux's limit of pending connections per source) and returns
// writes of wl through one.sql.exec: one call, one transaction.
func apiWriter(b *testing.B, endpoint, session string, wl workload) (writeOp, func()) {
	c := xmlrpc.NewClient(endpoint, apiOpTimeout)
	tr := &http.Transport{MaxIdleConnsPerHost: 1}
	c.HTTP.Transport = tr
	if _, err := c.CallONE(context.Background(), "one.system.version", session); err != nil {
		b.Fatalf("connect %s: %v", endpoint, err)
	}
	var op writeOp
	switch wl {
	case wlInsert:
		op = func(ctx context.Context, seq int64) error {
			_, err := c.CallONE(ctx, "one.sql.exec", session, []any{[]any{insertSQL, insertPayload, seq}})
			return err
		}
	case wlVMCreate:
		op = func(ctx context.Context, seq int64) error {
			r := newVMRow(seq)
			_, err := c.CallONE(ctx, "one.sql.exec", session, []any{
				append([]any{vmPoolControlSQL}, r.control...),
				append([]any{vmInsertSQL}, r.insert...),
			})
			return err
		}
	default:
		b.Fatalf("unknown workload %q", wl)
	}
	return op, tr.CloseIdleConnections
}

// startDirectTarget starts a private mariadbd with durable commits
// (innodb_flush_log_at_trx_commit=1) and writes to it as loadgen does:
// each writer its own connection and server-side prepared statements,
// autocommit for the INSERT, BEGIN … COMMIT around the VM create.
func startDirectTarget(b *testing.B, maxWriters int) *apiTarget {
	m := harness.StartMariaDB(b, harness.WithFlushLogAtTrxCommit(1))
	db, err := sql.Open("mysql", m.CreateDatabase(b, "direct"))
	if err != nil {
		b.Fatal(err)
	}
	db.SetMaxOpenConns(maxWriters + 1)
	db.SetMaxIdleConns(maxWriters + 1)
	b.Cleanup(func() { db.Close() })
	for _, ddl := range apiSchema() {
		if _, err := db.Exec(ddl); err != nil {
			b.Fatalf("direct: %s: %v", ddl, err)
		}
	}
	return &apiTarget{
		name:   "direct",
		groups: []procGroup{{"mariadbd", []int{m.PID()}}},
		writer: func(b *testing.B, wl workload) (writeOp, func()) { return directWriter(b, db, wl) },
	}
}

// directWriter pins one connection of db and prepares wl's statements on it.
func directWriter(b *testing.B, db *sql.DB, wl workload) (writeOp, func()) {
	ctx := context.Background()
	conn, err := db.Conn(ctx)
	if err != nil {
		b.Fatal(err)
	}
	var stmts []*sql.Stmt
	prepare := func(q string) *sql.Stmt {
		st, err := conn.PrepareContext(ctx, q)
		if err != nil {
			b.Fatalf("prepare %s: %v", q, err)
		}
		stmts = append(stmts, st)
		return st
	}
	closeAll := func() {
		for _, st := range stmts {
			st.Close()
		}
		conn.Close()
	}
	switch wl {
	case wlInsert:
		ins := prepare(insertSQL)
		return func(ctx context.Context, seq int64) error {
			_, err := ins.ExecContext(ctx, insertPayload, seq)
			return err
		}, closeAll
	case wlVMCreate:
		ctl, ins := prepare(vmPoolControlSQL), prepare(vmInsertSQL)
		return func(ctx context.Context, seq int64) error {
			r := newVMRow(seq)
			if _, err := conn.ExecContext(ctx, "BEGIN"); err != nil {
				return err
			}
			_, err := ctl.ExecContext(ctx, r.control...)
			if err == nil {
				_, err = ins.ExecContext(ctx, r.insert...)
			}
			if err == nil {
				_, err = conn.ExecContext(ctx, "COMMIT")
				return err
			}
			_, _ = conn.ExecContext(context.Background(), "ROLLBACK")
			return fmt.Errorf("vm create %d: %w", seq, err)
		}, closeAll
	}
	b.Fatalf("unknown workload %q", wl)
	return nil, nil
}
