package bench

import (
	"os"
	"strings"
	"testing"
	"time"
)

// TestSyscallsAreNAWithTheReasonOnce: when perf could not count, the
// system-call columns say n/a, the reason is printed once, and the other
// columns are still filled.
func TestSyscallsAreNAWithTheReasonOnce(t *testing.T) {
	const why = "perf is not installed"
	res := map[cellKey]cellResult{}
	for _, target := range []string{"zone", "solo", "direct"} {
		res[cellKey{wlInsert, 1, target}] = cellResult{ops: 500, window: 5 * time.Second, p50: time.Millisecond, p99: 2 * time.Millisecond,
			cpu: map[string]time.Duration{"leader oned": time.Second, "oned": time.Second, "mariadbd": time.Second}, noCount: why}
	}
	out := sideBySideTables(perfProbe{why: why}, res)
	if n := strings.Count(out, why); n != 1 {
		t.Errorf("reason printed %d times, want once:\n%s", n, out)
	}
	if !strings.Contains(out, "| insert | 1 | n/a | n/a | n/a | n/a | n/a | n/a |") {
		t.Errorf("system calls not n/a:\n%s", out)
	}
	if !strings.Contains(out, "| insert | 1 | 2000 |") { // 1 s of CPU over 500 writes
		t.Errorf("CPU per write missing:\n%s", out)
	}
	if strings.Contains(out, "| vm-create |") {
		t.Errorf("a workload that did not run has a row:\n%s", out)
	}
}

// TestPerfCountSumsMatchingEvents: perf's CSV lines of the event are summed
// (every syscalls:sys_enter_* line for the wildcard), other lines ignored,
// and an uncounted event is an error, not zero.
func TestPerfCountSumsMatchingEvents(t *testing.T) {
	out := []byte("Events enabled\n12,,raw_syscalls:sys_enter,5000,100.00,,\n")
	if n, err := parsePerfCount(out, "raw_syscalls:sys_enter"); err != nil || n != 12 {
		t.Errorf("raw: %d, %v", n, err)
	}
	out = []byte("3,,syscalls:sys_enter_read,1,100.00,,\n4,,syscalls:sys_enter_write,1,100.00,,\n9,,cycles,1,100.00,,\n")
	if n, err := parsePerfCount(out, "syscalls:sys_enter_*"); err != nil || n != 7 {
		t.Errorf("wildcard: %d, %v", n, err)
	}
	if _, err := parsePerfCount([]byte("<not counted>,,raw_syscalls:sys_enter,0,0.00,,\n"), "raw_syscalls:sys_enter"); err == nil {
		t.Error("<not counted> parsed as a count")
	}
	if _, err := parsePerfCount([]byte("Events disabled\n"), "raw_syscalls:sys_enter"); err == nil {
		t.Error("no count line parsed as a count")
	}
}

// TestCPUTicksReadsThisProcess: /proc/PID/stat's utime+stime parse for a
// live process (this one, which has run for a few ticks by now).
func TestCPUTicksReadsThisProcess(t *testing.T) {
	if _, err := cpuTicks(1); err != nil {
		t.Skipf("no /proc here: %v", err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for { // spin until a tick is accounted
		n, err := cpuTicks(os.Getpid())
		if err != nil {
			t.Fatal(err)
		}
		if n > 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("no CPU tick accounted after 5 s of spinning")
		}
	}
}
