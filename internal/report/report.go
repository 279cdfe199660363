package report

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"
)

// Configurations of a write cell.
const (
	Direct = "direct" // a solo oned writing straight to its database
	Zone3  = "oneha-3"
	Zone5  = "oneha-5"
)

// Backends.
const (
	SQLite  = "sqlite"
	MariaDB = "mariadb"
)

// Cell is one write measurement: a backend, a configuration, a number of
// concurrent writers, a fixed duration.
type Cell struct {
	Backend  string
	Config   string // Direct, Zone3, Zone5
	Writers  int
	Ops      int // successful writes
	Errors   int // failed writes (not in the latencies)
	FirstErr string
	Elapsed  time.Duration
	P50, P99 time.Duration
}

// Throughput is successful writes per second.
func (c Cell) Throughput() float64 {
	if c.Elapsed <= 0 {
		return 0
	}
	return float64(c.Ops) / c.Elapsed.Seconds()
}

// Series names the line a cell belongs to in the plots.
func (c Cell) Series() string { return c.Backend + " " + c.Config }

// RSS is the leader oned's resident set sampled during one run.
type RSS struct {
	Backend, Config string
	Writers         int
	IdleKB          int64 // before the writers start
	PeakKB, MeanKB  int64
	Samples         int
}

// Failover is the distribution of failover times.
type Failover struct {
	Source string // how it was measured
	Runs   []time.Duration
}

// CatchUp compares a new server joining against a plain dump and load.
type CatchUp struct {
	TargetMB  int
	Rows      int64
	DataMB    float64       // InnoDB data+index of the table on the leader
	DumpMB    float64       // bytes through the mariadb-dump | mariadb pipe
	LoadTime  time.Duration // bulk load into the solo server's database (setup, not compared)
	JoinTime  time.Duration // server-add to voter with every row in its database
	VoterTime time.Duration // server-add to listed as a voter in one.zone.members
	// RowsAtVoter is the row count on the new server when it was first
	// listed as a voter.
	RowsAtVoter int64
	DumpTime    time.Duration // mariadb-dump | mariadb of the same table
	Verified    bool          // row counts checked on the new server and the dump copy
	Procedure   string
}

// Machine describes where the report ran.
type Machine struct {
	Date, Host, CPU, Kernel, GoVersion, MariaDBVersion string
	NProc                                              int
}

// Report is everything TestBenchReport measured.
type Report struct {
	Machine  Machine
	Seconds  float64  // per write cell
	Settings []string // how things were set up
	Cells    []Cell
	RSS      []RSS
	Failover *Failover
	// Switchover is the planned form: one.zone.leadertransfer to the
	// first write through the floating IP.
	Switchover *Failover
	// GracefulStop: SIGTERM of the leader (systemctl stop) to the first
	// write through the floating IP.
	GracefulStop *Failover
	CatchUp      *CatchUp
	Total        time.Duration
	Notes        []string // what did not work, caveats
}

// Percentile returns the nearest-rank p-th percentile (0 < p ≤ 100) of
// sorted; 0 for an empty slice.
func Percentile(sorted []time.Duration, p float64) time.Duration {
	n := len(sorted)
	if n == 0 {
		return 0
	}
	rank := int(math.Ceil(p / 100 * float64(n)))
	rank = min(max(rank, 1), n)
	return sorted[rank-1]
}

// Sorted returns a sorted copy of d.
func Sorted(d []time.Duration) []time.Duration {
	s := slices.Clone(d)
	slices.Sort(s)
	return s
}

// Median is the median of d (mean of the two middle values for an even n).
func Median(d []time.Duration) time.Duration {
	s := Sorted(d)
	n := len(s)
	switch {
	case n == 0:
		return 0
	case n%2 == 1:
		return s[n/2]
	default:
		return (s[n/2-1] + s[n/2]) / 2
	}
}

func ms(d time.Duration) string { return fmt.Sprintf("%.2f", float64(d.Microseconds())/1000) }

func mib(kb int64) string { return fmt.Sprintf("%.1f", float64(kb)/1024) }

