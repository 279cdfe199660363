package oned

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/oneha/oneha/mux"
	"github.com/oneha/oneha/zoneca"
)

// setupZoneTLS prepares this server's zone credentials (s.creds, s.authz)
// before Raft starts; self is its advertise address ("" when solo).
//
//   - INSECURE_RAFT: no credentials; a Warn says Raft is unauthenticated.
//   - TLS.CERT/KEY: the operator's own PKI (reloaded when the files change).
//   - Otherwise the zone CA beside ONE_AUTH issues a short-lived leaf, and
//     its files are reloaded when they change (CA rotation). The CA
//     is created when missing only by a solo server or one that bootstraps
//     a one-server zone (boot); any other server refuses to start with
//     zoneca.ErrNoCA, telling the operator to copy the folder.
//
// A solo server only ensures the CA exists (so the folder operators copy
// holds it); it has no peers and gets no leaf.
func (s *Server) setupZoneTLS(ctx context.Context, self string, boot bool) error {
	if s.cfg.InsecureRaft {
		if !s.cfg.Solo() {
			s.log.Warn("INSECURE_RAFT is set: Raft and server-to-server calls are plaintext and unauthenticated; anyone who reaches PORT can rewrite this zone's database")
		}
		return nil
	}
	if s.cfg.OwnPKI() {
		if s.cfg.Solo() {
			return nil
		}
		creds, err := zoneca.NewFileCredsPoll(s.cfg.TLS.CA, s.cfg.TLS.Cert, s.cfg.TLS.Key, s.reloadEvery(), s.log)
		if err != nil {
			return fmt.Errorf("TLS.CERT: %w", err)
		}
		s.creds = creds
		s.authz = &zoneAuthorizer{db: s.db, zoneID: s.cfg.Federation.ZoneID, ownPKI: true, applied: s.fsm.AppliedIndex, restore: s.fsm.Restoring}
		return nil
	}
	certPath, keyPath := s.cfg.ZoneCAPaths()
	ca, created, err := zoneca.EnsureCA(certPath, keyPath, s.cfg.Solo() || boot)
	if errors.Is(err, zoneca.ErrNoCA) {
		return fmt.Errorf("TLS.CA: %w (a zone whose servers all predate zone TLS: run `oned zone-ca` on one server first)", err)
	}
	if err != nil {
		return fmt.Errorf("TLS.CA: %w", err)
	}
	if created {
		s.log.Warn("created this zone's CA: copy this folder to every server of the zone (OpenNebula's procedure copies it with one_auth)",
			"folder", filepath.Dir(keyPath), "ca", certPath, "ca_key", keyPath)
	}
	if s.cfg.Solo() {
		return nil
	}
	id := zoneca.Identity{ZoneID: s.cfg.Federation.ZoneID, ServerID: s.cfg.Federation.ServerID}
	ttl := time.Duration(s.cfg.TLS.LeafTTLS) * time.Second
	creds, err := zoneca.NewAutoCreds(ca, id, func() []string { return s.leafHosts(self) }, ttl, s.log)
	if err != nil {
		return fmt.Errorf("TLS.CA_KEY: %w", err)
	}
	creds.WatchCA(certPath, keyPath, s.reloadEvery()) // a CA rotation step needs no restart
	s.creds = creds
	s.authz = &zoneAuthorizer{db: s.db, zoneID: s.cfg.Federation.ZoneID, applied: s.fsm.AppliedIndex, restore: s.fsm.Restoring}
	return nil
}

// reloadEvery is TLS.RELOAD_S: how often the TLS files are checked.
func (s *Server) reloadEvery() time.Duration { return time.Duration(s.cfg.TLS.ReloadS) * time.Second }

// leafHosts are the names this server's leaf carries: its advertise host,
// the host of its ENDPOINT in the zone table as it is at this issue (a
// joiner learns it only after the snapshot; the next renewal carries it),
// LISTEN_ADDRESS when specific, the host name and the host's global unicast
// addresses except configured VIPs (a VIP moves between servers). Only
// valid IP addresses and DNS names are kept (leafHost); others are skipped
// with a warning, never written into a certificate.
func (s *Server) leafHosts(self string) []string {
	return s.validLeafHosts(s.candidateLeafHosts(self))
}

