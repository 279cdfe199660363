package zoneca

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"net"
	"net/http"
	"slices"
	"strconv"
	"testing"
	"time"
)

func TestPeersOfOneZoneConnectOnBothALPNs(t *testing.T) {
	ca := newTestCA(t)
	srvCreds := newTestCreds(t, ca, Identity{0, 1}, time.Hour)
	cliCreds := newTestCreds(t, ca, Identity{0, 2}, time.Hour)
	srvTable := newZoneTable(0, map[int]string{1: "", 2: ""})
	srv := startServer(t, ServerConfig(srvCreds, srvTable, nil))
	cliTable := newZoneTable(0, map[int]string{1: srv.addr, 2: ""})

	for _, alpn := range []string{ALPNRaft, ALPNPeer} {
		st, err := dialPeer(t, cliCreds, cliTable, alpn, srv.addr)
		if err != nil {
			t.Fatalf("%s: %v", alpn, err)
		}
		if st.NegotiatedProtocol != alpn {
			t.Errorf("client negotiated %q, want %q", st.NegotiatedProtocol, alpn)
		}
		if got, _ := PeerIdentity(st.PeerCertificates[0]); got != (Identity{0, 1}) {
			t.Errorf("client sees server %v", got)
		}
		r := srv.next(t)
		if r.err != nil {
			t.Fatalf("server: %v", r.err)
		}
		if len(r.state.VerifiedChains) == 0 {
			t.Error("server: VerifiedChains empty for a zone peer")
		}
		if got, _ := PeerIdentity(r.state.PeerCertificates[0]); got != (Identity{0, 2}) {
			t.Errorf("server sees client %v", got)
		}
	}
	if got := srvTable.calls(); !slices.Equal(got, []string{"", ""}) {
		t.Errorf("server authorizer calls (dialed) = %q, want two inbound", got)
	}
	if got := cliTable.calls(); !slices.Equal(got, []string{srv.addr, srv.addr}) {
		t.Errorf("client authorizer calls (dialed) = %q, want the dialed address", got)
	}
}

func TestPeerFromAnotherCAIsRefused(t *testing.T) {
	zoneCA, otherCA := newTestCA(t), newTestCA(t)
	table := newZoneTable(0, map[int]string{1: "", 2: ""})

	t.Run("inbound", func(t *testing.T) {
		srv := startServer(t, ServerConfig(newTestCreds(t, zoneCA, Identity{0, 1}, time.Hour), table, nil))
		// Same identity as a zone member, but signed by another CA.
		intruder := newTestCreds(t, otherCA, Identity{0, 2}, time.Hour)
		for _, alpn := range []string{ALPNRaft, ALPNPeer, "http/1.1"} {
			_, err := dialRaw(t, srv.addr, &tls.Config{
				InsecureSkipVerify: true, // the intruder trusts anyone; the server must not
				NextProtos:         []string{alpn},
				// Sent whatever CAs the server asks for.
				GetClientCertificate: func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return intruder.Certificate(), nil },
			})
			if err == nil {
				t.Fatalf("%s: client with another CA's certificate was served", alpn)
			}
			r := srv.next(t)
			if r.err == nil {
				t.Fatalf("%s: server accepted a certificate from another CA", alpn)
			}
			herr := HandshakeError(r.err)
			if !errors.Is(herr, ErrUnauthorizedPeer) {
				t.Errorf("%s: HandshakeError(%v) does not wrap ErrUnauthorizedPeer", alpn, herr)
			}
			mustContain(t, herr, "another CA")
		}
		if n := len(table.calls()); n != 0 {
			t.Errorf("authorizer consulted %d times for unverified certificates", n)
		}
	})

	t.Run("dial", func(t *testing.T) {
		// A server of another CA that would accept anybody.
		rogue := startServer(t, ServerConfig(newTestCreds(t, otherCA, Identity{0, 1}, time.Hour), allowAll, nil))
		me := newTestCreds(t, zoneCA, Identity{0, 2}, time.Hour)
		cliTable := newZoneTable(0, map[int]string{1: rogue.addr})
		_, err := dialPeer(t, me, cliTable, ALPNRaft, rogue.addr)
		if !errors.Is(err, ErrUnauthorizedPeer) {
			t.Fatalf("dialing a server of another CA: err = %v, want ErrUnauthorizedPeer", err)
		}
		mustContain(t, err, "another CA", rogue.addr)
		if n := len(cliTable.calls()); n != 0 {
			t.Errorf("authorizer consulted %d times for an unverified server", n)
		}
		// The refusal came before our certificate was sent.
		if r := rogue.next(t); r.err == nil || len(r.state.PeerCertificates) != 0 {
			t.Errorf("rogue server got a client certificate (err %v)", r.err)
		}
	})
}

