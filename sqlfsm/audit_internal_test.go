package sqlfsm

import (
	"testing"

	"github.com/hashicorp/raft"
)

// BenchmarkRecordOutcomes: the audit's per-entry cost on the apply path,
// for a batch of 64 one-statement entries (digest and ring slot, one lock
// per batch).
func BenchmarkRecordOutcomes(b *testing.B) {
	var a auditor
	logs := make([]*raft.Log, 64)
	resps := make([]any, 64)
	for i := range logs {
		logs[i] = &raft.Log{Index: uint64(i + 1)}
		resps[i] = &Result{Statements: []StmtResult{{RowsAffected: 1, LastInsertID: int64(i)}}}
	}
	b.ReportAllocs()
	for i := uint64(0); b.Loop(); i++ {
		for _, l := range logs {
			l.Index += 64
		}
		a.recordOutcomes(logs, resps, logs[0].Index-1, logs[63].Index)
	}
}

// TestOutcomeDigestSeparatesOutcomes: success, each error code, the failing
// statement and the counters give different digests; equal outcomes equal
// ones.
func TestOutcomeDigestSeparatesOutcomes(t *testing.T) {
	ok := func(ra, li int64) any { return &Result{Statements: []StmtResult{{RowsAffected: ra, LastInsertID: li}}} }
	fail := func(code, stmt int) any { return &Result{Err: &SQLError{Code: code, Statement: stmt, Message: "m"}} }
	outcomes := []any{nil, ok(1, 0), ok(0, 1), ok(1, 1), fail(1062, 0), fail(1062, 1), fail(19, 0), ErrBadEntry}
	seen := map[uint64]int{}
	for i, o := range outcomes {
		d := outcomeDigest(o)
		if j, dup := seen[d]; dup {
			t.Fatalf("outcomes %d and %d share digest %x", j, i, d)
		}
		seen[d] = i
	}
	if outcomeDigest(fail(1062, 0)) != outcomeDigest(&Result{Err: &SQLError{Code: 1062, Message: "another text"}}) {
		t.Fatal("the error message changed the digest; only the code is the contract")
	}
}
