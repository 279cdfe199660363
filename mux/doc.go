// Package mux shares a OneHA server's single port (ENDPOINT) between Raft
// and the XML-RPC HTTP server, and keeps Raft to authenticated peers.
//
// Each accepted connection is dispatched on its first byte: a TLS
// ClientHello is handshaken with the zone's server configuration and then
// routed by ALPN (ALPNRaft → Raft, which requires a verified client
// certificate; anything else → HTTP, as a *tls.Conn); RaftByte (plaintext
// Raft) and plain HTTP are accepted only when explicitly allowed. The
// pre-authentication stage is bounded in time (PeekTimeout,
// HandshakeTimeout) and count (MaxPending, and MaxPendingPerSource per
// IPv4 address or IPv6 /64); open Raft connections are capped
// (MaxRaftConns) and open HTTP connections too (MaxHTTPConns,
// MaxHTTPConnsPerSource). Stats counts what was refused.
//
// Authorization at the handshake is not enough once a server leaves the
// zone: authenticated peer connections (Raft in and out, TLS HTTP with a
// verified client certificate) are registered with their certificate, the
// caller re-checks them with Mux.Reauthorize (closing the refused ones),
// and each is closed after MaxPeerConnLifetime or when its certificate
// expires; peers re-dial and are authorized afresh.
//
// The package holds no package-level mutable state and does not depend on
// the PKI: the caller (oned) supplies the *tls.Config values built by
// package zoneca.
package mux
