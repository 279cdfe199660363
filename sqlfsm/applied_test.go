package sqlfsm_test

import (
	"errors"
	"testing"
	"time"

	"github.com/oneha/oneha/internal/harness"
	"github.com/oneha/oneha/sqlfsm"
)

// TestMissingAppliedRowStallsApply: when the applied-index row is deleted
// behind OneHA's back, the next batch is not committed (the entries would
// otherwise be applied again after a restart): the FSM retries, reports
// ErrAppliedMissing through Degraded, and the data stays as it was.
func TestMissingAppliedRowStallsApply(t *testing.T) {
	for _, be := range harness.Backends {
		t.Run(be.Name, func(t *testing.T) {
			local := harness.OpenLocal(t, be.Dialect, nil, be.Fast)
			f := newFSM(t, local, nil)
			b := setupCounter(t, f)
			for i, r := range results(t, f.ApplyBatch(incs(b, 3))) {
				if r == nil || r.Err != nil {
					t.Fatalf("entry %d: %+v", i, r)
				}
			}
			if _, err := local.DB.Exec("DELETE FROM " + sqlfsm.AppliedTable); err != nil {
				t.Fatal(err)
			}
			done := make(chan struct{})
			go func() {
				defer close(done)
				f.ApplyBatch(incs(b, 2))
			}()
			deadline := time.Now().Add(20 * time.Second)
			for err := f.Degraded(); !errors.Is(err, sqlfsm.ErrAppliedMissing); err = f.Degraded() {
				select {
				case <-done:
					t.Fatalf("batch applied without its applied-index row (degraded: %v, counter %d)", f.Degraded(), counter(t, local.DB))
				default:
				}
				if time.Now().After(deadline) {
					t.Fatalf("degraded = %v, want ErrAppliedMissing", err)
				}
				time.Sleep(10 * time.Millisecond)
			}
			t.Logf("degraded: %v", f.Degraded())
			if n := counter(t, local.DB); n != 3 {
				t.Errorf("counter = %d while stalled, want 3 (nothing committed)", n)
			}
			f.Close()
			<-done
		})
	}
}
