package harness

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/raft"

	"github.com/oneha/oneha/mux"
	"github.com/oneha/oneha/raftlog"
	"github.com/oneha/oneha/sqlcheck"
	"github.com/oneha/oneha/sqlfsm"
)

// ClusterOptions shapes a test cluster.
type ClusterOptions struct {
	N       int              // servers (default 3)
	Dialect sqlcheck.Dialect // default SQLite
	// TCP runs Raft over real TCP on 127.0.0.1 through mux.Mux (one
	// port per server); otherwise raft's in-memory transport (fast unit
	// tests only).
	TCP bool
	// MariaDBPerServer gives each server its own private mariadbd (MySQL
	// dialect); otherwise each gets a database on the shared instance.
	MariaDBPerServer bool
	// MariaDBOptions apply to private instances.
	MariaDBOptions []MariaDBOption
	// MariaDBOptionsFor, if set, adds options to server i's private
	// instance (for example different server defaults on one server).
	MariaDBOptionsFor func(i int) []MariaDBOption
	// Raft adjusts each server's raft config (after the test defaults).
	Raft func(*raftlog.Config)
	// Faults returns the fault hooks of server i (may return nil).
	Faults func(i int) *sqlfsm.Faults
	// Logger receives every server's logs (default: discarded unless
	// ONEHA_TEST_LOG=1).
	Logger *slog.Logger
	// StatementBudget is each FSM's sqlfsm.Config.StatementBudget (0: the
	// default).
	StatementBudget int64
}

// Cluster is a set of in-process servers: each a raftlog.Node driving a
// sqlfsm.FSM on its own local database, as oned runs them.
type Cluster struct {
	tb      testing.TB
	opts    ClusterOptions
	Servers []*Server
	inmem   []*raft.InmemTransport
	// mu guards each Server's running, FSM, Node and SQL: tests call
	// Leader and Exec from writer goroutines while Crash and Restart
	// replace them.
	mu sync.Mutex
}

// Server is one member of a test cluster.
type Server struct {
	ID      string
	Index   int
	Dir     string
	Addr    string
	DB      *sql.DB
	ApplyDB *sql.DB // MySQL: the FSM's multi-statement apply pool
	FSM     *sqlfsm.FSM
	Node    *raftlog.Node
	SQL     *sqlfsm.DB
	MariaDB *MariaDB // private instance, or nil

	dsn     string
	sqlite  string
	mux     *mux.Mux
	running bool
}

// Running reports whether the server is up (not crashed or stopped).
func (s *Server) Running() bool { return s.running }

