package oned

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
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
// PeerFunc, the identity of the verified client certificate: a URI SAN
// "oneha://zone/<zid>/server/<sid>" of the leaf of its first verified
// chain. Requests without a verified chain carry no identity.
func withTLSPeer(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if id, ok := tlsPeer(r); ok {
			r = r.WithContext(WithPeer(r.Context(), func(context.Context) (int, int, bool) { return id.zoneID, id.serverID, true }))
		}
		h.ServeHTTP(w, r)
	})
}

// tlsPeer reads the zone server identity of r's verified client
// certificate. A verified certificate without one yields server -1, which
// no leader has, so such a caller is refused rather than unknown.
func tlsPeer(r *http.Request) (peerIdentity, bool) {
	if r.TLS == nil || len(r.TLS.VerifiedChains) == 0 || len(r.TLS.VerifiedChains[0]) == 0 {
		return peerIdentity{}, false
	}
	for _, u := range r.TLS.VerifiedChains[0][0].URIs {
		if id, ok := parsePeerURI(u); ok {
			return id, true
		}
	}
	return peerIdentity{zoneID: -1, serverID: -1}, true
}

// parsePeerURI parses oneha://zone/<zid>/server/<sid>.
func parsePeerURI(u *url.URL) (peerIdentity, bool) {
	if u == nil || u.Scheme != "oneha" || u.Host != "zone" {
		return peerIdentity{}, false
	}
	var id peerIdentity
	var rest string
	n, _ := fmt.Sscanf(u.Path, "/%d/server/%d%s", &id.zoneID, &id.serverID, &rest)
	if n != 2 || id.zoneID < 0 || id.serverID < 0 {
		return peerIdentity{}, false
	}
	return id, u.Path == fmt.Sprintf("/%d/server/%d", id.zoneID, id.serverID)
}
