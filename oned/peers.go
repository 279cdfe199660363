package oned

import (
	"context"
	"crypto/x509"
	"database/sql"
	"fmt"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/oneha/oneha/xmlrpc"
	"github.com/oneha/oneha/zone"
	"github.com/oneha/oneha/zoneca"
)

// authzCacheTTL is how long a read of the zone table serves accepting
// decisions; a refusal always re-reads it first.
const authzCacheTTL = 2 * time.Second

// zoneAuthorizer is oned's zoneca.Authorizer: it admits a peer whose
// verified certificate names a server of this zone's table (read from the
// local database, which Raft keeps identical on every server).
//
//   - Inbound (dialed ""): the certificate's identity must name this zone
//     and a server of the zone table whose ENDPOINT host is one of the
//     certificate's IP or DNS SANs.
//   - Outbound (dialed = host:port): in addition, the zone table's server
//     whose ENDPOINT is dialed must be that same server, so a connection
//     reaches the server the table names, never one that merely claims it.
//   - With the operator's own PKI (TLS.CERT), a certificate without an
//     identity is matched to the single server whose ENDPOINT host is among
//     its SANs; none or several: refused. With the zone CA an identity is
//     required.
//   - While this server has never applied a log entry (a joiner before the
//     leader's first entries or snapshot: applied index 0) and its zone
//     table is empty or missing, any certificate of the zone CA that names
//     this zone (with own PKI: any certificate of its CA) is accepted: the
//     chain to the CA is then the only check. The same holds while a
//     snapshot restore (sent by the leader, over a connection already
//     authorized) is replacing the tables. Otherwise, once it has applied
//     anything, an empty or missing zone table refuses every peer: the
//     table was emptied or dropped, and accepting any leaf would switch
//     authorization off.
type zoneAuthorizer struct {
	db      *sql.DB
	zoneID  int
	ownPKI  bool          // TLS.CERT: certificates may lack a OneHA identity; else one is required
	applied func() uint64 // the FSM's applied index (sqlfsm.FSM.AppliedIndex)
	restore func() bool   // a snapshot restore is replacing the tables (sqlfsm.FSM.Restoring); may be nil

	mu      sync.Mutex
	servers []zone.Server
	missing bool // the zone table did not exist at the last read
	read    time.Time
}

// zoneTable is one read of the zone table.
type zoneTable struct {
	servers []zone.Server
	missing bool // no zone table at all (servers is empty)
}

// AuthorizePeer implements zoneca.Authorizer.
func (a *zoneAuthorizer) AuthorizePeer(ctx context.Context, leaf *x509.Certificate, dialed string) error {
	zt, err := a.list(ctx, false)
	if err != nil {
		return err
	}
	if err := a.check(zt, leaf, dialed); err == nil {
		return nil
	}
	if zt, err = a.list(ctx, true); err != nil { // the table may have changed: never refuse on a stale read
		return err
	}
	return a.check(zt, leaf, dialed)
}

func (a *zoneAuthorizer) list(ctx context.Context, fresh bool) (zoneTable, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	// An empty table (accept any zone leaf) is never served from the cache.
	if !fresh && len(a.servers) > 0 && time.Since(a.read) < authzCacheTTL {
		return zoneTable{servers: a.servers, missing: a.missing}, nil
	}
	servers, missing, err := readZoneServers(ctx, a.db, a.zoneID)
	if err != nil {
		return zoneTable{}, fmt.Errorf("%w: cannot read the zone table: %w", zoneca.ErrUnauthorizedPeer, err)
	}
	a.servers, a.missing, a.read = servers, missing, time.Now()
	return zoneTable{servers: servers, missing: missing}, nil
}

// joining reports whether this server has never applied a log entry (and
// restored no snapshot), or is restoring one: only then may its zone table
// be legitimately empty or missing. Without an applied index it is never
// assumed.
func (a *zoneAuthorizer) joining() bool {
	return a.applied != nil && a.applied() == 0 || a.restore != nil && a.restore()
}