// MakeCluster starts opts.N servers, bootstraps server 0 with all of them as
// voters, waits for a leader and registers cleanup.
func MakeCluster(tb testing.TB, opts ClusterOptions) *Cluster {
	tb.Helper()
	if opts.N == 0 {
		opts.N = 3
	}
	if opts.Dialect == "" {
		opts.Dialect = sqlcheck.SQLite
	}
	if opts.Logger == nil {
		if os.Getenv("ONEHA_TEST_LOG") == "1" {
			opts.Logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
		} else {
			opts.Logger = slog.New(slog.DiscardHandler)
		}
	}
	c := &Cluster{tb: tb, opts: opts}
	base := tb.TempDir()
	for i := 0; i < opts.N; i++ {
		s := &Server{ID: strconv.Itoa(i), Index: i, Dir: filepath.Join(base, "server-"+strconv.Itoa(i))}
		if err := os.MkdirAll(s.Dir, 0o755); err != nil {
			tb.Fatal(err)
		}
		c.prepareDB(s)
		c.Servers = append(c.Servers, s)
	}
	if !opts.TCP {
		c.inmem = make([]*raft.InmemTransport, opts.N)
		for i, s := range c.Servers {
			s.Addr = "inmem-" + s.ID
			_, c.inmem[i] = raft.NewInmemTransport(raft.ServerAddress(s.Addr))
		}
		c.connectAll()
	} else {
		for _, s := range c.Servers {
			p, err := FreePort()
			if err != nil {
				tb.Fatal(err)
			}
			s.Addr = net.JoinHostPort("127.0.0.1", strconv.Itoa(p))
		}
	}
	tb.Cleanup(c.Shutdown)
	for _, s := range c.Servers {
		c.start(s)
	}
	var servers []raft.Server
	for _, s := range c.Servers {
		servers = append(servers, raft.Server{ID: raft.ServerID(s.ID), Address: raft.ServerAddress(s.Addr), Suffrage: raft.Voter})
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := c.Servers[0].Node.Bootstrap(ctx, servers); err != nil {
		tb.Fatalf("harness: bootstrap: %v", err)
	}
	c.WaitForLeader(tb, 15*time.Second)
	return c
}

func (c *Cluster) prepareDB(s *Server) {
	switch c.opts.Dialect {
	case sqlcheck.SQLite:
		s.sqlite = filepath.Join(s.Dir, "one.db")
	case sqlcheck.MySQL:
		m := (*MariaDB)(nil)
		if c.opts.MariaDBPerServer {
			opts := c.opts.MariaDBOptions
			if c.opts.MariaDBOptionsFor != nil {
				opts = append(append([]MariaDBOption(nil), opts...), c.opts.MariaDBOptionsFor(s.Index)...)
			}
			m = StartMariaDB(c.tb, opts...)
			s.MariaDB = m
		} else {
			m = SharedMariaDB(c.tb)
		}
		s.dsn = m.CreateDatabase(c.tb, "")
	}
}

func (c *Cluster) openDB(s *Server) *sql.DB {
	var db *sql.DB
	var err error
	if c.opts.Dialect == sqlcheck.SQLite {
		db, err = sqlfsm.OpenSQLite(s.sqlite)
	} else {
		db, err = sqlfsm.OpenMySQL(s.dsn, 32)
	}
	if err != nil {
		c.tb.Fatalf("harness: open db of server %s: %v", s.ID, err)
	}
	return db
}

// RaftConfig is the test default: LAN timeouts scaled for a loaded 2-core
// machine running several servers and databases at once.
func RaftConfig(id, dir string) raftlog.Config {
	cfg := raftlog.DefaultConfig()
	cfg.ID = id
	cfg.Dir = dir
	return cfg
}

// start opens the server's database, FSM and node (a restart when they
// existed before).
func (c *Cluster) start(s *Server) {
	c.tb.Helper()
	log := c.opts.Logger.With("server", s.ID)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	s.DB = c.openDB(s)
	if c.opts.Dialect == sqlcheck.MySQL {
		apply, err := sqlfsm.OpenMySQLApply(s.dsn)
		if err != nil {
			c.tb.Fatalf("harness: apply pool of server %s: %v", s.ID, err)
		}
		s.ApplyDB = apply
	}
	var faults *sqlfsm.Faults
	if c.opts.Faults != nil {
		faults = c.opts.Faults(s.Index)
	}
	fsm, err := sqlfsm.New(ctx, sqlfsm.Config{Dialect: c.opts.Dialect, DB: s.DB, ApplyDB: s.ApplyDB, Logger: log, Faults: faults, StatementBudget: c.opts.StatementBudget})
	if err != nil {
		c.tb.Fatalf("harness: FSM of server %s: %v", s.ID, err)
	}
	cfg := RaftConfig(s.ID, filepath.Join(s.Dir, "raft"))
	cfg.Logger = log
	if c.opts.Raft != nil {
		c.opts.Raft(&cfg)
	}
	var trans raft.Transport
	if c.opts.TCP {
		ln, err := listenRetry(s.Addr)
		if err != nil {
			c.tb.Fatalf("harness: listen %s: %v", s.Addr, err)
		}
		s.mux = mux.New(ln, mux.Config{AllowPlainRaft: true}) // in-process test cluster: no PKI
		trans = raftlog.NewTransport(s.mux.RaftLayer(), cfg)
	} else {
		trans = c.inmem[s.Index]
	}
	node, err := raftlog.New(ctx, cfg, fsm, trans)
	if err != nil {
		c.tb.Fatalf("harness: node %s: %v", s.ID, err)
	}
	c.mu.Lock()
	s.FSM, s.Node, s.SQL, s.running = fsm, node, sqlfsm.NewDB(fsm, node), true
	c.mu.Unlock()
}

// listenRetry listens on a fixed address, retrying while a just-closed
// socket still holds it.
func listenRetry(addr string) (net.Listener, error) {
	var err error
	for i := 0; i < 50; i++ {
		var ln net.Listener
		if ln, err = net.Listen("tcp", addr); err == nil {
			return ln, nil
		}
		time.Sleep(100 * time.Millisecond)
	}
	return nil, err
}

func (c *Cluster) connectAll() {
	for i, a := range c.inmem {
		for j, b := range c.inmem {
			if i != j {
				a.Connect(b.LocalAddr(), b)
			}
		}
	}
}

// Crash stops s as a kill would: the FSM stops mid-batch (its open DB
// transaction rolls back), Raft stops without a leadership transfer, and the
// database connections close. Its directories and database stay for Restart.
func (c *Cluster) Crash(tb testing.TB, s *Server) {
	tb.Helper()
	if !s.running {
		return
	}
	s.FSM.Close()
	s.Node.Raft().Shutdown().Error() // wait: a second Shutdown returns at once
	c.stopNode(tb, s)
}

// Stop shuts s down cleanly (a leader transfers leadership first).
func (c *Cluster) Stop(tb testing.TB, s *Server) {
	tb.Helper()
	if !s.running {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := s.Node.Shutdown(ctx); err != nil {
		tb.Errorf("harness: shutdown %s: %v", s.ID, err)
	}
	s.FSM.Close()
	c.stopNode(tb, s)
}

func (c *Cluster) stopNode(tb testing.TB, s *Server) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := s.Node.Shutdown(ctx); err != nil && !errors.Is(err, raft.ErrRaftShutdown) {
		tb.Logf("harness: shutdown %s: %v", s.ID, err)
	}
	if s.mux != nil {
		s.mux.Close()
		s.mux = nil
	}
	s.DB.Close()
	if s.ApplyDB != nil {
		s.ApplyDB.Close()
	}
	c.mu.Lock()
	s.running = false
	c.mu.Unlock()
}

// Restart starts a crashed or stopped server again on its own state.
func (c *Cluster) Restart(tb testing.TB, s *Server) {
	tb.Helper()
	if s.running {
		tb.Fatalf("harness: restart of running server %s", s.ID)
	}
	if c.inmem != nil {
		_, c.inmem[s.Index] = raft.NewInmemTransport(raft.ServerAddress(s.Addr))
		c.connectAll()
	}
	c.start(s)
}

// Shutdown stops every running server (test cleanup).
func (c *Cluster) Shutdown() {
	for _, s := range c.Servers {
		if s.running {
			s.FSM.Close()
			s.Node.Raft().Shutdown().Error() // wait: a second Shutdown returns at once
			c.stopNode(c.tb, s)
		}
	}
}

// Partition cuts the given servers off from all others (in-memory
// transport only; real network partitions live in the namespace lab).
func (c *Cluster) Partition(tb testing.TB, cut ...*Server) {
	tb.Helper()
	if c.inmem == nil {
		tb.Fatal("harness: Partition needs the in-memory transport")
	}
	in := map[int]bool{}
	for _, s := range cut {
		in[s.Index] = true
	}
	for i, a := range c.inmem {
		for j, b := range c.inmem {
			if i != j && in[i] != in[j] {
				a.Disconnect(b.LocalAddr())
			}
		}
	}
}

// Heal reconnects every server.
func (c *Cluster) Heal(tb testing.TB) {
	tb.Helper()
	if c.inmem != nil {
		c.connectAll()
	}
}

// Leader returns the running server that is leader and ready, or nil.
func (c *Cluster) Leader() *Server {
	s, _ := c.leader()
	return s
}

// leader is Leader and its DB, read together under c.mu.
func (c *Cluster) leader() (*Server, *sqlfsm.DB) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, s := range c.Servers {
		if s.running && s.Node.IsLeader() {
			return s, s.SQL
		}
	}
	return nil, nil
}

