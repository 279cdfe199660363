package lab_test

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/oneha/oneha/internal/harness"
)

// The lab benchmarks: what a client writing through the floating IP sees
// when leadership moves, from the fault to its first successful write on a
// fresh connection (200 ms per attempt), over 20 runs with the default LAN
// timeouts (ELECTION_TIMEOUT_MS 500). Run with -benchtime 1x (make bench);
// b.N is not used.

// BenchmarkFailover: SIGKILL of the leader's oned, followed (as systemd's
// ExecStopPost does) by `oned vip release`. The killed server is restarted
// and the zone waits for three voters before the next run.
func BenchmarkFailover(b *testing.B) {
	measureRuns(b, "198.18.24.0/24", "leader SIGKILL -> first write through the VIP",
		func(z *labZone, leader *harness.Oned) time.Time {
			leader.Kill()
			t0 := time.Now()
			leader.Killed()
			return t0
		}, restart)
}

// BenchmarkSwitchover: a planned switchover, from the one.zone.leadertransfer
// call (what `onezone leader-transfer` sends), each run to the next server.
func BenchmarkSwitchover(b *testing.B) {
	measureRuns(b, "198.18.26.0/24", "leader transfer -> first write through the VIP",
		func(z *labZone, leader *harness.Oned) time.Time {
			target := z.Servers[(leader.ID+1)%len(z.Servers)]
			t0 := time.Now()
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			if _, err := leader.Call(ctx, "one.zone.leadertransfer", 0, target.ID); err != nil {
				b.Fatalf("leadertransfer to %d: %v", target.ID, err)
			}
			return t0
		}, func(*labZone, *harness.Oned) {})
}

// BenchmarkGracefulStop: `systemctl stop oned` on the leader, from SIGTERM;
// the stopped server is started again and rejoins between runs.
func BenchmarkGracefulStop(b *testing.B) {
	measureRuns(b, "198.18.28.0/24", "leader SIGTERM -> first write through the VIP",
		func(z *labZone, leader *harness.Oned) time.Time {
			t0 := time.Now()
			leader.Signal(syscall.SIGTERM)
			return t0
		}, func(z *labZone, leader *harness.Oned) {
			leader.Stop() // waits for the exit
			restart(z, leader)
		})
}

// restart starts a stopped server and waits until the zone has three voters.
func restart(z *labZone, o *harness.Oned) {
	o.Start()
	o.WaitState(2, 30*time.Second)
	z.WaitVoters(3, 60*time.Second)
}

// measureRuns forms a lab zone on subnet and, 20 times, waits for a leader
// holding the VIP, applies fault (which returns when the clock starts),
// times the first write through the VIP, then runs after.
func measureRuns(b *testing.B, subnet, what string, fault func(*labZone, *harness.Oned) time.Time, after func(*labZone, *harness.Oned)) {
	z := newLabZone(b, subnet, 100, "", true)
	z.waitWrite(b, "CREATE TABLE runs (run INT PRIMARY KEY)", 10*time.Second)
	const runs = 20
	var took []time.Duration
	for run := 0; run < runs; run++ {
		leader := z.Leader(20 * time.Second)
		z.waitHolder(b, leader.ID, 10*time.Second)
		z.waitWrite(b, fmt.Sprintf("REPLACE INTO runs VALUES (%d)", 1000+run), 10*time.Second)
		t0 := fault(z, leader)
		took = append(took, z.firstWrite(b, t0, fmt.Sprintf("REPLACE INTO runs VALUES (%d)", run)))
		after(z, leader)
	}
	reportRuns(b, what, took)
}

// firstWrite retries q through the VIP on fresh connections (200 ms per
// attempt) and returns the time from t0 to its first success. The writes
// are REPLACEs: an attempt that timed out may still have committed.
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
