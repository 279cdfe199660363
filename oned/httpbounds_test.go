package oned

import (
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestLongCallOutlivesTIMEOUT: TIMEOUT bounds the arrival of a request, not
// the call: one whose body has arrived keeps its context (net/http clears
// the read deadline once the body is read) and gets its answer.
func TestLongCallOutlivesTIMEOUT(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Timeout = 1
	ctxErr := make(chan error, 1)
	h := withRemote(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		select {
		case <-r.Context().Done():
		case <-time.After(2500 * time.Millisecond): // longer than TIMEOUT: what a slow query does
		}
		ctxErr <- r.Context().Err()
		io.WriteString(w, "done")
	}))
	srv := newHTTPServer(cfg, h, slog.New(slog.DiscardHandler))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln)
	defer srv.Close()
	resp, err := http.Post("http://"+ln.Addr().String()+"/RPC2", "text/xml", strings.NewReader("<x/>"))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err := <-ctxErr; err != nil || string(b) != "done" {
		t.Fatalf("call context: %v, answer %q; want it alive past TIMEOUT", err, b)
	}
}
