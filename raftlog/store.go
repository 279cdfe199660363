package raftlog

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sync/atomic"
	"time"

	"github.com/hashicorp/raft"
	raftboltdb "github.com/hashicorp/raft-boltdb/v2"
	wal "github.com/hashicorp/raft-wal"
	"github.com/hashicorp/raft-wal/metadb"
)

// logCacheSize is the number of recent entries kept in memory in front of
// the log store (replication to followers reads them back).
const logCacheSize = 1024

// stores are the raft persistence layers for one node.
type stores struct {
	raw    raft.LogStore // underlying store (no cache)
	log    raft.LogStore // raw wrapped by raft.NewLogCache
	stable raft.StableStore
	snaps  raft.SnapshotStore
	closer io.Closer
}

// openLogStore opens the log store kind in dir. Both kinds also implement
// raft.StableStore (raft-wal keeps term/vote in its bolt meta DB
// "wal-meta.db"; raft-boltdb keeps them in a bucket of the same file).
func openLogStore(kind, dir string, logger *slog.Logger) (logStableCloser, error) {
	switch kind {
	case LogStoreWAL:
		d := filepath.Join(dir, "wal")
		if err := os.MkdirAll(d, 0o700); err != nil {
			return nil, fmt.Errorf("raftlog: create wal dir: %w", err)
		}
		// raft-wal v0.4.0's WAL.Close does not close its meta DB (bolt file
		// lock stays held, a reopen in the same process hangs in flock), so
		// we own the meta store and close it ourselves.
		meta := &metadb.BoltMetaDB{}
		w, err := wal.Open(d, wal.WithLogger(NewHCLogger(logger, "raft-wal")), wal.WithMetaStore(meta))
		if err != nil {
			_ = meta.Close()
			return nil, fmt.Errorf("raftlog: open raft-wal %s: %w", d, err)
		}
		return &walStore{WAL: w, meta: meta}, nil
	case LogStoreBoltDB:
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return nil, fmt.Errorf("raftlog: create dir: %w", err)
		}
		p := filepath.Join(dir, "raft.db")
		b, err := raftboltdb.New(raftboltdb.Options{Path: p})
		if err != nil {
			return nil, fmt.Errorf("raftlog: open raft-boltdb %s: %w", p, err)
		}
		return b, nil
	default:
		return nil, fmt.Errorf("%w: LogStore: unknown kind %q", ErrInvalidConfig, kind)
	}
}

// walStore closes raft-wal's meta DB together with the WAL.
type walStore struct {
	*wal.WAL
	meta *metadb.BoltMetaDB
}

func (w *walStore) Close() error {
	return errors.Join(w.WAL.Close(), w.meta.Close())
}

// GetLog refuses indexes below FirstIndex. raft-wal still returns entries
// that a compaction removed while they sit in its open tail segment; raft
// then replicates them instead of sending the snapshot that replaced them.
// A server joining a zone whose database held data before the log began
// (Rebase) must get that snapshot, so compacted means gone, as in boltdb.
func (w *walStore) GetLog(index uint64, l *raft.Log) error {
	first, err := w.WAL.FirstIndex()
	if err != nil {
		return err
	}
	if index < first {
		return raft.ErrLogNotFound
	}
	return w.WAL.GetLog(index, l)
}

type logStableCloser interface {
	raft.LogStore
	raft.StableStore
	io.Closer
}

// openStores opens log, stable and snapshot stores under cfg.Dir.
func openStores(cfg Config) (*stores, error) {
	ls, err := openLogStore(cfg.LogStore, cfg.Dir, cfg.Logger)
	if err != nil {
		return nil, err
	}
	cached, err := raft.NewLogCache(logCacheSize, ls)
	if err != nil {
		_ = ls.Close()
		return nil, fmt.Errorf("raftlog: log cache: %w", err)
	}
	snaps, err := raft.NewFileSnapshotStoreWithLogger(cfg.Dir, snapshotRetain, NewHCLogger(cfg.Logger, "raft-snapshot"))
	if err != nil {
		_ = ls.Close()
		return nil, fmt.Errorf("raftlog: open snapshot store in %s: %w", cfg.Dir, err)
	}
	var logs raft.LogStore = cached
	if cfg.OnAppend != nil {
		logs = &timedLogStore{LogCache: cached, onAppend: cfg.OnAppend}
	}
	return &stores{raw: ls, log: logs, stable: ls, snaps: snaps, closer: ls}, nil
}

// timedLogStore reports the duration of every append (Config.OnAppend).
// It embeds the *raft.LogCache so every optional interface raft looks for
// (MonotonicLogStore) stays visible.
type timedLogStore struct {
	*raft.LogCache
	onAppend func(leader bool, entries int, d time.Duration)
	raft     atomic.Pointer[raft.Raft] // set once raft runs: who is leader
}

func (t *timedLogStore) StoreLog(l *raft.Log) error {
	return t.StoreLogs([]*raft.Log{l})
}

func (t *timedLogStore) StoreLogs(logs []*raft.Log) error {
	start := time.Now()
	err := t.LogCache.StoreLogs(logs)
	if err == nil {
		r := t.raft.Load()
		t.onAppend(r != nil && r.State() == raft.Leader, len(logs), time.Since(start))
	}
	return err
}

func (s *stores) Close() error {
	if s == nil || s.closer == nil {
		return nil
	}
	err := s.closer.Close()
	s.closer = nil
	if err != nil && !errors.Is(err, os.ErrClosed) {
		return fmt.Errorf("raftlog: close log store: %w", err)
	}
	return nil
}
