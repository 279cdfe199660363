package oned

import (
	"context"
	"encoding/json"
	"net/http"
	"time"
)

// statusAuthorized reports whether r may read the full /status: it carries
// oneadmin's credentials as HTTP Basic auth (user and password of
// ONE_AUTH, checked in constant time, failures counted in the same
// per-address backoff as XML-RPC logins), or it came over TLS with a
// verified client certificate (a zone peer). A request without credentials
// is not a failed login.
func (s *Server) statusAuthorized(r *http.Request) bool {
	if r.TLS != nil && len(r.TLS.VerifiedChains) > 0 {
		return true
	}
	user, pass, ok := r.BasicAuth()
	if !ok {
		return false
	}
	return s.authenticate(r.RemoteAddr, "GET /status", user+":"+pass) == nil
}

// statusPublic answers an unauthorized /status with 401 and the health
// subset a load balancer or a person may see: role, readiness and version;
// no term, index, errors or hook runs.
func (s *Server) statusPublic(w http.ResponseWriter, r *http.Request) {
	st, err := s.status(r.Context())
	role := "unknown"
	if err == nil {
		role = stateName(st.State)
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("WWW-Authenticate", `Basic realm="oned", charset="UTF-8"`)
	w.WriteHeader(http.StatusUnauthorized)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.Encode(map[string]any{"ROLE": role, "READY": s.isReady(r.Context()), "VERSION": Version})
}

// stateName names an OpenNebula STATE value.
func stateName(state int) string {
	switch state {
	case StateSolo:
		return "solo"
	case StateCandidate:
		return "candidate"
	case StateFollower:
		return "follower"
	case StateLeader:
		return "leader"
	}
	return "unknown"
}

// isReady is what /ready answers: solo, or a leader that has applied every
// earlier entry (a lease read succeeds within 200 ms).
func (s *Server) isReady(ctx context.Context) bool {
	if s.node == nil {
		return true
	}
	ctx, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
	defer cancel()
	return s.node.IsLeader() && s.node.LeaseRead(ctx) == nil
}