func (a *zoneAuthorizer) check(zt zoneTable, leaf *x509.Certificate, dialed string) error {
	servers := zt.servers
	refuse := func(format string, args ...any) error {
		return fmt.Errorf("%w: %s", zoneca.ErrUnauthorizedPeer, fmt.Sprintf(format, args...))
	}
	id, named := zoneca.PeerIdentity(leaf)
	if named && id.ZoneID != a.zoneID {
		return refuse("certificate of zone %d, this is zone %d", id.ZoneID, a.zoneID)
	}
	if !named && !a.ownPKI {
		return refuse("the certificate names no zone server (a zone CA leaf without identity, e.g. a solo server's)")
	}
	if len(servers) == 0 {
		if a.joining() {
			return nil // a joiner before its first entry or snapshot: the CA chain is the check
		}
		state := "has no server of zone %d"
		if zt.missing {
			state = "is missing (zone %d)"
		}
		return refuse("this server has applied log entries but its zone table "+state+
			"; it was emptied or dropped outside OneHA: every peer is refused until it is restored (resync this server)", a.zoneID)
	}
	var peer zone.Server
	if named {
		i := slices.IndexFunc(servers, func(sv zone.Server) bool { return sv.ID == id.ServerID })
		if i < 0 {
			return refuse("server %d is not a server of zone %d", id.ServerID, a.zoneID)
		}
		peer = servers[i]
		if dialed == "" && !leafNamesHost(leaf, endpointHost(peer.Endpoint)) {
			return refuse("server %d's ENDPOINT %s is not among the certificate's addresses", peer.ID, peer.Endpoint)
		}
	} else {
		var match []zone.Server
		for _, sv := range servers {
			if leafNamesHost(leaf, endpointHost(sv.Endpoint)) {
				match = append(match, sv)
			}
		}
		if len(match) != 1 {
			return refuse("a certificate without a OneHA identity must name exactly one server's ENDPOINT host; it names %d", len(match))
		}
		peer = match[0]
	}
	if dialed == "" {
		return nil
	}
	want := normalAddr(dialed)
	i := slices.IndexFunc(servers, func(sv zone.Server) bool {
		a, err := zone.RaftAddress(sv.Endpoint)
		return err == nil && normalAddr(a) == want
	})
	if i < 0 {
		return refuse("%s is no server's ENDPOINT in zone %d", dialed, a.zoneID)
	}
	if servers[i].ID != peer.ID {
		return refuse("%s is server %d's ENDPOINT but the certificate is server %d's", dialed, servers[i].ID, peer.ID)
	}
	return nil
}

// endpointHost is the host of an ENDPOINT URL, normalized by normalHost
// ("" if malformed).
func endpointHost(endpoint string) string {
	addr, err := zone.RaftAddress(endpoint)
	if err != nil {
		return ""
	}
	h, _, _ := net.SplitHostPort(addr)
	return normalHost(h)
}

// normalHost is the form in which hosts compare: lower case, without the
// trailing dot of a fully qualified DNS name ("One-2.Example." and
// "one-2.example" are the same host).
func normalHost(h string) string {
	return strings.TrimSuffix(strings.ToLower(h), ".")
}

// normalAddr normalizes the host of host:port with normalHost, on both
// sides of every comparison of a dialed address with an ENDPOINT's.
func normalAddr(addr string) string {
	h, p, err := net.SplitHostPort(addr)
	if err != nil {
		return normalHost(addr)
	}
	return net.JoinHostPort(normalHost(h), p)
}

// leafNamesHost reports whether host (an IP or DNS name) is one of leaf's
// IP or DNS SANs.
func leafNamesHost(leaf *x509.Certificate, host string) bool {
	if host = normalHost(host); host == "" {
		return false
	}
	if ip := net.ParseIP(host); ip != nil {
		return slices.ContainsFunc(leaf.IPAddresses, ip.Equal)
	}
	return slices.ContainsFunc(leaf.DNSNames, func(d string) bool { return normalHost(d) == host })
}

// newPeerTransport is the pooled transport of every server-to-server HTTP
// call (forwarding, raftstatus, /status, resync). With zone TLS each
// connection is zoneca.DialPeer with ALPN oneha-rpc: the peer must present
// the certificate of the server the zone table names at that address.
// With INSECURE_RAFT it is plain HTTP.
func (s *Server) newPeerTransport() *http.Transport {
	t := &http.Transport{MaxIdleConnsPerHost: 4, IdleConnTimeout: 90 * time.Second, ResponseHeaderTimeout: time.Minute}
	if s.creds == nil {
		t.DialContext = (&net.Dialer{Timeout: 10 * time.Second}).DialContext
		return t
	}
	creds, authz := s.creds, s.authz
	t.DialTLSContext = func(ctx context.Context, _, addr string) (net.Conn, error) {
		return zoneca.DialPeer(ctx, creds, authz, zoneca.ALPNPeer, addr)
	}
	return t
}

// peerURL is endpoint (an ENDPOINT URL) as server-to-server calls reach it:
// https when the zone uses TLS.
func (s *Server) peerURL(endpoint string) string {
	if s.creds == nil {
		return endpoint
	}
	if rest, ok := strings.CutPrefix(endpoint, "http://"); ok {
		return "https://" + rest
	}
	return endpoint
}

// peerHTTP is an http.Client on the shared peer transport.
func (s *Server) peerHTTP(timeout time.Duration) *http.Client {
	return &http.Client{Transport: s.peerTr, Timeout: timeout}
}

// peerClient is an XML-RPC client for another server of the zone.
func (s *Server) peerClient(endpoint string, timeout time.Duration) *xmlrpc.Client {
	return &xmlrpc.Client{URL: s.peerURL(endpoint), HTTP: s.peerHTTP(timeout), MaxBody: xmlrpc.DefaultMaxBody}
}
