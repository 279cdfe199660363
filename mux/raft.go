package mux

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"time"

	"github.com/hashicorp/raft"
)

// raftLayer is the raft.StreamLayer half of a Mux: Accept yields inbound
// Raft connections (a verified *tls.Conn, or with AllowPlainRaft a plain
// one whose RaftByte was consumed); Dial opens TLS with ALPNRaft, or
// writes RaftByte when there is no client TLS configuration. Dialed
// connections are registered as peers (Mux.Reauthorize, lifetime).
type raftLayer struct {
	*childListener
	advertise net.Addr
	dial      DialFunc
	clientTLS func(addr string) *tls.Config
	addPeer   func(*slotConn, Peer) // the Mux's registry of peer connections
}

var _ raft.StreamLayer = (*raftLayer)(nil)

// Addr is the address peers dial (the advertise address).
func (l *raftLayer) Addr() net.Addr { return l.advertise }

// Dial opens a Raft connection to address within timeout: TCP, then either
// a TLS handshake with clientTLS(address) (nothing written before the
// ClientHello) or RaftByte.
func (l *raftLayer) Dial(address raft.ServerAddress, timeout time.Duration) (net.Conn, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	raw, err := l.dial(ctx, "tcp", string(address))
	if err != nil {
		return nil, fmt.Errorf("mux: raft dial %s: %w", address, err)
	}
	conn := &slotConn{Conn: raw}
	dl, _ := ctx.Deadline()
	if l.clientTLS != nil {
		tc := tls.Client(conn, l.clientTLS(string(address)))
		_ = conn.SetDeadline(dl)
		if err := tc.HandshakeContext(ctx); err != nil {
			_ = conn.Close()
			return nil, fmt.Errorf("mux: raft dial %s: TLS: %w", address, err)
		}
		if p := tc.ConnectionState().NegotiatedProtocol; p != ALPNRaft {
			_ = conn.Close()
			return nil, fmt.Errorf("mux: raft dial %s: peer negotiated %q, not %q", address, p, ALPNRaft)
		}
		_ = conn.SetDeadline(time.Time{})
		l.addPeer(conn, peerOf(tc.ConnectionState().PeerCertificates, string(address), conn.RemoteAddr().String(), "raft-dial"))
		return tc, nil
	}
	_ = conn.SetWriteDeadline(dl)
	if _, err := conn.Write([]byte{RaftByte}); err != nil {
		_ = conn.Close()
		return nil, fmt.Errorf("mux: raft dial %s: write mux byte: %w", address, err)
	}
	_ = conn.SetWriteDeadline(time.Time{})
	l.addPeer(conn, Peer{Dialed: string(address), Remote: conn.RemoteAddr().String(), Kind: "raft-dial"})
	return conn, nil
}
