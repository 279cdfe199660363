package zoneca

import (
	"crypto/x509"
	"fmt"
	"net/url"
	"strconv"
	"strings"
)

// ALPN protocol names that mark a connection as zone-internal. A client that
// offers one of them must present a zone certificate.
const (
	ALPNRaft = "oneha-raft" // Raft RPCs between servers of a zone
	ALPNPeer = "oneha-rpc"  // server-to-server HTTP (forwarded XML-RPC, /status)
)

const (
	uriScheme = "oneha"
	uriHost   = "zone"
)

// Identity is who a zone certificate names.
type Identity struct{ ZoneID, ServerID int }

// URI is the identity's URI SAN, "oneha://zone/<zid>/server/<sid>".
func (id Identity) URI() *url.URL {
	return &url.URL{Scheme: uriScheme, Host: uriHost, Path: fmt.Sprintf("/%d/server/%d", id.ZoneID, id.ServerID)}
}

// String is the identity as people read it ("zone 0 server 2").
func (id Identity) String() string {
	return fmt.Sprintf("zone %d server %d", id.ZoneID, id.ServerID)
}

// PeerIdentity reads the Identity from a verified leaf's URI SAN. It returns
// ok=false for a certificate without exactly one well-formed oneha URI (e.g.
// an operator's own PKI certificate, or an ambiguous one naming two servers).
// It does not verify the certificate: call it only on a verified leaf.
func PeerIdentity(cert *x509.Certificate) (Identity, bool) {
	if cert == nil {
		return Identity{}, false
	}
	var found []Identity
	for _, u := range cert.URIs {
		if u == nil || u.Scheme != uriScheme {
			continue
		}
		id, ok := parseIdentityURI(u)
		if !ok {
			return Identity{}, false // a malformed oneha URI: trust none
		}
		found = append(found, id)
	}
	if len(found) != 1 {
		return Identity{}, false
	}
	return found[0], true
}

// parseIdentityURI accepts only the canonical form Identity.URI produces.
func parseIdentityURI(u *url.URL) (Identity, bool) {
	if u.Host != uriHost || u.User != nil || u.RawQuery != "" || u.Fragment != "" || u.Opaque != "" {
		return Identity{}, false
	}
	parts := strings.Split(u.Path, "/")
	if len(parts) != 4 || parts[0] != "" || parts[2] != "server" {
		return Identity{}, false
	}
	zid, err1 := strconv.Atoi(parts[1])
	sid, err2 := strconv.Atoi(parts[3])
	if err1 != nil || err2 != nil || zid < 0 || sid < 0 {
		return Identity{}, false
	}
	id := Identity{ZoneID: zid, ServerID: sid}
	if id.URI().String() != u.String() { // rejects "+1", "01", escapes
		return Identity{}, false
	}
	return id, true
}
