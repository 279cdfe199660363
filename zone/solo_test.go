package zone_test

import (
	"context"
	"errors"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/raft"

	"github.com/oneha/oneha/internal/harness"
	"github.com/oneha/oneha/raftlog"
	"github.com/oneha/oneha/sqlcheck"
	"github.com/oneha/oneha/sqlfsm"
	"github.com/oneha/oneha/zone"
)

// soloDB is a solo server's database (SERVER_ID -1) on dialect d.
func soloDB(t *testing.T, d sqlcheck.Dialect) (*sqlfsm.FSM, *sqlfsm.DB) {
	t.Helper()
	local := harness.OpenLocal(t, d, nil, false)
	f, err := sqlfsm.New(harness.Ctx(t, 30*time.Second), sqlfsm.Config{Dialect: d, DB: local.DB, Logger: testLogger()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f, sqlfsm.NewDB(f, sqlfsm.NewSolo(f))
}

func soloManager(t *testing.T, db *sqlfsm.DB) *zone.Manager {
	t.Helper()
	m, err := zone.New(zone.Config{ServerID: -1, DB: db, Logger: testLogger()})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// TestSolo: the seed's first step on both backends. A solo server keeps the
// zone directly in its database; IDs are max + 1 from 0; every statement
// passes sqlfsm's checks on the dialect (Exec runs CheckEntry).
func TestSolo(t *testing.T) {
	for _, d := range harness.Dialects {
		t.Run(string(d), func(t *testing.T) {
			ctx := harness.Ctx(t, 60*time.Second)
			f, db := soloDB(t, d)
			m := soloManager(t, db)
			for i := 0; i < 2; i++ {
				wantErr(t, "EnsureSchema", m.EnsureSchema(ctx), nil)
			}
			z, err := m.Info(ctx, 0)
			wantErr(t, "Info", err, nil)
			if z.Name != "OpenNebula" || z.Endpoint != "http://localhost:2633/RPC2" || z.State != 0 || len(z.Servers) != 0 {
				t.Fatalf("fresh zone %+v", z)
			}
			for i, ep := range []string{"http://10.0.1.10:2633/RPC2", "http://10.0.1.20:2633/RPC2", "http://10.0.1.30:2633/RPC2"} {
				id, err := m.AddServer(ctx, 0, "vmm0"+string(rune('1'+i)), ep)
				if err != nil || id != i {
					t.Fatalf("AddServer #%d = %d, %v; want %d", i, id, err, i)
				}
			}
			refusals := []struct {
				name, endpoint string
				zoneID         int
				want           error
			}{
				{"", "http://10.0.1.40:2633/RPC2", 0, zone.ErrBadName},
				{" x", "http://10.0.1.40:2633/RPC2", 0, zone.ErrBadName},
				{"a\x00b", "http://10.0.1.40:2633/RPC2", 0, zone.ErrBadName},
				{strings.Repeat("n", 129), "http://10.0.1.40:2633/RPC2", 0, zone.ErrBadName},
				{"vmm04", "10.0.1.40:2633", 0, zone.ErrBadEndpoint},
				{"vmm04", "http://10.0.1.40/RPC2", 0, zone.ErrBadEndpoint},
				{"VMM01", "http://10.0.1.40:2633/RPC2", 0, zone.ErrDuplicate},
				{"vmm04", "https://10.0.1.10:2633/other", 0, zone.ErrDuplicate},
				{"vmm04", "http://10.0.1.40:2633/RPC2", 7, zone.ErrNoSuchZone},
			}
			for _, r := range refusals {
				_, err := m.AddServer(ctx, r.zoneID, r.name, r.endpoint)
				wantErr(t, "AddServer("+r.name+", "+r.endpoint+")", err, r.want)
			}
			wantErr(t, "DelServer 9", m.DelServer(ctx, 0, 9), zone.ErrNoSuchServer)
			wantErr(t, "ResetServer", m.ResetServer(ctx, 0, 1), zone.ErrSolo)
			wantErr(t, "Reconcile", m.Reconcile(ctx), zone.ErrSolo)
			wantErr(t, "DelServer 1", m.DelServer(ctx, 0, 1), nil)
			if id, err := m.AddServer(ctx, 0, "vmm04", "http://10.0.1.40:2633/RPC2"); err != nil || id != 3 {
				t.Fatalf("AddServer after delete = %d, %v; want 3 (max + 1)", id, err)
			}
			if _, err := m.Info(ctx, 7); !errors.Is(err, zone.ErrNoSuchZone) {
				t.Fatalf("Info(7): %v", err)
			}
			z, _ = m.Info(ctx, 0)
			if got := serverIDs(z); !slices.Equal(got, []int{0, 2, 3}) {
				t.Fatalf("servers %v, want [0 2 3]", got)
			}
			if z.Servers[0].Name != "vmm01" || z.Servers[0].Endpoint != "http://10.0.1.10:2633/RPC2" {
				t.Fatalf("server 0 = %+v", z.Servers[0])
			}
			pool, err := m.Pool(ctx)
			if err != nil || len(pool) != 1 || pool[0].ID != 0 || len(pool[0].Servers) != 3 {
				t.Fatalf("Pool = %+v, %v", pool, err)
			}
			// A solo server may empty the zone (OpenNebula allows it).
			for _, id := range []int{0, 2, 3} {
				wantErr(t, "DelServer", m.DelServer(ctx, 0, id), nil)
			}
			if f.AppliedIndex() != 0 {
				t.Fatalf("solo writes moved the applied index to %d", f.AppliedIndex())
			}
		})
	}
}

// TestInfoWithoutSchema: before EnsureSchema there is no zone, and no pool.
func TestInfoWithoutSchema(t *testing.T) {
	ctx := harness.Ctx(t, 30*time.Second)
	_, db := soloDB(t, sqlcheck.SQLite)
	m := soloManager(t, db)
	if _, err := m.Info(ctx, 0); !errors.Is(err, zone.ErrNoSuchZone) {
		t.Fatalf("Info: %v, want ErrNoSuchZone", err)
	}
	if zs, err := m.Pool(ctx); err != nil || len(zs) != 0 {
		t.Fatalf("Pool = %v, %v", zs, err)
	}
	if _, err := m.AddServer(ctx, 0, "a", "http://a:1/RPC2"); !errors.Is(err, zone.ErrNoSuchZone) {
		t.Fatalf("AddServer: %v, want ErrNoSuchZone", err)
	}
}

func TestNewValidates(t *testing.T) {
	_, db := soloDB(t, sqlcheck.SQLite)
	tests := []struct {
		name string
		cfg  zone.Config
		ok   bool
	}{
		{"solo", zone.Config{ServerID: -1, DB: db}, true},
		{"no DB", zone.Config{ServerID: -1}, false},
		{"HA without node", zone.Config{ServerID: 0, DB: db}, false},
		{"server id below -1", zone.Config{ServerID: -2, DB: db}, false},
		{"negative zone", zone.Config{ZoneID: -1, ServerID: -1, DB: db}, false},
		{"bad zone endpoint", zone.Config{ServerID: -1, DB: db, ZoneEndpoint: "localhost"}, false},
		{"negative PromoteAfter", zone.Config{ServerID: -1, DB: db, PromoteAfter: -time.Second}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := zone.New(tt.cfg)
			if tt.ok != (err == nil) || (err != nil && !errors.Is(err, zone.ErrBadConfig)) {
				t.Fatalf("New: %v, want ok=%v", err, tt.ok)
			}
		})
	}
}

// TestBootstrapGuard (I7): a database that lists other servers in its zone
// refuses a Raft bootstrap through raftlog's hook; listing only this server
// (the seed: solo server-add of itself, then SERVER_ID 0) or nothing allows it.
func TestBootstrapGuard(t *testing.T) {
	tests := []struct {
		name    string
		schema  bool
		servers []string // names of servers added while solo: IDs 0, 1, ...
		refused bool
	}{
		{"no tables", false, nil, false},
		{"empty zone", true, nil, false},
		{"only this server", true, []string{"self"}, false},
		{"this and another", true, []string{"self", "other"}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := harness.Ctx(t, 30*time.Second)
			f, db := soloDB(t, sqlcheck.SQLite)
			if tt.schema {
				solo := soloManager(t, db)
				wantErr(t, "EnsureSchema", solo.EnsureSchema(ctx), nil)
				for i, n := range tt.servers {
					if _, err := solo.AddServer(ctx, 0, n, "http://10.0.0."+string(rune('1'+i))+":2633/RPC2"); err != nil {
						t.Fatal(err)
					}
				}
			}
			// Restart as SERVER_ID 0 with Raft: the guard needs the Manager,
			// the Manager needs the node, so the hook is a closure.
			var m *zone.Manager
			rc := harness.RaftConfig("0", filepath.Join(t.TempDir(), "raft"))
			rc.Logger = testLogger()
			rc.BootstrapGuard = func(ctx context.Context) error { return m.BootstrapGuard(ctx) }
			_, trans := raft.NewInmemTransport("inmem-0")
			node, err := raftlog.New(ctx, rc, f, trans)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { node.Shutdown(context.Background()) })
			m, err = zone.New(zone.Config{ServerID: 0, DB: sqlfsm.NewDB(f, node), Node: node, Logger: testLogger()})
			if err != nil {
				t.Fatal(err)
			}
			err = node.Bootstrap(ctx, []raft.Server{{ID: "0", Address: "inmem-0", Suffrage: raft.Voter}})
			if tt.refused {
				if !errors.Is(err, raftlog.ErrBootstrapRefused) || !errors.Is(err, zone.ErrZoneHasServers) || !strings.Contains(err.Error(), "1 (other") {
					t.Fatalf("Bootstrap: %v, want refusal naming server 1", err)
				}
				return
			}
			wantErr(t, "Bootstrap", err, nil)
		})
	}
}
