package chaos

import (
	"testing"
)

// checkExactlyOnce reads server ep's audit rows (after convergence every
// replica holds the same) and checks every write of the retry workload:
// an acknowledged write has exactly one row, and its (possibly replayed)
// answer names that row (LAST_INSERT_ID = seq); a definitely failed write
// has none; an unknown one (given up when the run stopped) at most one.
// It reports how many writes needed retries.
func checkExactlyOnce(t *testing.T, c *client, ep string, recs []record) {
	t.Helper()
	rows, err := c.stale(t.Context(), ep, "SELECT id, seq FROM audit ORDER BY seq")
	if err != nil {
		t.Fatalf("chaos: read audit: %v", err)
	}
	seqs := map[int64][]int64{}
	for _, r := range rows {
		id, _ := r[0].(int64)
		seq, _ := r[1].(int64)
		seqs[id] = append(seqs[id], seq)
	}
	var writes, retried, resolved, twice int
	for _, r := range recs {
		if r.In.Kind == opRead {
			continue
		}
		writes++
		if r.Attempts > 1 {
			retried++
			if r.St == stOK {
				resolved++
			}
		}
		got := seqs[r.ID]
		if len(got) > 1 {
			twice++
			t.Errorf("chaos: APPLIED %d TIMES: %v id %d (k%d), %d attempts, rows seq %v", len(got), r.In.Kind, r.ID, r.In.Key, r.Attempts, got)
			continue
		}
		switch r.St {
		case stOK:
			if len(got) != 1 {
				t.Errorf("chaos: acknowledged %v id %d (%d attempts) has %d audit rows, want 1", r.In.Kind, r.ID, r.Attempts, len(got))
			} else if got[0] != r.AuditSeq {
				t.Errorf("chaos: %v id %d answered audit row %d after %d attempts, but row %d was applied", r.In.Kind, r.ID, r.AuditSeq, r.Attempts, got[0])
			}
		case stFail:
			if len(got) != 0 {
				t.Errorf("chaos: definitely failed %v id %d (%s) was applied", r.In.Kind, r.ID, r.Err)
			}
		}
	}
	t.Logf("chaos: exactly once: %d writes, %d needed retries (%d resolved by a retry with their request id), %d applied twice", writes, retried, resolved, twice)
}