// Markdown renders the report.
func (r *Report) Markdown() string {
	var b strings.Builder
	m := r.Machine
	fmt.Fprintf(&b, "# OneHA benchmark report\n\n")
	fmt.Fprintf(&b, "| | |\n|---|---|\n")
	fmt.Fprintf(&b, "| date | %s |\n| host | %s |\n| CPU | %s |\n| nproc | %d |\n| kernel | %s |\n| Go | %s |\n| MariaDB | %s |\n",
		m.Date, m.Host, m.CPU, m.NProc, m.Kernel, m.GoVersion, m.MariaDBVersion)
	if r.Seconds > 0 {
		fmt.Fprintf(&b, "| duration per write cell | %g s |\n", r.Seconds)
	}
	if r.Total > 0 {
		fmt.Fprintf(&b, "| whole report took | %s |\n", r.Total.Round(time.Second))
	}
	if len(r.Settings) > 0 {
		b.WriteString("\nSetup:\n\n")
		for _, s := range r.Settings {
			fmt.Fprintf(&b, "- %s\n", s)
		}
	}

	if len(r.Cells) > 0 {
		b.WriteString("\n## Writes: single-row INSERT through XML-RPC one.sql.exec\n\n")
		b.WriteString("Each writer is a Go client with its own keep-alive connection. `direct` is a solo oned (SERVER_ID -1) that writes straight to its database through the same client path; `oneha-N` is the leader of an N-server zone. Latencies are of successful calls; `vs direct` is the throughput ratio at the same writer count.\n\n")
		b.WriteString("![throughput](throughput.png)\n![latency](latency.png)\n")
		for _, be := range []string{SQLite, MariaDB} {
			cells := r.cellsOf(be)
			if len(cells) == 0 {
				continue
			}
			fmt.Fprintf(&b, "\n### %s\n\n", be)
			b.WriteString("| writers | config | writes/s | vs direct | p50 ms | p99 ms | ok writes | errors |\n|---:|---|---:|---:|---:|---:|---:|---:|\n")
			for _, c := range cells {
				ratio := "—"
				if d, ok := r.find(be, Direct, c.Writers); ok && c.Config != Direct && d.Throughput() > 0 {
					ratio = fmt.Sprintf("%.2f", c.Throughput()/d.Throughput())
				}
				fmt.Fprintf(&b, "| %d | %s | %.0f | %s | %s | %s | %d | %d |\n", c.Writers, c.Config, c.Throughput(), ratio, ms(c.P50), ms(c.P99), c.Ops, c.Errors)
			}
		}
		var errs []string
		for _, c := range r.Cells {
			if c.FirstErr != "" {
				errs = append(errs, fmt.Sprintf("%s/%d: %d errors, first: `%s`", c.Series(), c.Writers, c.Errors, c.FirstErr))
			}
		}
		if len(errs) > 0 {
			b.WriteString("\nErrors seen:\n\n")
			for _, e := range errs {
				fmt.Fprintf(&b, "- %s\n", e)
			}
		}
	}

	if len(r.RSS) > 0 {
		b.WriteString("\n## oned memory (VmRSS of the leader, or the solo server)\n\n")
		b.WriteString("| backend | config | writers | idle MiB | mean MiB under load | peak MiB | samples |\n|---|---|---:|---:|---:|---:|---:|\n")
		for _, s := range r.RSS {
			fmt.Fprintf(&b, "| %s | %s | %d | %s | %s | %s | %d |\n", s.Backend, s.Config, s.Writers, mib(s.IdleKB), mib(s.MeanKB), mib(s.PeakKB), s.Samples)
		}
	}

	writeRuns(&b, "Failover", "![failover CDF](failover.png)\n\n", r.Failover)
	writeRuns(&b, "Planned switchover (onezone leader-transfer)", "", r.Switchover)
	writeRuns(&b, "Graceful stop of the leader (SIGTERM)", "", r.GracefulStop)

	if c := r.CatchUp; c != nil {
		b.WriteString("\n## Catch-up of a new server (MariaDB)\n\n")
		if c.Procedure != "" {
			fmt.Fprintf(&b, "%s\n\n", c.Procedure)
		}
		fmt.Fprintf(&b, "| data | rows | InnoDB data+index MiB | dump stream MiB | new server: server-add → caught-up voter | mariadb-dump \\| mariadb | ratio | verified |\n|---:|---:|---:|---:|---:|---:|---:|---|\n")
		ratio := "—"
		if c.DumpTime > 0 && c.JoinTime > 0 {
			ratio = fmt.Sprintf("%.2f", c.JoinTime.Seconds()/c.DumpTime.Seconds())
		}
		fmt.Fprintf(&b, "| %d MiB requested | %d | %.0f | %.0f | %s | %s | %s | %v |\n", c.TargetMB, c.Rows, c.DataMB, c.DumpMB,
			secs(c.JoinTime), secs(c.DumpTime), ratio, c.Verified)
		if c.VoterTime > 0 {
			fmt.Fprintf(&b, "\nThe new server was listed as a voter after %s, with %d of %d rows in its database at that moment.\n", secs(c.VoterTime), c.RowsAtVoter, c.Rows)
		}
		if c.LoadTime > 0 {
			fmt.Fprintf(&b, "\n(Bulk load of the seed data, not part of the comparison: %s.)\n", secs(c.LoadTime))
		}
	}

	if len(r.Notes) > 0 {
		b.WriteString("\n## Notes\n\n")
		for _, n := range r.Notes {
			fmt.Fprintf(&b, "- %s\n", n)
		}
	}
	return b.String()
}

