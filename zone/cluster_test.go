package zone_test

import (
	"encoding/xml"
	"errors"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/raft"

	"github.com/oneha/oneha/internal/harness"
	"github.com/oneha/oneha/raftlog"
	"github.com/oneha/oneha/sqlfsm"
	"github.com/oneha/oneha/zone"
)

const (
	V = raft.Voter
	N = raft.Nonvoter
)

// TestEnsureSchemaReplicated: the leader creates the tables and the zone row
// through the log once (a second call appends nothing); followers do nothing
// themselves and receive them; leader-only calls on a follower return
// ErrNotLeader.
func TestEnsureSchemaReplicated(t *testing.T) {
	for _, d := range harness.Dialects {
		t.Run(string(d), func(t *testing.T) {
			ctx := harness.Ctx(t, 90*time.Second)
			c := harness.MakeCluster(t, harness.ClusterOptions{N: 3, Dialect: d, TCP: true})
			l := c.WaitForLeader(t, 15*time.Second)
			var f *harness.Server
			for _, s := range c.Servers {
				if s != l {
					f = s
					break
				}
			}
			fm := newManager(t, f, nil)
			wantErr(t, "follower EnsureSchema", fm.EnsureSchema(ctx), nil)
			lm := newManager(t, l, nil)
			wantErr(t, "leader EnsureSchema", lm.EnsureSchema(ctx), nil)
			before := l.Node.Raft().LastIndex()
			wantErr(t, "leader EnsureSchema again", lm.EnsureSchema(ctx), nil)
			if after := l.Node.Raft().LastIndex(); after != before {
				t.Fatalf("second EnsureSchema appended entries: last index %d → %d", before, after)
			}
			c.Converge(t, 30*time.Second)
			for _, s := range c.Servers {
				z, err := newManager(t, s, nil).Info(ctx, 0)
				if err != nil || z.Name != zone.DefaultZoneName || z.Endpoint != zone.DefaultZoneEndpoint || len(z.Servers) != 0 {
					t.Fatalf("server %s: Info = %+v, %v", s.ID, z, err)
				}
			}
			_, err := fm.AddServer(ctx, 0, "x", "http://10.9.9.9:2633/RPC2")
			wantErr(t, "follower AddServer", err, zone.ErrNotLeader)
			var nle *raftlog.NotLeaderError
			if !errors.As(err, &nle) || nle.LeaderID != l.ID {
				t.Fatalf("follower AddServer: %v, want a NotLeaderError naming leader %s", err, l.ID)
			}
			wantErr(t, "follower DelServer", fm.DelServer(ctx, 0, 0), zone.ErrNotLeader)
			wantErr(t, "follower ResetServer", fm.ResetServer(ctx, 0, 0), zone.ErrNotLeader)
			wantErr(t, "follower Reconcile", fm.Reconcile(ctx), zone.ErrNotLeader)
		})
	}
}

