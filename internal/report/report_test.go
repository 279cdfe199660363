package report

import (
	"bytes"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func durs(ms ...int) []time.Duration {
	var d []time.Duration
	for _, m := range ms {
		d = append(d, time.Duration(m)*time.Millisecond)
	}
	return d
}

func TestPercentile(t *testing.T) {
	s := Sorted(durs(10, 1, 9, 2, 8, 3, 7, 4, 6, 5)) // 1..10
	for _, c := range []struct {
		p    float64
		want int
	}{{50, 5}, {99, 10}, {100, 10}, {10, 1}, {1, 1}, {90, 9}, {91, 10}} {
		if got := Percentile(s, c.p); got != time.Duration(c.want)*time.Millisecond {
			t.Errorf("Percentile(1..10, %v) = %v, want %dms", c.p, got, c.want)
		}
	}
	if Percentile(nil, 50) != 0 {
		t.Error("empty: want 0")
	}
	// nearest rank on 200 values: p99 is the 198th.
	var big []time.Duration
	for i := 1; i <= 200; i++ {
		big = append(big, time.Duration(i))
	}
	if got := Percentile(big, 99); got != 198 {
		t.Errorf("p99 of 1..200 = %d, want 198", got)
	}
	if got := Median(durs(4, 1, 3, 2)); got != 2500*time.Microsecond {
		t.Errorf("Median = %v", got)
	}
	if got := Median(durs(3, 1, 2)); got != 2*time.Millisecond {
		t.Errorf("Median = %v", got)
	}
}

func sample() *Report {
	r := &Report{
		Machine: Machine{Date: "2026-01-01", NProc: 2, GoVersion: "go1.26", MariaDBVersion: "10.11"},
		Seconds: 5,
		Notes:   []string{"a note"},
	}
	for _, be := range []string{SQLite, MariaDB} {
		for i, cfg := range []string{Direct, Zone3, Zone5} {
			for _, w := range []int{1, 16, 64, 256} {
				r.Cells = append(r.Cells, Cell{Backend: be, Config: cfg, Writers: w, Ops: 1000 * w / (i + 1), Elapsed: 5 * time.Second,
					P50: time.Duration(w*(i+1)) * 100 * time.Microsecond, P99: time.Duration(w*(i+1)) * time.Millisecond})
			}
		}
	}
	r.Cells[5].Errors, r.Cells[5].FirstErr = 3, "boom"
	r.RSS = []RSS{{Backend: SQLite, Config: Zone3, Writers: 64, IdleKB: 30000, MeanKB: 51200, PeakKB: 60000, Samples: 50}}
	r.Failover = &Failover{Source: "test", Runs: durs(900, 700, 1200, 800, 2500)}
	r.Switchover = &Failover{Source: "transfer", Runs: durs(30, 50, 40)}
	r.GracefulStop = &Failover{Source: "sigterm", Runs: durs(20)}
	r.CatchUp = &CatchUp{TargetMB: 256, Rows: 1000, DataMB: 260, DumpMB: 250, JoinTime: 30 * time.Second, DumpTime: 20 * time.Second, Verified: true}
	return r
}

func TestMarkdown(t *testing.T) {
	md := sample().Markdown()
	for _, want := range []string{
		"| nproc | 2 |",
		"### sqlite", "### mariadb",
		"| 16 | direct | 3200 | — | 1.60 | 16.00 | 16000 | 0 |",
		"| 16 | oneha-3 | 1600 | 0.50 | 3.20 | 32.00 | 8000 | 0 |",
		"sqlite oneha-3/16: 3 errors, first: `boom`",
		"| sqlite | oneha-3 | 64 | 29.3 | 50.0 | 58.6 | 50 |",
		"| 5 | 700 | 900 | 2500 | 2500 | 2500 |",
		"All runs (ms, in order): 900 700 1200 800 2500",
		"## Planned switchover (onezone leader-transfer)\n\ntransfer\n\n| runs |",
		"| 3 | 30 | 40 | 50 | 50 | 50 |",
		"## Graceful stop of the leader (SIGTERM)\n\nsigterm\n\n| runs |",
		"| 30.0 s | 20.0 s | 1.50 | true |",
		"- a note",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("Markdown lacks %q:\n%s", want, md)
		}
	}
	// writers ascend within a backend's table, direct first.
	i1, i16 := strings.Index(md, "| 1 | direct"), strings.Index(md, "| 16 | direct")
	if i1 < 0 || i16 < i1 {
		t.Errorf("rows out of order")
	}
	if md := (&Report{}).Markdown(); strings.Contains(md, "## Writes") || strings.Contains(md, "## Failover") || strings.Contains(md, "switchover") {
		t.Errorf("empty report renders sections:\n%s", md)
	}
}

func TestWrite(t *testing.T) {
	dir := t.TempDir()
	files, err := sample().Write(filepath.Join(dir, "out"))
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"REPORT.md", "throughput.png", "latency.png", "failover.png", "failover-hist.png"}
	if len(files) != len(want) {
		t.Fatalf("files %v, want %v", files, want)
	}
	for i, f := range files {
		if filepath.Base(f) != want[i] {
			t.Errorf("file %d = %s, want %s", i, f, want[i])
		}
		if !strings.HasSuffix(f, ".png") {
			continue
		}
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		img, err := png.Decode(bytes.NewReader(b))
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		if img.Bounds().Dx() < 300 {
			t.Errorf("%s: %v", f, img.Bounds())
		}
	}
	// A cell without successful writes does not break the log-scale plot.
	r := &Report{Cells: []Cell{{Backend: SQLite, Config: Direct, Writers: 1}, {Backend: SQLite, Config: Direct, Writers: 16, Ops: 5, Elapsed: time.Second, P50: time.Millisecond, P99: 2 * time.Millisecond}}}
	if _, err := WritePlots(t.TempDir(), r); err != nil {
		t.Fatal(err)
	}
}
