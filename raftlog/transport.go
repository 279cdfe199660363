package raftlog

import (
	"context"
	"fmt"
	"net"
	"time"

	"github.com/hashicorp/raft"
)

// transportMaxPool is the number of pooled outbound connections per peer.
const transportMaxPool = 4

// NewTransport returns raft's network transport over layer (normally
// Mux.RaftLayer()). Timeout is cfg.BroadcastTimeout (RAFT
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

// DialFunc dials a peer (net.Dialer.DialContext fits).
type DialFunc func(ctx context.Context, network, addr string) (net.Conn, error)

// ConnWrapper upgrades a raw connection after the mux byte, e.g.
// tls.Client / tls.Server. nil means plain TCP.
type ConnWrapper func(net.Conn) (net.Conn, error)

// raftLayer is the raft.StreamLayer half of a Mux: Accept yields inbound
// raft connections (first byte RaftByte already consumed), Dial writes
// RaftByte first.
type raftLayer struct {
	*childListener
	advertise net.Addr
	dial      DialFunc
	wrap      ConnWrapper
}

var _ raft.StreamLayer = (*raftLayer)(nil)

// Addr is the address peers dial (the advertise address).
func (l *raftLayer) Addr() net.Addr { return l.advertise }

// Dial opens a raft connection to address: dial, send RaftByte, then the
// optional client wrapper (TLS later).
func (l *raftLayer) Dial(address raft.ServerAddress, timeout time.Duration) (net.Conn, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	conn, err := l.dial(ctx, "tcp", string(address))
	if err != nil {
		return nil, fmt.Errorf("raftlog: dial %s: %w", address, err)
	}
	dl, _ := ctx.Deadline()
	_ = conn.SetWriteDeadline(dl)
	if _, err := conn.Write([]byte{RaftByte}); err != nil {
		_ = conn.Close()
		return nil, fmt.Errorf("raftlog: dial %s: write mux byte: %w", address, err)
	}
	_ = conn.SetWriteDeadline(time.Time{})
	if l.wrap != nil {
		wc, err := l.wrap(conn)
		if err != nil {
			_ = conn.Close()
			return nil, fmt.Errorf("raftlog: dial %s: wrap: %w", address, err)
		}
		conn = wc
	}
	return conn, nil
}
