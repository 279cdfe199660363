package stagetime

import (
	"context"
	"fmt"
	"testing"
	"time"
)

// TestRecordingAllocatesNothing: stamping stages and reading them back
// allocates nothing, with or without a trace (the hot path's promise).
func TestRecordingAllocatesNothing(t *testing.T) {
	tr := new(Trace)
	ctx := NewContext(context.Background(), tr)
	var sum time.Duration
	allocs := testing.AllocsPerRun(1000, func() {
		tt := From(ctx)
		s := tt.Now()
		s = tt.Since(Auth, s)
		tt.Since(Check, s)
		tt.Add(LeaderApply, time.Millisecond)
		tt.Each(func(_ Stage, d time.Duration) { sum += d })
		var none *Trace
		none.Since(Encode, none.Now())
		none.Each(func(Stage, time.Duration) { t.Fatal("nil trace has stages") })
	})
	if allocs != 0 {
		t.Fatalf("recording allocates %.1f times per request, want 0", allocs)
	}
}

// TestTraceReportsOnlyRecordedStages: Each visits the stages that were
// recorded, in order, with their summed time.
func TestTraceReportsOnlyRecordedStages(t *testing.T) {
	tr := new(Trace)
	tr.Add(Check, 2*time.Millisecond)
	tr.Add(HTTPRead, time.Millisecond)
	tr.Add(Check, 3*time.Millisecond)
	var got []string
	tr.Each(func(s Stage, d time.Duration) { got = append(got, s.String()+"="+d.String()) })
	if want := "[http_read=1ms check=5ms]"; fmt.Sprint(got) != want {
		t.Fatalf("Each = %v, want %s", got, want)
	}
	if From(context.Background()) != nil {
		t.Fatal("From(context without a trace) != nil")
	}
	if _, ok := tr.Get(Encode); ok {
		t.Fatal("Get(Encode) reports a stage never recorded")
	}
}
