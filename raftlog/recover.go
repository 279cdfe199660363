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

// Offline is what an offline look at a stopped server's raft state finds.
type Offline struct {
	Servers       []raft.Server // the latest configuration (committed or not)
	LastIndex     uint64        // last index in the log or the newest snapshot
	SnapshotIndex uint64        // last index of the newest snapshot (0: none)
	HasState      bool          // false: this server never was in a cluster
}

// ReadOffline reads the latest raft configuration and log extent in cfg.Dir
// without starting raft or touching any FSM (raft.GetConfiguration with
// NoSnapshotRestoreOnStart). Like Recover, the Node must not be running.
func ReadOffline(ctx context.Context, cfg Config) (Offline, error) {
	if err := cfg.Validate(); err != nil {
		return Offline{}, err
	}
	cfg = cfg.withDefaults()
	st, err := openStores(cfg)
	if err != nil {
		return Offline{}, err
	}
	defer st.Close()
	if err := ctx.Err(); err != nil {
		return Offline{}, fmt.Errorf("raftlog: read offline: %w", err)
	}
	var out Offline
	if out.HasState, err = raft.HasExistingState(st.log, st.stable, st.snaps); err != nil {
		return out, fmt.Errorf("raftlog: read offline: %w", err)
	}
	if !out.HasState {
		return out, nil
	}
	if metas, err := st.snaps.List(); err == nil && len(metas) > 0 {
		out.SnapshotIndex = metas[0].Index
	}
	last, err := st.log.LastIndex()
	if err != nil {
		return out, fmt.Errorf("raftlog: read offline: last index: %w", err)
	}
	out.LastIndex = max(last, out.SnapshotIndex)
	_, trans := raft.NewInmemTransport(raft.ServerAddress("offline-" + cfg.ID))
	defer trans.Close()
	conf, err := raft.GetConfiguration(cfg.raftConfig(cfg.Logger), noFSM{}, st.log, st.stable, st.snaps, trans)
	if err != nil {
		return out, fmt.Errorf("raftlog: read configuration in %s: %w", cfg.Dir, err)
	}
	out.Servers = conf.Servers
	return out, nil
}

// noFSM is handed to raft.GetConfiguration, which never starts the FSM
// (NoSnapshotRestoreOnStart, no run loop); any call is a bug.
type noFSM struct{}

func (noFSM) Apply(*raft.Log) any { panic("raftlog: offline read applied a log entry") }
func (noFSM) Snapshot() (raft.FSMSnapshot, error) {
	return nil, fmt.Errorf("raftlog: offline read has no FSM")
}
func (noFSM) Restore(io.ReadCloser) error { return fmt.Errorf("raftlog: offline read has no FSM") }
