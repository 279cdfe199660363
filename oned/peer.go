package oned

import (
	"context"
	"net/http"

	"github.com/oneha/oneha/zoneca"
)

// peerIdentity is the zone server a request's verified TLS client
// certificate names.
type peerIdentity struct{ zoneID, serverID int }

// peerKey is the request-context key of a PeerFunc.
type peerKey struct{}

// PeerFunc reports the zone server that sent the request whose context it
// is given, when a verified identity is known (ok false: unknown, e.g. a
// plain-HTTP request). one.zone.resync uses it to accept only the current
// leader; without one it relies on the replicated one-time token alone.
type PeerFunc func(ctx context.Context) (zoneID, serverID int, ok bool)

// WithPeer returns ctx carrying f, for the XML-RPC handlers of the request.
func WithPeer(ctx context.Context, f PeerFunc) context.Context {
	return context.WithValue(ctx, peerKey{}, f)
}

// peerServerID asks the context's PeerFunc, if any.
func peerServerID(ctx context.Context) (peerIdentity, bool) {
	f, _ := ctx.Value(peerKey{}).(PeerFunc)
	if f == nil {
		return peerIdentity{}, false
	}
	z, s, ok := f(ctx)
	return peerIdentity{z, s}, ok
}

// withTLSPeer wraps h so that a request over mutual TLS carries, as its
// PeerFunc, the identity of the verified client certificate
// (zoneca.PeerIdentity of the leaf of its first verified chain). Requests
// without a verified chain carry no identity.
func withTLSPeer(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if id, ok := tlsPeer(r); ok {
			r = r.WithContext(WithPeer(r.Context(), func(context.Context) (int, int, bool) { return id.zoneID, id.serverID, true }))
		}
		h.ServeHTTP(w, r)
	})
}

// tlsPeer reads the zone server identity of r's verified client
// certificate with zoneca.PeerIdentity, the one parser of identity URIs. A
// verified certificate without exactly one well-formed identity yields
// server -1, which no leader has, so such a caller is refused rather than
// unknown.
func tlsPeer(r *http.Request) (peerIdentity, bool) {
	if r.TLS == nil || len(r.TLS.VerifiedChains) == 0 || len(r.TLS.VerifiedChains[0]) == 0 {
		return peerIdentity{}, false
	}
	if id, ok := zoneca.PeerIdentity(r.TLS.VerifiedChains[0][0]); ok {
		return peerIdentity{zoneID: id.ZoneID, serverID: id.ServerID}, true
	}
	return peerIdentity{zoneID: -1, serverID: -1}, true
}