// TestJoinPromoteDelete is the seed's procedure on both backends: a leader
// alone registers itself, then servers join one at a time (non-voter, caught
// up, promoted), a second join while one is catching up is refused, and a
// down server is deleted.
func TestJoinPromoteDelete(t *testing.T) {
	for _, d := range harness.Dialects {
		t.Run(string(d), func(t *testing.T) {
			ctx := harness.Ctx(t, 120*time.Second)
			c := harness.MakeCluster(t, harness.ClusterOptions{N: 1, Dialect: d, TCP: true})
			s0 := c.WaitForLeader(t, 15*time.Second)
			fl := newFleet(s0)
			m := newManager(t, s0, fl, promoteAfter(time.Second))
			run(t, m)
			wantErr(t, "EnsureSchema", m.EnsureSchema(ctx), nil)
			// Registering the bootstrapped leader reuses its raft ID.
			if id, err := m.AddServer(ctx, 0, "server-0", s0.Endpoint()); err != nil || id != 0 {
				t.Fatalf("register leader = %d, %v; want 0", id, err)
			}
			waitConf(t, s0.Node, map[string]raft.ServerSuffrage{"0": V}, time.Second)
			// Some application data the joiners must receive.
			if _, err := s0.SQL.Exec(ctx, []sqlfsm.Statement{{SQL: "CREATE TABLE app (id INT PRIMARY KEY, v VARCHAR(20))"}}); err != nil {
				t.Fatal(err)
			}
			for i := 0; i < 20; i++ {
				if _, err := s0.SQL.Exec(ctx, []sqlfsm.Statement{{SQL: "INSERT INTO app VALUES (?, ?)", Params: []any{i, "v" + strconv.Itoa(i)}}}); err != nil {
					t.Fatal(err)
				}
			}

			s1 := c.StartJoiner(t)
			fl.up(s1)
			if id, err := m.AddServer(ctx, 0, "server-1", s1.Endpoint()); err != nil || id != 1 {
				t.Fatalf("AddServer server-1 = %d, %v; want 1", id, err)
			}
			if got := suffrage(t, s0.Node); got["1"] != N {
				t.Fatalf("after AddServer: configuration %v, want 1 as non-voter", got)
			}
			// One join at a time: refused while 1 is not yet a voter
			// (PromoteAfter is 1s here, so it still is a non-voter).
			_, err := m.AddServer(ctx, 0, "server-x", "http://127.0.0.1:1/RPC2")
			if !errors.Is(err, zone.ErrJoinInProgress) || !strings.Contains(err.Error(), "server 1 ") {
				t.Fatalf("second join: %v, want ErrJoinInProgress naming server 1", err)
			}
			waitConf(t, s0.Node, map[string]raft.ServerSuffrage{"0": V, "1": V}, 20*time.Second)

			s2 := c.StartJoiner(t)
			fl.up(s2)
			if id, err := m.AddServer(ctx, 0, "server-2", s2.Endpoint()); err != nil || id != 2 {
				t.Fatalf("AddServer server-2 = %d, %v; want 2", id, err)
			}
			waitConf(t, s0.Node, map[string]raft.ServerSuffrage{"0": V, "1": V, "2": V}, 20*time.Second)
			c.Converge(t, 30*time.Second)

			// Every server knows the membership (replicated table).
			z, err := newManager(t, s2, nil).Info(ctx, 0)
			if err != nil || !slices.Equal(serverIDs(z), []int{0, 1, 2}) || z.Servers[2].Endpoint != s2.Endpoint() {
				t.Fatalf("Info on server 2 = %+v, %v", z, err)
			}
			var parsed struct {
				Servers []struct {
					ID   int    `xml:"ID"`
					Name string `xml:"NAME"`
				} `xml:"SERVER_POOL>SERVER"`
			}
			if err := xml.Unmarshal([]byte(z.XML()), &parsed); err != nil || len(parsed.Servers) != 3 || parsed.Servers[1].Name != "server-1" {
				t.Fatalf("XML %s: %+v %v", z.XML(), parsed, err)
			}

			// Server 2 goes down. Resetting server 1 would leave voters 0 and
			// 2 with only 0 reachable: refused. Deleting 2 is fine.
			c.Crash(t, s2)
			fl.down(s2)
			wantErr(t, "ResetServer 1 with 2 down", m.ResetServer(ctx, 0, 1), zone.ErrNoQuorum)
			wantErr(t, "DelServer self", m.DelServer(ctx, 0, 0), zone.ErrSelf)
			wantErr(t, "DelServer 2", m.DelServer(ctx, 0, 2), nil)
			waitConf(t, s0.Node, map[string]raft.ServerSuffrage{"0": V, "1": V}, time.Second)
			z, _ = m.Info(ctx, 0)
			if !slices.Equal(serverIDs(z), []int{0, 1}) {
				t.Fatalf("after delete: servers %v", serverIDs(z))
			}
			// The zone still takes writes with 2 of 2 voters.
			if _, err := s0.SQL.Exec(ctx, []sqlfsm.Statement{{SQL: "INSERT INTO app VALUES (100, 'after')"}}); err != nil {
				t.Fatalf("write after delete: %v", err)
			}
			// IDs are max + 1: 2 was deleted (and left raft), so the next
			// server is 2 again. (Never started: it stays a non-voter.)
			if id, err := m.AddServer(ctx, 0, "server-3", "http://127.0.0.1:1/RPC2"); err != nil || id != 2 {
				t.Fatalf("AddServer after delete = %d, %v; want 2", id, err)
			}
			waitConf(t, s0.Node, map[string]raft.ServerSuffrage{"0": V, "1": V, "2": N}, time.Second)
		})
	}
}
