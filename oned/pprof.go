package oned

import (
	"fmt"
	"net/http"
	"runtime/pprof"
	"strconv"
	"strings"
	"time"
)

// PPROF (config, default no) mounts Go's profiles under /debug/pprof/ on
// PORT, for the write-path benchmark (make bench) and for an operator
// chasing a slow leader:
//
//	/debug/pprof/profile?seconds=N   CPU profile over N s (1..maxPprofSeconds, default 10)
//	/debug/pprof/<name>              heap, allocs, goroutine, mutex, block, threadcreate
//
// Who may call: the same as the full /status (statusAuthorized): oneadmin
// over HTTP Basic auth (failures count in the login backoff) or a zone peer
// with a verified client certificate. Anyone else gets 401 and nothing; with
// PPROF off the paths do not exist (404). A profile holds function names
// and, for goroutine dumps, call arguments' shapes, never the database or
// credentials; still, it is only for oneadmin. Bounds: one CPU profile at a
// time (runtime/pprof), at most maxPprofSeconds, ended early when the
// client goes away. runtime/pprof is used directly: net/http/pprof would
// register itself on http.DefaultServeMux.
const maxPprofSeconds = 60

var pprofNames = map[string]bool{"heap": true, "allocs": true, "goroutine": true, "mutex": true, "block": true, "threadcreate": true}

func (s *Server) pprofHTTP(w http.ResponseWriter, r *http.Request) {
	if !s.statusAuthorized(r) {
		w.Header().Set("WWW-Authenticate", `Basic realm="oned", charset="UTF-8"`)
		http.Error(w, "unauthorized", http.StatusUnauthorized)
		return
	}
	name := strings.TrimPrefix(r.URL.Path, "/debug/pprof/")
	if name == "profile" {
		s.cpuProfile(w, r)
		return
	}
	if !pprofNames[name] {
		http.Error(w, "profiles: profile?seconds=N, heap, allocs, goroutine, mutex, block, threadcreate", http.StatusNotFound)
		return
	}
	w.Header().Set("Content-Type", "application/octet-stream")
	if err := pprof.Lookup(name).WriteTo(w, 0); err != nil {
		s.log.Debug("pprof: write profile", "profile", name, "err", err)
	}
}

func (s *Server) cpuProfile(w http.ResponseWriter, r *http.Request) {
	secs := 10
	if v := r.URL.Query().Get("seconds"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > maxPprofSeconds {
			http.Error(w, fmt.Sprintf("seconds: want 1..%d", maxPprofSeconds), http.StatusBadRequest)
			return
		}
		secs = n
	}
	w.Header().Set("Content-Type", "application/octet-stream")
	if err := pprof.StartCPUProfile(w); err != nil {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		http.Error(w, "a CPU profile is already running: "+err.Error(), http.StatusConflict)
		return
	}
	s.log.Info("pprof: CPU profile started", "seconds", secs, "remote", r.RemoteAddr)
	t := time.NewTimer(time.Duration(secs) * time.Second)
	defer t.Stop()
	select {
	case <-t.C:
	case <-r.Context().Done():
	}
	pprof.StopCPUProfile()
}
