package oned

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/hashicorp/raft"
)

// Health endpoints for load balancers (no VIP needed): GET /leader,
// GET /follower?max_lag=N and GET /health. All three are public: a load
// balancer calls them without credentials. What they reveal is the role,
// term, voter flag, lag and last-contact numbers and whether the database
// is degraded, nothing else: no addresses, IDs of other servers, error
// texts (a degraded database's error names hosts; it is shown only to
// oneadmin and zone peers, as DEGRADED_REASON).

// maxHealthQuery bounds the query string of a health request.
const maxHealthQuery = 256

// healthView is /health's document and what /leader and /follower decide
// on.
type healthView struct {
	ServerID int    `json:"SERVER_ID"`
	Role     string `json:"ROLE"`
	// Ready: solo, or a leader that applied every earlier entry (a lease
	// read succeeds): it serves writes and reads now.
	Ready bool   `json:"READY"`
	Term  uint64 `json:"TERM"`
	Voter bool   `json:"VOTER"`
	// Lag is how many committed entries this server's database has not
	// applied: on a follower, the commit index the leader last sent it
	// (raftlog.Node.LeaderCommit) minus its applied index; on the leader,
	// its own commit minus applied. null when unknown (a follower that
	// heard no AppendEntries of the current term yet).
	Lag *uint64 `json:"LAG"`
	// LastContactS: on a follower, seconds since it last heard from the
	// leader (raft's LastContact); 0 on the leader and solo; null when it
	// never did.
	LastContactS *float64 `json:"LAST_CONTACT_S"`
	// LeaderKnown: a follower knows a leader of the current term (raft
	// forgets it after an election timeout without contact).
	LeaderKnown bool `json:"LEADER_KNOWN"`
	// Degraded: the database cannot apply (a transient fault being
	// retried) or one batch has run too long; DegradedReason says why,
	// to authorized callers only.
	Degraded       bool   `json:"DEGRADED"`
	DegradedReason string `json:"DEGRADED_REASON,omitempty"`
}

// healthOf reads this server's health view.
func (s *Server) healthOf(ctx context.Context) (healthView, error) {
	h := healthView{ServerID: s.cfg.Federation.ServerID}
	if s.fsm != nil {
		if d := cmp.Or(s.fsm.Degraded(), s.fsm.Stalled()); d != nil {
			h.Degraded, h.DegradedReason = true, d.Error()
		}
	}
	zero := 0.0
	if s.node == nil {
		h.Role, h.Ready, h.Voter, h.Lag, h.LastContactS, h.LeaderKnown = "solo", true, true, new(uint64), &zero, true
		return h, nil
	}
	ns, err := s.node.Stats(ctx)
	if err != nil {
		h.Role = "unknown"
		return h, err
	}
	h.Role, h.Term, h.Voter = stateName(stateNumber(ns.State)), ns.Term, ns.Voter
	applied := s.fsm.AppliedIndex()
	switch ns.State {
	case raft.Leader:
		h.Ready = s.isReady(ctx)
		h.LeaderKnown = true
		lag := ns.CommitIndex - min(applied, ns.CommitIndex)
		h.Lag, h.LastContactS = &lag, &zero
	default:
		h.LeaderKnown = ns.LeaderID != ""
		if c, ok := s.node.LeaderCommit(); ok {
			lag := c - min(applied, c)
			h.Lag = &lag
		}
		if !ns.LastContact.IsZero() {
			age := time.Since(ns.LastContact).Seconds()
			h.LastContactS = &age
		}
	}
	return h, nil
}

// healthJSON (GET /health) answers 200 with the health view, or 503 when
// the database is degraded or the state cannot be read. Public; the
// degraded reason only with oneadmin's credentials or a zone certificate.
func (s *Server) healthJSON(w http.ResponseWriter, r *http.Request) {
	if !healthRequest(w, r, nil) {
		return
	}
	h, err := s.healthOf(r.Context())
	if !s.statusAuthorized(r) {
		h.DegradedReason = ""
	}
	code := http.StatusOK
	if err != nil || h.Degraded {
		code = http.StatusServiceUnavailable
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.Encode(h)
}

// leaderCheck (GET /leader) answers 200 on the ready leader (and a solo
// server), 503 elsewhere. Public.
func (s *Server) leaderCheck(w http.ResponseWriter, r *http.Request) {
	if !healthRequest(w, r, nil) {
		return
	}
	if s.node == nil {
		healthAnswer(w, http.StatusOK, "solo")
		return
	}
	if !s.isReady(r.Context()) {
		healthAnswer(w, http.StatusServiceUnavailable, "not the ready leader")
		return
	}
	healthAnswer(w, http.StatusOK, "leader")
}

// followerCheck (GET /follower[?max_lag=N]) answers 200 on a follower
// (voter or not) that knows the current leader, whose database is not
// degraded and whose lag (healthView.Lag) is known and at most N entries
// (without max_lag: any known lag); 503 otherwise, with the reason; 400
// for a bad query. Public.
func (s *Server) followerCheck(w http.ResponseWriter, r *http.Request) {
	var maxLag *uint64
	if !healthRequest(w, r, &maxLag) {
		return
	}
	h, err := s.healthOf(r.Context())
	switch {
	case err != nil:
		healthAnswer(w, http.StatusServiceUnavailable, "state unavailable")
	case h.Role != "follower":
		healthAnswer(w, http.StatusServiceUnavailable, "not a follower: "+h.Role)
	case !h.LeaderKnown:
		healthAnswer(w, http.StatusServiceUnavailable, "no leader")
	case h.Degraded:
		healthAnswer(w, http.StatusServiceUnavailable, "degraded")
	case h.Lag == nil:
		healthAnswer(w, http.StatusServiceUnavailable, "lag unknown")
	case maxLag != nil && *h.Lag > *maxLag:
		healthAnswer(w, http.StatusServiceUnavailable, fmt.Sprintf("lag %d > max_lag %d", *h.Lag, *maxLag))
	default:
		healthAnswer(w, http.StatusOK, "follower lag "+strconv.FormatUint(*h.Lag, 10))
	}
}

// healthRequest checks the method and query of a health request and
// answers 405/400 itself (returning false). Only max_lag is accepted, and
// only where maxLag is not nil; at most maxHealthQuery bytes of query.
func healthRequest(w http.ResponseWriter, r *http.Request, maxLag **uint64) bool {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		healthAnswer(w, http.StatusMethodNotAllowed, "GET or HEAD only")
		return false
	}
	if len(r.URL.RawQuery) > maxHealthQuery {
		healthAnswer(w, http.StatusBadRequest, "query too long")
		return false
	}
	q, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		healthAnswer(w, http.StatusBadRequest, "malformed query")
		return false
	}
	for k, v := range q {
		if k != "max_lag" || maxLag == nil {
			healthAnswer(w, http.StatusBadRequest, "unknown parameter (only /follower takes max_lag)")
			return false
		}
		if len(v) != 1 {
			healthAnswer(w, http.StatusBadRequest, "max_lag given more than once")
			return false
		}
		n, err := strconv.ParseUint(v[0], 10, 64)
		if err != nil {
			healthAnswer(w, http.StatusBadRequest, "max_lag must be a number of entries (0 to 18446744073709551615)")
			return false
		}
		*maxLag = &n
	}
	return true
}

func healthAnswer(w http.ResponseWriter, code int, msg string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	fmt.Fprintln(w, msg)
}
