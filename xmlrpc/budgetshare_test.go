package xmlrpc

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// postFrom posts body to url over a connection from local address ip.
func postFrom(t *testing.T, ip, url, body string) (*http.Response, []byte) {
	t.Helper()
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}}
	c := &http.Client{Transport: &http.Transport{DialContext: d.DialContext}, Timeout: 10 * time.Second}
	defer c.CloseIdleConnections()
	resp, err := c.Post(url, "text/xml", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, b
}

// waitUntil polls cond until it holds or 10 s passed.
func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestOneSourceCannotDrainTheBodyBudget: one address that sends large
// bodies fast on many connections and then stalls holds at most its
// share of the budget; a call from another address still succeeds, and
// the flooding address's next call is the one refused.
func TestOneSourceCannotDrainTheBodyBudget(t *testing.T) {
	const total, share = 64 << 10, 8 << 10
	s := NewServer(nil)
	s.Budget = NewBudgetLimits(BudgetLimits{Total: total, PerSource: share, PeerReserve: 16 << 10, Wait: 200 * time.Millisecond})
	s.Register("echo", func(_ context.Context, params []any) (any, error) { return params, nil })
	ts := httptest.NewServer(s) // no ReadTimeout: a stalled body is held until the test ends
	t.Cleanup(ts.Close)
	addr := strings.TrimPrefix(ts.URL, "http://")

	// 20 connections from 127.0.0.1, each 6,000 bytes of a 7,000-byte
	// body: 120,000 bytes, nearly twice the whole budget.
	prefix := callBody(6000)[:6000]
	for i := 0; i < 20; i++ {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		fmt.Fprintf(c, "POST /RPC2 HTTP/1.1\r\nHost: x\r\nContent-Type: text/xml\r\nContent-Length: 7000\r\n\r\n%s", prefix)
	}
	// Wait for the flood to settle. A refused request lets go of what it
	// held, so until then the share can free up again. Every connection
	// ends up either refused or holding all its 6,000 bytes (stalled on
	// the missing 1,000), and two of them do not fit in 8 KiB, so exactly
	// one holds.
	waitUntil(t, "all but one flooding request to be refused", func() bool { return s.Budget.Refused() >= 19 })
	if n := s.Budget.InFlight(); n > share {
		t.Errorf("one address holds %d bytes, more than its share %d", n, share)
	}

	// 127.0.0.2 is another source: its 8,000-byte call fits.
	resp, body := postFrom(t, "127.0.0.2", ts.URL+"/RPC2", callBody(7800))
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), "xxxx") {
		t.Fatalf("call from another address during the flood: %d %.200s", resp.StatusCode, body)
	}
	// The flooding address itself is refused, with a reason naming it.
	resp, body = postFrom(t, "127.0.0.1", ts.URL+"/RPC2", callBody(7800))
	if resp.StatusCode != http.StatusServiceUnavailable || !strings.Contains(string(body), "from 127.0.0.1/32") {
		t.Fatalf("call from the flooding address: %d %.200s, want 503 naming its address", resp.StatusCode, body)
	}
}

// heldRequest starts reading a body of n bytes as a request from remote
// (a verified TLS peer if peer) and keeps what it charged; the returned
// error is the budget's answer.
func heldRequest(t *testing.T, b *Budget, remote string, peer bool, n int) error {
	t.Helper()
	req := httptest.NewRequest(http.MethodPost, "/RPC2", strings.NewReader(strings.Repeat("x", n)))
	req.RemoteAddr = remote
	if peer {
		req.TLS = &tls.ConnectionState{VerifiedChains: [][]*x509.Certificate{{{}}}}
	}
	br := b.reader(req)
	t.Cleanup(br.release)
	_, err := io.Copy(io.Discard, br)
	return err
}

// TestVerifiedPeersHaveTheirOwnReserve: when clients from many addresses
// hold the whole client budget, a request with a verified client
// certificate (a follower forwarding a call) still gets room; the reserve
// is bounded too. IPv6 addresses of one /64 are one source.
func TestVerifiedPeersHaveTheirOwnReserve(t *testing.T) {
	b := NewBudgetLimits(BudgetLimits{Total: 32 << 10, PerSource: 4 << 10, PeerReserve: 8 << 10, Wait: 50 * time.Millisecond})
	for i := 0; i < 8; i++ {
		if err := heldRequest(t, b, fmt.Sprintf("[2001:db8:%d::1]:1000", i), false, 4<<10); err != nil {
			t.Fatalf("client %d within its share: %v", i, err)
		}
	}
	if err := heldRequest(t, b, "192.0.2.9:1", false, 100); !errors.Is(err, ErrBusy) {
		t.Fatalf("a new client with the budget full: %v, want ErrBusy", err)
	}
	if err := heldRequest(t, b, "[2001:db8:0:0:ffff::2]:7", false, 100); !errors.Is(err, ErrBusy) || !strings.Contains(err.Error(), "2001:db8::/64") {
		t.Fatalf("another address of a full /64: %v, want ErrBusy naming the /64", err)
	}
	if err := heldRequest(t, b, "192.0.2.10:1", true, 6<<10); err != nil {
		t.Fatalf("a verified peer with the client budget full: %v", err)
	}
	if err := heldRequest(t, b, "192.0.2.10:2", true, 4<<10); !errors.Is(err, ErrBusy) {
		t.Fatalf("a peer beyond the reserve: %v, want ErrBusy", err)
	}
	if n := b.InFlight(); n != 32<<10+6<<10 {
		t.Errorf("InFlight = %d, want %d", n, 32<<10+6<<10)
	}
}

// TestSourceRecordsAreDropped: a source's record lives only while it has
// a request being decoded, so memory does not grow with the addresses
// seen.
func TestSourceRecordsAreDropped(t *testing.T) {
	url, s := budgetServer(t, 64<<10)
	for i := 0; i < 3; i++ {
		if resp, body := post(t, url, callBody(100)); resp.StatusCode != http.StatusOK {
			t.Fatalf("call %d: %d %s", i, resp.StatusCode, body)
		}
	}
	s.Budget.mu.Lock()
	n := len(s.Budget.sources)
	s.Budget.mu.Unlock()
	if n != 0 || s.Budget.InFlight() != 0 {
		t.Fatalf("after the calls: %d source records, %d bytes held", n, s.Budget.InFlight())
	}
}
