package sqlfsm

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/hashicorp/raft"

	"github.com/oneha/oneha/backup"
)

// Audit bounds.
const (
	// OutcomeRing is how many recent entries' outcomes the FSM keeps.
	OutcomeRing = 8192
	// AuditKeep is how many table audits the FSM keeps.
	AuditKeep = 8
	// auditBeginTimeout bounds opening the audit's read view on the FSM
	// goroutine (a pool exhausted by reads must not stall apply).
	auditBeginTimeout = 2 * time.Second
)

// Outcome is what an applied entry did, as a 64-bit digest of its error
// class and code (and failing statement) or of every statement's rows
// affected and last insert id. Replicas that applied the same entry to the
// same state have the same digest; one that differs diverged at that entry.
type Outcome struct {
	Index  uint64 `json:"INDEX"`
	Digest uint64 `json:"DIGEST"`
}

// Audit is the per-table checksum of this server's database at one applied
// index: the state after every entry up to Index and none after it, the
// same on every server that has not diverged.
type Audit struct {
	Index  uint64            `json:"INDEX"`
	Tables []backup.TableSum `json:"TABLES,omitempty"`
	Error  string            `json:"ERROR,omitempty"` // the checksum could not be computed
}

// auditor keeps the audit state of one FSM. interval and taken are read and
// written on the FSM goroutine only; the rest under mu.
type auditor struct {
	interval uint64 // audit every interval entries; 0: off
	taken    uint64 // FSM goroutine: last audit index taken

	mu      sync.Mutex
	ring    [OutcomeRing]Outcome // slot index % OutcomeRing
	audits  []Audit              // oldest first, at most AuditKeep
	running bool                 // a checksum is being computed
	wg      sync.WaitGroup
}

// outcomeDigest hashes an entry's response (FNV-1a over 64-bit words): the
// class (no SQL, success, SQL error, bad entry) and its numbers. It does not
// allocate. The error message is left out: only the code is part of the
// contract (messages may name server-specific things).
func outcomeDigest(resp any) uint64 {
	h := uint64(14695981039346656037)
	mix := func(v uint64) {
		for i := 0; i < 8; i++ {
			h ^= v & 0xff
			h *= 1099511628211
			v >>= 8
		}
	}
	switch r := resp.(type) {
	case nil:
		mix(0)
	case *Result:
		if r.Err == nil {
			mix(1)
			for _, s := range r.Statements {
				mix(uint64(s.RowsAffected))
				mix(uint64(s.LastInsertID))
			}
			break
		}
		if se := asSQLError(r.Err); se != nil {
			mix(2)
			mix(uint64(int64(se.Code)))
			mix(uint64(int64(se.Statement)))
			break
		}
		mix(3)
	case error:
		mix(3)
		if errors.Is(r, ErrBadEntry) {
			mix(1)
		}
	default:
		mix(4)
	}
	return h
}

// asSQLError is the *SQLError in err's chain, or nil (only error outcomes
// pay for errors.As).
func asSQLError(err error) *SQLError {
	if se, ok := err.(*SQLError); ok {
		return se
	}
	var se *SQLError
	if errors.As(err, &se) {
		return se
	}
	return nil
}

// recordOutcomes notes the outcome of every entry of logs that this batch
// applied: index in (before, after]. Entries skipped as already applied
// (replay after a restart) are not recorded: their response is not their
// outcome.
func (a *auditor) recordOutcomes(logs []*raft.Log, resps []any, before, after uint64) {
	a.mu.Lock()
	defer a.mu.Unlock()
	for i, l := range logs {
		if l.Index > before && l.Index <= after {
			a.ring[l.Index%OutcomeRing] = Outcome{Index: l.Index, Digest: outcomeDigest(resps[i])}
		}
	}
}

// Outcomes returns the recorded outcomes of entries with index >= from, in
// index order, at most max of them (max <= 0: OutcomeRing).
func (f *FSM) Outcomes(from uint64, max int) []Outcome {
	if max <= 0 || max > OutcomeRing {
		max = OutcomeRing
	}
	applied := f.AppliedIndex()
	if from == 0 {
		from = 1
	}
	if applied >= OutcomeRing && from <= applied-OutcomeRing {
		from = applied - OutcomeRing + 1
	}
	a := &f.audit
	a.mu.Lock()
	defer a.mu.Unlock()
	var out []Outcome
	for i := from; i <= applied && len(out) < max; i++ {
		if o := a.ring[i%OutcomeRing]; o.Index == i {
			out = append(out, o)
		}
	}
	return out
}

// Audits returns the table audits kept (oldest first). The caller may not
// modify them.
func (f *FSM) Audits() []Audit {
	a := &f.audit
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]Audit(nil), a.audits...)
}

