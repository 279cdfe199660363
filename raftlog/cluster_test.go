package raftlog

import (
	"context"
	"io"
	"log/slog"
	"net"
	"os"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/raft"

	"github.com/oneha/oneha/mux"
)

// Test timing: small but not so small that 3 in-process nodes on 2 cores
// flap. Leader detection takes ET..2ET, an election about as long again.
const testET = 200 * time.Millisecond

// testLogger discards logs unless ONEHA_TEST_LOG is set (then debug to stderr).
func testLogger() *slog.Logger {
	if os.Getenv("ONEHA_TEST_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.DiscardHandler)
}

func testConfig(id, dir string) Config {
	cfg := DefaultConfig()
	cfg.ID = id
	cfg.Dir = dir
	cfg.ElectionTimeout = testET
	cfg.LeaderLease = testET * 3 / 4
	cfg.BroadcastTimeout = 500 * time.Millisecond
	cfg.SnapshotInterval = time.Hour // tests snapshot explicitly
	cfg.Logger = testLogger()
	return cfg
}

// clusterOpts configures MakeCluster.
type clusterOpts struct {
	n           int
	tcp         bool   // real TCP through Mux on 127.0.0.1:0 instead of inmem
	logStore    string // "" = default
	noBootstrap bool
	configure   func(*Config)
	// wrap, if set, wraps node i's transport (e.g. a test fault injector).
	wrap func(i int, t raft.Transport) raft.Transport
}

// testCluster is an in-process raft cluster of Nodes with testFSMs.
type testCluster struct {
	t     testing.TB
	opts  clusterOpts
	cfgs  []Config
	nodes []*Node
	fsms  []*testFSM
	addrs []raft.ServerAddress
	inmem []*raft.InmemTransport
	muxes []*mux.Mux
	dials []*dialTracker // tcp: the connections each node dialed
	lns   []net.Listener // tcp: each node's listening socket (under its mux)
	dead  []bool
	mu    sync.Mutex
}

// MakeCluster starts opts.n nodes and (unless noBootstrap) bootstraps them
// all as voters from node 0. Everything is torn down by t.Cleanup.
func MakeCluster(t testing.TB, opts clusterOpts) *testCluster {
	t.Helper()
	c := &testCluster{t: t, opts: opts}
	trans := make([]raft.Transport, opts.n)
	for i := 0; i < opts.n; i++ {
		cfg := testConfig(strconv.Itoa(i), t.TempDir())
		if opts.logStore != "" {
			cfg.LogStore = opts.logStore
		}
		if opts.configure != nil {
			opts.configure(&cfg)
		}
		c.cfgs = append(c.cfgs, cfg)
		c.fsms = append(c.fsms, newTestFSM())
		c.dead = append(c.dead, false)
		if opts.tcp {
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatalf("listen: %v", err)
			}
			c.lns = append(c.lns, ln)
			m := mux.New(ln, mux.Config{Logger: cfg.Logger, AllowPlainRaft: true, AllowPlainHTTP: true})
			c.muxes = append(c.muxes, m)
			dt := &dialTracker{StreamLayer: m.RaftLayer()}
			tr := NewTransport(dt, cfg)
			trans[i] = tr
			c.dials = append(c.dials, dt)
			c.addrs = append(c.addrs, tr.LocalAddr())
		} else {
			addr, tr := raft.NewInmemTransport("")
			trans[i] = tr
			c.inmem = append(c.inmem, tr)
			c.addrs = append(c.addrs, addr)
		}
	}
	if !opts.tcp {
		for i := range c.inmem {
			for j := range c.inmem {
				if i != j {
					c.inmem[i].Connect(c.addrs[j], c.inmem[j])
				}
			}
		}
	}
	t.Cleanup(c.Close)
	if opts.wrap != nil {
		for i := range trans {
			trans[i] = opts.wrap(i, trans[i])
		}
	}
	for i := 0; i < opts.n; i++ {
		n, err := New(context.Background(), c.cfgs[i], c.fsms[i], trans[i])
		if err != nil {
			t.Fatalf("New node %d: %v", i, err)
		}
		c.nodes = append(c.nodes, n)
	}
	if !opts.noBootstrap {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := c.nodes[0].Bootstrap(ctx, c.Servers()); err != nil {
			t.Fatalf("bootstrap: %v", err)
		}
	}
	return c
}

// dialTracker is a node's stream layer that remembers the connections the
// node dialed (raft's pool, pipelines and heartbeats), so a test can close
// them all as its host would at the process's death.
type dialTracker struct {
	raft.StreamLayer
	mu      sync.Mutex
	conns   []net.Conn
	stalled map[raft.ServerAddress]bool
	dead    bool
}

func (d *dialTracker) Dial(addr raft.ServerAddress, timeout time.Duration) (net.Conn, error) {
	d.mu.Lock()
	dead := d.dead
	d.mu.Unlock()
	if dead {
		return nil, net.ErrClosed
	}
	c, err := d.StreamLayer.Dial(addr, timeout)
	if err != nil {
		return nil, err
	}
	sc := &stallConn{Conn: c, d: d, addr: addr, closed: make(chan struct{})}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.dead {
		_ = c.Close()
		return nil, net.ErrClosed
	}
	d.conns = append(d.conns, sc)
	return sc, nil
}

// stall makes writes to addr, on connections dialed before or after,
// block until the connection is closed: the peer hears nothing more from
// this node, yet no connection ends.
func (d *dialTracker) stall(addr raft.ServerAddress) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.stalled == nil {
		d.stalled = map[raft.ServerAddress]bool{}
	}
	d.stalled[addr] = true
}

func (d *dialTracker) isStalled(addr raft.ServerAddress) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.stalled[addr]
}

