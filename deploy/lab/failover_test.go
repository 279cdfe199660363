package lab_test

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"
)

// BenchmarkFailover measures what a client sees when the leader dies: from
// SIGKILL of the leader's oned (followed, as systemd's ExecStopPost does, by
// `oned vip release`) to the first successful write through the floating IP
// on a fresh connection (200 ms per attempt), over 20 runs with the default
// LAN timeouts (ELECTION_TIMEOUT_MS 500). The killed server is restarted and
// the zone waits for three voters before the next run. Run with
// -benchtime 1x (make bench); b.N is not used.
func BenchmarkFailover(b *testing.B) {
	z := newLabZone(b, "198.18.24.0/24", 100, "", true)
	z.waitWrite(b, "CREATE TABLE failover (run INT PRIMARY KEY)", 10*time.Second)
	const runs = 20
	var took []time.Duration
	for run := 0; run < runs; run++ {
		leader := z.Leader(20 * time.Second)
		z.waitHolder(b, leader.ID, 10*time.Second)
		z.waitWrite(b, fmt.Sprintf("INSERT INTO failover VALUES (%d)", 1000+run), 10*time.Second)
		leader.Kill()
		t0 := time.Now()
		leader.Killed()
		for {
			ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
			err := z.writeViaVIP(ctx, fmt.Sprintf("INSERT INTO failover VALUES (%d)", run))
			cancel()
			if err == nil {
				break
			}
			if time.Since(t0) > 30*time.Second {
				b.Fatalf("run %d: no write through the VIP 30 s after the leader died: %v", run, err)
			}
		}
		took = append(took, time.Since(t0))
		leader.Start()
		leader.WaitState(2, 30*time.Second)
		z.WaitVoters(3, 60*time.Second)
	}
	sorted := append([]time.Duration(nil), took...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i] < sorted[j] })
	median := (sorted[runs/2-1] + sorted[runs/2]) / 2
	p99 := sorted[(runs*99+99)/100-1] // nearest rank: the 20th of 20
	b.ReportMetric(float64(median.Milliseconds()), "median-ms")
	b.ReportMetric(float64(p99.Milliseconds()), "p99-ms")
	b.ReportMetric(float64(sorted[runs-1].Milliseconds()), "max-ms")
	b.ReportMetric(float64(sorted[0].Milliseconds()), "min-ms")
	var all []string
	for _, d := range took {
		all = append(all, fmt.Sprint(d.Round(time.Millisecond)))
	}
	b.Logf("leader SIGKILL -> first write through the VIP, %d runs: median %v, p99 %v, max %v, min %v\nruns: %s",
		runs, median.Round(time.Millisecond), p99.Round(time.Millisecond), sorted[runs-1].Round(time.Millisecond), sorted[0].Round(time.Millisecond), strings.Join(all, " "))
}
