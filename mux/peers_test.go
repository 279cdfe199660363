package mux

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"testing"
	"time"

	"github.com/hashicorp/raft"
)

// tlsConn completes a TLS client handshake to m with cert (nil: none) and
// ALPN alpn.
func tlsConn(t *testing.T, m *Mux, pki *testPKI, cert *tls.Certificate, alpn string) *tls.Conn {
	t.Helper()
	c, err := tls.Dial("tcp", m.Addr().String(), pki.clientConfig(cert, alpn))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// assertOpen asserts c is still open: a short read times out.
func assertOpen(t *testing.T, c net.Conn, what string) {
	t.Helper()
	_ = c.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
	_, err := c.Read(make([]byte, 1))
	var ne net.Error
	if !errors.As(err, &ne) || !ne.Timeout() {
		t.Fatalf("%s: connection not open: %v", what, err)
	}
	_ = c.SetReadDeadline(time.Time{})
}

func TestReauthorizeClosesConnectionsNoLongerAuthorized(t *testing.T) {
	pki := newTestPKI(t)
	m := newTestMux(t, Config{TLS: pki.serverConfig()})
	raftC := tlsConn(t, m, pki, pki.leaf, ALPNRaft)
	if _, err := raftC.Write([]byte("r")); err != nil {
		t.Fatal(err)
	}
	acceptRead(t, m.RaftLayer(), 1)
	rpcC := tlsConn(t, m, pki, pki.leaf, "oneha-rpc")
	if _, err := rpcC.Write([]byte("h")); err != nil {
		t.Fatal(err)
	}
	acceptRead(t, m.HTTPListener(), 1)
	anon := tlsConn(t, m, pki, nil, "http/1.1") // an API client: no certificate, never re-checked
	if _, err := anon.Write([]byte("a")); err != nil {
		t.Fatal(err)
	}
	acceptRead(t, m.HTTPListener(), 1)
	waitStat(t, m, "2 peer conns", func(s Stats) bool { return s.PeerConns == 2 })

	var seen []string
	if got := m.Reauthorize(context.Background(), func(_ context.Context, p Peer) error {
		seen = append(seen, p.Kind)
		if p.Leaf == nil || p.Leaf.Subject.CommonName != "server" || p.Dialed != "" {
			t.Errorf("peer %+v", p)
		}
		return nil
	}); len(got) != 0 || len(seen) != 2 {
		t.Fatalf("all authorized: closed %v, checked %v", got, seen)
	}
	assertOpen(t, raftC, "raft after an accepting check")

	errGone := errors.New("server removed")
	got := m.Reauthorize(context.Background(), func(_ context.Context, p Peer) error {
		if p.Kind == "raft" {
			return errGone
		}
		return nil
	})
	if len(got) != 1 || got[0].Kind != "raft" || !errors.Is(got[0].Err, errGone) || got[0].Leaf == nil {
		t.Fatalf("revoked %+v, want the raft connection", got)
	}
	waitClosed(t, raftC)
	assertOpen(t, rpcC, "oneha-rpc while still authorized")
	waitStat(t, m, "1 peer conn", func(s Stats) bool { return s.PeerConns == 1 && s.ClosedUnauthorized == 1 })

	m.Reauthorize(context.Background(), func(context.Context, Peer) error { return errGone })
	waitClosed(t, rpcC)
	assertOpen(t, anon, "API client without certificate")
	waitStat(t, m, "no peer conns", func(s Stats) bool { return s.PeerConns == 0 && s.ClosedUnauthorized == 2 })
}

func TestPeerConnectionClosedAtMaxLifetime(t *testing.T) {
	pki := newTestPKI(t)
	m := newTestMux(t, Config{TLS: pki.serverConfig(), MaxPeerConnLifetime: 200 * time.Millisecond})
	raftC := tlsConn(t, m, pki, pki.leaf, ALPNRaft)
	if _, err := raftC.Write([]byte("r")); err != nil {
		t.Fatal(err)
	}
	acceptRead(t, m.RaftLayer(), 1)
	anon := tlsConn(t, m, pki, nil, "http/1.1")
	if _, err := anon.Write([]byte("a")); err != nil {
		t.Fatal(err)
	}
	acceptRead(t, m.HTTPListener(), 1)
	waitClosed(t, raftC)
	waitStat(t, m, "lifetime close counted", func(s Stats) bool { return s.ClosedLifetime == 1 && s.PeerConns == 0 })
	assertOpen(t, anon, "API client (no lifetime)")
}

func TestPeerConnectionClosedWhenItsCertificateExpires(t *testing.T) {
	pki := newTestPKI(t)
	m := newTestMux(t, Config{TLS: pki.serverConfig()}) // lifetime 1h: expiry comes first
	short := pki.leafUntil(t, time.Now().Add(2*time.Second))
	raftC := tlsConn(t, m, pki, short, ALPNRaft)
	if _, err := raftC.Write([]byte("r")); err != nil {
		t.Fatal(err)
	}
	acceptRead(t, m.RaftLayer(), 1)
	waitClosed(t, raftC)
	waitStat(t, m, "expiry close counted", func(s Stats) bool { return s.ClosedLifetime == 1 && s.PeerConns == 0 })
}

// TestRaftTransportRecoversFromLifetimeCloses: hashicorp/raft's pooled
// connections are closed under it (both directions, short lifetime); RPCs
// keep succeeding after at most a failed attempt, because the transport
// drops a failed connection and re-dials.
func TestRaftTransportRecoversFromLifetimeCloses(t *testing.T) {
	pki := newTestPKI(t)
	cfg := Config{TLS: pki.serverConfig(), MaxPeerConnLifetime: 150 * time.Millisecond,
		RaftClientTLS: func(string) *tls.Config { return pki.clientConfig(pki.leaf, ALPNRaft) }}
	a, b := newTestMux(t, cfg), newTestMux(t, cfg)
	ta := raft.NewNetworkTransport(a.RaftLayer(), 2, 2*time.Second, io.Discard)
	tb := raft.NewNetworkTransport(b.RaftLayer(), 2, 2*time.Second, io.Discard)
	t.Cleanup(func() { ta.Close(); tb.Close() })
	go func() {
		for rpc := range tb.Consumer() {
			rpc.Respond(&raft.AppendEntriesResponse{Term: 7, Success: true}, nil)
		}
	}()
	send := func() error {
		var resp raft.AppendEntriesResponse
		req := &raft.AppendEntriesRequest{RPCHeader: raft.RPCHeader{ProtocolVersion: raft.ProtocolVersionMax, Addr: []byte(a.Addr().String())}, Term: 7}
		err := ta.AppendEntries("b", raft.ServerAddress(b.Addr().String()), req, &resp)
		if err == nil && (!resp.Success || resp.Term != 7) {
			return errors.New("bad response")
		}
		return err
	}
	if err := send(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for a.Stats().ClosedLifetime < 2 || b.Stats().ClosedLifetime < 2 {
		if time.Now().After(deadline) {
			t.Fatalf("no lifetime closes: a %+v b %+v", a.Stats(), b.Stats())
		}
		// At most one failure in a row: the next attempt re-dials.
		if err := send(); err != nil {
			if err := send(); err != nil {
				t.Fatalf("raft RPC failed twice in a row after a lifetime close: %v", err)
			}
		}
		time.Sleep(20 * time.Millisecond) // pace the RPCs: this is the load, not synchronisation
	}
}
