package oned

import (
	"context"
	"crypto/x509"
	"fmt"
	"time"

	"github.com/oneha/oneha/mux"
	"github.com/oneha/oneha/zoneca"
)

// reauthInterval is how often the open peer connections are re-checked
// against the zone table: the longest a server removed from the zone keeps
// a connection opened while it was a member (plus one zone-table read).
const reauthInterval = 5 * time.Second

// startReauth re-authorizes the port's open peer connections every
// reauthInterval and whenever kickReauth is called, until ctx ends. A
// certificate is authorized at the handshake only; without this a server
// removed from the zone (one.zone.delserver) would keep Raft access over
// connections it opened before. No-op without zone TLS (INSECURE_RAFT,
// solo): there is no identity to re-check.
func (s *Server) startReauth(ctx context.Context) {
	if s.authz == nil || s.mux == nil {
		return
	}
	s.reauthKick = make(chan struct{}, 1)
	s.bg.Add(1)
	go func() {
		defer s.bg.Done()
		t := time.NewTicker(reauthInterval)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			case <-s.reauthKick:
			}
			s.reauthorizePeers(ctx)
		}
	}()
}

// kickReauth asks for a re-authorization round now (after the zone table
// changed); it never blocks.
func (s *Server) kickReauth() {
	if s.reauthKick == nil {
		return
	}
	select {
	case s.reauthKick <- struct{}{}:
	default:
	}
}

// reauthorizePeers runs one round: the zone table is read afresh, then every
// open peer connection whose certificate no longer chains to a trusted CA,
// that the zone authorizer now refuses, or that expired, is closed and logged at Warn with the peer's identity. When
// the zone table cannot be read the round is skipped: the connections were
// authorized, and closing every peer connection on a database hiccup would
// cut the zone apart; new connections are still checked at the handshake.
func (s *Server) reauthorizePeers(ctx context.Context) {
	ctx, cancel := context.WithTimeout(ctx, reauthInterval)
	defer cancel()
	if _, err := s.authz.list(ctx, true); err != nil {
		if ctx.Err() == nil {
			s.log.Warn("peer re-authorization skipped: cannot read the zone table", "error", err)
		}
		return
	}
	authz, creds := s.authz, s.creds
	revoked := s.mux.Reauthorize(ctx, func(ctx context.Context, p mux.Peer) error {
		if err := chainsToCurrentCA(creds, p); err != nil {
			return err
		}
		return authz.AuthorizePeer(ctx, p.Leaf, p.Dialed)
	})
	for _, r := range revoked {
		s.log.Warn("closed a connection of a peer that is no longer authorized", "peer", peerName(r.Leaf),
			"kind", r.Kind, "remote", r.Remote, "dialed", r.Dialed, "open_since", r.Since.UTC().Format(time.RFC3339), "error", r.Err)
	}
}

// chainsToCurrentCA re-verifies p's certificate against the CAs this
// server trusts now: after a zone CA rotation stops trusting the old CA
// (or own-PKI TLS.CA changes), connections opened with an old leaf go too.
// Key usages were checked at the handshake.
func chainsToCurrentCA(creds *zoneca.Creds, p mux.Peer) error {
	if creds == nil {
		return nil
	}
	inter := x509.NewCertPool()
	for _, c := range p.Intermediates {
		inter.AddCert(c)
	}
	_, err := p.Leaf.Verify(x509.VerifyOptions{Roots: creds.Pool(), Intermediates: inter, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}})
	if err != nil {
		return fmt.Errorf("%w: the certificate no longer chains to a trusted zone CA: %w", zoneca.ErrUnauthorizedPeer, err)
	}
	return nil
}

// peerName names a peer certificate for logs: its zone identity, else its
// subject, with its serial.
func peerName(leaf *x509.Certificate) string {
	if id, ok := zoneca.PeerIdentity(leaf); ok {
		return id.String() + " (serial " + leaf.SerialNumber.Text(16) + ")"
	}
	return "subject " + leaf.Subject.String() + " (serial " + leaf.SerialNumber.Text(16) + ")"
}
