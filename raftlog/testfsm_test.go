package raftlog

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sync"
	"sync/atomic"

	"github.com/hashicorp/raft"
)

// testFSM is a tiny persistent FSM: an ordered list of applied commands plus
// the applied index, kept in memory. Reusing the same *testFSM across a node
// restart models a database that survived; a new one models a wiped DB.
type testFSM struct {
	mu      sync.Mutex
	applied uint64
	entries []string          // applied command payloads, in order
	seen    map[uint64]string // index -> payload, to detect double applies
	dup     int               // entries applied twice (must stay 0)

	restores atomic.Int32
	degraded atomic.Pointer[error]
	gateMu   sync.Mutex
	gate     chan struct{} // if non-nil, ApplyBatch waits until closed
}

func newTestFSM() *testFSM { return &testFSM{seen: map[uint64]string{}} }

// block makes ApplyBatch wait until the returned func is called.
func (f *testFSM) block() (release func()) {
	ch := make(chan struct{})
	f.gateMu.Lock()
	f.gate = ch
	f.gateMu.Unlock()
	var once sync.Once
	return func() {
		once.Do(func() {
			f.gateMu.Lock()
			f.gate = nil
			f.gateMu.Unlock()
			close(ch)
		})
	}
}

func (f *testFSM) setDegraded(err error) {
	if err == nil {
		f.degraded.Store(nil)
		return
	}
	f.degraded.Store(&err)
}

func (f *testFSM) Degraded() error {
	if p := f.degraded.Load(); p != nil {
		return *p
	}
	return nil
}

func (f *testFSM) Apply(l *raft.Log) any { return f.ApplyBatch([]*raft.Log{l})[0] }

func (f *testFSM) ApplyBatch(logs []*raft.Log) []any {
	f.gateMu.Lock()
	gate := f.gate
	f.gateMu.Unlock()
	if gate != nil {
		<-gate
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make([]any, len(logs))
	for i, l := range logs {
		if l.Index <= f.applied {
			continue // already in the DB: skip, exactly once
		}
		if l.Type == raft.LogCommand {
			if _, ok := f.seen[l.Index]; ok {
				f.dup++
			}
			f.seen[l.Index] = string(l.Data)
			f.entries = append(f.entries, string(l.Data))
			out[i] = len(f.entries)
		}
		f.applied = l.Index
	}
	return out
}

func (f *testFSM) AppliedIndex() uint64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.applied
}

func (f *testFSM) Entries() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.entries...)
}

type testSnapshot struct {
	applied uint64
	entries []string
}

func (f *testFSM) Snapshot() (raft.FSMSnapshot, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return &testSnapshot{applied: f.applied, entries: append([]string(nil), f.entries...)}, nil
}

// Persist writes the applied index first (8 bytes, big endian), then JSON.
func (s *testSnapshot) Persist(sink raft.SnapshotSink) error {
	var buf bytes.Buffer
	_ = binary.Write(&buf, binary.BigEndian, s.applied)
	if err := json.NewEncoder(&buf).Encode(s.entries); err != nil {
		_ = sink.Cancel()
		return err
	}
	if _, err := sink.Write(buf.Bytes()); err != nil {
		_ = sink.Cancel()
		return err
	}
	return sink.Close()
}

func (s *testSnapshot) Release() {}

func (f *testFSM) SnapshotAppliedIndex(r io.Reader) (uint64, error) {
	var idx uint64
	if err := binary.Read(r, binary.BigEndian, &idx); err != nil {
		return 0, fmt.Errorf("read snapshot header: %w", err)
	}
	return idx, nil
}

func (f *testFSM) Restore(rc io.ReadCloser) error {
	defer rc.Close()
	idx, err := f.SnapshotAppliedIndex(rc)
	if err != nil {
		return err
	}
	var entries []string
	if err := json.NewDecoder(rc).Decode(&entries); err != nil && !errors.Is(err, io.EOF) {
		return fmt.Errorf("decode snapshot: %w", err)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.entries = entries
	f.applied = idx // written last
	f.seen = map[uint64]string{}
	f.restores.Add(1)
	return nil
}
