package raftlog

import (
	"github.com/hashicorp/raft"
)

// transportMaxPool is the number of pooled outbound connections per peer.
const transportMaxPool = 4

// NewTransport returns raft's network transport over layer (normally
// mux.Mux.RaftLayer(), which authenticates peers). Timeout is cfg.BroadcastTimeout (RAFT
// BROADCAST_TIMEOUT_MS); logs go to cfg.Logger. The result implements
// raft.WithPreVote and raft.WithClose, and carries the death watch's hook
// (deathwatch.go): a Node on it replaces a leader whose process died
// without waiting for the heartbeat timeout.
func NewTransport(layer raft.StreamLayer, cfg Config) *Transport {
	cfg = cfg.withDefaults()
	closes := make(chan struct{}, 1)
	layer = &closeWatchLayer{StreamLayer: layer, closes: closes}
	timeout := cfg.BroadcastTimeout
	if timeout <= 0 {
		timeout = DefaultConfig().BroadcastTimeout
	}
	return &Transport{closes: closes, NetworkTransport: raft.NewNetworkTransportWithConfig(&raft.NetworkTransportConfig{
		Stream:  layer,
		MaxPool: transportMaxPool,
		// No pipelined replication: hashicorp/raft v1.8's netPipeline can
		// deadlock when a follower answers Success=false or a newer term
		// (pipelineDecode returns, the SEND loop parks on inprogressCh while
		// decodeResponses parks on doneCh): that follower then never gets
		// another entry, and Raft.Shutdown waits forever. Seen here as a
		// stop that hung after a leadership transfer
		// (TestInProcessZoneIsRaceFree, about 1 run in 10 under load);
		// grafana/pyroscope#5518 hit the same. MaxRPCsInFlight 1 makes
		// AppendEntriesPipeline return ErrPipelineReplicationNotSupported,
		// so raft replicates one AppendEntries (a batch) at a time.
		MaxRPCsInFlight: 1,
		Timeout:         timeout,
		Logger:          NewHCLogger(cfg.Logger.With("raft_id", cfg.ID), "raft-net"),
	})}
}
