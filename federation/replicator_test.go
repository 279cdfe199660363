package federation

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/oneha/oneha/sqlfsm"
)

// memLog is a master's federation log of records 1..last, of which
// oldest.. are kept.
type memLog struct {
	mu           sync.Mutex
	oldest, last uint64
}

func (m *memLog) FedRecords(_ context.Context, from uint64, max int) ([]sqlfsm.FedRecord, uint64, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []sqlfsm.FedRecord
	for i := max64(from, m.oldest); i <= m.last && len(out) < max; i++ {
		out = append(out, sqlfsm.FedRecord{Index: i})
	}
	if m.last == 0 {
		return out, 0, nil
	}
	return out, m.oldest, nil
}

func (m *memLog) FedLast(context.Context) (uint64, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.last, nil
}

func max64(a, b uint64) uint64 {
	if a > b {
		return a
	}
	return b
}

// memSlave applies a record only after its predecessor, as a slave zone
// does, and fails every failEvery-th call without applying.
type memSlave struct {
	mu        sync.Mutex
	log       *memLog
	last      uint64
	applied   []uint64
	snapshots int
	calls     int
	failEvery int
}

var errFlaky = errors.New("connection reset")

func (s *memSlave) Replicate(_ context.Context, _ Zone, rec sqlfsm.FedRecord, prev uint64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls++
	if s.failEvery > 0 && s.calls%s.failEvery == 0 {
		return errFlaky
	}
	if prev != s.last {
		return &GapError{Last: s.last}
	}
	s.last = rec.Index
	s.applied = append(s.applied, rec.Index)
	return nil
}

func (s *memSlave) Snapshot(ctx context.Context, _ Zone) (uint64, error) {
	last, _ := s.log.FedLast(ctx)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.last >= last {
		return 0, &GapError{Last: s.last}
	}
	s.last = last
	s.snapshots++
	return last, nil
}

func (s *memSlave) state() (uint64, []uint64, int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.last, slices.Clone(s.applied), s.snapshots
}

func runReplicator(t *testing.T, log *memLog, slave *memSlave, until func(r *Replicator) bool) {
	t.Helper()
	r := &Replicator{Src: log, Send: slave, Poll: 2 * time.Millisecond,
		Log:   slog.New(slog.NewTextHandler(io.Discard, nil)),
		Zones: func(context.Context) ([]Zone, error) { return []Zone{{ID: 100, Endpoint: "x"}}, nil }}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	done := make(chan struct{})
	go func() { r.Run(ctx); close(done) }()
	for !until(r) {
		if ctx.Err() != nil {
			last, applied, snaps := slave.state()
			t.Fatalf("slave at %d after %v (snapshots %d), stream %+v", last, applied, snaps, r.Status())
		}
		time.Sleep(time.Millisecond)
	}
	cancel()
	<-done
}

// TestStreamRewindsToTheSlavesIndexAndSkipsNothing: a new leader does
// not know where a slave zone is; the slave's gap answer tells it, and it
// sends every later record once, in order, through transient failures.
func TestStreamRewindsToTheSlavesIndexAndSkipsNothing(t *testing.T) {
	log := &memLog{oldest: 1, last: 40}
	slave := &memSlave{log: log, last: 3, failEvery: 4}
	runReplicator(t, log, slave, func(*Replicator) bool { last, _, _ := slave.state(); return last == 40 })
	_, applied, snaps := slave.state()
	want := make([]uint64, 0, 37)
	for i := uint64(4); i <= 40; i++ {
		want = append(want, i)
	}
	if !slices.Equal(applied, want) || snaps != 0 {
		t.Fatalf("applied %v (snapshots %d), want 4..40 once each in order", applied, snaps)
	}
}

// TestSlaveBehindThePurgedLogGetsASnapshotThenRecords: a slave zone that
// needs a record the master purged gets the tables instead, then the
// records after them.
func TestSlaveBehindThePurgedLogGetsASnapshotThenRecords(t *testing.T) {
	log := &memLog{oldest: 20, last: 30}
	slave := &memSlave{log: log, last: 3}
	runReplicator(t, log, slave, func(*Replicator) bool {
		last, _, _ := slave.state()
		if last == 30 {
			log.mu.Lock()
			if log.last == 30 {
				log.last = 35 // new records after the snapshot
			}
			log.mu.Unlock()
		}
		return last == 35
	})
	_, applied, snaps := slave.state()
	if snaps != 1 || !slices.Equal(applied, []uint64{31, 32, 33, 34, 35}) {
		t.Fatalf("snapshots %d, then records %v; want 1 snapshot, then 31..35", snaps, applied)
	}
}

// TestSlaveAheadOfTheMasterIsReportedNotFed: a slave zone whose index is
// past the master's (the master went back to an older backup) is sent
// nothing, and its stream says why.
func TestSlaveAheadOfTheMasterIsReportedNotFed(t *testing.T) {
	log := &memLog{oldest: 1, last: 5}
	slave := &memSlave{log: log, last: 9}
	runReplicator(t, log, slave, func(r *Replicator) bool {
		st := r.Status()
		return len(st) == 1 && strings.Contains(st[0].Err, "ahead of the master")
	})
	if last, applied, snaps := slave.state(); last != 9 || len(applied) != 0 || snaps != 0 {
		t.Fatalf("the slave ahead got records %v, snapshots %d (last %d)", applied, snaps, last)
	}
}
