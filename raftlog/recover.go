package raftlog

import (
	"bytes"
	"context"
	"fmt"
	"io"

	"github.com/hashicorp/raft"
)

// Recover rewrites this server's raft state so that it starts with servers
// as its configuration: the documented way out of a majority loss. It is
// offline: the Node for cfg.Dir must not be running. Run it on every
// surviving server with the same servers list, then start them with New.
// Like any raft recovery it may commit entries that never reached a
// majority (they were in this server's log).
//
// It wraps raft.RecoverCluster with the persistent-FSM rule: the snapshot is
// restored only if the FSM is behind the applied index it contains, and
// replayed entries <= fsm.AppliedIndex() are skipped by the FSM.
func Recover(ctx context.Context, cfg Config, fsm FSM, servers []raft.Server) error {
	if err := cfg.Validate(); err != nil {
		return err
	}
	cfg = cfg.withDefaults()
	if len(servers) == 0 {
		return fmt.Errorf("raftlog: recover: empty server list")
	}
	st, err := openStores(cfg)
	if err != nil {
		return err
	}
	defer st.Close()
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("raftlog: recover: %w", err)
	}
	_, trans := raft.NewInmemTransport(raft.ServerAddress("recover-" + cfg.ID)) // only encodes peers
	defer trans.Close()
	rc := cfg.raftConfig(cfg.Logger)
	if err := raft.RecoverCluster(rc, &recoverFSM{FSM: fsm}, st.log, st.stable, st.snaps, trans,
		raft.Configuration{Servers: servers}); err != nil {
		return fmt.Errorf("raftlog: recover cluster in %s: %w", cfg.Dir, err)
	}
	cfg.Logger.Warn("raft configuration recovered (majority loss procedure)",
		"raft_id", cfg.ID, "servers", len(servers), "fsm_applied_index", fsm.AppliedIndex())
	return nil
}

// recoverFSM skips a snapshot restore the DB does not need.
type recoverFSM struct{ FSM }

func (r *recoverFSM) Restore(rc io.ReadCloser) error {
	var head bytes.Buffer
	idx, err := r.FSM.SnapshotAppliedIndex(io.TeeReader(rc, &head))
	if err != nil {
		_ = rc.Close()
		return fmt.Errorf("raftlog: read snapshot applied index: %w", err)
	}
	if r.FSM.AppliedIndex() >= idx {
		return rc.Close()
	}
	return r.FSM.Restore(readCloser{Reader: io.MultiReader(&head, rc), Closer: rc})
}

type readCloser struct {
	io.Reader
	io.Closer
}
