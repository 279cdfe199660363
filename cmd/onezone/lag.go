package main

import (
	"fmt"
	"strings"
	"time"
)

// Follower is one FOLLOWER element of the leader's RAFT document: the
// leader's view of that follower (OneHA's).
type Follower struct {
	ServerID int64 `xml:"SERVER_ID" json:"server_id"`
	Voter    bool  `xml:"VOTER" json:"voter"`
	// Lag: the leader's commit minus the follower's applied index as it
	// last reported it; -1 unknown.
	Lag int64 `xml:"LAG" json:"lag"`
	// LastContactMS: since the follower last answered Raft; 0 while its
	// heartbeats succeed.
	LastContactMS int64 `xml:"LAST_CONTACT_MS" json:"last_contact_ms"`
	Stale         bool  `xml:"STALE" json:"stale"`
}

// lagLines marks, from the first answering leader's FOLLOWER elements,
// each non-voter ("NON-VOTER: server 3: …"), each follower further behind
// the leader's commit than LOG_RETENTION ("BEHIND: …") and each whose last
// contact is stale ("STALE: …"). A follower the leader does not list (no
// leader answered) is marked STALE from its own report. "" when nothing is
// marked.
func lagLines(status []ServerStatus) string {
	var lines []string
	listed := map[int64]bool{}
	for _, s := range status {
		if s.Raft == nil || s.Raft.State != 3 {
			continue
		}
		for _, f := range s.Raft.Followers {
			listed[f.ServerID] = true
			if !f.Voter {
				lines = append(lines, fmt.Sprintf("NON-VOTER: server %d: receives the log but does not vote (joining, catching up or not promoted)", f.ServerID))
			}
			if f.Lag > s.Raft.LogRetention {
				lines = append(lines, fmt.Sprintf("BEHIND: server %d: %d entries behind the leader's commit, more than LOG_RETENTION (%d): it catches up from a snapshot", f.ServerID, f.Lag, s.Raft.LogRetention))
			}
			if f.Stale {
				lines = append(lines, fmt.Sprintf("STALE: server %d: no contact with the leader for %s", f.ServerID, since(f.LastContactMS)))
			}
		}
		break
	}
	for _, s := range status {
		if s.Raft == nil || listed[int64(s.ID)] || !s.Raft.StaleContact || s.Raft.LastContactMS == nil {
			continue
		}
		lines = append(lines, fmt.Sprintf("STALE: server %d: has not heard from a leader for %s", s.ID, since(*s.Raft.LastContactMS)))
	}
	if len(lines) == 0 {
		return ""
	}
	return strings.Join(lines, "\n") + "\n"
}

func since(ms int64) string {
	return (time.Duration(ms) * time.Millisecond).Round(100 * time.Millisecond).String()
}
