package harness

import (
	"os"
	"os/exec"
	"strconv"
	"testing"
)

// TestFreePortIsReservedAgainstOtherProcesses: a port FreePort returned
// in this process cannot be reserved by another test process, though
// nothing listens on it yet.
func TestFreePortIsReservedAgainstOtherProcesses(t *testing.T) {
	if p := os.Getenv("ONEHA_TEST_RESERVE_PORT"); p != "" {
		n, _ := strconv.Atoi(p)
		if _, ok := reservePort(n); ok {
			os.Exit(3) // reserved here too: the other process's lock did not hold
		}
		os.Exit(0)
	}
	p, err := FreePort()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(os.Args[0], "-test.run", "^TestFreePortIsReservedAgainstOtherProcesses$")
	cmd.Env = append(os.Environ(), "ONEHA_TEST_RESERVE_PORT="+strconv.Itoa(p))
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("another process could reserve port %d: %v\n%s", p, err, out)
	}
}
