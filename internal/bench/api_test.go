package bench

import (
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
)

// The cells of BenchmarkAPISideBySide: every workload at every writer
// count against every target.
var (
	apiWorkloads = []workload{wlInsert, wlVMCreate}
	apiWriters   = []int{1, 16, 64}
)

// cellKey names one cell.
type cellKey struct {
	wl      workload
	writers int
	target  string
}

// BenchmarkAPISideBySide compares, in one run, acknowledged writes through
// OneHA's API with writes straight to MariaDB:
//
//   - zone: 3 oned processes on MySQL, each on its own mariadbd with
//     innodb_flush_log_at_trx_commit=2, one.sql.exec over XML-RPC on the
//     leader (every write fsynced in the Raft log of a majority);
//   - solo: one oned (a one-server zone, its Raft log fsynced) the same way;
//   - direct: a mariadbd with innodb_flush_log_at_trx_commit=1, autocommit,
//     each writer its own connection and server-side prepared statements
//     (as /work/shared/tools/loadgen, which produced issue 11's figures).
//
// Workloads: loadgen's single-row INSERT and OpenNebula's VM create
// (REPLACE INTO pool_control + INSERT INTO vm_pool of a ~4.9 KB body, one
// transaction). Each cell (workload × writers × target) runs apiWarmup then
// apiMeasure; targets alternate within each workload and writer count. Per
// cell: ops/s, p50, p99, and per acknowledged write the CPU time
// (/proc/PID/stat) and system calls (perf stat raw_syscalls:sys_enter; n/a
// with the reason when perf cannot count) of each process group. The load
// generator (this process) is never counted. The tables are printed (shown
// by make bench without -v) and written to $ONEHA_RESULTS/sidebyside.md.
// Go's b.N does not apply: each cell runs once.
func BenchmarkAPISideBySide(b *testing.B) {
	probe := probePerf()
	targets := []*apiTarget{
		startZoneTarget(b, "zone", 3),
		startZoneTarget(b, "solo", 1),
		startDirectTarget(b, slices.Max(apiWriters)),
	}
	results := map[cellKey]cellResult{}
	for _, wl := range apiWorkloads {
		for _, w := range apiWriters {
			for _, t := range targets {
				key := cellKey{wl, w, t.name}
				b.Run(fmt.Sprintf("%s/writers=%d/%s", wl, w, t.name), func(b *testing.B) {
					r, done := results[key]
					if !done {
						r = runTargetCell(b, probe, t, wl, w)
						results[key] = r
					}
					b.ReportMetric(r.rate(), "ops/s")
					b.ReportMetric(ms(r.p50), "p50-ms")
					b.ReportMetric(ms(r.p99), "p99-ms")
				})
			}
		}
	}
	out := sideBySideTables(probe, results)
	fmt.Print("\n" + out) // shown by make bench without -v
	if err := os.WriteFile(filepath.Join(resultsDir(b), "sidebyside.md"), []byte(out), 0o644); err != nil {
		b.Error(err)
	}
}

// runTargetCell connects w writers of wl to t, one after another, runs the
// cell and disconnects them.
func runTargetCell(b *testing.B, probe perfProbe, t *apiTarget, wl workload, w int) cellResult {
	ops := make([]writeOp, w)
	for i := range ops {
		op, closeFn := t.writer(b, wl)
		defer closeFn()
		ops[i] = op
	}
	return runCell(b, probe, ops, t.groups, &t.next)
}

// costColumn is one column of the per-write cost tables: a process group
// of a target.
type costColumn struct{ target, group, label string }

var costColumns = []costColumn{
	{"zone", "leader oned", "zone: leader oned"},
	{"zone", "leader oned+mariadbd", "zone: leader oned+mariadbd"},
	{"zone", "all", "zone: 3 oned+3 mariadbd"},
	{"solo", "oned", "solo: oned"},
	{"solo", "oned+mariadbd", "solo: oned+mariadbd"},
	{"direct", "mariadbd", "direct: mariadbd"},
}

