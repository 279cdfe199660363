package mux

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"testing"
	"time"

	"github.com/hashicorp/raft"
)

func testLogger() *slog.Logger {
	if os.Getenv("ONEHA_TEST_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.DiscardHandler)
}

func newTestMux(t *testing.T, cfg Config) *Mux {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cfg.Logger = testLogger()
	m := New(ln, cfg)
	t.Cleanup(func() { _ = m.Close() })
	return m
}

func dialTCP(addr string) (net.Conn, error) { return net.DialTimeout("tcp", addr, time.Second) }

// waitClosed asserts the peer closes c (EOF or reset) within 5s.
func waitClosed(t *testing.T, c net.Conn) {
	t.Helper()
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	_, err := c.Read(make([]byte, 1))
	var ne net.Error
	if err == nil || errors.As(err, &ne) && ne.Timeout() {
		t.Fatalf("connection not closed by the mux: read err = %v", err)
	}
}

// waitStat polls m.Stats until cond holds (5s).
func waitStat(t *testing.T, m *Mux, what string, cond func(Stats) bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond(m.Stats()) {
		if time.Now().After(deadline) {
			t.Fatalf("%s: stats %+v", what, m.Stats())
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// acceptRead accepts one connection from ln and reads n bytes from it.
func acceptRead(t *testing.T, ln net.Listener, n int) (net.Conn, string) {
	t.Helper()
	got, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { got.Close() })
	buf := make([]byte, n)
	_ = got.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.ReadFull(got, buf); err != nil {
		t.Fatal(err)
	}
	return got, string(buf)
}

func TestPlainDispatchWhenAllowed(t *testing.T) {
	m := newTestMux(t, Config{PeekTimeout: 100 * time.Millisecond, AllowPlainRaft: true, AllowPlainHTTP: true})
	tests := []struct {
		name    string
		send    []byte
		want    string // "raft", "http" or "closed"
		wantGot string // bytes the child listener reads
	}{
		{"raft byte goes to raft, byte consumed", []byte{RaftByte, 'x', 'y'}, "raft", "xy"},
		{"HTTP POST goes to http, byte replayed", []byte("POST /RPC2"), "http", "POST /RPC2"},
		{"TLS without a TLS config is closed", []byte{0x16, 0x03, 0x01}, "closed", ""},
		{"unknown first byte is closed", []byte{0x00, 0x01}, "closed", ""},
		{"silent conn closed after peek timeout", nil, "closed", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := dialTCP(m.Addr().String())
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			if len(tt.send) > 0 {
				if _, err := c.Write(tt.send); err != nil {
					t.Fatal(err)
				}
			}
			if tt.want == "closed" {
				waitClosed(t, c)
				return
			}
			var ln net.Listener = m.HTTPListener()
			if tt.want == "raft" {
				ln = m.RaftLayer()
			}
			if _, got := acceptRead(t, ln, len(tt.wantGot)); got != tt.wantGot {
				t.Fatalf("read %q, want %q", got, tt.wantGot)
			}
		})
	}
	if s := m.Stats(); s.TimedOut < 1 || s.RefusedTLS < 1 || s.RefusedUnknown < 1 {
		t.Fatalf("refusals not counted: %+v", s)
	}
}

func TestPlainRaftRefusedUnlessAllowed(t *testing.T) {
	m := newTestMux(t, Config{AllowPlainHTTP: true})
	for i := 0; i < 3; i++ {
		c, err := dialTCP(m.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if _, err := c.Write([]byte{RaftByte, 0, 0, 0}); err != nil {
			t.Fatal(err)
		}
		waitClosed(t, c)
	}
	waitStat(t, m, "plaintext raft refusals counted", func(s Stats) bool { return s.RefusedPlainRaft == 3 })
}

func TestPlainRaftRefusalWarnsOncePerRemotePerWindow(t *testing.T) {
	w := newWarnLimiter(time.Hour, 2)
	if !w.allow("a") || w.allow("a") {
		t.Fatal("a second warning for the same remote within the window was allowed")
	}
	if !w.allow("b") || w.allow("c") {
		t.Fatal("the limiter must remember at most 2 remotes and suppress the rest")
	}
	w.start = time.Now().Add(-2 * time.Hour) // the window ends
	if !w.allow("a") {
		t.Fatal("no warning after the window ended")
	}
}

func TestPlainHTTPRefusedUnlessAllowed(t *testing.T) {
	m := newTestMux(t, Config{})
	c, err := dialTCP(m.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.Write([]byte("GET / HTTP/1.1\r\n\r\n")); err != nil {
		t.Fatal(err)
	}
	waitClosed(t, c)
	waitStat(t, m, "plain HTTP refusal counted", func(s Stats) bool { return s.RefusedPlainHTTP == 1 })
}

func TestTLSDispatchByALPN(t *testing.T) {
	pki := newTestPKI(t)
	m := newTestMux(t, Config{TLS: pki.serverConfig()})
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.TLS == nil {
			fmt.Fprint(w, "no TLS state")
			return
		}
		fmt.Fprintf(w, "tls %s", r.TLS.NegotiatedProtocol)
	})}
	go func() { _ = srv.Serve(m.HTTPListener()) }()
	t.Cleanup(func() { srv.Close() })

	t.Run("HTTPS without a client certificate reaches HTTP with r.TLS", func(t *testing.T) {
		client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: pki.clientConfig(nil, "http/1.1")}}
		resp, err := client.Get("https://" + m.Addr().String() + "/")
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if string(body) != "tls http/1.1" {
			t.Fatalf("body %q", body)
		}
	})
	t.Run("another ALPN (oneha-rpc) is served as HTTP/1.1 with r.TLS", func(t *testing.T) {
		tr := &http.Transport{DialTLSContext: func(ctx context.Context, _, addr string) (net.Conn, error) {
			return (&tls.Dialer{Config: pki.clientConfig(pki.leaf, "oneha-rpc")}).DialContext(ctx, "tcp", addr)
		}}
		client := &http.Client{Timeout: 5 * time.Second, Transport: tr}
		resp, err := client.Get("https://" + m.Addr().String() + "/")
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if string(body) != "tls oneha-rpc" { // an ALPNConn: HTTP/1.1, r.TLS from its ConnectionState
			t.Fatalf("body %q", body)
		}
	})
	t.Run("ALPN oneha-raft with a zone certificate reaches Raft", func(t *testing.T) {
		layer := &raftLayer{dial: (&net.Dialer{}).DialContext, clientTLS: func(string) *tls.Config {
			return pki.clientConfig(pki.leaf, ALPNRaft)
		}, addPeer: m.addPeer}
		c, err := layer.Dial(raft.ServerAddress(m.Addr().String()), 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if _, err := c.Write([]byte("hi")); err != nil {
			t.Fatal(err)
		}
		got, s := acceptRead(t, m.RaftLayer(), 2)
		if s != "hi" {
			t.Fatalf("raft read %q", s)
		}
		if _, ok := got.(*tls.Conn); !ok {
			t.Fatalf("raft conn is %T, want a *tls.Conn", got)
		}
	})
	t.Run("ALPN oneha-raft without a client certificate is refused", func(t *testing.T) {
		before := m.Stats().RefusedTLS
		c, err := tls.Dial("tcp", m.Addr().String(), pki.clientConfig(nil, ALPNRaft))
		if err == nil {
			defer c.Close()
			waitClosed(t, c)
		}
		waitStat(t, m, "refusal counted", func(s Stats) bool { return s.RefusedTLS > before })
	})
}