// validLeafHosts keeps the hosts leafHost accepts, normalized, each once.
func (s *Server) validLeafHosts(hosts []string) []string {
	out := make([]string, 0, len(hosts))
	for _, h := range hosts {
		n, ok := leafHost(h)
		if !ok {
			s.log.Warn("not putting this host in the zone certificate: not an IP address or a DNS host name", "host", h)
			continue
		}
		if !slices.Contains(out, n) {
			out = append(out, n)
		}
	}
	return out
}

// leafHost returns h as a certificate SAN carries it, if it is an IP
// address (brackets and zone dropped) or a DNS host name: ASCII labels of
// letters, digits and inner hyphens (RFC 1123), 1 to 63 bytes each, at most
// 253 bytes in all, no wildcard; lower case without the trailing dot.
func leafHost(h string) (string, bool) {
	if a, err := netip.ParseAddr(strings.TrimSuffix(strings.TrimPrefix(h, "["), "]")); err == nil {
		return a.WithZone("").Unmap().String(), true
	}
	name := normalHost(h)
	if name == "" || len(name) > 253 {
		return "", false
	}
	for _, label := range strings.Split(name, ".") {
		if len(label) == 0 || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return "", false
		}
		for i := 0; i < len(label); i++ {
			if c := label[i]; !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
				return "", false
			}
		}
	}
	return name, true
}

// candidateLeafHosts collects leafHosts' names before validation.
func (s *Server) candidateLeafHosts(self string) []string {
	var hosts []string
	if h, _, err := net.SplitHostPort(self); err == nil {
		hosts = append(hosts, h)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	servers, _ := listServers(ctx, s.db, s.cfg.Federation.ZoneID)
	cancel()
	for _, sv := range servers {
		if sv.ID == s.cfg.Federation.ServerID {
			if h := endpointHost(sv.Endpoint); h != "" {
				hosts = append(hosts, h)
			}
		}
	}
	if ip := net.ParseIP(s.cfg.ListenAddress); s.cfg.ListenAddress != "" && (ip == nil || !ip.IsUnspecified()) {
		hosts = append(hosts, s.cfg.ListenAddress)
	}
	if hn, err := os.Hostname(); err == nil && hn != "" {
		hosts = append(hosts, hn)
	}
	vips := map[netip.Addr]bool{}
	for _, v := range s.cfg.VIP {
		if p, err := netip.ParsePrefix(v.Address); err == nil {
			vips[p.Addr()] = true
		}
	}
	addrs, _ := net.InterfaceAddrs()
	for _, a := range addrs {
		ipn, ok := a.(*net.IPNet)
		if !ok || !ipn.IP.IsGlobalUnicast() {
			continue
		}
		if ad, ok := netip.AddrFromSlice(ipn.IP); ok && vips[ad.Unmap()] {
			continue
		}
		hosts = append(hosts, ipn.IP.String())
	}
	return hosts
}

// muxConfig is the shared port's configuration: zone mutual TLS (or
// INSECURE_RAFT's plaintext Raft), the API certificate and whether plain
// HTTP is served.
func (s *Server) muxConfig(adv net.Addr) (mux.Config, error) {
	cfg := mux.Config{Advertise: adv, Logger: s.log, AllowPlainHTTP: s.cfg.APITLS.PlainHTTP}
	var api func() *tls.Certificate
	if s.cfg.APITLS.Cert != "" {
		cert, err := tls.LoadX509KeyPair(s.cfg.APITLS.Cert, s.cfg.APITLS.Key)
		if err != nil {
			return cfg, fmt.Errorf("API_TLS.CERT: %w", err)
		}
		api = func() *tls.Certificate { return &cert }
		cfg.TLS = &tls.Config{MinVersion: tls.VersionTLS12, NextProtos: []string{"http/1.1"}, Certificates: []tls.Certificate{cert}}
	}
	switch {
	case s.creds != nil:
		creds, authz := s.creds, s.authz
		cfg.TLS = zoneca.ServerConfig(creds, authz, api)
		cfg.RaftClientTLS = func(addr string) *tls.Config { return zoneca.ClientConfig(creds, authz, zoneca.ALPNRaft, addr) }
	case s.cfg.InsecureRaft && !s.cfg.Solo():
		cfg.AllowPlainRaft = true
	}
	return cfg, nil
}