// sideBySideTables renders the results as markdown; a cell that did not
// run (filtered out) shows "–".
func sideBySideTables(probe perfProbe, res map[cellKey]cellResult) string {
	var o strings.Builder
	fmt.Fprintf(&o, "# Writes through the API, side by side (%d s per cell after %d s warm-up, %d CPUs)\n\n",
		int(apiMeasure.Seconds()), int(apiWarmup.Seconds()), runtime.NumCPU())
	fmt.Fprintf(&o, "zone: 3 oned (MySQL backend, each on its own mariadbd, innodb_flush_log_at_trx_commit=2), one.sql.exec over XML-RPC on the leader. "+
		"solo: a one-server zone, same setup. direct: one mariadbd, innodb_flush_log_at_trx_commit=1, autocommit, server-side prepared statements, a connection per writer. "+
		"insert: loadgen's single-row INSERT (auto-increment id, 100-byte string, integer). "+
		"vm-create: REPLACE INTO pool_control + INSERT INTO vm_pool (%d-byte XML body), one transaction. "+
		"Every write is acknowledged durable (zone/solo: in the Raft log; direct: in InnoDB's redo log).\n\n", len(newVMRow(1).insert[2].(string)))

	o.WriteString("## Throughput and latency\n\n")
	o.WriteString("| workload | writers | zone ops/s | solo ops/s | direct ops/s | zone/direct ops/s | zone p50 ms | solo p50 ms | direct p50 ms | zone p50/direct p50 | zone p99 ms | solo p99 ms | direct p99 ms |\n")
	o.WriteString("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n")
	for _, wl := range apiWorkloads {
		for _, w := range apiWriters {
			z, zok := res[cellKey{wl, w, "zone"}]
			s, sok := res[cellKey{wl, w, "solo"}]
			d, dok := res[cellKey{wl, w, "direct"}]
			if !zok && !sok && !dok {
				continue
			}
			rate := func(r cellResult, ok bool) string { return cell(ok, "%.0f", r.rate()) }
			lat := func(r cellResult, ok bool, p50 bool) string {
				if p50 {
					return cell(ok, "%.2f", ms(r.p50))
				}
				return cell(ok, "%.2f", ms(r.p99))
			}
			fmt.Fprintf(&o, "| %s | %d | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", wl, w,
				rate(z, zok), rate(s, sok), rate(d, dok), cell(zok && dok, "%.2f", z.rate()/d.rate()),
				lat(z, zok, true), lat(s, sok, true), lat(d, dok, true), cell(zok && dok, "%.2f", ms(z.p50)/ms(d.p50)),
				lat(z, zok, false), lat(s, sok, false), lat(d, dok, false))
		}
	}

	costTable(&o, res, "CPU µs per acknowledged write",
		"utime+stime from /proc/PID/stat (10 ms ticks) over the window, divided by the writes acknowledged in it. The load generator (the benchmark process) is not counted.",
		func(r cellResult, g string) (string, bool) {
			v, ok := r.cpuPerWrite(g)
			return fmt.Sprintf("%.0f", v), ok
		})
	costTable(&o, res, "System calls per acknowledged write",
		fmt.Sprintf("`perf stat -e %s -p PID` per process, switched on and off at the window's ends. The load generator is not counted.", probeEvent(probe)),
		func(r cellResult, g string) (string, bool) {
			v, ok := r.syscallsPerWrite(g)
			return fmt.Sprintf("%.1f", v), ok
		})
	var why []string
	for _, k := range slices.SortedFunc(maps.Keys(res), compareKeys) {
		if n := res[k].noCount; n != "" && !slices.Contains(why, n) {
			why = append(why, n)
		}
	}
	for _, w := range why {
		fmt.Fprintf(&o, "\nSystem calls n/a: %s\n", w)
	}
	return o.String()
}

// costTable writes one per-write cost table, a column per costColumns.
func costTable(o *strings.Builder, res map[cellKey]cellResult, title, how string, value func(cellResult, string) (string, bool)) {
	fmt.Fprintf(o, "\n## %s\n\n%s\n\n| workload | writers |", title, how)
	for _, c := range costColumns {
		fmt.Fprintf(o, " %s |", c.label)
	}
	o.WriteString("\n|---|---:|" + strings.Repeat("---:|", len(costColumns)) + "\n")
	for _, wl := range apiWorkloads {
		for _, w := range apiWriters {
			row := fmt.Sprintf("| %s | %d |", wl, w)
			ran := false
			for _, c := range costColumns {
				r, ok := res[cellKey{wl, w, c.target}]
				v := "–"
				if ok {
					ran = true
					if s, has := value(r, c.group); has {
						v = s
					} else {
						v = "n/a"
					}
				}
				row += " " + v + " |"
			}
			if ran {
				o.WriteString(row + "\n")
			}
		}
	}
}

func cell(ok bool, format string, v float64) string {
	if !ok {
		return "–"
	}
	return fmt.Sprintf(format, v)
}

func probeEvent(p perfProbe) string {
	if p.event == "" {
		return "raw_syscalls:sys_enter"
	}
	return p.event
}

func compareKeys(a, b cellKey) int {
	if c := strings.Compare(string(a.wl), string(b.wl)); c != 0 {
		return c
	}
	if a.writers != b.writers {
		return a.writers - b.writers
	}
	return strings.Compare(a.target, b.target)
}
