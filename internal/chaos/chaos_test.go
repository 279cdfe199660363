package chaos

import (
	"os"
	"testing"
	"time"

	"github.com/oneha/oneha/internal/harness"
)

func TestMain(m *testing.M) { harness.Main(m) }

const intro = "Register workload (read / write / compare-and-set at strong) from concurrent clients to random servers, " +
	"one fault type per phase, each phase on its own keys; porcupine per phase with unknown outcomes as in etcd's robustness tests."

// TestChaosShort: 3 servers on SQLite in a lab, the main fault types, about
// 70 s. Runs in make test (needs root).
func TestChaosShort(t *testing.T) {
	if testing.Short() {
		t.Skip("nemesis suite: not in -short")
	}
	rows := runSuite(t, config{
		Name: "3xSQLite", N: 3, Subnet: "198.18.41.0/24", Faults: shortFaults,
		Clients: 6, KeysPer: 3, Settle: 1500 * time.Millisecond, Hold: 5 * time.Second,
		Timeout: 2 * time.Second, Check: 60 * time.Second,
	})
	report(t, intro, table("3 servers, SQLite", rows))
}

// TestChaosRetry: the retrying workload (every write carries a request id;
// an unknown outcome is sent again with it until a definite answer) under
// the faults that leave writes unknown, 3 servers on SQLite, about 40 s.
// Every write must be applied exactly once, and its answer must name the
// audit row that was applied (checkExactlyOnce). Runs in make test (root).
func TestChaosRetry(t *testing.T) {
	if testing.Short() {
		t.Skip("nemesis suite: not in -short")
	}
	rows := runSuite(t, config{
		Name: "3xSQLite-retry", N: 3, Subnet: "198.18.44.0/24", Retry: true,
		Faults:  []fault{faultKillLeader, faultIsolateLeader, faultPauseLeader},
		Clients: 4, KeysPer: 3, Settle: time.Second, Hold: 4 * time.Second,
		Timeout: 2 * time.Second, Check: 60 * time.Second,
	})
	report(t, "Retrying workload: writes carry request ids and unknown outcomes are retried with them until definite; "+
		"each write must be applied exactly once.", table("3 servers, SQLite, retries with request ids", rows))
}

// TestChaosLong: every fault type on 3 servers with a mariadbd per host,
// then on 5 servers with SQLite. make chaos (ONEHA_CHAOS_LONG=1).
func TestChaosLong(t *testing.T) {
	if os.Getenv("ONEHA_CHAOS_LONG") != "1" {
		t.Skip("long chaos suite: run make chaos")
	}
	var tables []string
	t.Run("3xMariaDB", func(t *testing.T) {
		rows := runSuite(t, config{
			Name: "3xMariaDB", N: 3, MariaDB: true, Subnet: "198.18.42.0/24", Faults: allFaults,
			Clients: 6, KeysPer: 3, Settle: 2 * time.Second, Hold: 8 * time.Second,
			Timeout: 2 * time.Second, Check: 120 * time.Second,
		})
		tables = append(tables, table("3 servers, a MariaDB per host", rows))
	})
	t.Run("5xSQLite", func(t *testing.T) {
		rows := runSuite(t, config{
			Name: "5xSQLite", N: 5, Subnet: "198.18.43.0/24", Faults: allFaults,
			Clients: 8, KeysPer: 3, Settle: 2 * time.Second, Hold: 8 * time.Second,
			Timeout: 2 * time.Second, Check: 120 * time.Second,
		})
		tables = append(tables, table("5 servers, SQLite", rows))
	})
	report(t, intro, tables...)
}
