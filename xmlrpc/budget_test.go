package xmlrpc

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func budgetServer(t *testing.T, total int64) (string, *Server) {
	t.Helper()
	s := NewServer(nil)
	s.Budget = NewBudget(total, 100*time.Millisecond)
	s.Register("echo", func(_ context.Context, params []any) (any, error) { return params, nil })
	ts := httptest.NewServer(s)
	t.Cleanup(ts.Close)
	return ts.URL + "/RPC2", s
}

func callBody(size int) string {
	return `<?xml version="1.0"?><methodCall><methodName>echo</methodName><params><param><value><string>` +
		strings.Repeat("x", size) + `</string></value></param></params></methodCall>`
}

// TestBodyLargerThanBudgetIsRefused503: a body that cannot fit in the
// in-flight budget is answered 503, not buffered.
func TestBodyLargerThanBudgetIsRefused503(t *testing.T) {
	url, s := budgetServer(t, 16<<10)
	resp, body := post(t, url, callBody(64<<10))
	if resp.StatusCode != http.StatusServiceUnavailable || !strings.Contains(string(body), "busy") {
		t.Fatalf("status %d %q, want 503 busy", resp.StatusCode, body)
	}
	if n := s.Budget.Refused(); n != 1 {
		t.Errorf("Refused() = %d, want 1", n)
	}
	// The budget is released: a small call still works.
	if resp, body := post(t, url, callBody(100)); resp.StatusCode != 200 || !strings.Contains(string(body), "xxxx") {
		t.Fatalf("after refusal: %d %s", resp.StatusCode, body)
	}
}

// TestStalledBodiesHoldNoBudget: many clients that sent a few bytes of a
// body and stalled do not lock others out of a small budget.
func TestStalledBodiesHoldNoBudget(t *testing.T) {
	url, _ := budgetServer(t, 8<<10)
	addr := strings.TrimPrefix(strings.TrimSuffix(url, "/RPC2"), "http://")
	for i := 0; i < 50; i++ {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		fmt.Fprintf(c, "POST /RPC2 HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n<?xml vers")
	}
	for i := 0; i < 5; i++ {
		if resp, body := post(t, url, callBody(4<<10)); resp.StatusCode != 200 {
			t.Fatalf("call %d with stalled clients: %d %s", i, resp.StatusCode, body)
		}
	}
}

// TestQuoteBoundsEcho: Quote and Clip keep at most MaxEcho bytes of input.
func TestQuoteBoundsEcho(t *testing.T) {
	long := strings.Repeat("é", 10000)
	q := Quote(long)
	if len(q) > MaxEcho+40 || !strings.Contains(q, "(20000 bytes)") {
		t.Errorf("Quote = %d bytes: %.200s", len(q), q)
	}
	if c := Clip(long); len(c) > MaxEcho+len("…") {
		t.Errorf("Clip = %d bytes", len(c))
	}
	if Quote("a\nb") != `"a\nb"` || Clip("short") != "short" {
		t.Errorf("short input changed: %s %s", Quote("a\nb"), Clip("short"))
	}
}

// TestFaultEchoIsBoundedInXMLRPC: a 10 KB method name or element name comes
// back cut to about MaxEcho bytes.
func TestFaultEchoIsBoundedInXMLRPC(t *testing.T) {
	url := testServer(t, 0, nil)
	long := strings.Repeat("m", 10000)
	for name, body := range map[string]string{
		"method":  `<methodCall><methodName>` + long + `</methodName></methodCall>`,
		"element": `<methodCall><methodName>echo</methodName><params><param><value><` + long + `>1</` + long + `></value></param></params></methodCall>`,
		"close":   `<methodCall><methodName>echo</methodName><params><` + long + `></x></params></methodCall>`,
		"int":     `<methodCall><methodName>echo</methodName><params><param><value><int>` + long + `</int></value></param></params></methodCall>`,
	} {
		_, b := post(t, url, body)
		if n := strings.Count(string(b), "m"); n > 2*MaxEcho {
			t.Errorf("%s: answer echoes %d bytes of input: %.300s", name, n, b)
		}
	}
}