func secs(d time.Duration) string {
	if d <= 0 {
		return "—"
	}
	return fmt.Sprintf("%.1f s", d.Seconds())
}

// cellsOf returns the cells of a backend ordered by writers, then config.
func (r *Report) cellsOf(backend string) []Cell {
	var out []Cell
	for _, c := range r.Cells {
		if c.Backend == backend {
			out = append(out, c)
		}
	}
	order := map[string]int{Direct: 0, Zone3: 1, Zone5: 2}
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].Writers != out[j].Writers {
			return out[i].Writers < out[j].Writers
		}
		return order[out[i].Config] < order[out[j].Config]
	})
	return out
}

func (r *Report) find(backend, config string, writers int) (Cell, bool) {
	for _, c := range r.Cells {
		if c.Backend == backend && c.Config == config && c.Writers == writers {
			return c, true
		}
	}
	return Cell{}, false
}

// Write writes REPORT.md and the plots into dir (created if missing) and
// returns the paths written.
func (r *Report) Write(dir string) ([]string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	files, err := WritePlots(dir, r)
	if err != nil {
		r.Notes = append(r.Notes, "plots: "+err.Error())
	}
	md := filepath.Join(dir, "REPORT.md")
	if werr := os.WriteFile(md, []byte(r.Markdown()), 0o644); werr != nil {
		return files, werr
	}
	return append([]string{md}, files...), err
}

// writeRuns writes a section with a distribution of times: its source, an
// optional image, percentiles and every run in order.
func writeRuns(b *strings.Builder, title, image string, f *Failover) {
	if f == nil || len(f.Runs) == 0 {
		return
	}
	s := Sorted(f.Runs)
	fmt.Fprintf(b, "\n## %s\n\n%s\n\n%s", title, f.Source, image)
	b.WriteString("| runs | min ms | median ms | p90 ms | p99 ms | max ms |\n|---:|---:|---:|---:|---:|---:|\n")
	fmt.Fprintf(b, "| %d | %d | %d | %d | %d | %d |\n", len(s), s[0].Milliseconds(), Median(s).Milliseconds(),
		Percentile(s, 90).Milliseconds(), Percentile(s, 99).Milliseconds(), s[len(s)-1].Milliseconds())
	var all []string
	for _, d := range f.Runs {
		all = append(all, fmt.Sprint(d.Milliseconds()))
	}
	fmt.Fprintf(b, "\nAll runs (ms, in order): %s\n", strings.Join(all, " "))
}