// WaitForLeader waits until exactly one running server leads and has applied
// every earlier entry (ready to serve), and returns it.
func (c *Cluster) WaitForLeader(tb testing.TB, timeout time.Duration) *Server {
	tb.Helper()
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		if l := c.Leader(); l != nil {
			ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
			err := l.Node.WaitReady(ctx)
			cancel()
			if err == nil {
				return l
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	tb.Fatalf("harness: no ready leader within %v", timeout)
	return nil
}

// Running lists the running servers.
func (c *Cluster) Running() []*Server {
	var out []*Server
	for _, s := range c.Servers {
		if s.running {
			out = append(out, s)
		}
	}
	return out
}

// Exec runs stmts through the current leader, following leader changes
// until ctx ends. It returns the result, or the last error.
func (c *Cluster) Exec(ctx context.Context, stmts ...sqlfsm.Statement) (*sqlfsm.Result, error) {
	for {
		if l, db := c.leader(); l != nil {
			r, err := db.Exec(ctx, stmts)
			if !errors.Is(err, raftlog.ErrNotLeader) {
				return r, err
			}
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("harness: no leader took the write: %w", ctx.Err())
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// ExecOnce runs stmts on the leader as request id, resending them with the
// same id after a leader change or an unknown outcome until a definite
// answer (or ctx ends): the FSM applies them exactly once, so a test's write
// survives an election (a loaded machine's) without being applied twice.
func (c *Cluster) ExecOnce(ctx context.Context, id string, stmts ...sqlfsm.Statement) (*sqlfsm.Result, error) {
	req := &sqlfsm.Request{Scope: "harness", ID: id, Window: 3600, Keep: 1 << 20}
	for {
		if _, db := c.leader(); db != nil {
			r, err := db.ExecRequest(ctx, stmts, req)
			if !errors.Is(err, raftlog.ErrNotLeader) && !errors.Is(err, raftlog.ErrUnknownOutcome) {
				return r, err
			}
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("harness: request %s: no definite answer: %w", id, ctx.Err())
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// WaitApplied waits until every running server's FSM has applied index.
func (c *Cluster) WaitApplied(tb testing.TB, index uint64, timeout time.Duration) {
	tb.Helper()
	deadline := time.Now().Add(timeout)
	for _, s := range c.Running() {
		for s.FSM.AppliedIndex() < index {
			if time.Now().After(deadline) {
				tb.Fatalf("harness: server %s applied %d, want >= %d", s.ID, s.FSM.AppliedIndex(), index)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
}

// Converge waits until every running server has applied the leader's last
// index, then asserts that their databases are identical (I3).
func (c *Cluster) Converge(tb testing.TB, timeout time.Duration) {
	tb.Helper()
	l := c.WaitForLeader(tb, timeout)
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	if err := l.Node.ReadIndex(ctx); err != nil {
		tb.Fatalf("harness: read index on leader: %v", err)
	}
	c.WaitApplied(tb, l.FSM.AppliedIndex(), timeout)
	want := Checksum(tb, l.DB, c.opts.Dialect)
	for _, s := range c.Running() {
		if got := Checksum(tb, s.DB, c.opts.Dialect); got != want {
			tb.Fatalf("harness: server %s differs from leader %s at index %d", s.ID, l.ID, l.FSM.AppliedIndex())
		}
	}
}
