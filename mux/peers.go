package mux

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"sync"
	"time"
)

// ErrLeafExpired is why Reauthorize closes a connection whose peer
// certificate has expired since the handshake.
var ErrLeafExpired = errors.New("mux: the peer certificate has expired")

// Peer describes an open authenticated connection: an inbound Raft
// connection, an inbound TLS HTTP connection that presented a verified
// client certificate (server-to-server oneha-rpc), or a Raft connection
// this server dialed.
type Peer struct {
	// Leaf is the peer's certificate verified at the handshake (nil for
	// plaintext Raft, INSECURE_RAFT).
	Leaf *x509.Certificate
	// Intermediates are the other certificates the peer sent, for
	// re-verifying Leaf's chain.
	Intermediates []*x509.Certificate
	// Dialed is the address this server dialed ("" for inbound).
	Dialed string
	// Remote is the peer's address.
	Remote string
	// Kind is "raft", "http" (inbound) or "raft-dial" (outbound).
	Kind string
	// Since is when the connection was authenticated.
	Since time.Time
}

// peerOf describes a connection whose peer sent certs (leaf first; none:
// plaintext Raft).
func peerOf(certs []*x509.Certificate, dialed, remote, kind string) Peer {
	p := Peer{Dialed: dialed, Remote: remote, Kind: kind}
	if len(certs) > 0 {
		p.Leaf, p.Intermediates = certs[0], certs[1:]
	}
	return p
}

// Revoked is a connection Reauthorize closed and why.
type Revoked struct {
	Peer
	Err error
}

// peerSet is the Mux's registry of open authenticated connections.
type peerSet struct {
	mu sync.Mutex
	m  map[*slotConn]Peer
}

// addPeer registers an authenticated connection: it is re-checked by
// Reauthorize and closed after MaxPeerConnLifetime or when its leaf
// expires, whichever is first. The entry and timer go when sc closes.
func (m *Mux) addPeer(sc *slotConn, p Peer) {
	p.Since = time.Now()
	life := m.cfg.MaxPeerConnLifetime
	expiry := false
	if p.Leaf != nil {
		if d := time.Until(p.Leaf.NotAfter); d < life {
			life, expiry = max(d, 0), true
		}
	}
	m.peers.mu.Lock()
	m.peers.m[sc] = p
	m.peers.mu.Unlock()
	t := time.AfterFunc(life, func() {
		m.stats.closedLifetime.Add(1)
		m.log.Info("mux: closing a peer connection at the end of its lifetime; the peer re-dials",
			"kind", p.Kind, "remote", p.Remote, "dialed", p.Dialed, "leaf_expired", expiry, "age", time.Since(p.Since).Round(time.Second))
		_ = sc.Close()
	})
	sc.onClose(func() {
		t.Stop()
		m.peers.mu.Lock()
		delete(m.peers.m, sc)
		m.peers.mu.Unlock()
	})
}

// Reauthorize re-checks every open authenticated connection that carries a
// certificate with check (called without the Mux's locks; for an inbound
// one Peer.Dialed is "") and closes each one check refuses or whose
// certificate has expired. It returns the closed ones, so the caller can
// log them with their identity. Connections opened while it runs are
// checked at their handshake instead.
func (m *Mux) Reauthorize(ctx context.Context, check func(ctx context.Context, p Peer) error) []Revoked {
	type entry struct {
		sc *slotConn
		p  Peer
	}
	m.peers.mu.Lock()
	list := make([]entry, 0, len(m.peers.m))
	for sc, p := range m.peers.m {
		if p.Leaf != nil {
			list = append(list, entry{sc, p})
		}
	}
	m.peers.mu.Unlock()
	var out []Revoked
	now := time.Now()
	for _, e := range list {
		if ctx.Err() != nil {
			break
		}
		var err error
		if now.After(e.p.Leaf.NotAfter) {
			err = fmt.Errorf("%w (not after %s)", ErrLeafExpired, e.p.Leaf.NotAfter.UTC().Format(time.RFC3339))
		} else {
			err = check(ctx, e.p)
		}
		if err == nil || ctx.Err() != nil {
			continue // a check cut short by ctx is no refusal
		}
		m.stats.closedUnauthorized.Add(1) // before the peer can see the close
		_ = e.sc.Close()
		out = append(out, Revoked{Peer: e.p, Err: err})
	}
	return out
}
