package oned

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/oneha/oneha/backup"
	"github.com/oneha/oneha/sqlfsm"
)

// Audit timing.
const (
	auditPoll        = time.Second      // the leader fetches followers' records this often
	auditRepairRetry = 30 * time.Second // a refused AUTO_REPAIR reset is tried again after this
	auditMaxBody     = 4 << 20          // bound of one /audit answer
)

// AuditReport is GET /audit: this server's recent entry outcomes (from the
// asked index on) and its kept table audits.
type AuditReport struct {
	ServerID     int            `json:"SERVER_ID"`
	AppliedIndex uint64         `json:"APPLIED_INDEX"`
	Outcomes     [][2]uint64    `json:"OUTCOMES"` // [index, digest], index order
	Audits       []sqlfsm.Audit `json:"AUDITS"`
}

// Divergence is a follower whose state the leader found different from its
// own: at entry Index either the entry's outcome differed (Table empty) or,
// at audit index Index, table Table's checksum did.
type Divergence struct {
	ServerID int       `json:"SERVER_ID" xml:"SERVER_ID"`
	Index    uint64    `json:"INDEX" xml:"INDEX"`
	Table    string    `json:"TABLE,omitempty" xml:"TABLE,omitempty"`
	Since    time.Time `json:"SINCE" xml:"-"`
}

// String is the operator's line: "server 2 at index 12000: table vm_pool
// differs" or "server 2 at index 12017: the entry's outcome differs".
func (d Divergence) String() string {
	if d.Table != "" {
		return fmt.Sprintf("server %d at index %d: table %s differs", d.ServerID, d.Index, d.Table)
	}
	return fmt.Sprintf("server %d at index %d: the entry's outcome differs", d.ServerID, d.Index)
}

// auditWatch is the leader's side of the divergence audit: per follower,
// how far its outcomes and audits were compared, and what diverged. A
// divergence stays reported until a later table audit of that server
// matches the leader's in every table (after a reset, for instance).
type auditWatch struct {
	mu         sync.Mutex
	nextEntry  map[int]uint64 // first outcome index not compared yet
	nextAudit  map[int]uint64 // audits at or below this were compared
	diverged   map[int]Divergence
	repairedAt map[int]time.Time // last AUTO_REPAIR attempt
	resetDone  map[int]bool      // AUTO_REPAIR reset this divergence: not again

	divergent  *prometheus.GaugeVec
	mismatches prometheus.Counter
}

func newAuditWatch() *auditWatch {
	return &auditWatch{
		nextEntry: map[int]uint64{}, nextAudit: map[int]uint64{}, diverged: map[int]Divergence{}, repairedAt: map[int]time.Time{}, resetDone: map[int]bool{},
		divergent: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "oneha_audit_divergent",
			Help: "1 while the leader's divergence audit finds this server's state different from its own (see /status AUDIT).",
		}, []string{"server"}),
		mismatches: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "oneha_audit_mismatches_total",
			Help: "Divergences found by this server's audit while leading (an entry outcome or a table checksum differing).",
		}),
	}
}

// Diverged lists the current divergences, by server.
func (w *auditWatch) Diverged() []Divergence {
	w.mu.Lock()
	defer w.mu.Unlock()
	out := make([]Divergence, 0, len(w.diverged))
	for _, d := range w.diverged {
		out = append(out, d)
	}
	slices.SortFunc(out, func(a, b Divergence) int { return a.ServerID - b.ServerID })
	return out
}

// Compared is, per follower, the highest audit index whose table checksums
// the leader compared with its own (matching or not).
func (w *auditWatch) Compared() map[string]uint64 {
	w.mu.Lock()
	defer w.mu.Unlock()
	out := make(map[string]uint64, len(w.nextAudit))
	for id, i := range w.nextAudit {
		out[strconv.Itoa(id)] = i
	}
	return out
}

// forget clears what a former leader compared: a new term starts over (the
// new leader's own records are the reference).
func (w *auditWatch) forget() {
	w.mu.Lock()
	defer w.mu.Unlock()
	clear(w.nextEntry)
	clear(w.nextAudit)
	for id := range w.diverged {
		w.divergent.WithLabelValues(strconv.Itoa(id)).Set(0)
	}
	clear(w.diverged)
	clear(w.resetDone)
}

