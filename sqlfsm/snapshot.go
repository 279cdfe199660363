package sqlfsm

import (
	"context"
	"fmt"
	"io"

	"github.com/hashicorp/raft"

	"github.com/oneha/oneha/backup"
)

// Snapshot opens a consistent read view of the database (on the FSM
// goroutine, between batches, so the view and the applied index agree) and
// returns at once; Persist streams the logical dump while writes go on.
func (f *FSM) Snapshot() (raft.FSMSnapshot, error) {
	s, err := backup.Begin(f.ctx, f.db, f.b.name(), backup.Options{Last: AppliedTable})
	if err != nil {
		return nil, fmt.Errorf("sqlfsm: begin snapshot: %w", err)
	}
	return &fsmSnapshot{s: s, ctx: f.ctx}, nil
}

type fsmSnapshot struct {
	s   *backup.Snapshot
	ctx context.Context
}

func (s *fsmSnapshot) Persist(sink raft.SnapshotSink) error {
	if _, err := s.s.Write(s.ctx, sink); err != nil {
		sink.Cancel()
		return fmt.Errorf("sqlfsm: write snapshot: %w", err)
	}
	return sink.Close()
}

func (s *fsmSnapshot) Release() { s.s.Close() }

// Restore replaces the database with a snapshot. The loader drops the
// applied-index table first and writes it last, so a crash in the middle
// leaves the database "behind the newest snapshot" and the restore runs again
// on start (DDL is not transactional on MySQL).
func (f *FSM) Restore(rc io.ReadCloser) error {
	defer rc.Close()
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.ctx.Err() != nil {
		return ErrClosed
	}
	f.restoring.Store(true)
	defer f.restoring.Store(false)
	h, err := backup.Load(f.ctx, f.db, f.b.name(), rc, backup.Options{Last: AppliedTable})
	f.autoInc.invalidate()
	if err != nil {
		return fmt.Errorf("sqlfsm: restore snapshot: %w", err)
	}
	f.resetConn()
	conn, err := f.openConn(f.ctx)
	if err != nil {
		return fmt.Errorf("sqlfsm: restore: %w", err)
	}
	f.conn = conn
	if err := ensureApplied(f.ctx, f.b, conn); err != nil {
		return err
	}
	st, err := readApplied(f.ctx, conn)
	if err != nil {
		return err
	}
	if st.Index != h.AppliedIndex {
		return fmt.Errorf("sqlfsm: restore: database at index %d after loading a snapshot of index %d", st.Index, h.AppliedIndex)
	}
	f.setApplied(st)
	f.log.Info("restored snapshot", "applied_index", st.Index, "applied_term", st.Term)
	return nil
}

// SnapshotAppliedIndex reads the applied index a snapshot contains from its
// header line, without reading the rest.
func (f *FSM) SnapshotAppliedIndex(r io.Reader) (uint64, error) {
	h, err := backup.ReadHeader(r)
	if err != nil {
		return 0, err
	}
	return h.AppliedIndex, nil
}