func TestTLSHandshakeDeadline(t *testing.T) {
	pki := newTestPKI(t)
	m := newTestMux(t, Config{TLS: pki.serverConfig(), HandshakeTimeout: 100 * time.Millisecond})
	c, err := dialTCP(m.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	// The start of a TLS record, then nothing: a stalled handshake.
	if _, err := c.Write([]byte{0x16, 0x03, 0x01}); err != nil {
		t.Fatal(err)
	}
	waitClosed(t, c)
	waitStat(t, m, "handshake timeout counted", func(s Stats) bool { return s.TimedOut == 1 && s.Pending == 0 })
}

func TestMaxPendingClosesExcessConnections(t *testing.T) {
	m := newTestMux(t, Config{MaxPending: 3, PeekTimeout: time.Minute, AllowPlainHTTP: true})
	var idle []net.Conn
	for i := 0; i < 3; i++ {
		c, err := dialTCP(m.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		idle = append(idle, c)
	}
	waitStat(t, m, "3 pending", func(s Stats) bool { return s.Pending == 3 })
	extra, err := dialTCP(m.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer extra.Close()
	waitClosed(t, extra)
	waitStat(t, m, "refusal counted", func(s Stats) bool { return s.RefusedPending == 1 })
	// Once the idle ones go, new connections are served again.
	for _, c := range idle {
		c.Close()
	}
	waitStat(t, m, "pending drained", func(s Stats) bool { return s.Pending == 0 })
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { fmt.Fprint(w, "ok") })}
	go func() { _ = srv.Serve(m.HTTPListener()) }()
	defer srv.Close()
	resp, err := (&http.Client{Timeout: 5 * time.Second}).Get("http://" + m.Addr().String() + "/")
	if err != nil {
		t.Fatalf("http after the idle connections left: %v", err)
	}
	resp.Body.Close()
}

func TestMaxRaftConnsClosesExcessConnections(t *testing.T) {
	m := newTestMux(t, Config{MaxRaftConns: 2, AllowPlainRaft: true})
	var accepted []net.Conn
	for i := 0; i < 2; i++ {
		c, err := dialTCP(m.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if _, err := c.Write([]byte{RaftByte, 'x'}); err != nil {
			t.Fatal(err)
		}
		got, _ := acceptRead(t, m.RaftLayer(), 1)
		accepted = append(accepted, got)
	}
	waitStat(t, m, "2 raft conns", func(s Stats) bool { return s.RaftConns == 2 })
	extra, err := dialTCP(m.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer extra.Close()
	if _, err := extra.Write([]byte{RaftByte}); err != nil {
		t.Fatal(err)
	}
	waitClosed(t, extra)
	waitStat(t, m, "refusal counted", func(s Stats) bool { return s.RefusedRaftConns == 1 })
	// Closing an accepted one frees a slot.
	accepted[0].Close()
	accepted[0].Close() // idempotent count
	waitStat(t, m, "slot freed", func(s Stats) bool { return s.RaftConns == 1 })
}

func TestIdleConnDoesNotBlockAccept(t *testing.T) {
	m := newTestMux(t, Config{AllowPlainHTTP: true})
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprint(w, "ok")
	})}
	go func() { _ = srv.Serve(m.HTTPListener()) }()
	defer srv.Close()
	// Several idle connections that never send a byte.
	for k := 0; k < 5; k++ {
		c, err := dialTCP(m.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
	}
	client := &http.Client{Timeout: 2 * time.Second}
	resp, err := client.Get("http://" + m.Addr().String() + "/")
	if err != nil {
		t.Fatalf("http behind idle conns: %v", err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(body) != "ok" {
		t.Fatalf("body %q", body)
	}
}

func TestUnacceptedConnClosedAfterHandoffTimeout(t *testing.T) {
	m := newTestMux(t, Config{HandoffTimeout: 50 * time.Millisecond, AllowPlainRaft: true})
	c, err := dialTCP(m.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.Write([]byte{RaftByte}); err != nil {
		t.Fatal(err)
	}
	waitClosed(t, c) // nobody calls RaftLayer().Accept
}

func TestCloseEndsAcceptAndListener(t *testing.T) {
	m := newTestMux(t, Config{})
	tests := []struct {
		name string
		ln   net.Listener
	}{
		{"raft layer", m.RaftLayer()},
		{"http listener", m.HTTPListener()},
	}
	errs := make(chan error, len(tests))
	for _, tt := range tests {
		go func() { _, err := tt.ln.Accept(); errs <- err }()
	}
	if err := m.Close(); err != nil {
		t.Fatalf("close: %v", err)
	}
	for range tests {
		select {
		case err := <-errs:
			if !errors.Is(err, net.ErrClosed) {
				t.Fatalf("Accept after Close = %v, want net.ErrClosed", err)
			}
		case <-time.After(2 * time.Second):
			t.Fatal("Accept did not return after Close")
		}
	}
	if _, err := net.DialTimeout("tcp", m.Addr().String(), time.Second); err == nil {
		t.Fatal("listener still accepting after Close")
	}
	if err := m.Close(); err != nil {
		t.Fatalf("second close: %v", err)
	}
}

func TestCloseDoesNotWaitForIdleConn(t *testing.T) {
	m := newTestMux(t, Config{PeekTimeout: time.Minute})
	conn, err := dialTCP(m.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	waitStat(t, m, "conn pending", func(s Stats) bool { return s.Pending == 1 })
	done := make(chan error, 1)
	go func() { done <- m.Close() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Close waited for an idle connection's peek timeout")
	}
	waitClosed(t, conn)
}
