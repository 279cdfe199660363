package chaos

import (
	"os"
	"strings"
	"testing"
	"time"
)

// TestReproWALRestartAfterSuffixCleared is the minimal reproduction of a
// defect the nemesis found: a leader is SIGKILLed while writes flow and
// restarted; as a follower it clears its uncommitted log suffix ("clearing
// log suffix" in its log). The next restart of that server (after SIGKILL
// or a clean SIGTERM) panics in raft.NewRaft: "sealed segment has no index
// block" — hashicorp/raft-wal v0.4.0's bug hashicorp/raft-wal#31, fixed in
// v0.4.1 (go.mod pins v0.4.0). Runs with ONEHA_CHAOS_REPRO=1; it fails
// while the bug is there.
func TestReproWALRestartAfterSuffixCleared(t *testing.T) {
	if os.Getenv("ONEHA_CHAOS_REPRO") != "1" {
		t.Skip("defect reproduction: set ONEHA_CHAOS_REPRO=1")
	}
	e, c := newZone(t, "198.18.44.0/24", 3, false)
	setupSQL(t, c, e.leader().Endpoint, 1)
	endpoints := make([]string, len(e.z.Servers))
	for i, o := range e.z.Servers {
		endpoints[i] = o.Endpoint
	}
	w := newWorkload(c, endpoints, 1)
	w.run(6, 1)
	defer w.stop()
	for round := 0; round < 4; round++ {
		time.Sleep(2 * time.Second)
		l := e.leader()
		l.Kill() // uncommitted entries stay in its log
		time.Sleep(3 * time.Second)
		l.Start() // as a follower it clears the suffix the new leader never had; from round 2 on this may panic
		e.waitHealthy(c, 30*time.Second)
		cleared := strings.Count(l.LogTail(1000000), "clearing log suffix")
		t.Logf("round %d: server %d killed and restarted; 'clearing log suffix' %d times in its log", round, l.ID, cleared)
	}
}