// keepOnly drops what it knows of servers no longer in the zone
// (server-del).
func (w *auditWatch) keepOnly(ids []int) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for id := range w.diverged {
		if !slices.Contains(ids, id) {
			delete(w.diverged, id)
			delete(w.resetDone, id)
			w.divergent.DeleteLabelValues(strconv.Itoa(id))
		}
	}
	for id := range w.nextEntry {
		if !slices.Contains(ids, id) {
			delete(w.nextEntry, id)
			delete(w.nextAudit, id)
		}
	}
}

// auditHTTP serves GET /audit?from=INDEX&after=INDEX (outcomes from
// "from" on, audits past "after") to zone peers (a verified zone
// certificate) and oneadmin (Basic auth), as /status's full view.
func (s *Server) auditHTTP(w http.ResponseWriter, r *http.Request) {
	if !s.statusAuthorized(r) {
		http.Error(w, "unauthorized", http.StatusUnauthorized)
		return
	}
	from, _ := strconv.ParseUint(r.URL.Query().Get("from"), 10, 64)
	after, _ := strconv.ParseUint(r.URL.Query().Get("after"), 10, 64)
	rep := AuditReport{ServerID: s.cfg.Federation.ServerID, AppliedIndex: s.fsm.AppliedIndex(), Audits: []sqlfsm.Audit{}}
	for _, a := range s.fsm.Audits() {
		if a.Index > after {
			rep.Audits = append(rep.Audits, a)
		}
	}
	for _, o := range s.fsm.Outcomes(from, 0) {
		rep.Outcomes = append(rep.Outcomes, [2]uint64{o.Index, o.Digest})
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(rep)
}

// fetchAudit GETs a peer's /audit over the peer channel.
func (s *Server) fetchAudit(ctx context.Context, endpoint string, from, after uint64) (AuditReport, error) {
	var rep AuditReport
	base := strings.TrimSuffix(endpoint, "/RPC2")
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.peerURL(base)+"/audit?from="+strconv.FormatUint(from, 10)+"&after="+strconv.FormatUint(after, 10), nil)
	if err != nil {
		return rep, err
	}
	req.SetBasicAuth(s.auth.user, s.auth.password)
	resp, err := s.peerHTTP(5 * time.Second).Do(req)
	if err != nil {
		return rep, fmt.Errorf("audit of %s: %w", base, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return rep, fmt.Errorf("audit of %s: HTTP %s", base, resp.Status)
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, auditMaxBody)).Decode(&rep); err != nil {
		return rep, fmt.Errorf("audit of %s: %w", base, err)
	}
	return rep, nil
}

// auditLoop runs on every server of a zone; while it leads, it compares
// every follower's entry outcomes and table audits with its own each
// auditPoll, reports divergences (log, metrics, /status, raftstatus) and,
// with AUDIT.AUTO_REPAIR, resets a diverged follower.
func (s *Server) auditLoop(ctx context.Context) {
	t := time.NewTicker(auditPoll)
	defer t.Stop()
	leading := false
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if !s.node.IsLeader() {
			if leading {
				s.auditW.forget()
				s.followers.forget()
			}
			leading = false
			continue
		}
		leading = true
		servers, err := listServers(ctx, s.db, s.cfg.Federation.ZoneID)
		if err != nil {
			continue
		}
		ids := make([]int, 0, len(servers))
		for _, sv := range servers {
			ids = append(ids, sv.ID)
			if sv.ID == s.cfg.Federation.ServerID {
				continue
			}
			s.auditServer(ctx, sv.ID, sv.Endpoint)
		}
		s.auditW.keepOnly(ids)
		s.followers.keepOnly(ids)
	}
}

