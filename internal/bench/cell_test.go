package bench

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// A cell of BenchmarkAPISideBySide: w writers, each its own connection,
// write back to back for apiWarmup (not counted), then for apiMeasure,
// the window in which writes, latencies, CPU time and system calls are
// counted.
const (
	apiWarmup  = 1 * time.Second
	apiMeasure = 5 * time.Second
	// apiOpTimeout bounds one write.
	apiOpTimeout = 30 * time.Second
)

// clockTick is USER_HZ, the unit of utime and stime in /proc/PID/stat:
// 100 on every Linux architecture Go supports (sysconf(_SC_CLK_TCK)).
const clockTick = 10 * time.Millisecond

// writeOp makes one acknowledged write; seq is unique within its target.
type writeOp func(ctx context.Context, seq int64) error

// procGroup is a set of processes whose CPU time and system calls are
// added up, e.g. the leader's oned and its mariadbd.
type procGroup struct {
	name string
	pids []int
}

// cellResult is one cell's measurement over its window.
type cellResult struct {
	ops      int
	window   time.Duration
	p50, p99 time.Duration
	cpu      map[string]time.Duration // by group name
	syscalls map[string]int64         // by group name; nil when n/a
	noCount  string                   // why syscalls is nil
}

func (r cellResult) rate() float64 { return float64(r.ops) / r.window.Seconds() }

// cpuPerWrite is group's CPU time per acknowledged write, in µs.
func (r cellResult) cpuPerWrite(group string) (float64, bool) {
	d, ok := r.cpu[group]
	if !ok || r.ops == 0 {
		return 0, false
	}
	return float64(d.Microseconds()) / float64(r.ops), true
}

// syscallsPerWrite is group's system calls per acknowledged write.
func (r cellResult) syscallsPerWrite(group string) (float64, bool) {
	n, ok := r.syscalls[group]
	if !ok || r.ops == 0 {
		return 0, false
	}
	return float64(n) / float64(r.ops), true
}

// sample is one write: when it was acknowledged (since the cell began) and
// how long it took.
type sample struct{ done, lat time.Duration }

// runCell drives writers (already connected) with numbers from next and
// measures the window. The load generator, this process, is not counted in
// any group. A failed write fails the benchmark; perf failing only makes
// the system calls n/a.
func runCell(b *testing.B, probe perfProbe, writers []writeOp, groups []procGroup, next *atomic.Int64) cellResult {
	var pids []int
	for _, g := range groups {
		for _, p := range g.pids {
			if !slices.Contains(pids, p) {
				pids = append(pids, p)
			}
		}
	}
	perf := startPerfSet(probe, pids)
	var (
		stop     atomic.Bool
		errOnce  sync.Once
		firstErr error
		wg       sync.WaitGroup
	)
	samples := make([][]sample, len(writers))
	start := time.Now()
	for i, op := range writers {
		wg.Go(func() {
			for !stop.Load() {
				seq := next.Add(1)
				t0 := time.Now()
				ctx, cancel := context.WithTimeout(context.Background(), apiOpTimeout)
				err := op(ctx, seq)
				cancel()
				t1 := time.Now()
				if err != nil {
					errOnce.Do(func() { firstErr = fmt.Errorf("writer %d: %w", i, err) })
					stop.Store(true)
					return
				}
				samples[i] = append(samples[i], sample{done: t1.Sub(start), lat: t1.Sub(t0)})
			}
		})
	}
	time.Sleep(apiWarmup) // a benchmark's fixed duration, not synchronization
	perf.send("enable")
	cpu0, err0 := readCPU(pids)
	from := time.Since(start)
	time.Sleep(apiMeasure)
	to := time.Since(start)
	cpu1, err1 := readCPU(pids)
	perf.send("disable")
	stop.Store(true)
	wg.Wait()
	counts, perfErr := perf.stop()
	if firstErr != nil {
		b.Fatal(firstErr)
	}
	if err0 != nil || err1 != nil {
		b.Fatalf("CPU time: %v %v", err0, err1)
	}

	var lat []time.Duration
	for _, ws := range samples {
		for _, s := range ws {
			if s.done >= from && s.done <= to {
				lat = append(lat, s.lat)
			}
		}
	}
	if len(lat) == 0 {
		b.Fatal("no write acknowledged in the measured window")
	}
	slices.Sort(lat)
	r := cellResult{ops: len(lat), window: to - from, p50: rank(lat, 0.50), p99: rank(lat, 0.99), cpu: map[string]time.Duration{}}
	if perfErr == nil {
		r.syscalls = map[string]int64{}
	} else {
		r.noCount = perfErr.Error()
	}
	for _, g := range groups {
		var ticks uint64
		var calls int64
		for _, p := range g.pids {
			ticks += cpu1[p] - cpu0[p]
			calls += counts[p]
		}
		r.cpu[g.name] = time.Duration(ticks) * clockTick
		if r.syscalls != nil {
			r.syscalls[g.name] = calls
		}
	}
	return r
}

// rank is the nearest-rank percentile p of sorted (as loadgen computes it).
func rank(sorted []time.Duration, p float64) time.Duration {
	i := int(p*float64(len(sorted))+0.999999999) - 1
	return sorted[max(0, min(i, len(sorted)-1))]
}

// readCPU reads every pid's CPU time in clock ticks.
func readCPU(pids []int) (map[int]uint64, error) {
	out := make(map[int]uint64, len(pids))
	for _, p := range pids {
		t, err := cpuTicks(p)
		if err != nil {
			return nil, err
		}
		out[p] = t
	}
	return out, nil
}

// cpuTicks is utime+stime of process pid from /proc/PID/stat: every thread,
// exited ones included, in clock ticks. The kernel derives the sum from its
// nanosecond runtime, so over seconds the tick is the only rounding.
func cpuTicks(pid int) (uint64, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, err
	}
	// The command name (field 2) may hold spaces; the fields after its ')'
	// start at field 3, state. utime and stime are fields 14 and 15.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, fmt.Errorf("/proc/%d/stat: no ')'", pid)
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 13 {
		return 0, fmt.Errorf("/proc/%d/stat: %d fields after the name", pid, len(f))
	}
	u, err := strconv.ParseUint(f[11], 10, 64)
	if err != nil {
		return 0, err
	}
	s, err := strconv.ParseUint(f[12], 10, 64)
	if err != nil {
		return 0, err
	}
	return u + s, nil
}
