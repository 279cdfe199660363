package xmlrpc

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/oneha/oneha/internal/stagetime"
)

// BenchmarkServeStages measures what stage tracing adds to one call: the
// same one.sql.exec-shaped request (an 8 KiB VM body) served with
// Server.Stages nil (off) and set (on). The handler stamps the stages the
// leader stamps (auth, check, encode, raft_commit, leader_apply) but does no
// work, so the difference is the whole cost of tracing, and the ratio to
// off is an upper bound on its share of a real write.
func BenchmarkServeStages(b *testing.B) {
	var body bytes.Buffer
	if err := EncodeCall(&body, "one.sql.exec", "oneadmin:pw", []any{[]any{"REPLACE INTO vm_pool VALUES (?, ?)",
		int64(42), strings.Repeat("<DISK><ID>1</ID></DISK>", 350)}}, "req-1"); err != nil {
		b.Fatal(err)
	}
	handler := func(ctx context.Context, _ []any) (any, error) {
		tr := stagetime.From(ctx)
		t := tr.Now()
		for _, s := range []stagetime.Stage{stagetime.Auth, stagetime.Check, stagetime.Encode, stagetime.RaftCommit, stagetime.LeaderApply} {
			t = tr.Since(s, t)
		}
		return []any{map[string]any{"ROWS_AFFECTED": int64(1), "LAST_INSERT_ID": int64(0)}}, nil
	}
	var hist [stagetime.NumStages]time.Duration
	for _, on := range []bool{false, true} {
		name := map[bool]string{false: "off", true: "on"}[on]
		b.Run(name, func(b *testing.B) {
			s := NewServer(nil)
			s.Budget = nil
			s.Register("one.sql.exec", handler)
			if on {
				s.Stages = func(_ string, t *stagetime.Trace) {
					t.Each(func(st stagetime.Stage, d time.Duration) { hist[st] += d })
				}
			}
			b.ReportAllocs()
			for b.Loop() {
				req := httptest.NewRequest(http.MethodPost, "/RPC2", bytes.NewReader(body.Bytes()))
				w := httptest.NewRecorder()
				s.ServeHTTP(w, req)
				if w.Code != http.StatusOK {
					b.Fatal(w.Code)
				}
			}
		})
	}
}
