package zone_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/raft"

	"github.com/oneha/oneha/internal/harness"
	"github.com/oneha/oneha/raftlog"
	"github.com/oneha/oneha/sqlfsm"
	"github.com/oneha/oneha/zone"
)

// testLogger discards unless ONEHA_TEST_LOG=1.
func testLogger() *slog.Logger {
	if os.Getenv("ONEHA_TEST_LOG") == "1" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.DiscardHandler)
}

// fleet answers Config.Status from the real nodes of a test cluster, as
// one.zone.raftstatus over each server's ENDPOINT would. A server marked
// down (or never registered) is unreachable.
type fleet struct {
	mu    sync.Mutex
	nodes map[string]*raftlog.Node
	fsms  map[string]*sqlfsm.FSM // for DB_SETTINGS
}

func newFleet(servers ...*harness.Server) *fleet {
	f := &fleet{nodes: map[string]*raftlog.Node{}, fsms: map[string]*sqlfsm.FSM{}}
	for _, s := range servers {
		f.up(s)
	}
	return f
}

func (f *fleet) up(s *harness.Server) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.nodes[s.Endpoint()] = s.Node
	f.fsms[s.Endpoint()] = s.FSM
}

func (f *fleet) down(s *harness.Server) {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.nodes, s.Endpoint())
}

func (f *fleet) status(ctx context.Context, endpoint string) (zone.RemoteStatus, error) {
	f.mu.Lock()
	n, fsm := f.nodes[endpoint], f.fsms[endpoint]
	f.mu.Unlock()
	if n == nil {
		return zone.RemoteStatus{}, fmt.Errorf("dial %s: connection refused", endpoint)
	}
	st, err := n.Stats(ctx)
	if err != nil {
		return zone.RemoteStatus{}, err
	}
	return zone.RemoteStatus{State: st.State.String(), Term: st.Term, LogIndex: st.LastLogIndex, Commit: st.CommitIndex, Settings: fsm.Settings()}, nil
}

// newManager builds the Manager of a cluster server with test timings
// (PromoteAfter 300ms, Tick 50ms), adjusted by opts.
func newManager(t testing.TB, s *harness.Server, f *fleet, opts ...func(*zone.Config)) *zone.Manager {
	t.Helper()
	id, err := strconv.Atoi(s.ID)
	if err != nil {
		t.Fatal(err)
	}
	cfg := zone.Config{
		ServerID:     id,
		DB:           s.SQL,
		Node:         s.Node,
		Logger:       testLogger().With("server", s.ID),
		PromoteAfter: 300 * time.Millisecond,
		Tick:         50 * time.Millisecond,
	}
	if f != nil {
		cfg.Status = f.status
	}
	for _, o := range opts {
		o(&cfg)
	}
	m, err := zone.New(cfg)
	if err != nil {
		t.Fatalf("zone.New: %v", err)
	}
	return m
}

// run starts m.Run until the end of the test (before the cluster stops).
func run(t testing.TB, m *zone.Manager) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		m.Run(ctx)
	}()
	t.Cleanup(func() {
		cancel()
		<-done
	})
}

// suffrage returns the node's raft configuration as ID → suffrage.
func suffrage(t testing.TB, n *raftlog.Node) map[string]raft.ServerSuffrage {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	conf, err := n.Configuration(ctx)
	if err != nil {
		t.Fatalf("configuration: %v", err)
	}
	out := map[string]raft.ServerSuffrage{}
	for _, s := range conf {
		out[string(s.ID)] = s.Suffrage
	}
	return out
}

// waitConf waits until n's configuration is exactly want.
func waitConf(t testing.TB, n *raftlog.Node, want map[string]raft.ServerSuffrage, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		got := suffrage(t, n)
		if confEqual(got, want) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("raft configuration %v, want %v (after %v)", got, want, timeout)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func confEqual(a, b map[string]raft.ServerSuffrage) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

// serverIDs lists the IDs of z's servers.
func serverIDs(z zone.Zone) []int {
	ids := []int{}
	for _, s := range z.Servers {
		ids = append(ids, s.ID)
	}
	return ids
}

// wantErr fails unless errors.Is(err, target) (target nil: err must be nil).
func wantErr(t testing.TB, what string, err, target error) {
	t.Helper()
	if target == nil {
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		return
	}
	if !errors.Is(err, target) {
		t.Fatalf("%s: error %v, want %v", what, err, target)
	}
}

// promoteAfter sets Config.PromoteAfter.
func promoteAfter(d time.Duration) func(*zone.Config) {
	return func(c *zone.Config) { c.PromoteAfter = d }
}
