package oned

import (
	"context"
	"crypto/tls"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"github.com/oneha/oneha/mux"
	"github.com/oneha/oneha/sqlfsm"
	"github.com/oneha/oneha/zoneca"
)

// peerListener hands out server-side zone TLS connections as the mux does
// (mux.ALPNConn, so net/http serves HTTP/1.1 on ALPN oneha-rpc).
type peerListener struct {
	net.Listener
	cfg *tls.Config
}

func (l *peerListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		tc := tls.Server(c, l.cfg)
		if err := tc.Handshake(); err != nil {
			c.Close()
			continue
		}
		return mux.ALPNConn{Conn: tc}, nil
	}
}

// statusRecorder serves /status and records whether the last request
// carried Basic credentials and a verified client certificate.
type statusRecorder struct {
	basic, verified chan bool
}

func newStatusRecorder() *statusRecorder {
	return &statusRecorder{basic: make(chan bool, 1), verified: make(chan bool, 1)}
}

func (rec *statusRecorder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	_, _, basic := r.BasicAuth()
	rec.basic <- basic
	rec.verified <- r.TLS != nil && len(r.TLS.VerifiedChains) > 0
	w.Header().Set("Content-Type", "application/json")
	w.Write([]byte(`{"APPLIED_INDEX": 7}`))
}

// TestStatusOverZoneTLSSendsNoPassword: a server reading a peer's /status
// over the zone's mutual TLS is authorized by its certificate and sends no
// oneadmin password; in INSECURE_RAFT mode (plain HTTP) it sends Basic
// credentials, the only authorization there.
func TestStatusOverZoneTLSSendsNoPassword(t *testing.T) {
	dir := t.TempDir()
	db, err := sqlfsm.OpenSQLite(filepath.Join(dir, "one.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	// A joiner's authorizer (nothing applied, no zone table): any zone leaf.
	authz := &zoneAuthorizer{db: db, zoneID: 0, applied: func() uint64 { return 0 }}
	ca, _, err := zoneca.EnsureCA(filepath.Join(dir, "ca.crt"), filepath.Join(dir, "ca.key"), true)
	if err != nil {
		t.Fatal(err)
	}
	creds := func(sid int) *zoneca.Creds {
		c, err := zoneca.NewAutoCreds(ca, zoneca.Identity{ZoneID: 0, ServerID: sid}, func() []string { return []string{"127.0.0.1"} }, time.Hour, nil)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	auth := credentials{user: "oneadmin", password: "secret"}

	rec := newStatusRecorder()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	peer := &http.Server{Handler: rec}
	go peer.Serve(&peerListener{Listener: ln, cfg: zoneca.ServerConfig(creds(1), authz, nil)})
	defer peer.Close()
	s := &Server{creds: creds(2), authz: authz, auth: auth}
	s.peerTr = s.newPeerTransport()
	defer s.peerTr.CloseIdleConnections()
	var st struct{ APPLIED_INDEX uint64 }
	base := "http://" + ln.Addr().String() // an ENDPOINT's form
	if err := s.getStatus(ctx, base, 10*time.Second, &st); err != nil || st.APPLIED_INDEX != 7 {
		t.Fatalf("status over zone TLS: %+v, %v", st, err)
	}
	if <-rec.basic {
		t.Error("status over zone TLS sent oneadmin's password")
	}
	if !<-rec.verified {
		t.Error("status over zone TLS came without a verified client certificate")
	}

	rec = newStatusRecorder()
	plain := httptest.NewServer(rec)
	defer plain.Close()
	insecure := &Server{auth: auth}
	insecure.peerTr = insecure.newPeerTransport()
	defer insecure.peerTr.CloseIdleConnections()
	if err := insecure.getStatus(ctx, plain.URL, 10*time.Second, &st); err != nil {
		t.Fatalf("status over INSECURE_RAFT: %v", err)
	}
	if !<-rec.basic {
		t.Error("status over INSECURE_RAFT sent no credentials")
	}
}
