// Package mux shares a OneHA server's single port (ENDPOINT) between Raft
// and the XML-RPC HTTP server, and keeps Raft to authenticated peers.
//
// Each accepted connection is dispatched on its first byte: a TLS
// ClientHello is handshaken with the zone's server configuration and then
// routed by ALPN (ALPNRaft → Raft, which requires a verified client
// certificate; anything else → HTTP, as a *tls.Conn); RaftByte (plaintext
// Raft) and plain HTTP are accepted only when explicitly allowed. The
// pre-authentication stage is bounded in time (PeekTimeout,
// HandshakeTimeout) and count (MaxPending), and open Raft connections are
// capped (MaxRaftConns). Stats counts what was refused.
//
// The package holds no package-level mutable state and does not depend on
// the PKI: the caller (oned) supplies the *tls.Config values built by
// package zoneca.
package mux
