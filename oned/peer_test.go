package oned

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
)

// TestTLSPeerIdentity: a request over mutual TLS carries the zone server
// named by its verified certificate's oneha:// URI SAN; a verified
// certificate without one carries an identity no server has; a request
// without a verified chain carries none (the resync then relies on the
// replicated token alone).
func TestTLSPeerIdentity(t *testing.T) {
	cert := func(uris ...string) *tls.ConnectionState {
		c := &x509.Certificate{}
		for _, s := range uris {
			u, err := url.Parse(s)
			if err != nil {
				t.Fatal(err)
			}
			c.URIs = append(c.URIs, u)
		}
		return &tls.ConnectionState{VerifiedChains: [][]*x509.Certificate{{c}}}
	}
	for _, tc := range []struct {
		name     string
		tls      *tls.ConnectionState
		want     peerIdentity
		wantKnow bool
	}{
		{"plain HTTP", nil, peerIdentity{}, false},
		{"TLS without a verified chain", &tls.ConnectionState{}, peerIdentity{}, false},
		{"server 2 of zone 0", cert("spiffe://x/y", "oneha://zone/0/server/2"), peerIdentity{0, 2}, true},
		{"no oneha SAN", cert("spiffe://x/y"), peerIdentity{-1, -1}, true},
		{"trailing path", cert("oneha://zone/0/server/2/x"), peerIdentity{-1, -1}, true},
		{"negative id", cert("oneha://zone/0/server/-1"), peerIdentity{-1, -1}, true},
		{"other host", cert("oneha://zones/0/server/1"), peerIdentity{-1, -1}, true},
		{"userinfo", cert("oneha://evil@zone/0/server/1"), peerIdentity{-1, -1}, true},
		{"two identities", cert("oneha://zone/0/server/1", "oneha://zone/0/server/2"), peerIdentity{-1, -1}, true},
		{"a malformed identity beside a good one", cert("oneha://zone/0/server/1", "oneha://zone/0/server/x"), peerIdentity{-1, -1}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var got peerIdentity
			var known bool
			h := withTLSPeer(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
				got, known = peerServerID(r.Context())
			}))
			r := httptest.NewRequest(http.MethodPost, "/RPC2", nil)
			r.TLS = tc.tls
			h.ServeHTTP(httptest.NewRecorder(), r)
			if known != tc.wantKnow || got != tc.want {
				t.Fatalf("identity %+v known %v, want %+v %v", got, known, tc.want, tc.wantKnow)
			}
		})
	}
	if _, ok := peerServerID(context.Background()); ok {
		t.Fatal("a context without a PeerFunc has an identity")
	}
}
