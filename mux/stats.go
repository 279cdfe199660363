package mux

import (
	"sync"
	"sync/atomic"
	"time"
)

// Stats counts what the Mux refused, for metrics and tests.
type Stats struct {
	Pending   int // connections in the first-byte/handshake stage now
	RaftConns int // accepted Raft connections open now
	HTTPConns int // HTTP connections (plain and TLS) open now
	PeerConns int // authenticated peer connections open now (Raft in and out, HTTP with a client certificate)

	RefusedPending uint64 // closed at accept: MaxPending reached
	// RefusedPendingSource: closed at accept: MaxPendingPerSource reached.
	RefusedPendingSource uint64
	// RefusedHTTPConns and RefusedHTTPConnsSource: HTTP connections closed
	// after dispatch: MaxHTTPConns or MaxHTTPConnsPerSource reached.
	RefusedHTTPConns       uint64
	RefusedHTTPConnsSource uint64
	// ClosedUnauthorized: peer connections Reauthorize closed.
	ClosedUnauthorized uint64
	// ClosedLifetime: peer connections closed at MaxPeerConnLifetime or
	// when their certificate expired.
	ClosedLifetime   uint64
	RefusedRaftConns uint64 // Raft connections closed: MaxRaftConns reached
	RefusedPlainRaft uint64 // plaintext Raft without AllowPlainRaft
	RefusedPlainHTTP uint64 // plain HTTP without AllowPlainHTTP
	RefusedTLS       uint64 // TLS not configured, handshake failed or a Raft ALPN without a client certificate
	RefusedUnknown   uint64 // first byte neither TLS, RaftByte nor a letter
	TimedOut         uint64 // no first byte within PeekTimeout or no handshake within HandshakeTimeout
}

type counters struct {
	refusedPending, refusedRaftConns, refusedPlainRaft, refusedPlainHTTP atomic.Uint64
	refusedTLS, refusedUnknown, timedOut                                 atomic.Uint64
	refusedPendingSource, refusedHTTPConns, refusedHTTPSource            atomic.Uint64
	closedUnauthorized, closedLifetime                                   atomic.Uint64
}

// Stats returns the current counters.
func (m *Mux) Stats() Stats {
	return Stats{
		Pending:          int(m.pending.Load()),
		RaftConns:        int(m.raftConns.Load()),
		HTTPConns:        int(m.httpConns.Load()),
		PeerConns:        m.peerCount(),
		RefusedPending:   m.stats.refusedPending.Load(),
		RefusedRaftConns: m.stats.refusedRaftConns.Load(),
		RefusedPlainRaft: m.stats.refusedPlainRaft.Load(),
		RefusedPlainHTTP: m.stats.refusedPlainHTTP.Load(),
		RefusedTLS:       m.stats.refusedTLS.Load(),
		RefusedUnknown:   m.stats.refusedUnknown.Load(),
		TimedOut:         m.stats.timedOut.Load(),

		RefusedPendingSource:   m.stats.refusedPendingSource.Load(),
		RefusedHTTPConns:       m.stats.refusedHTTPConns.Load(),
		RefusedHTTPConnsSource: m.stats.refusedHTTPSource.Load(),
		ClosedUnauthorized:     m.stats.closedUnauthorized.Load(),
		ClosedLifetime:         m.stats.closedLifetime.Load(),
	}
}

func (m *Mux) peerCount() int {
	m.peers.mu.Lock()
	defer m.peers.mu.Unlock()
	return len(m.peers.m)
}

// warnLimiter lets a warning with a given key through at most once per
// window; it remembers at most max keys per window (bounded memory: keys
// beyond that are suppressed until the window ends).
type warnLimiter struct {
	window time.Duration
	max    int

	mu    sync.Mutex
	start time.Time
	seen  map[string]struct{}
}

func newWarnLimiter(window time.Duration, max int) *warnLimiter {
	return &warnLimiter{window: window, max: max, seen: make(map[string]struct{})}
}

func (w *warnLimiter) allow(key string) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	now := time.Now()
	if now.Sub(w.start) >= w.window {
		w.start = now
		clear(w.seen)
	}
	if _, ok := w.seen[key]; ok || len(w.seen) >= w.max {
		return false
	}
	w.seen[key] = struct{}{}
	return true
}