func TestPeerRefusedByAuthorizer(t *testing.T) {
	ca := newTestCA(t)

	t.Run("inbound", func(t *testing.T) {
		table := newZoneTable(0, map[int]string{1: "", 2: ""})
		srv := startServer(t, ServerConfig(newTestCreds(t, ca, Identity{0, 1}, time.Hour), table, nil))
		stranger := newTestCreds(t, ca, Identity{0, 7}, time.Hour) // valid cert, not in the table
		_, err := dialPeer(t, stranger, allowAll, ALPNRaft, srv.addr)
		if err == nil {
			t.Fatal("server 7 was served although not in the zone")
		}
		r := srv.next(t)
		if !errors.Is(r.err, ErrUnauthorizedPeer) {
			t.Fatalf("server error %v does not wrap ErrUnauthorizedPeer", r.err)
		}
		mustContain(t, r.err, "server 7 is not in the zone", "127.0.0.1")
		if HandshakeError(r.err) != r.err {
			t.Error("HandshakeError changed an error that already wraps ErrUnauthorizedPeer")
		}
	})

	t.Run("dial", func(t *testing.T) {
		srv := startServer(t, ServerConfig(newTestCreds(t, ca, Identity{0, 1}, time.Hour), allowAll, nil))
		me := newTestCreds(t, ca, Identity{0, 2}, time.Hour)
		// The zone table says server 1 lives elsewhere: whoever answers at
		// srv.addr is not who we meant to reach.
		table := newZoneTable(0, map[int]string{1: "127.0.0.1:1"})
		_, err := dialPeer(t, me, table, ALPNPeer, srv.addr)
		if !errors.Is(err, ErrUnauthorizedPeer) {
			t.Fatalf("err = %v, want ErrUnauthorizedPeer", err)
		}
		mustContain(t, err, "dialed "+srv.addr+" but server 1 is at 127.0.0.1:1")
		if got := table.calls(); !slices.Equal(got, []string{srv.addr}) {
			t.Errorf("authorizer got dialed=%q", got)
		}
		_ = srv.next(t)
	})

	t.Run("nil authorizer refuses", func(t *testing.T) {
		srv := startServer(t, ServerConfig(newTestCreds(t, ca, Identity{0, 1}, time.Hour), nil, nil))
		me := newTestCreds(t, ca, Identity{0, 2}, time.Hour)
		_, err := dialPeer(t, me, allowAll, ALPNRaft, srv.addr)
		if err == nil {
			t.Fatal("a server without an authorizer accepted a peer")
		}
		if r := srv.next(t); !errors.Is(r.err, ErrUnauthorizedPeer) {
			t.Errorf("server error %v", r.err)
		}
	})
}

func TestPeerALPNRequiresClientCert(t *testing.T) {
	ca := newTestCA(t)
	srv := startServer(t, ServerConfig(newTestCreds(t, ca, Identity{0, 1}, time.Hour), allowAll, nil))
	for _, protos := range [][]string{{ALPNRaft}, {ALPNPeer}, {"http/1.1", ALPNRaft}} {
		_, err := dialRaw(t, srv.addr, &tls.Config{InsecureSkipVerify: true, NextProtos: protos})
		if err == nil {
			t.Fatalf("client offering %q without a certificate was served", protos)
		}
		r := srv.next(t)
		if r.err == nil {
			t.Fatalf("server accepted %q without a client certificate", protos)
		}
		if herr := HandshakeError(r.err); !errors.Is(herr, ErrUnauthorizedPeer) {
			t.Errorf("HandshakeError(%v) does not wrap ErrUnauthorizedPeer", r.err)
		}
	}
	// Control: the same certificate-less client is fine as an HTTPS client.
	st, err := dialRaw(t, srv.addr, &tls.Config{InsecureSkipVerify: true, NextProtos: []string{"h2", "http/1.1"}})
	if err != nil || st.NegotiatedProtocol != "http/1.1" {
		t.Fatalf("HTTPS client: proto %q err %v (want http/1.1, no h2)", st.NegotiatedProtocol, err)
	}
	if r := srv.next(t); r.err != nil {
		t.Fatal(r.err)
	}
}

