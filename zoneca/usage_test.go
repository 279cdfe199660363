package zoneca

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"math/big"
	"net/url"
	"path/filepath"
	"testing"
	"time"

	"encoding/pem"
)

// issueWithUsages signs, with the zone CA ca, a leaf naming id (URI SAN
// and 127.0.0.1) with exactly the extended key usages eku: what an
// operator's CA might issue for another purpose.
func issueWithUsages(t *testing.T, ca *CA, id Identity, eku []x509.ExtKeyUsage) tls.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(now.UnixNano()),
		Subject:               pkix.Name{CommonName: "web server"},
		NotBefore:             now.Add(-time.Minute),
		NotAfter:              now.Add(time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           eku,
		BasicConstraintsValid: true,
		URIs:                  []*url.URL{id.URI()},
	}
	tmpl.IPAddresses = append(tmpl.IPAddresses, []byte{127, 0, 0, 1})
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.Cert, &key.PublicKey, ca.Key)
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}
}

// TestLeafWithoutBothUsagesIsNoPeer: a leaf of the zone's own CA that does
// not list both ServerAuth and ClientAuth (none at all, which crypto/x509
// takes as any usage, or only one of them) is refused as a peer in both
// directions and as this server's own file certificate.
func TestLeafWithoutBothUsagesIsNoPeer(t *testing.T) {
	ca := newTestCA(t)
	cases := map[string][]x509.ExtKeyUsage{
		"no EKU":      nil,
		"any":         {x509.ExtKeyUsageAny},
		"server only": {x509.ExtKeyUsageServerAuth},
		"client only": {x509.ExtKeyUsageClientAuth},
	}
	good := issueWithUsages(t, ca, Identity{0, 2}, []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth})
	if err := VerifyLeaf(ca.Pool(), good.Leaf, nil, x509.ExtKeyUsageServerAuth, time.Now()); err != nil {
		t.Fatalf("a leaf with both usages: %v", err)
	}
	for name, eku := range cases {
		t.Run(name, func(t *testing.T) {
			bad := issueWithUsages(t, ca, Identity{0, 2}, eku)
			for _, u := range []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth} {
				err := VerifyLeaf(ca.Pool(), bad.Leaf, nil, u, time.Now())
				if !errors.Is(err, ErrUnauthorizedPeer) {
					t.Fatalf("VerifyLeaf(%s) = %v, want ErrUnauthorizedPeer", usageName(u), err)
				}
				mustContain(t, err, "extended key usages")
			}

			// Inbound: the leaf as a client certificate, on a peer ALPN and on HTTPS.
			table := newZoneTable(0, map[int]string{1: "", 2: ""})
			srv := startServer(t, ServerConfig(newTestCreds(t, ca, Identity{0, 1}, time.Hour), table, nil))
			for _, alpn := range []string{ALPNRaft, ALPNPeer, "http/1.1"} {
				_, err := dialRaw(t, srv.addr, &tls.Config{
					InsecureSkipVerify:   true,
					NextProtos:           []string{alpn},
					GetClientCertificate: func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return &bad, nil },
				})
				r := srv.next(t)
				if err == nil || r.err == nil {
					t.Fatalf("%s: a client certificate without both usages was accepted (client err %v)", alpn, err)
				}
				if herr := HandshakeError(r.err); !errors.Is(herr, ErrUnauthorizedPeer) {
					t.Errorf("%s: server error %v does not wrap ErrUnauthorizedPeer", alpn, herr)
				}
			}
			if n := len(table.calls()); n != 0 {
				t.Errorf("authorizer consulted %d times", n)
			}

			// Dial: a server presenting the leaf.
			rogue := startServer(t, &tls.Config{Certificates: []tls.Certificate{bad}, NextProtos: []string{ALPNRaft}})
			me := newTestCreds(t, ca, Identity{0, 1}, time.Hour)
			_, err := dialPeer(t, me, newZoneTable(0, map[int]string{2: rogue.addr}), ALPNRaft, rogue.addr)
			if !errors.Is(err, ErrUnauthorizedPeer) {
				t.Fatalf("dialing a server with that leaf: %v, want ErrUnauthorizedPeer", err)
			}
			mustContain(t, err, "extended key usages", rogue.addr)
			_ = rogue.next(t)

			// Own certificate: NewFileCreds refuses it.
			dir := t.TempDir()
			caPath, certPath, keyPath := filepath.Join(dir, "ca.pem"), filepath.Join(dir, "server.pem"), filepath.Join(dir, "server.key")
			writeAtomic(t, caPath, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ca.Cert.Raw}), 0o644)
			writePair(t, bad, certPath, keyPath)
			_, err = NewFileCreds(caPath, certPath, keyPath, nil)
			mustContain(t, err, "extended key usages", certPath)
		})
	}
}
