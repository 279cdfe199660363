package lab_test

import (
	"context"
	"fmt"
	"net/netip"
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/oneha/oneha/internal/harness"
)

// TestFederationPartitionBetweenZones: two zones of three hosts each,
// each behind its own floating IP, the slave reaching the master through
// the master's VIP and the master the slave through the slave's. While
// clients write federated rows into both zones, the network between the
// zones is cut (each zone keeps working inside): the master keeps
// acknowledging its writes, the slave zone's federated writes fail
// (nothing is acknowledged that the master did not apply), and once the
// network heals the slave zone catches up. Afterwards the six servers
// hold the same rows and FEDLOG_INDEX, each acknowledged write once.
func TestFederationPartitionBetweenZones(t *testing.T) {
	lab := harness.NewLab(t, "198.18.50.0/24")
	mvip, svip := netip.MustParseAddr("198.18.50.100"), netip.MustParseAddr("198.18.50.200")
	tables := "FEDERATED_TABLES: [fed_ops]\n"
	master := harness.NewProcZone(t, harness.ZoneOptions{N: 3, Lab: lab, VIP: mvip.String() + "/24", Extra: tables,
		Federation: "MODE: MASTER"})
	slave := harness.NewProcZone(t, harness.ZoneOptions{N: 3, Lab: lab, HostPrefix: "z", VIP: svip.String() + "/24", ZoneID: 100,
		AuthFrom: master, Extra: tables, Federation: fmt.Sprintf("MODE: SLAVE, MASTER_ONED: http://%s:2633/RPC2", mvip)})
	lab.AttachRoot(t)
	master.FormZone()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	ml := master.Leader(20 * time.Second)
	if _, err := ml.Call(ctx, "one.zone.allocate", fmt.Sprintf("NAME = \"zone-b\"\nENDPOINT = \"http://%s:2633/RPC2\"", svip)); err != nil {
		t.Fatal(err)
	}
	slave.FormZone()
	if _, err := ml.Call(ctx, "one.sql.exec", []any{"CREATE TABLE fed_ops (op VARCHAR(64) NOT NULL)"}); err != nil {
		t.Fatal(err)
	}
	harness.WaitFedIndex(t, 1, master, slave)

	writers := []*harness.FedWriter{harness.StartFedWriter(ctx, "m", master), harness.StartFedWriter(ctx, "s", slave)}
	progress := func(w *harness.FedWriter, n int64) { w.WaitMore(t, n) }
	progress(writers[1], 10) // the slave zone's writes go through the master
	var mh, sh, all []*harness.Host
	for _, o := range master.Servers {
		mh = append(mh, o.Host)
	}
	for _, o := range slave.Servers {
		sh = append(sh, o.Host)
	}
	all = append(append(all, mh...), sh...)
	harness.PartitionGroups(t, all, mh, sh)
	acked := writers[1].Count()
	progress(writers[0], 30) // the master zone goes on alone
	// The master's leader sees its stream to the slave zone failing.
	deadline := time.Now().Add(30 * time.Second)
	for {
		v, err := master.Leader(20*time.Second).Call(ctx, "one.zone.fedstatus")
		if err == nil && regexp.MustCompile(`<ZONE><ID>100</ID>.*<ERROR>[^<]+</ERROR>`).MatchString(v.(string)) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the master's fedstatus during the partition: %v, %v; want zone 100 failing", v, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if got := writers[1].Count(); got > acked+1 {
		t.Fatalf("the slave zone acknowledged %d federated writes while cut off from the master", got-acked)
	}
	harness.HealPartition(t, all)
	progress(writers[1], 10)
	for _, w := range writers {
		w.Stop()
	}

	counts := map[string]int{}
	var last int64
	deadline = time.Now().Add(60 * time.Second)
	for {
		// The same rows on all six servers, read at one index.
		last = harness.WaitFedIndex(t, -1, master, slave)
		var rows []string
		for _, z := range []*harness.ProcZone{master, slave} {
			for _, o := range z.Servers {
				v, err := o.Call(ctx, "one.sql.query", "SELECT op, COUNT(*) FROM fed_ops GROUP BY op ORDER BY op", []any{}, "stale")
				if err != nil {
					t.Fatal(err)
				}
				rows = append(rows, fmt.Sprint(v.(map[string]any)["ROWS"]))
				if len(rows) == 1 {
					for _, r := range v.(map[string]any)["ROWS"].([]any) {
						row := r.([]any)
						n, _ := strconv.Atoi(fmt.Sprint(row[1]))
						counts[row[0].(string)] = n
					}
				}
			}
		}
		same := true
		for _, r := range rows {
			same = same && r == rows[0]
		}
		if same && harness.WaitFedIndex(t, -1, master, slave) == last {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the six servers never held the same fed_ops at one index")
		}
		clear(counts)
	}
	for _, w := range writers {
		for _, op := range w.Acked {
			if counts[op] != 1 {
				t.Fatalf("acknowledged write %s is there %d times, want once", op, counts[op])
			}
		}
	}
	for op, n := range counts {
		if n != 1 {
			t.Fatalf("%s applied %d times", op, n)
		}
	}
	t.Logf("acknowledged: master zone %d, slave zone %d; unknown outcome %d+%d; federation index %d",
		len(writers[0].Acked), len(writers[1].Acked), len(writers[0].Unknown), len(writers[1].Unknown), last)
}