// apiCert is an ordinary HTTPS certificate (API_TLS) from its own CA.
func apiCert(t *testing.T) (*tls.Certificate, *x509.CertPool) {
	t.Helper()
	ca := newTestCA(t)
	c, err := ca.Issue(Identity{}, []string{"127.0.0.1"}, time.Hour, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	return &c, ca.Pool()
}

// startHTTPS serves HTTP over ServerConfig; the handler reports whether the
// request came from a verified zone peer.
func startHTTPS(t *testing.T, cfg *tls.Config) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	hs := &http.Server{
		ReadHeaderTimeout: 10 * time.Second,
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			peer := "anonymous"
			if len(r.TLS.VerifiedChains) > 0 {
				if id, ok := PeerIdentity(r.TLS.VerifiedChains[0][0]); ok {
					peer = "server " + strconv.Itoa(id.ServerID)
				}
			}
			io.WriteString(w, peer)
		}),
	}
	go hs.Serve(tls.NewListener(ln, cfg))
	t.Cleanup(func() { hs.Close() })
	return ln.Addr().String()
}

func httpsGet(t *testing.T, addr string, cfg *tls.Config) (body string, served *x509.Certificate, err error) {
	t.Helper()
	cl := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: cfg}}
	defer cl.CloseIdleConnections()
	resp, err := cl.Get("https://" + addr + "/")
	if err != nil {
		return "", nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return string(b), resp.TLS.PeerCertificates[0], err
}

func TestHTTPSClientWithoutCertIsServedAPICert(t *testing.T) {
	ca := newTestCA(t)
	creds := newTestCreds(t, ca, Identity{0, 1}, time.Hour)
	api, apiPool := apiCert(t)
	var apiOn = true
	addr := startHTTPS(t, ServerConfig(creds, allowAll, func() *tls.Certificate {
		if apiOn {
			return api
		}
		return nil
	}))

	// An ordinary client that trusts only the API certificate's CA.
	body, served, err := httpsGet(t, addr, &tls.Config{RootCAs: apiPool})
	if err != nil {
		t.Fatalf("HTTPS client without certificate: %v", err)
	}
	if !served.Equal(api.Leaf) || body != "anonymous" {
		t.Errorf("served %q, body %q; want the API certificate and an anonymous request", served.Subject.CommonName, body)
	}

	// A zone peer calling over plain HTTPS with its certificate is
	// recognised from r.TLS.VerifiedChains.
	peer := newTestCreds(t, ca, Identity{0, 2}, time.Hour)
	body, _, err = httpsGet(t, addr, &tls.Config{RootCAs: apiPool, Certificates: []tls.Certificate{*peer.Certificate()}})
	if err != nil || body != "server 2" {
		t.Errorf("peer over HTTPS: body %q err %v, want \"server 2\"", body, err)
	}

	// Without an API certificate the zone leaf is served.
	apiOn = false
	_, served, err = httpsGet(t, addr, &tls.Config{RootCAs: creds.Pool()})
	if err != nil || !served.Equal(creds.Leaf()) {
		t.Errorf("without API_TLS: err %v, served %v; want the zone leaf", err, served)
	}
}

