package zoneca

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"strings"
	"time"
)

// leafBackdate is how far before "now" a leaf's validity starts, to tolerate
// clock differences between the servers of a zone.
const leafBackdate = 5 * time.Minute

// SoloServerID is the ServerID of a server not yet in a zone (oned's
// SERVER_ID -1). Its leaf carries no URI SAN: it can serve HTTPS but
// PeerIdentity finds no identity in it, so it is never a zone peer.
const SoloServerID = -1

// Issue signs a new leaf for id with a fresh ECDSA P-256 key: a random
// 128-bit serial, valid from now-5m to now+ttl (never past the CA's own
// NotAfter), KeyUsage DigitalSignature, ExtKeyUsage ServerAuth and
// ClientAuth, the URI SAN id.URI() (none for SoloServerID), and one SAN per
// distinct non-empty host (IP addresses as IP SANs, anything else as a DNS
// name; a ":port" suffix is dropped). The result holds the parsed Leaf.
// Without a CA key the error wraps ErrNoCAKey.
func (ca *CA) Issue(id Identity, hosts []string, ttl time.Duration, now time.Time) (tls.Certificate, error) {
	if ca == nil || ca.Cert == nil {
		return tls.Certificate{}, fmt.Errorf("%w: no CA certificate", ErrNoCA)
	}
	if ca.Key == nil {
		return tls.Certificate{}, fmt.Errorf("%w: cannot issue a certificate for %s without the key of %q", ErrNoCAKey, id, ca.Cert.Subject.CommonName)
	}
	if ttl <= 0 {
		return tls.Certificate{}, fmt.Errorf("zoneca: certificate lifetime %v must be positive", ttl)
	}
	if id.ZoneID < 0 || id.ServerID < SoloServerID {
		return tls.Certificate{}, fmt.Errorf("zoneca: cannot issue a certificate for %s: negative id", id)
	}
	notAfter := now.Add(ttl)
	if notAfter.After(ca.Cert.NotAfter) {
		notAfter = ca.Cert.NotAfter
	}
	if !notAfter.After(now) {
		return tls.Certificate{}, fmt.Errorf("zoneca: the zone CA %q expired on %s", ca.Cert.Subject.CommonName, ca.Cert.NotAfter.UTC().Format(time.RFC3339))
	}
	ips, dns := splitHosts(hosts)
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("zoneca: generating key: %w", err)
	}
	serial, err := randomSerial()
	if err != nil {
		return tls.Certificate{}, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: fmt.Sprintf("oneha zone %d server %d", id.ZoneID, id.ServerID)},
		NotBefore:             now.Add(-leafBackdate),
		NotAfter:              notAfter,
		KeyUsage:              x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
		BasicConstraintsValid: true,
		IPAddresses:           ips,
		DNSNames:              dns,
	}
	if id.ServerID == SoloServerID {
		tmpl.Subject.CommonName = fmt.Sprintf("oneha zone %d solo server", id.ZoneID)
	} else {
		tmpl.URIs = []*url.URL{id.URI()}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.Cert, &key.PublicKey, ca.Key)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("zoneca: signing certificate for %s: %w", id, err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("zoneca: %w", err)
	}
	if leaf.NotAfter.Before(leaf.NotBefore) {
		return tls.Certificate{}, errors.New("zoneca: empty validity period")
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, nil
}

// splitHosts turns host names and addresses into IP and DNS SANs: trimmed,
// brackets and IPv6 zones removed, empty entries skipped, duplicates dropped
// (in order of first appearance).
func splitHosts(hosts []string) ([]net.IP, []string) {
	var (
		ips  []net.IP
		dns  []string
		seen = map[string]bool{}
	)
	for _, h := range hosts {
		h = strings.TrimSpace(h)
		if host, port, err := net.SplitHostPort(h); err == nil && isDigits(port) {
			h = host
		}
		h = strings.TrimSuffix(strings.TrimPrefix(h, "["), "]")
		if h == "" {
			continue
		}
		if a, err := netip.ParseAddr(h); err == nil {
			a = a.WithZone("").Unmap()
			if k := "ip:" + a.String(); !seen[k] {
				seen[k] = true
				ips = append(ips, net.IP(a.AsSlice()))
			}
			continue
		}
		h = strings.ToLower(strings.TrimSuffix(h, "."))
		if k := "dns:" + h; h != "" && !seen[k] {
			seen[k] = true
			dns = append(dns, h)
		}
	}
	return ips, dns
}

func isDigits(s string) bool {
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return s != ""
}
