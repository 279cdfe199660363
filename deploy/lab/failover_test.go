package lab_test

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"syscall"
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
		took = append(took, z.firstWrite(b, t0, fmt.Sprintf("REPLACE INTO failover VALUES (%d)", run)))
		leader.Start()
		leader.WaitState(2, 30*time.Second)
		z.WaitVoters(3, 60*time.Second)
	}
	reportRuns(b, "leader SIGKILL -> first write through the VIP", took)
}

// BenchmarkSwitchover measures a planned switchover: from the
// one.zone.leadertransfer call (what `onezone leader-transfer` sends) to the
// first successful write through the floating IP on a fresh connection
// (200 ms per attempt), over 20 runs, each to the next server in turn.
func BenchmarkSwitchover(b *testing.B) {
	z := newLabZone(b, "198.18.26.0/24", 100, "", true)
	z.waitWrite(b, "CREATE TABLE switchover (run INT PRIMARY KEY)", 10*time.Second)
	const runs = 20
	var took []time.Duration
	for run := 0; run < runs; run++ {
		leader := z.Leader(20 * time.Second)
		z.waitHolder(b, leader.ID, 10*time.Second)
		z.waitWrite(b, fmt.Sprintf("INSERT INTO switchover VALUES (%d)", 1000+run), 10*time.Second)
		target := z.Servers[(leader.ID+1)%len(z.Servers)]
		t0 := time.Now()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		_, err := leader.Call(ctx, "one.zone.leadertransfer", 0, target.ID)
		cancel()
		if err != nil {
			b.Fatalf("run %d: leadertransfer to %d: %v", run, target.ID, err)
		}
		took = append(took, z.firstWrite(b, t0, fmt.Sprintf("REPLACE INTO switchover VALUES (%d)", run)))
	}
	reportRuns(b, "leader transfer -> first write through the VIP", took)
}

// firstWrite retries q through the VIP on fresh connections (200 ms per
// attempt) and returns the time from t0 to its first success.
func (z *labZone) firstWrite(b *testing.B, t0 time.Time, q string) time.Duration {
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		err := z.writeViaVIP(ctx, q)
		cancel()
		if err == nil {
			return time.Since(t0)
		}
		if time.Since(t0) > 30*time.Second {
			b.Fatalf("%q: no write through the VIP 30 s after the fault: %v", q, err)
		}
	}
}

// BenchmarkGracefulStop measures `systemctl stop oned` on the leader: from
// SIGTERM to the first successful write through the floating IP on a fresh
// connection (200 ms per attempt), over 20 runs; the stopped server is
// started again and rejoins between runs.
func BenchmarkGracefulStop(b *testing.B) {
	z := newLabZone(b, "198.18.28.0/24", 100, "", true)
	z.waitWrite(b, "CREATE TABLE stop (run INT PRIMARY KEY)", 10*time.Second)
	const runs = 20
	var took []time.Duration
	for run := 0; run < runs; run++ {
		leader := z.Leader(20 * time.Second)
		z.waitHolder(b, leader.ID, 10*time.Second)
		z.waitWrite(b, fmt.Sprintf("REPLACE INTO stop VALUES (%d)", 1000+run), 10*time.Second)
		t0 := time.Now()
		leader.Signal(syscall.SIGTERM)
		took = append(took, z.firstWrite(b, t0, fmt.Sprintf("REPLACE INTO stop VALUES (%d)", run)))
		leader.Stop() // waits for the exit
		leader.Start()
		leader.WaitState(2, 30*time.Second)
		z.WaitVoters(3, 60*time.Second)
	}
	reportRuns(b, "leader SIGTERM -> first write through the VIP", took)
}

// reportRuns reports the runs' median, p99 (nearest rank), max and min.
func reportRuns(b *testing.B, what string, took []time.Duration) {
	runs := len(took)
	sorted := append([]time.Duration(nil), took...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i] < sorted[j] })
	median := (sorted[(runs-1)/2] + sorted[runs/2]) / 2
	p99 := sorted[(runs*99+99)/100-1]
	b.ReportMetric(float64(median.Milliseconds()), "median-ms")
	b.ReportMetric(float64(p99.Milliseconds()), "p99-ms")
	b.ReportMetric(float64(sorted[runs-1].Milliseconds()), "max-ms")
	b.ReportMetric(float64(sorted[0].Milliseconds()), "min-ms")
	var all []string
	for _, d := range took {
		all = append(all, fmt.Sprint(d.Round(time.Millisecond)))
	}
	b.Logf("%s, %d runs: median %v, p99 %v, max %v, min %v\nruns: %s",
		what, runs, median.Round(time.Millisecond), p99.Round(time.Millisecond), sorted[runs-1].Round(time.Millisecond), sorted[0].Round(time.Millisecond), strings.Join(all, " "))
}