func TestHTTPSClientCertMustVerify(t *testing.T) {
	ca, other := newTestCA(t), newTestCA(t)
	api, apiPool := apiCert(t)
	srv := startServer(t, ServerConfig(newTestCreds(t, ca, Identity{0, 1}, time.Hour), newZoneTable(0, map[int]string{1: ""}), func() *tls.Certificate { return api }))

	for name, cert := range map[string]*Creds{
		"another CA":            newTestCreds(t, other, Identity{0, 2}, time.Hour),
		"refused by authorizer": newTestCreds(t, ca, Identity{0, 9}, time.Hour),
	} {
		_, err := dialRaw(t, srv.addr, &tls.Config{RootCAs: apiPool, NextProtos: []string{"http/1.1"},
			GetClientCertificate: func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return cert.Certificate(), nil }})
		if err == nil {
			t.Errorf("%s: HTTPS client certificate accepted", name)
		}
		if r := srv.next(t); !errors.Is(HandshakeError(r.err), ErrUnauthorizedPeer) {
			t.Errorf("%s: server error %v", name, r.err)
		}
	}
}

func TestDialRefusesWrongALPN(t *testing.T) {
	ca := newTestCA(t)
	me := newTestCreds(t, ca, Identity{0, 2}, time.Hour)
	// A zone server that ignores ALPN (negotiates none).
	cfg := &tls.Config{
		Certificates: []tls.Certificate{*newTestCreds(t, ca, Identity{0, 1}, time.Hour).Certificate()},
	}
	srv := startServer(t, cfg)
	_, err := dialPeer(t, me, allowAll, ALPNRaft, srv.addr)
	if !errors.Is(err, ErrUnauthorizedPeer) {
		t.Fatalf("err = %v, want ErrUnauthorizedPeer for a server not speaking %s", err, ALPNRaft)
	}
	mustContain(t, err, "negotiated protocol")
	_ = srv.next(t)
}

func TestVerifyLeafNeverTrustsSystemRoots(t *testing.T) {
	leaf := newTestCreds(t, newTestCA(t), Identity{0, 1}, time.Hour).Leaf()
	if err := VerifyLeaf(nil, leaf, nil, x509.ExtKeyUsageServerAuth, time.Now()); !errors.Is(err, ErrUnauthorizedPeer) {
		t.Fatalf("nil pool: %v", err)
	}
	if err := VerifyLeaf(x509.NewCertPool(), leaf, nil, x509.ExtKeyUsageServerAuth, time.Now()); !errors.Is(err, ErrUnauthorizedPeer) {
		t.Fatalf("empty pool: %v", err)
	}
}

func TestPeersConnectOverTLS12(t *testing.T) {
	ca, other := newTestCA(t), newTestCA(t)
	srv := startServer(t, ServerConfig(newTestCreds(t, ca, Identity{0, 1}, time.Hour), newZoneTable(0, map[int]string{2: ""}), nil))
	dial := func(c *Creds, authz Authorizer) (tls.ConnectionState, error) {
		cfg := ClientConfig(c, authz, ALPNRaft, srv.addr)
		cfg.MaxVersion = tls.VersionTLS12
		return dialRaw(t, srv.addr, cfg)
	}
	st, err := dial(newTestCreds(t, ca, Identity{0, 2}, time.Hour), allowAll)
	if err != nil || st.Version != tls.VersionTLS12 || st.NegotiatedProtocol != ALPNRaft {
		t.Fatalf("TLS 1.2 peer: version %x proto %q err %v", st.Version, st.NegotiatedProtocol, err)
	}
	if r := srv.next(t); r.err != nil || len(r.state.VerifiedChains) == 0 {
		t.Fatalf("server: %v", r.err)
	}
	// Refusals hold in TLS 1.2 too: another CA, then the authorizer.
	for _, c := range []*Creds{newTestCreds(t, other, Identity{0, 2}, time.Hour), newTestCreds(t, ca, Identity{0, 3}, time.Hour)} {
		_, err := dialRaw(t, srv.addr, &tls.Config{
			InsecureSkipVerify: true, MaxVersion: tls.VersionTLS12, NextProtos: []string{ALPNRaft},
			GetClientCertificate: func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return c.Certificate(), nil },
		})
		if err == nil {
			t.Error("TLS 1.2 client refused by the server was served")
		}
		if r := srv.next(t); !errors.Is(HandshakeError(r.err), ErrUnauthorizedPeer) {
			t.Errorf("server error %v", r.err)
		}
	}
}
