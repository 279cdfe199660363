package oned

import (
	"context"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/hashicorp/raft"
	"github.com/prometheus/client_golang/prometheus"
)

// followerWatch is the leader's record of what each follower last told it
// about its database: the applied index in its /audit answer, fetched each
// auditPoll (1 s) by the audit loop over the zone's peer channel.
type followerWatch struct {
	mu   sync.Mutex
	seen map[int]followerSeen
}

type followerSeen struct {
	applied uint64
	at      time.Time
}

func newFollowerWatch() *followerWatch { return &followerWatch{seen: map[int]followerSeen{}} }

func (f *followerWatch) saw(id int, applied uint64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.seen[id] = followerSeen{applied: applied, at: time.Now()}
}

func (f *followerWatch) get(id int) (followerSeen, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	s, ok := f.seen[id]
	return s, ok
}

// forget drops everything (leadership lost: the next leader measures
// afresh).
func (f *followerWatch) forget() {
	f.mu.Lock()
	defer f.mu.Unlock()
	clear(f.seen)
}

// keepOnly drops servers no longer in the zone.
func (f *followerWatch) keepOnly(ids []int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for id := range f.seen {
		if !slices.Contains(ids, id) {
			delete(f.seen, id)
		}
	}
}

// FollowerHealth is the leader's view of one follower (OneHA's FOLLOWER
// element of the leader's RAFT document, and /metrics).
type FollowerHealth struct {
	ServerID int  `xml:"SERVER_ID" json:"SERVER_ID"`
	Voter    bool `xml:"VOTER" json:"VOTER"`
	// Lag: the leader's commit index minus the follower's applied index as
	// the follower last reported it (at most about a second old, so the
	// lag may count up to a second of the leader's newest commits); -1
	// when it never answered this leader.
	Lag int64 `xml:"LAG" json:"LAG"`
	// LastContactMS: milliseconds since the follower last answered a Raft
	// AppendEntries (heartbeat or replication), from raft's heartbeat
	// failure observations: 0 while heartbeats succeed (every
	// ElectionTimeout/10).
	LastContactMS int64 `xml:"LAST_CONTACT_MS" json:"LAST_CONTACT_MS"`
	// Stale: no contact for more than staleAfter.
	Stale bool `xml:"STALE" json:"STALE"`
}

// staleAfter is how long without Raft contact makes a follower stale: two
// election timeouts (a follower itself starts an election after one).
func (s *Server) staleAfter() time.Duration {
	return 2 * time.Duration(s.cfg.Raft.ElectionTimeoutMS) * time.Millisecond
}

// followersHealth is, on the leader, every other member of the Raft
// configuration with its lag and last contact; nil elsewhere.
func (s *Server) followersHealth(ctx context.Context) []FollowerHealth {
	if s.node == nil || !s.node.IsLeader() {
		return nil
	}
	conf, err := s.node.Configuration(ctx)
	if err != nil {
		return nil
	}
	commit := s.node.Raft().CommitIndex()
	contacts := s.node.PeerContacts()
	out := []FollowerHealth{}
	for _, m := range conf {
		id, err := strconv.Atoi(string(m.ID))
		if err != nil || id == s.cfg.Federation.ServerID {
			continue
		}
		fh := FollowerHealth{ServerID: id, Voter: m.Suffrage == raft.Voter, Lag: -1}
		if seen, ok := s.followers.get(id); ok {
			fh.Lag = int64(commit - min(seen.applied, commit))
		}
		if c, ok := contacts[string(m.ID)]; ok && c.Failing {
			fh.LastContactMS = time.Since(c.LastContact).Milliseconds()
			fh.Stale = time.Since(c.LastContact) > s.staleAfter()
		}
		out = append(out, fh)
	}
	slices.SortFunc(out, func(a, b FollowerHealth) int { return a.ServerID - b.ServerID })
	return out
}

// followerCollector serves oneha_follower_lag_entries and
// oneha_follower_last_contact_seconds (leader only; no series elsewhere).
type followerCollector struct {
	s            *Server
	lag, contact *prometheus.Desc
	voter, stale *prometheus.Desc
}

func newFollowerCollector(s *Server) followerCollector {
	l := []string{"server"}
	return followerCollector{s: s,
		lag: prometheus.NewDesc("oneha_follower_lag_entries",
			"Leader only: its commit index minus the follower's applied index as the follower last reported it (polled each second); -1 when it never answered this leader.", l, nil),
		contact: prometheus.NewDesc("oneha_follower_last_contact_seconds",
			"Leader only: seconds since the follower last answered a Raft AppendEntries; 0 while heartbeats (every ElectionTimeout/10) succeed.", l, nil),
		voter: prometheus.NewDesc("oneha_follower_voter", "Leader only: 1 when the follower is a voter, 0 while it is a non-voter.", l, nil),
		stale: prometheus.NewDesc("oneha_follower_stale",
			"Leader only: 1 when the follower's last contact is older than two election timeouts.", l, nil),
	}
}

func (c followerCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.lag
	ch <- c.contact
	ch <- c.voter
	ch <- c.stale
}

func (c followerCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	b := func(v bool) float64 {
		if v {
			return 1
		}
		return 0
	}
	for _, f := range c.s.followersHealth(ctx) {
		id := strconv.Itoa(f.ServerID)
		ch <- prometheus.MustNewConstMetric(c.lag, prometheus.GaugeValue, float64(f.Lag), id)
		ch <- prometheus.MustNewConstMetric(c.contact, prometheus.GaugeValue, float64(f.LastContactMS)/1000, id)
		ch <- prometheus.MustNewConstMetric(c.voter, prometheus.GaugeValue, b(f.Voter), id)
		ch <- prometheus.MustNewConstMetric(c.stale, prometheus.GaugeValue, b(f.Stale), id)
	}
}
