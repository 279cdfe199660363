package bench

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/oneha/oneha/internal/harness"
	"github.com/oneha/oneha/sqlcheck"
)

// Throwaway: loadgen (the tool) against a zone and direct MariaDB.
func BenchmarkZZLoadgen(b *testing.B) {
	dbs := make([]*harness.MariaDB, 3)
	for i := range dbs {
		dbs[i] = harness.StartMariaDB(b, harness.WithFlushLogAtTrxCommit(2))
	}
	z := harness.NewProcZone(b, harness.ZoneOptions{N: 3, Dialect: sqlcheck.MySQL,
		MariaDBFor: func(i int) *harness.MariaDB { return dbs[i] }})
	z.FormZone()
	leader := z.Leader(20 * time.Second)
	direct := harness.StartMariaDB(b, harness.WithFlushLogAtTrxCommit(1))
	dsn := direct.CreateDatabase(b, "lg")
	var out strings.Builder
	run := func(args ...string) {
		cmd := exec.Command("/tmp/fo/lg/loadgen", args...)
		o, err := cmd.CombinedOutput()
		if err != nil {
			b.Fatalf("%v: %v\n%s", args, err, o)
		}
		out.Write(o)
	}
	_ = context.Background()
	for _, w := range []string{"1", "64"} {
		run("-target", "oned", "-addr", leader.Endpoint, "-auth", z.Session, "-writers", w, "-duration", "10s", "-warmup", "2s", "-label", "zone")
		run("-target", "mysql", "-dsn", dsn, "-writers", w, "-duration", "10s", "-warmup", "2s", "-label", "direct")
	}
	os.WriteFile(os.Getenv("LGOUT"), []byte(out.String()), 0o644)
	fmt.Print(out.String())
}
