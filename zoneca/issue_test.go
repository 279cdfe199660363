package zoneca

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/x509"
	"net"
	"net/url"
	"slices"
	"testing"
	"time"
)

func TestIssueNamesIdentityAndHosts(t *testing.T) {
	ca := newTestCA(t)
	now := time.Now().Truncate(time.Second)
	id := Identity{ZoneID: 3, ServerID: 4}
	hosts := []string{"10.0.0.1", "host-a.example", "", "10.0.0.1", "[::1]", " HOST-A.example. ", "fe80::1%eth0", "10.0.0.1:2633", "[::1]:2633", "host-a.example:2633"}
	cert, err := ca.Issue(id, hosts, 24*time.Hour, now)
	if err != nil {
		t.Fatal(err)
	}
	leaf := cert.Leaf
	if got := leaf.URIs; len(got) != 1 || got[0].String() != "oneha://zone/3/server/4" {
		t.Errorf("URIs %v", got)
	}
	if got, ok := PeerIdentity(leaf); !ok || got != id {
		t.Errorf("PeerIdentity = %v %v", got, ok)
	}
	wantIPs := []net.IP{net.ParseIP("10.0.0.1"), net.ParseIP("::1"), net.ParseIP("fe80::1")}
	if !slices.EqualFunc(leaf.IPAddresses, wantIPs, func(a, b net.IP) bool { return a.Equal(b) }) {
		t.Errorf("IPs %v, want %v", leaf.IPAddresses, wantIPs)
	}
	if !slices.Equal(leaf.DNSNames, []string{"host-a.example"}) {
		t.Errorf("DNS names %q", leaf.DNSNames)
	}
	if !leaf.NotBefore.Equal(now.Add(-5*time.Minute)) || !leaf.NotAfter.Equal(now.Add(24*time.Hour)) {
		t.Errorf("validity %v – %v", leaf.NotBefore, leaf.NotAfter)
	}
	if leaf.KeyUsage != x509.KeyUsageDigitalSignature || leaf.IsCA {
		t.Errorf("KeyUsage %v IsCA %v", leaf.KeyUsage, leaf.IsCA)
	}
	if !slices.Equal(leaf.ExtKeyUsage, []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth}) {
		t.Errorf("ExtKeyUsage %v", leaf.ExtKeyUsage)
	}
	if k, ok := cert.PrivateKey.(*ecdsa.PrivateKey); !ok || k.Curve != elliptic.P256() || !k.PublicKey.Equal(leaf.PublicKey) {
		t.Errorf("key %T does not match an ECDSA P-256 leaf", cert.PrivateKey)
	}
	if leaf.SerialNumber.Sign() <= 0 || leaf.SerialNumber.BitLen() > 128 || leaf.SerialNumber.BitLen() < 64 {
		t.Errorf("serial %x is not a random 128-bit number", leaf.SerialNumber)
	}
	second, _ := ca.Issue(id, hosts, time.Hour, now)
	if second.Leaf.SerialNumber.Cmp(leaf.SerialNumber) == 0 {
		t.Error("two leaves share a serial")
	}
	for _, u := range []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth} {
		if err := VerifyLeaf(ca.Pool(), leaf, nil, u, now); err != nil {
			t.Errorf("usage %v: %v", u, err)
		}
	}
	if err := VerifyLeaf(ca.Pool(), leaf, nil, x509.ExtKeyUsageServerAuth, now.Add(25*time.Hour)); err == nil {
		t.Error("leaf verifies after NotAfter")
	}
	if _, err := ca.Issue(id, nil, 0, now); err == nil {
		t.Error("Issue with ttl 0 succeeded")
	}
}

func TestIssueNeverOutlivesTheCA(t *testing.T) {
	ca := newTestCA(t)
	cert, err := ca.Issue(Identity{0, 1}, nil, 20*365*24*time.Hour, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if cert.Leaf.NotAfter.After(ca.Cert.NotAfter) {
		t.Errorf("leaf NotAfter %v after CA NotAfter %v", cert.Leaf.NotAfter, ca.Cert.NotAfter)
	}
	if _, err := ca.Issue(Identity{0, 1}, nil, time.Hour, ca.Cert.NotAfter.Add(time.Minute)); err == nil {
		t.Error("issued by an expired CA")
	}
}

func TestPeerIdentityAcceptsOnlyOneCanonicalURI(t *testing.T) {
	u := func(s string) *url.URL {
		p, err := url.Parse(s)
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	for _, tc := range []struct {
		uris []*url.URL
		ok   bool
	}{
		{[]*url.URL{u("oneha://zone/0/server/2")}, true},
		{[]*url.URL{u("spiffe://x/y"), u("oneha://zone/1/server/0")}, true},
		{nil, false},
		{[]*url.URL{u("oneha://zone/01/server/2")}, false},
		{[]*url.URL{u("oneha://zone/+1/server/2")}, false},
		{[]*url.URL{u("oneha://zone/-1/server/2")}, false},
		{[]*url.URL{u("oneha://other/1/server/2")}, false},
		{[]*url.URL{u("oneha://zone/1/server/2/x")}, false},
		{[]*url.URL{u("oneha://zone/1/server/2?q=1")}, false},
		{[]*url.URL{u("oneha://zone/1/server/2"), u("oneha://zone/1/server/3")}, false},
	} {
		_, ok := PeerIdentity(&x509.Certificate{URIs: tc.uris})
		if ok != tc.ok {
			t.Errorf("%v: ok=%v, want %v", tc.uris, ok, tc.ok)
		}
	}
	if _, ok := PeerIdentity(nil); ok {
		t.Error("nil certificate has an identity")
	}
}

func TestSoloServerLeafNamesNoPeer(t *testing.T) {
	ca := newTestCA(t)
	cert, err := ca.Issue(Identity{0, SoloServerID}, []string{"127.0.0.1"}, time.Hour, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if len(cert.Leaf.URIs) != 0 {
		t.Errorf("solo leaf has URIs %v", cert.Leaf.URIs)
	}
	if id, ok := PeerIdentity(cert.Leaf); ok {
		t.Errorf("solo leaf is taken for %v", id)
	}
	if _, err := ca.Issue(Identity{0, -2}, nil, time.Hour, time.Now()); err == nil {
		t.Error("issued for server -2")
	}
}
