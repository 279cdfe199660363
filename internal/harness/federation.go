package harness

import (
	"context"
	"fmt"
	"regexp"
	"strconv"
	"testing"
	"time"
)

var fedIndexRE = regexp.MustCompile(`<FEDLOG_INDEX>(-?\d+)</FEDLOG_INDEX>`)

// FedLogIndex is o's FEDLOG_INDEX (one.zone.raftstatus), -2 when it does
// not answer.
func (o *Oned) FedLogIndex(tb testing.TB) int64 {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	v, err := o.Call(ctx, "one.zone.raftstatus")
	if err != nil {
		return -2
	}
	m := fedIndexRE.FindStringSubmatch(fmt.Sprint(v))
	if m == nil {
		tb.Fatalf("harness: server %d: raftstatus without FEDLOG_INDEX: %v", o.ID, v)
	}
	n, _ := strconv.ParseInt(m[1], 10, 64)
	return n
}

// WaitFedIndex waits until every server of the zones reports FEDLOG_INDEX
// want, or (want -1) one same index (a write whose client gave up may
// still apply, so a final index is not always known in advance), and
// returns it.
func WaitFedIndex(tb testing.TB, want int64, zones ...*ProcZone) int64 {
	tb.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		var got []int64
		ok := true
		for _, z := range zones {
			for _, o := range z.Servers {
				n := o.FedLogIndex(tb)
				got = append(got, n)
				ok = ok && n == got[0] && (want < 0 || n == want)
			}
		}
		if ok && got[0] >= 0 {
			return got[0]
		}
		if time.Now().After(deadline) {
			tb.Fatalf("harness: FEDLOG_INDEX of the servers: %v, want all %d; the first zone's leader's log:\n%s",
				got, want, zones[0].Leader(time.Second).LogTail(30))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// StaleRows is a query's rows as o holds them (one.sql.query, stale),
// printed; "error: …" when it fails.
func (o *Oned) StaleRows(tb testing.TB, q string) string {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	v, err := o.Call(ctx, "one.sql.query", q, []any{}, "stale")
	if err != nil {
		return "error: " + err.Error()
	}
	m, _ := v.(map[string]any)
	return fmt.Sprint(m["ROWS"])
}
