package raftlog

import (
	"github.com/hashicorp/raft"
)

// transportMaxPool is the number of pooled outbound connections per peer.
const transportMaxPool = 4

// NewTransport returns raft's network transport over layer (normally
// mux.Mux.RaftLayer(), which authenticates peers). Timeout is cfg.BroadcastTimeout (RAFT
// BROADCAST_TIMEOUT_MS); logs go to cfg.Logger. The result implements
// raft.WithPreVote and raft.WithClose.
func NewTransport(layer raft.StreamLayer, cfg Config) *raft.NetworkTransport {
	cfg = cfg.withDefaults()
	timeout := cfg.BroadcastTimeout
	if timeout <= 0 {
		timeout = DefaultConfig().BroadcastTimeout
	}
	return raft.NewNetworkTransportWithConfig(&raft.NetworkTransportConfig{
		Stream:  layer,
		MaxPool: transportMaxPool,
		Timeout: timeout,
		Logger:  NewHCLogger(cfg.Logger.With("raft_id", cfg.ID), "raft-net"),
	})
}
