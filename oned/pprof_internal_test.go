package oned

import (
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
)

// TestPprofOnlyForOneadmin: with PPROF on, /debug/pprof/ answers only
// oneadmin (or a verified peer); a client without or with wrong
// credentials gets 401 and no profile, and a CPU profile's length is
// bounded.
func TestPprofOnlyForOneadmin(t *testing.T) {
	log := slog.New(slog.DiscardHandler)
	s := &Server{log: log, auth: credentials{user: "oneadmin", password: "s3cret"}, guard: newAuthGuard(log)}
	get := func(path, user, pass string) (int, int) {
		req := httptest.NewRequest(http.MethodGet, path, nil)
		req.RemoteAddr = "192.0.2.8:40000" // oneadmin's address
		if user != "oneadmin" || pass != "s3cret" {
			req.RemoteAddr = "192.0.2.7:40000" // failures back off their own address only
		}
		if user != "" {
			req.SetBasicAuth(user, pass)
		}
		w := httptest.NewRecorder()
		s.pprofHTTP(w, req)
		return w.Code, w.Body.Len()
	}
	for _, c := range []struct{ path, user, pass string }{
		{"/debug/pprof/goroutine", "", ""},
		{"/debug/pprof/heap", "oneadmin", "wrong"},
		{"/debug/pprof/profile?seconds=1", "serveradmin", "s3cret"},
	} {
		if code, n := get(c.path, c.user, c.pass); code != http.StatusUnauthorized || n > 64 {
			t.Errorf("%s as %q/%q: %d with %d bytes, want 401 and no profile", c.path, c.user, c.pass, code, n)
		}
	}
	if code, n := get("/debug/pprof/goroutine", "oneadmin", "s3cret"); code != http.StatusOK || n == 0 {
		t.Errorf("goroutine profile for oneadmin: %d, %d bytes", code, n)
	}
	for _, p := range []string{"/debug/pprof/profile?seconds=0", "/debug/pprof/profile?seconds=61", "/debug/pprof/profile?seconds=x"} {
		if code, _ := get(p, "oneadmin", "s3cret"); code != http.StatusBadRequest {
			t.Errorf("%s: %d, want 400", p, code)
		}
	}
	if code, _ := get("/debug/pprof/cmdline", "oneadmin", "s3cret"); code != http.StatusNotFound {
		t.Errorf("cmdline: %d, want 404 (not served)", code)
	}
}
