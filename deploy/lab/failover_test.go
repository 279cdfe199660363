package lab_test

import (
	"context"
	"fmt"
	"os"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/oneha/oneha/internal/harness"
)

// The lab benchmarks: what a client writing through the floating IP sees
// when leadership moves, from the fault to the end of its first successful
// write (a fresh connection every attemptGap, see firstWrite), over 20 runs
// with the default LAN timeouts (ELECTION_TIMEOUT_MS 500). Run with
// -benchtime 1x (make bench); b.N is not used.

// BenchmarkFailover: SIGKILL of the leader's oned, followed (as systemd's
// ExecStopPost does) by `oned vip release`. The killed server is restarted
// and the zone waits for three voters before the next run. "fast" is the
// default (RAFT FAST_FAILOVER: the followers see the leader's connections
// close and its port refuse, and elect at once); "timeout" turns that off,
// so the followers wait for their heartbeat timeout as before.
func BenchmarkFailover(b *testing.B) {
	kill := func(z *labZone, leader *harness.Oned) time.Time {
		leader.Kill()
		t0 := time.Now()
		leader.Killed()
		return t0
	}
	// ONEHA_BENCH_RAFT adds RAFT keys to both runs (A/B of a Raft setting).
	extra := os.Getenv("ONEHA_BENCH_RAFT")
	b.Run("fast", func(b *testing.B) {
		measureRuns(b, "198.18.24.0/24", extra, "leader SIGKILL -> first write through the VIP", kill, restart)
	})
	b.Run("timeout", func(b *testing.B) {
		measureRuns(b, "198.18.30.0/24", strings.TrimPrefix(extra+", FAST_FAILOVER: no", ", "), "leader SIGKILL, FAST_FAILOVER off -> first write through the VIP", kill, restart)
	})
}

// BenchmarkHungLeader: SIGSTOP of the leader's oned (a hung process: its
// connections stay open, its port accepts, so fast failover does not
// apply and the followers' heartbeat timeout does); the new leader takes
// the VIP while the stopped one still has it configured. The stopped
// server is continued (it steps down and releases the VIP) and the zone
// waits for three voters before the next run.
func BenchmarkHungLeader(b *testing.B) {
	measureRuns(b, "198.18.32.0/24", "", "leader SIGSTOP -> first write through the VIP",
		func(z *labZone, leader *harness.Oned) time.Time {
			t0 := time.Now()
			leader.Signal(syscall.SIGSTOP)
			return t0
		}, func(z *labZone, leader *harness.Oned) {
			leader.Signal(syscall.SIGCONT)
			leader.WaitState(2, 30*time.Second)
			z.WaitVoters(3, 60*time.Second)
		})
}