// AuditInterval is Config.AuditInterval (0: no table audits).
func (f *FSM) AuditInterval() uint64 { return f.audit.interval }

// ApplyBatch applies committed entries (see applyBatch) and keeps the
// audit's records: every entry's outcome, and at each multiple A of
// Config.AuditInterval the per-table checksums of the state after every
// entry up to A and none after it. To pin that state on every server
// whatever its batching, a batch spanning A is cut after the entries up to
// A; entries between A and the next one the FSM sees are no-ops, so the
// state before applying the first entry past A is the state at A. The read
// view is opened here, on the FSM goroutine between batches; the checksums
// are computed in the background.
func (f *FSM) ApplyBatch(logs []*raft.Log) []any {
	if f.audit.interval == 0 {
		before := f.AppliedIndex()
		resps := f.applyBatch(logs)
		f.audit.recordOutcomes(logs, resps, before, f.AppliedIndex())
		return resps
	}
	out := make([]any, 0, len(logs))
	for len(logs) > 0 {
		cut, at := f.auditCut(logs)
		part := logs[:cut]
		before := f.AppliedIndex()
		want := before
		for _, l := range part {
			want = max(want, l.Index)
		}
		if cut > 0 {
			resps := f.applyBatch(part)
			f.audit.recordOutcomes(part, resps, before, f.AppliedIndex())
			out = append(out, resps...)
		}
		logs = logs[cut:]
		if at != 0 {
			f.beginAudit(at, want)
		}
	}
	return out
}

// auditCut returns how many of logs to apply before an audit, and that
// audit's index (0: none; then cut is len(logs)). An audit at A is due when
// the next entry to apply is past A while the database is at or below A
// (and A was not audited yet), or when the batch's last entry is A itself.
func (f *FSM) auditCut(logs []*raft.Log) (cut int, at uint64) {
	n := f.audit.interval
	state := f.AppliedIndex()
	for i, l := range logs {
		if l.Index <= state {
			continue // already applied: skipped
		}
		if a := (l.Index - 1) / n * n; a > 0 && a >= state && a > f.audit.taken {
			return i, a
		}
		state = l.Index
	}
	if last := logs[len(logs)-1].Index; last%n == 0 && last > f.audit.taken && last == state {
		return len(logs), last
	}
	return len(logs), 0
}

// beginAudit opens a read view of the state at index at, which is the
// state after entry want (<= at; entries between are no-ops), and starts the checksum in the background. A previous checksum still running
// makes it skip this index: the leader compares the indices both servers
// have.
func (f *FSM) beginAudit(at, want uint64) {
	a := &f.audit
	a.taken = at
	if f.AppliedIndex() != want {
		return // the batch did not apply (closing: ErrClosed)
	}
	// Under mu, so Close (which cancels f.ctx, then takes mu, then waits)
	// never misses a checksum started here.
	a.mu.Lock()
	busy, closing := a.running, f.ctx.Err() != nil
	if !busy && !closing {
		a.running = true
		a.wg.Add(1)
	}
	a.mu.Unlock()
	if closing {
		return
	}
	if busy {
		f.log.Warn("audit skipped: the previous checksum is still running", "index", at)
		return
	}
	ctx, cancel := context.WithTimeout(f.ctx, auditBeginTimeout)
	snap, err := backup.Begin(ctx, f.db, f.b.name(), backup.Options{Last: AppliedTable})
	cancel()
	if err == nil && snap.Header().AppliedIndex != f.AppliedIndex() {
		snap.Close()
		err = errors.New("the read view is not at the applied index")
	}
	if err != nil {
		f.log.Warn("audit skipped: cannot open a read view", "index", at, "err", err)
		a.finish(Audit{Index: at, Error: err.Error()})
		a.wg.Done()
		return
	}
	go func() {
		defer a.wg.Done()
		defer snap.Close()
		start := time.Now()
		sums, err := snap.TableChecksums(f.ctx)
		au := Audit{Index: at, Tables: sums}
		if err != nil {
			au = Audit{Index: at, Error: err.Error()}
			f.log.Warn("audit checksum failed", "index", at, "err", err)
		} else {
			f.log.Debug("audit checksum", "index", at, "tables", len(sums), "took", time.Since(start))
		}
		a.finish(au)
	}()
}

// wait waits for a checksum in progress (after f.ctx was cancelled, which
// stops it).
func (a *auditor) wait() {
	a.mu.Lock()
	a.mu.Unlock() //nolint:staticcheck // a barrier: beginAudit adds to wg under mu
	a.wg.Wait()
}

// finish stores an audit (keeping the newest AuditKeep) and clears running.
func (a *auditor) finish(au Audit) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.running = false
	if len(a.audits) >= AuditKeep {
		a.audits = append(a.audits[:0], a.audits[1:]...)
	}
	a.audits = append(a.audits, au)
}
