package raftlog

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"

	"github.com/hashicorp/raft"
)

// Bootstrap creates a new cluster with servers as its first configuration.
// It must include this server. Invariant I7 (no accidental second cluster):
//   - ErrExistingState if raft state exists in Config.Dir;
//   - ErrZoneExists if fsm.AppliedIndex() > 0 (the DB came from an existing
//     zone, e.g. restored from a leader's dump: it must join, not bootstrap);
//   - ErrBootstrapRefused wrapping the error of Config.BootstrapGuard.
func (n *Node) Bootstrap(ctx context.Context, servers []raft.Server) error {
	if n.closed.Load() {
		return ErrShutdown
	}
	if !slices.ContainsFunc(servers, func(s raft.Server) bool {
		return string(s.ID) == n.cfg.ID && s.Suffrage == raft.Voter
	}) {
		return fmt.Errorf("raftlog: bootstrap: servers must include this server %q as a voter", n.cfg.ID)
	}
	existing, err := raft.HasExistingState(n.st.log, n.st.stable, n.st.snaps)
	if err != nil {
		return fmt.Errorf("raftlog: bootstrap: check existing state: %w", err)
	}
	if existing {
		return fmt.Errorf("raftlog: bootstrap refused in %s: %w", n.cfg.Dir, ErrExistingState)
	}
	if idx := n.fsm.AppliedIndex(); idx > 0 {
		return fmt.Errorf("raftlog: bootstrap refused: fsm applied index %d: %w", idx, ErrZoneExists)
	}
	if g := n.cfg.BootstrapGuard; g != nil {
		if err := g(ctx); err != nil {
			return fmt.Errorf("%w: %w", ErrBootstrapRefused, err)
		}
	}
	if err := n.wait(ctx, n.raft.BootstrapCluster(raft.Configuration{Servers: servers})); err != nil {
		if errors.Is(err, raft.ErrCantBootstrap) {
			return fmt.Errorf("raftlog: bootstrap: %w: %w", ErrExistingState, err)
		}
		return fmt.Errorf("raftlog: bootstrap: %w", err)
	}
	n.log.Info("raft cluster bootstrapped", "servers", len(servers))
	return nil
}

// restoreOnStart applies the persistent-FSM rule before raft starts: restore
// the newest local snapshot only if the FSM is behind the applied index the
// snapshot contains. A crash mid-restore leaves the DB behind (the applied
// index is written last), so the restore simply runs again.
func restoreOnStart(ctx context.Context, log *slog.Logger, fsm FSM, st *stores) error {
	metas, err := st.snaps.List()
	if err != nil {
		return fmt.Errorf("raftlog: list snapshots: %w", err)
	}
	fsmIdx := fsm.AppliedIndex()
	if len(metas) == 0 {
		if first, err := st.log.FirstIndex(); err == nil && first > 1 && fsmIdx+1 < first {
			return fmt.Errorf("raftlog: fsm applied index %d is behind the log's first index %d and no snapshot exists", fsmIdx, first)
		}
		return nil
	}
	meta := metas[0] // newest first
	snapIdx, err := snapshotAppliedIndex(fsm, st.snaps, meta.ID)
	if err != nil {
		return err
	}
	if fsmIdx >= snapIdx {
		log.Info("snapshot restore skipped: fsm is not behind", "snapshot", meta.ID,
			"snapshot_index", meta.Index, "snapshot_applied_index", snapIdx, "fsm_applied_index", fsmIdx)
		return nil
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("raftlog: restore snapshot %s: %w", meta.ID, err)
	}
	log.Info("restoring snapshot: fsm is behind", "snapshot", meta.ID,
		"snapshot_index", meta.Index, "snapshot_applied_index", snapIdx, "fsm_applied_index", fsmIdx)
	_, rc, err := st.snaps.Open(meta.ID)
	if err != nil {
		return fmt.Errorf("raftlog: open snapshot %s: %w", meta.ID, err)
	}
	err = fsm.Restore(rc)
	_ = rc.Close()
	if err != nil {
		return fmt.Errorf("raftlog: restore snapshot %s: %w", meta.ID, err)
	}
	if got := fsm.AppliedIndex(); got < snapIdx {
		return fmt.Errorf("raftlog: restore snapshot %s: fsm applied index %d after restore, want >= %d", meta.ID, got, snapIdx)
	}
	log.Info("snapshot restored", "snapshot", meta.ID, "fsm_applied_index", fsm.AppliedIndex())
	return nil
}

func snapshotAppliedIndex(fsm FSM, snaps raft.SnapshotStore, id string) (uint64, error) {
	_, rc, err := snaps.Open(id)
	if err != nil {
		return 0, fmt.Errorf("raftlog: open snapshot %s: %w", id, err)
	}
	defer rc.Close()
	idx, err := fsm.SnapshotAppliedIndex(rc)
	if err != nil {
		return 0, fmt.Errorf("raftlog: read applied index of snapshot %s: %w", id, err)
	}
	return idx, nil
}