// auditServer compares one follower's records with the leader's own.
func (s *Server) auditServer(ctx context.Context, id int, endpoint string) {
	w := s.auditW
	w.mu.Lock()
	from, after := w.nextEntry[id], w.nextAudit[id]
	w.mu.Unlock()
	if mine := s.fsm.AppliedIndex(); from == 0 && mine > sqlfsm.OutcomeRing {
		from = mine - sqlfsm.OutcomeRing + 1
	}
	rep, err := s.fetchAudit(ctx, endpoint, from, after)
	if err != nil {
		s.log.Debug("audit: cannot read a follower's records", "server", id, "err", err)
		return
	}
	s.followers.saw(id, rep.AppliedIndex)
	// Outcomes: merge by index with the leader's own.
	var found *Divergence
	next := from
	if len(rep.Outcomes) > 0 {
		applied := s.fsm.AppliedIndex() // mine covers at least this far
		mine := s.fsm.Outcomes(rep.Outcomes[0][0], 0)
		i := 0
		for _, o := range rep.Outcomes {
			if o[0] > applied {
				break // the leader has not applied it yet: next time
			}
			for i < len(mine) && mine[i].Index < o[0] {
				i++
			}
			if i < len(mine) && mine[i].Index == o[0] && mine[i].Digest != o[1] && found == nil {
				found = &Divergence{ServerID: id, Index: o[0]}
			}
			next = o[0] + 1
		}
	}
	// Table audits at the indices both have.
	w.mu.Lock()
	done := w.nextAudit[id]
	w.mu.Unlock()
	matched := uint64(0)
	mine := s.fsm.Audits()
	for _, fa := range rep.Audits {
		if fa.Index <= done || fa.Error != "" {
			continue
		}
		j := slices.IndexFunc(mine, func(a sqlfsm.Audit) bool { return a.Index == fa.Index })
		if j < 0 {
			if len(mine) == 0 || fa.Index > mine[len(mine)-1].Index {
				break // the leader's own checksum of this index is not done yet
			}
			done = max(done, fa.Index) // the leader skipped this index
			continue
		}
		if mine[j].Error != "" {
			done = max(done, fa.Index)
			continue
		}
		done = max(done, fa.Index)
		if t := differingTable(mine[j].Tables, fa.Tables); t != "" {
			if found == nil || found.Table == "" && fa.Index < found.Index {
				found = &Divergence{ServerID: id, Index: fa.Index, Table: t}
			}
			continue
		}
		matched = max(matched, fa.Index)
	}
	w.mu.Lock()
	w.nextEntry[id] = max(w.nextEntry[id], next)
	w.nextAudit[id] = max(w.nextAudit[id], done)
	old, had := w.diverged[id]
	switch {
	case found != nil && !had:
		found.Since = time.Now().UTC()
		w.diverged[id] = *found
		w.divergent.WithLabelValues(strconv.Itoa(id)).Set(1)
		w.mismatches.Inc()
		s.log.Error("DIVERGED: "+found.String()+"; repair it with onezone server-reset", "server", id, "index", found.Index, "table", found.Table)
	case found == nil && had && matched > old.Index:
		delete(w.diverged, id)
		delete(w.resetDone, id)
		w.divergent.WithLabelValues(strconv.Itoa(id)).Set(0)
		s.log.Info("audit: server matches the leader again", "server", id, "index", matched, "was", old.String())
	case found == nil && !had:
		w.divergent.WithLabelValues(strconv.Itoa(id)).Set(0)
	}
	d, diverged := w.diverged[id]
	// Once per divergence: the reset server restarts, receives everything
	// and clears the report with its next matching audit.
	repair := diverged && s.cfg.Audit.AutoRepair && !w.resetDone[id] && time.Since(w.repairedAt[id]) > auditRepairRetry
	if repair {
		w.repairedAt[id] = time.Now()
	}
	w.mu.Unlock()
	if repair {
		rctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		err := s.zone.ResetServer(rctx, s.cfg.Federation.ZoneID, id)
		cancel()
		if err != nil {
			s.log.Error("audit: AUTO_REPAIR reset refused; still diverged", "server", id, "divergence", d.String(), "err", err)
		} else {
			s.log.Warn("audit: AUTO_REPAIR reset the diverged server", "server", id, "divergence", d.String())
			w.mu.Lock()
			w.resetDone[id] = true
			w.mu.Unlock()
		}
	}
}

// differingTable names the first table (by name) whose checksum differs
// between a and b, or that only one of them has; "" when they agree.
func differingTable(a, b []backup.TableSum) string {
	m := make(map[string]string, len(a))
	for _, t := range a {
		m[t.Table] = t.Digest
	}
	var diff []string
	for _, t := range b {
		d, ok := m[t.Table]
		if !ok || d != t.Digest {
			diff = append(diff, t.Table)
		}
		delete(m, t.Table)
	}
	for t := range m {
		diff = append(diff, t)
	}
	if len(diff) == 0 {
		return ""
	}
	slices.Sort(diff)
	return diff[0]
}
