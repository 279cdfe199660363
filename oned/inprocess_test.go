package oned_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"runtime/pprof"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/oneha/oneha/internal/harness"
	"github.com/oneha/oneha/oned"
	"github.com/oneha/oneha/xmlrpc"
)

// inProcessZone is a zone of oned.Servers inside the test process, so that
// `go test -race` instruments every server's code (the process zones of the
// other tests run separate, uninstrumented binaries).
type inProcessZone struct {
	t       *testing.T
	dir     string
	auth    string
	session string
	ports   []int
	servers []*oned.Server
}

func newInProcessZone(t *testing.T, n int) *inProcessZone {
	z := &inProcessZone{t: t, dir: t.TempDir(), session: "oneadmin:inprocess-pw"}
	z.auth = filepath.Join(z.dir, "one_auth")
	if err := os.WriteFile(z.auth, []byte(z.session+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < n; i++ {
		p, err := harness.FreePort()
		if err != nil {
			t.Fatal(err)
		}
		z.ports = append(z.ports, p)
	}
	z.servers = make([]*oned.Server, n)
	t.Cleanup(func() {
		for i := range z.servers {
			z.stop(i)
		}
	})
	return z
}

func (z *inProcessZone) endpoint(i int) string {
	return fmt.Sprintf("http://127.0.0.1:%d/RPC2", z.ports[i])
}

// start runs server i with the given SERVER_ID; its data directory is kept
// across restarts.
func (z *inProcessZone) start(i, serverID int) {
	z.t.Helper()
	cfg := oned.DefaultConfig()
	cfg.ListenAddress, cfg.Port, cfg.OneAuth = "127.0.0.1", z.ports[i], z.auth
	cfg.DataDir = filepath.Join(z.dir, fmt.Sprintf("server-%d", i))
	cfg.Federation.ServerID = serverID
	cfg.Raft.ElectionTimeoutMS = 1500 // the race detector slows everything; this test is not about failover time
	logf, _ := os.OpenFile(filepath.Join(z.dir, fmt.Sprintf("oned-%d.log", i)), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	s, err := oned.New(context.Background(), cfg, slog.New(slog.NewTextHandler(logf, &slog.HandlerOptions{Level: slog.LevelDebug})).With("server", i))
	if err != nil {
		z.t.Fatalf("start server %d: %v", i, err)
	}
	z.servers[i] = s
}

func (z *inProcessZone) stop(i int) {
	if z.servers[i] == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := z.servers[i].Shutdown(ctx); err != nil {
		b, _ := os.ReadFile(filepath.Join(z.dir, fmt.Sprintf("oned-%d.log", i)))
		var g strings.Builder
		pprof.Lookup("goroutine").WriteTo(&g, 1)
		z.t.Errorf("stop server %d: %v\nlog tail:\n%s\ngoroutines:\n%s", i, err, tail(string(b), 4000), tail(g.String(), 20000))
	}
	z.servers[i] = nil
}

func (z *inProcessZone) call(ctx context.Context, i int, method string, params ...any) (any, error) {
	return xmlrpc.NewClient(z.endpoint(i), 10*time.Second).CallONE(ctx, method, append([]any{z.session}, params...)...)
}

// until polls f (a condition, not a sleep) until it holds or 60 s pass.
func (z *inProcessZone) until(why string, f func() bool) {
	z.t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for !f() {
		if time.Now().After(deadline) {
			z.t.Fatalf("timed out waiting: %s", why)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (z *inProcessZone) voters(ctx context.Context, i int) int {
	v, err := z.call(ctx, i, "one.zone.members")
	if err != nil {
		return 0
	}
	members, _ := v.([]any)
	n := 0
	for _, m := range members {
		if mm, ok := m.(map[string]any); ok && mm["VOTER"] == true {
			n++
		}
	}
	return n
}

// TestInProcessZoneIsRaceFree forms a 3-server zone by seed 003's procedure
// (over the zone's mutual TLS), then writes through every server (followers
// forward), scrapes /status and /metrics and hands leadership over, all at
// once, with every server in this process: under `go test -race` (make
// test-race) a data race in oned, zone, raftlog, mux, zoneca, hooks or
// sqlfsm fails it. Without -race it still proves the procedure and that
// every acknowledged write is on every server.
func TestInProcessZoneIsRaceFree(t *testing.T) {
	t.Parallel()
	z := newInProcessZone(t, 3)
	ctx := context.Background()
	tmpl := func(i int) string {
		return fmt.Sprintf(`SERVER = [ NAME = "s%d", ENDPOINT = "%s" ]`, i, z.endpoint(i))
	}
	// Seed 003: the first server solo, recorded in zone 0, restarted as 0.
	z.start(0, -1)
	if _, err := z.call(ctx, 0, "one.zone.addserver", 0, tmpl(0)); err != nil {
		t.Fatal(err)
	}
	z.stop(0)
	z.start(0, 0)
	z.until("server 0 leads", func() bool {
		_, err := z.call(ctx, 0, "one.sql.exec", []any{"CREATE TABLE IF NOT EXISTS r (id INTEGER PRIMARY KEY, w INTEGER)"})
		return err == nil
	})
	for i := 1; i < 3; i++ {
		if _, err := z.call(ctx, 0, "one.zone.addserver", 0, tmpl(i)); err != nil {
			t.Fatal(err)
		}
		z.start(i, i)
		z.until(fmt.Sprintf("server %d promoted", i), func() bool { return z.voters(ctx, 0) == i+1 })
	}

	const writers, perWriter = 6, 15
	var wg sync.WaitGroup
	errs := make(chan error, writers*perWriter)
	for w := 0; w < writers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for k := 0; k < perWriter; k++ {
				id := w*perWriter + k
				// REPLACE: a retried attempt whose outcome was unknown is harmless.
				z.until(fmt.Sprintf("write %d acknowledged", id), func() bool {
					_, err := z.call(ctx, w%3, "one.sql.exec", []any{[]any{"REPLACE INTO r (id, w) VALUES (?, ?)", int64(id), int64(w)}})
					return err == nil
				})
			}
		}(w)
	}
	stop := make(chan struct{})
	var scrapers sync.WaitGroup
	for i := 0; i < 3; i++ {
		scrapers.Add(1)
		go func(i int) {
			defer scrapers.Done()
			base := fmt.Sprintf("http://127.0.0.1:%d", z.ports[i])
			for {
				select {
				case <-stop:
					return
				default:
				}
				for _, path := range []string{"/status", "/metrics", "/ready"} {
					req, _ := http.NewRequest(http.MethodGet, base+path, nil)
					user, pass := "oneadmin", "inprocess-pw"
					req.SetBasicAuth(user, pass)
					if resp, err := http.DefaultClient.Do(req); err == nil {
						io.Copy(io.Discard, resp.Body)
						resp.Body.Close()
					}
				}
				z.call(ctx, i, "one.zone.raftstatus")
				z.call(ctx, i, "one.sql.query", "SELECT count(*) FROM r", []any{}, "stale")
			}
		}(i)
	}
	// A planned handover while the writers run.
	if _, err := z.call(ctx, 0, "one.zone.leadertransfer", 0, -1); err != nil {
		errs <- fmt.Errorf("leader transfer: %w", err)
	}
	wg.Wait()
	close(stop)
	scrapers.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	for i := 0; i < 3; i++ {
		z.until(fmt.Sprintf("server %d has every acknowledged row", i), func() bool {
			v, err := z.call(ctx, i, "one.sql.query", "SELECT count(*) FROM r", []any{}, "stale")
			if err != nil {
				return false
			}
			rows, _ := v.(map[string]any)["ROWS"].([]any)
			if len(rows) != 1 {
				return false
			}
			n, _ := rows[0].([]any)[0].(int64)
			return n == writers*perWriter
		})
	}
}

func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}