// BenchmarkSwitchover: a planned switchover, from the one.zone.leadertransfer
// call (what `onezone leader-transfer` sends), each run to the next server.
func BenchmarkSwitchover(b *testing.B) {
	measureRuns(b, "198.18.26.0/24", "", "leader transfer -> first write through the VIP",
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
	measureRuns(b, "198.18.28.0/24", "", "leader SIGTERM -> first write through the VIP",
		func(z *labZone, leader *harness.Oned) time.Time {
			t0 := time.Now()
			leader.Signal(syscall.SIGTERM)
			return t0
		}, func(z *labZone, leader *harness.Oned) {
			leader.Stop() // waits for the exit
			restart(z, leader)
		})
}

// restart starts a stopped server and waits until the zone has three
// voters and the server holds the leader's whole log, so that every run
// kills the leader of a healthy zone. (Killed before the restarted server
// catches up, the death watch's first voter in turn may be that server: its
// election fails on its short log and the next voter waits one more
// ELECTION_TIMEOUT_MS, about 0.6 s more.)
func restart(z *labZone, o *harness.Oned) {
	o.Start()
	o.WaitState(2, 30*time.Second)
	z.WaitVoters(3, 60*time.Second)
	leader := z.Leader(20 * time.Second)
	deadline := time.Now().Add(30 * time.Second)
	for {
		l, _ := leader.RaftStatus()
		f, _ := o.RaftStatus()
		if l.LogIndex > 0 && f.LogIndex == l.LogIndex && f.LogTerm == l.LogTerm {
			return
		}
		if time.Now().After(deadline) {
			panic(fmt.Sprintf("server %d did not catch up with leader %d: log %d/%d vs %d/%d", o.ID, leader.ID, f.LogIndex, f.LogTerm, l.LogIndex, l.LogTerm))
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// measureRuns forms a lab zone on subnet (raft: extra RAFT keys) and, 20
// times, waits for a leader holding the VIP, applies fault (which returns
// when the clock starts), times the first write through the VIP, then runs
// after.
func measureRuns(b *testing.B, subnet, raft, what string, fault func(*labZone, *harness.Oned) time.Time, after func(*labZone, *harness.Oned)) {
	z := formLabZone(b, subnet, 100, harness.ZoneOptions{Raft: raft}, true)
	z.waitWrite(b, "CREATE TABLE runs (run INT PRIMARY KEY)", 10*time.Second)
	const runs = 20
	var took []time.Duration
	var terms []int64 // terms each run's failover took (1: one election)
	for run := 0; run < runs; run++ {
		leader := z.Leader(20 * time.Second)
		z.waitHolder(b, leader.ID, 10*time.Second)
		z.waitWrite(b, fmt.Sprintf("REPLACE INTO runs VALUES (%d)", 1000+run), 10*time.Second)
		before, _ := leader.RaftStatus()
		t0 := fault(z, leader)
		took = append(took, z.firstWrite(b, t0, fmt.Sprintf("REPLACE INTO runs VALUES (%d)", run)))
		var elections int64
		if next := z.Leader(20 * time.Second); next != nil && before.Term > 0 {
			now, _ := next.RaftStatus()
			elections = now.Term - before.Term
		}
		terms = append(terms, elections)
		after(z, leader)
	}
	reportRuns(b, what, took, terms)
}

// Client attempts in firstWrite: a new one every attemptGap, each given
// attemptTimeout. A client's SYN sent while the VIP has no holder is lost
// (the next is retransmitted a second later), so a single client retrying
// in sequence measures its own timeout; overlapping attempts measure when
// the VIP starts answering, to within attemptGap.
const (
	attemptGap     = 10 * time.Millisecond
	attemptTimeout = 500 * time.Millisecond
)

// firstWrite starts q through the VIP on a fresh connection every
// attemptGap and returns the time from t0 to the end of the first attempt
// that succeeds. The writes are REPLACEs: attempts that overlap or time out
// may commit too.
func (z *labZone) firstWrite(b *testing.B, t0 time.Time, q string) time.Duration {
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	defer func() { cancel(); wg.Wait() }()
	won := make(chan time.Duration, 1)
	var last atomic.Pointer[error] // the newest failure, for the report
	tick := time.NewTicker(attemptGap)
	defer tick.Stop()
	for {
		wg.Go(func() {
			actx, acancel := context.WithTimeout(ctx, attemptTimeout)
			defer acancel()
			err := z.writeViaVIP(actx, q)
			if err == nil {
				select {
				case won <- time.Since(t0):
				default:
				}
				return
			}
			last.Store(&err)
		})
		select {
		case d := <-won:
			return d
		case <-tick.C:
		}
		if time.Since(t0) > 30*time.Second {
			var err error
			if p := last.Load(); p != nil {
				err = *p
			}
			b.Fatalf("%q: no write through the VIP 30 s after the fault: %v", q, err)
		}
	}
}

// reportRuns reports the runs' min, median, p90 and p99 (nearest rank)
// and max; a run whose failover took other than one election (terms, as
// far as known: 0 when a term could not be read) is marked with them.
func reportRuns(b *testing.B, what string, took []time.Duration, terms []int64) {
	runs := len(took)
	sorted := append([]time.Duration(nil), took...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i] < sorted[j] })
	median := (sorted[(runs-1)/2] + sorted[runs/2]) / 2
	p90 := sorted[(runs*90+99)/100-1]
	p99 := sorted[(runs*99+99)/100-1]
	b.ReportMetric(float64(median.Milliseconds()), "median-ms")
	b.ReportMetric(float64(p90.Milliseconds()), "p90-ms")
	b.ReportMetric(float64(p99.Milliseconds()), "p99-ms")
	b.ReportMetric(float64(sorted[runs-1].Milliseconds()), "max-ms")
	b.ReportMetric(float64(sorted[0].Milliseconds()), "min-ms")
	var all []string
	for i, d := range took {
		run := fmt.Sprint(d.Round(time.Millisecond))
		if i < len(terms) && terms[i] != 1 {
			run += fmt.Sprintf("(%d terms)", terms[i])
		}
		all = append(all, run)
	}
	b.Logf("%s, %d runs: min %v, median %v, p90 %v, p99 %v, max %v\nruns: %s",
		what, runs, sorted[0].Round(time.Millisecond), median.Round(time.Millisecond), p90.Round(time.Millisecond),
		p99.Round(time.Millisecond), sorted[runs-1].Round(time.Millisecond), strings.Join(all, " "))
}
