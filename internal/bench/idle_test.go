package bench

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/oneha/oneha/internal/harness"
)

// idleWindow is how long BenchmarkIdleZoneCPU measures.
const idleWindow = 10 * time.Second

// BenchmarkIdleZoneCPU measures what a 3-server zone (SQLite, oned
// processes) costs while nobody writes: each server's CPU over
// idleWindow, after the leader is ready. Heartbeats, the commit index
// sent every RAFT COMMIT_TIMEOUT_MS per follower, follower polling and
// probes are all there is. ONEHA_BENCH_RAFT adds RAFT keys (e.g.
// "COMMIT_TIMEOUT_MS: 5" for the A/B). Results go to
// $ONEHA_RESULTS/idle.md.
func BenchmarkIdleZoneCPU(b *testing.B) {
	z := harness.NewProcZone(b, harness.ZoneOptions{N: 3, Raft: os.Getenv("ONEHA_BENCH_RAFT")})
	z.FormZone()
	leader := z.Leader(20 * time.Second)
	// Let the new term's setup (barrier, polling's first round) pass.
	time.Sleep(2 * time.Second)
	pids := make([]int, len(z.Servers))
	for i, o := range z.Servers {
		pids[i] = o.PID()
	}
	before, err := readCPU(pids)
	if err != nil {
		b.Fatal(err)
	}
	time.Sleep(idleWindow)
	after, err := readCPU(pids)
	if err != nil {
		b.Fatal(err)
	}
	var out strings.Builder
	fmt.Fprintf(&out, "# Idle 3-server zone: CPU over %s (RAFT %q)\n\n| server | role | %% of a core |\n|---|---|---:|\n", idleWindow, os.Getenv("ONEHA_BENCH_RAFT"))
	var total float64
	for i, o := range z.Servers {
		pct := 100 * float64(after[pids[i]]-before[pids[i]]) * float64(clockTick) / float64(idleWindow)
		total += pct
		role := "follower"
		if o == leader {
			role = "leader"
			b.ReportMetric(pct, "leader-%core")
		}
		fmt.Fprintf(&out, "| %d | %s | %.1f |\n", i, role, pct)
	}
	fmt.Fprintf(&out, "| all | | %.1f |\n", total)
	b.ReportMetric(total, "zone-%core")
	fmt.Print("\n" + out.String())
	if err := os.WriteFile(filepath.Join(resultsDir(b), "idle.md"), []byte(out.String()), 0o644); err != nil {
		b.Error(err)
	}
}
