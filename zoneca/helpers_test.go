package zoneca

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// newTestCA creates a real zone CA with EnsureCA in a temporary folder.
func newTestCA(t *testing.T) *CA {
	t.Helper()
	dir := t.TempDir()
	ca, created, err := EnsureCA(filepath.Join(dir, "ca.crt"), filepath.Join(dir, "ca.key"), true)
	if err != nil || !created {
		t.Fatalf("EnsureCA: created=%v err=%v", created, err)
	}
	return ca
}

// newTestCreds issues auto credentials for id (not running).
func newTestCreds(t *testing.T, ca *CA, id Identity, ttl time.Duration) *Creds {
	t.Helper()
	c, err := NewAutoCreds(ca, id, func() []string { return []string{"127.0.0.1"} }, ttl, nil)
	if err != nil {
		t.Fatalf("NewAutoCreds(%v): %v", id, err)
	}
	return c
}

// zoneTable is an Authorizer like oned's: a peer must name a server of the
// zone, and a dialed address must be that server's.
type zoneTable struct {
	zone int
	mu   sync.Mutex
	addr map[int]string // server id -> address
	seen []string       // dialed values of the calls, in order
}

func newZoneTable(zone int, servers map[int]string) *zoneTable {
	return &zoneTable{zone: zone, addr: servers}
}

func (z *zoneTable) set(sid int, addr string) {
	z.mu.Lock()
	defer z.mu.Unlock()
	z.addr[sid] = addr
}

func (z *zoneTable) calls() []string {
	z.mu.Lock()
	defer z.mu.Unlock()
	return append([]string(nil), z.seen...)
}

func (z *zoneTable) AuthorizePeer(_ context.Context, leaf *x509.Certificate, dialed string) error {
	z.mu.Lock()
	defer z.mu.Unlock()
	z.seen = append(z.seen, dialed)
	id, ok := PeerIdentity(leaf)
	if !ok {
		return errors.New("certificate names no zone server")
	}
	if id.ZoneID != z.zone {
		return fmt.Errorf("certificate of zone %d, this is zone %d", id.ZoneID, z.zone)
	}
	addr, ok := z.addr[id.ServerID]
	if !ok {
		return fmt.Errorf("server %d is not in the zone", id.ServerID)
	}
	if dialed != "" && dialed != addr {
		return fmt.Errorf("dialed %s but server %d is at %s", dialed, id.ServerID, addr)
	}
	return nil
}

var allowAll = AuthorizerFunc(func(context.Context, *x509.Certificate, string) error { return nil })

// handshakeResult is what the test server saw of one inbound connection.
type handshakeResult struct {
	state tls.ConnectionState
	err   error
}

// testServer is a real TLS listener on 127.0.0.1 using a given config. It
// completes each handshake, reports it, writes "ok" and closes.
type testServer struct {
	addr    string
	results chan handshakeResult
}

func startServer(t *testing.T, cfg *tls.Config) *testServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &testServer{addr: ln.Addr().String(), results: make(chan handshakeResult, 16)}
	var wg sync.WaitGroup
	t.Cleanup(func() { ln.Close(); wg.Wait() })
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer c.Close()
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				defer cancel()
				tc := tls.Server(c, cfg)
				err := tc.HandshakeContext(ctx)
				if err == nil {
					_, err = tc.Write([]byte("ok"))
				}
				s.results <- handshakeResult{state: tc.ConnectionState(), err: err}
			}()
		}
	}()
	return s
}

func (s *testServer) next(t *testing.T) handshakeResult {
	t.Helper()
	select {
	case r := <-s.results:
		return r
	case <-time.After(10 * time.Second):
		t.Fatal("server saw no handshake")
		return handshakeResult{}
	}
}

// readOK reads the server's "ok"; in TLS 1.3 a refused client certificate
// shows up here rather than in the client's handshake.
func readOK(conn *tls.Conn) error {
	defer conn.Close()
	_ = conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	buf := make([]byte, 2)
	if _, err := conn.Read(buf); err != nil {
		return err
	}
	if string(buf) != "ok" {
		return fmt.Errorf("read %q", buf)
	}
	return nil
}

// dialRaw connects with an arbitrary client config and reads "ok".
func dialRaw(t *testing.T, addr string, cfg *tls.Config) (tls.ConnectionState, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	d := tls.Dialer{Config: cfg}
	c, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return tls.ConnectionState{}, err
	}
	tc := c.(*tls.Conn)
	st := tc.ConnectionState()
	return st, readOK(tc)
}

// dialPeer is DialPeer plus reading "ok".
func dialPeer(t *testing.T, c *Creds, authz Authorizer, alpn, addr string) (tls.ConnectionState, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := DialPeer(ctx, c, authz, alpn, addr)
	if err != nil {
		return tls.ConnectionState{}, err
	}
	st := conn.ConnectionState()
	return st, readOK(conn)
}

// logBuffer is a concurrency-safe slog sink for asserting on log lines.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func (b *logBuffer) logger() *slog.Logger { return slog.New(slog.NewTextHandler(b, nil)) }

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func mustContain(t *testing.T, err error, parts ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("no error, want one containing %q", parts)
	}
	for _, p := range parts {
		if !strings.Contains(err.Error(), p) {
			t.Errorf("error %q does not contain %q", err, p)
		}
	}
}
