package bench

import (
	"context"
	"encoding/xml"
	"fmt"
	"os/exec"
	"syscall"
	"testing"
	"time"

	"github.com/oneha/oneha/internal/harness"
)

// Burning the CPUs: burners processes that spin for burnFor.
const (
	burners = 8
	burnFor = 60 * time.Second
)

// BenchmarkTermUnderCPULoad: a 3-server zone (oned processes, SQLite,
// default ELECTION_TIMEOUT_MS 500) with 8 CPU-burning processes on the
// 2-core machine for 60 s, while one writer keeps writing through the
// leader, must keep its leader and term: starved timers and slow fsyncs are
// not a dead leader. It reports the elections seen (term changes) and the
// writes done; any election fails the benchmark.
func BenchmarkTermUnderCPULoad(b *testing.B) {
	z := harness.NewProcZone(b, harness.ZoneOptions{N: 3})
	z.FormZone()
	leader := z.Leader(20 * time.Second)
	if _, err := leader.Call(context.Background(), "one.sql.exec", []any{"CREATE TABLE burn (id INTEGER PRIMARY KEY)"}); err != nil {
		b.Fatal(err)
	}
	before := terms(b, z)

	var procs []*exec.Cmd
	for range burners {
		cmd := exec.Command("sh", "-c", "while :; do :; done")
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
		if err := cmd.Start(); err != nil {
			b.Fatal(err)
		}
		procs = append(procs, cmd)
	}
	stop := func() {
		for _, p := range procs {
			_ = p.Process.Kill()
			_ = p.Wait()
		}
		procs = nil
	}
	defer stop()
	writes, failed := 0, 0
	for end := time.Now().Add(burnFor); time.Now().Before(end); {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		_, err := leader.Call(ctx, "one.sql.exec", []any{[]any{"INSERT INTO burn (id) VALUES (?)", int64(writes + failed)}})
		cancel()
		if err != nil {
			failed++
			continue
		}
		writes++
	}
	stop()
	after := terms(b, z)
	elections := 0
	for i := range before {
		if d := int(after[i] - before[i]); d > elections {
			elections = d
		}
	}
	b.ReportMetric(float64(elections), "elections")
	b.ReportMetric(float64(writes), "writes")
	fmt.Printf("\n%d CPU burners for %v on a 3-server zone: terms %v -> %v, %d writes acknowledged, %d failed\n", burners, burnFor, before, after, writes, failed)
	if elections != 0 || failed != 0 {
		b.Errorf("the zone held an election (terms %v -> %v) or refused writes (%d) under CPU load", before, after, failed)
	}
}

// terms reads every server's Raft term (one.zone.raftstatus TERM).
func terms(b *testing.B, z *harness.ProcZone) []uint64 {
	var out []uint64
	for _, o := range z.Servers {
		ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		v, err := o.Call(ctx, "one.zone.raftstatus")
		cancel()
		if err != nil {
			b.Fatalf("server %d: raftstatus: %v", o.ID, err)
		}
		var st struct {
			Term uint64 `xml:"TERM"`
		}
		s, _ := v.(string)
		if err := xml.Unmarshal([]byte(s), &st); err != nil {
			b.Fatalf("server %d: raftstatus: %v", o.ID, err)
		}
		out = append(out, st.Term)
	}
	return out
}