// stallConn is a dialed connection whose writes dialTracker.stall holds.
type stallConn struct {
	net.Conn
	d      *dialTracker
	addr   raft.ServerAddress
	once   sync.Once
	closed chan struct{}
}

func (c *stallConn) Write(p []byte) (int, error) {
	if c.d.isStalled(c.addr) {
		<-c.closed
		return 0, net.ErrClosed
	}
	return c.Conn.Write(p)
}

func (c *stallConn) Close() error {
	c.once.Do(func() { close(c.closed) })
	return c.Conn.Close()
}

// closeAll closes every connection dialed so far.
func (d *dialTracker) closeAll() {
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, c := range d.conns {
		_ = c.Close()
	}
	d.conns = nil
}

// kill does to the node's outbound side what its process's death does:
// every connection it dialed closes, and it dials no more (a stalled write
// cannot outlive it, so raft's shutdown does not wait on one).
func (d *dialTracker) kill() {
	d.mu.Lock()
	d.dead = true
	d.mu.Unlock()
	d.closeAll()
}

// Servers returns all nodes as voters.
func (c *testCluster) Servers() []raft.Server {
	var out []raft.Server
	for i := range c.cfgs {
		out = append(out, raft.Server{Suffrage: raft.Voter, ID: raft.ServerID(c.cfgs[i].ID), Address: c.addrs[i]})
	}
	return out
}

// WaitForLeader waits until exactly one live node is leader and returns its
// index.
func (c *testCluster) WaitForLeader(timeout time.Duration) int {
	c.t.Helper()
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		leader, count := -1, 0
		for i, n := range c.nodes {
			if !c.isDead(i) && n.State() == raft.Leader {
				leader, count = i, count+1
			}
		}
		if count == 1 {
			return leader
		}
		time.Sleep(5 * time.Millisecond)
	}
	c.t.Fatalf("no single leader within %v", timeout)
	return -1
}

// WaitReadyLeader waits for a leader and for it to be ready.
func (c *testCluster) WaitReadyLeader(timeout time.Duration) int {
	c.t.Helper()
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		i := c.WaitForLeader(time.Until(deadline))
		ctx, cancel := context.WithDeadline(context.Background(), deadline)
		err := c.nodes[i].WaitReady(ctx)
		cancel()
		if err == nil {
			return i
		}
	}
	c.t.Fatalf("no ready leader within %v", timeout)
	return -1
}

// WaitApplied waits until every live node's FSM applied index >= idx.
func (c *testCluster) WaitApplied(idx uint64, timeout time.Duration) {
	c.t.Helper()
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		ok := true
		for i, f := range c.fsms {
			if !c.isDead(i) && f.AppliedIndex() < idx {
				ok = false
			}
		}
		if ok {
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
	for i, f := range c.fsms {
		c.t.Logf("node %d applied %d", i, f.AppliedIndex())
	}
	c.t.Fatalf("not all nodes applied %d within %v", idx, timeout)
}

// Disconnect partitions node i from all others (inmem only).
func (c *testCluster) Disconnect(i int) {
	c.inmem[i].DisconnectAll()
	for j := range c.inmem {
		if j != i {
			c.inmem[j].Disconnect(c.addrs[i])
		}
	}
}

// Reconnect heals the partition of node i (inmem only).
func (c *testCluster) Reconnect(i int) {
	for j := range c.inmem {
		if j != i {
			c.inmem[i].Connect(c.addrs[j], c.inmem[j])
			c.inmem[j].Connect(c.addrs[i], c.inmem[i])
		}
	}
}

// Crash stops node i abruptly: partitioned first (inmem), raft stopped
// without leadership transfer, then resources released.
func (c *testCluster) Crash(i int) {
	if !c.opts.tcp {
		c.Disconnect(i)
	}
	_ = c.nodes[i].raft.Shutdown().Error()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := c.nodes[i].Shutdown(ctx); err != nil {
		c.t.Errorf("shutdown node %d: %v", i, err)
	}
	c.setDead(i, true)
}

// Restart starts node i again on the same dir and address with fsm (pass
// c.fsms[i] for a DB that survived, newTestFSM() for a wiped one). inmem only.
func (c *testCluster) Restart(i int, fsm *testFSM) {
	c.t.Helper()
	_, tr := raft.NewInmemTransport(c.addrs[i])
	c.inmem[i] = tr
	c.Reconnect(i)
	n, err := New(context.Background(), c.cfgs[i], fsm, tr)
	if err != nil {
		c.t.Fatalf("restart node %d: %v", i, err)
	}
	c.nodes[i], c.fsms[i] = n, fsm
	c.setDead(i, false)
}

func (c *testCluster) isDead(i int) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.dead[i]
}

func (c *testCluster) setDead(i int, v bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.dead[i] = v
}

// Close stops every live node (raft first on all, so no transfers run) and
// the muxes.
func (c *testCluster) Close() {
	var wg sync.WaitGroup
	for i, n := range c.nodes {
		if c.isDead(i) {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			_ = n.raft.Shutdown().Error()
		}()
	}
	wg.Wait()
	for i, n := range c.nodes {
		if c.isDead(i) {
			continue
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		if err := n.Shutdown(ctx); err != nil {
			c.t.Errorf("shutdown node %d: %v", i, err)
		}
		cancel()
		c.setDead(i, true)
	}
	for _, m := range c.muxes {
		_ = m.Close()
	}
}

// mustApply applies data on node i with a timeout.
func mustApply(t testing.TB, n *Node, data string) any {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	resp, err := n.Apply(ctx, []byte(data))
	if err != nil {
		t.Fatalf("apply %q on %s: %v", data, n.ID(), err)
	}
	return resp
}

var _ io.Closer = (*mux.Mux)(nil)
