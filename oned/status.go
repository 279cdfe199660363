package oned

import (
	"cmp"
	"context"
	"database/sql"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/hashicorp/raft"
	"github.com/jmoiron/sqlx"

	"github.com/oneha/oneha/sqlfsm"
	"github.com/oneha/oneha/zone"
)

// RaftStatus is OpenNebula's RAFT document (one.zone.raftstatus).
type RaftStatus struct {
	XMLName     xml.Name `xml:"RAFT" json:"-"`
	ServerID    int      `xml:"SERVER_ID" json:"SERVER_ID"`
	State       int      `xml:"STATE" json:"STATE"` // 0 solo, 1 candidate, 2 follower, 3 leader
	Term        int64    `xml:"TERM" json:"TERM"`
	VotedFor    int      `xml:"VOTEDFOR" json:"VOTEDFOR"`
	Commit      int64    `xml:"COMMIT" json:"COMMIT"`
	LogIndex    int64    `xml:"LOG_INDEX" json:"LOG_INDEX"`
	LogTerm     int64    `xml:"LOG_TERM" json:"LOG_TERM"`
	FedLogIndex int64    `xml:"FEDLOG_INDEX" json:"FEDLOG_INDEX"`
	// InsecureRaft (OneHA's; absent unless true) says this server runs
	// plaintext, unauthenticated Raft (INSECURE_RAFT).
	InsecureRaft bool `xml:"INSECURE_RAFT,omitempty" json:"INSECURE_RAFT,omitempty"`
	// Diverged (OneHA's; leader only, absent when none) lists the
	// followers its divergence audit found different (see auditWatch).
	Diverged []Divergence `xml:"DIVERGED,omitempty" json:"DIVERGED,omitempty"`
	// Degraded (OneHA's; absent when healthy) is this server's apply
	// fault or stall: a transient database fault being retried, or a batch
	// running longer than the stall threshold.
	Degraded string `xml:"DEGRADED,omitempty" json:"DEGRADED,omitempty"`
	// NotPromoted (OneHA's; leader only, absent when none) lists the
	// joiners it will not promote, with the reason (DB settings that differ).
	NotPromoted []NotPromoted `xml:"NOT_PROMOTED,omitempty" json:"NOT_PROMOTED,omitempty"`
	// Dead (OneHA's; leader only, absent when none) lists the voters its
	// dead-server cleanup (RAFT DEAD_SERVER_TIMEOUT_S) removed from the
	// voters, or kept because of MIN_QUORUM, with the reason.
	Dead []DeadVoter `xml:"DEAD,omitempty" json:"DEAD,omitempty"`
	// LastContactMS (OneHA's; followers only) is the time since this
	// server last heard from the leader; StaleContact (absent unless true)
	// says it is older than two election timeouts.
	LastContactMS *int64 `xml:"LAST_CONTACT_MS,omitempty" json:"LAST_CONTACT_MS,omitempty"`
	StaleContact  bool   `xml:"STALE_CONTACT,omitempty" json:"STALE_CONTACT,omitempty"`
	// LogRetention and Followers (OneHA's; leader only): RAFT
	// LOG_RETENTION, and each follower's lag and last contact as the
	// leader measures them (FollowerHealth).
	LogRetention int              `xml:"LOG_RETENTION,omitempty" json:"LOG_RETENTION,omitempty"`
	Followers    []FollowerHealth `xml:"FOLLOWER,omitempty" json:"FOLLOWER,omitempty"`
}

// DeadVoter is one voter the leader found unreachable for
// DEAD_SERVER_TIMEOUT_S.
type DeadVoter struct {
	ServerID int    `xml:"SERVER_ID" json:"SERVER_ID"`
	Removed  bool   `xml:"REMOVED" json:"REMOVED"` // false: kept a voter by MIN_QUORUM
	Reason   string `xml:"REASON" json:"REASON"`
}

// NotPromoted is one joiner the leader keeps a non-voter, and why.
type NotPromoted struct {
	ServerID int    `xml:"SERVER_ID" json:"SERVER_ID"`
	Reason   string `xml:"REASON" json:"REASON"`
}

// OpenNebula's STATE values.
const (
	StateSolo      = 0
	StateCandidate = 1
	StateFollower  = 2
	StateLeader    = 3
)

// status reads this server's Raft status.
func (s *Server) status(ctx context.Context) (RaftStatus, error) {
	st := RaftStatus{ServerID: s.cfg.Federation.ServerID, VotedFor: -1, FedLogIndex: s.fedLogIndex(ctx)}
	if s.node == nil {
		st.State, st.LogIndex, st.LogTerm = StateSolo, -1, -1
		return st, nil
	}
	ns, err := s.node.Stats(ctx)
	if err != nil {
		return st, err
	}
	st.InsecureRaft = s.cfg.InsecureRaft
	if s.fsm != nil {
		if d := cmp.Or(s.fsm.Degraded(), s.fsm.Stalled()); d != nil {
			st.Degraded = d.Error()
		}
	}
	if ns.State != raft.Leader && !ns.LastContact.IsZero() {
		age := time.Since(ns.LastContact)
		ms := age.Milliseconds()
		st.LastContactMS, st.StaleContact = &ms, age > s.staleAfter()
	}
	if ns.State == raft.Leader {
		st.LogRetention = s.cfg.Raft.LogRetention
		st.Followers = s.followersHealth(ctx)
		st.Diverged = s.auditW.Diverged()
		if s.zone != nil {
			for id, reason := range s.zone.PromotionBlocked() {
				st.NotPromoted = append(st.NotPromoted, NotPromoted{ServerID: id, Reason: reason})
			}
			slices.SortFunc(st.NotPromoted, func(a, b NotPromoted) int { return cmp.Compare(a.ServerID, b.ServerID) })
			for _, d := range s.zone.DeadServers() {
				st.Dead = append(st.Dead, DeadVoter{ServerID: d.ID, Removed: d.Demoted, Reason: d.Reason})
			}
		}
	}
	st.State = stateNumber(ns.State)
	st.Term, st.Commit = int64(ns.Term), int64(ns.CommitIndex)
	st.LogIndex, st.LogTerm = int64(ns.LastLogIndex), int64(ns.LastLogTerm)
	if v, err := strconv.Atoi(ns.VotedFor); err == nil {
		st.VotedFor = v
	}
	return st, nil
}

func (s *Server) raftStatus(ctx context.Context, _ []any) (any, error) {
	st, err := s.status(ctx)
	if err != nil {
		return nil, err
	}
	b, err := xml.Marshal(st)
	if err != nil {
		return nil, err
	}
	return string(b), nil
}

// members (ours: one.zone.members) lists this server's view of the Raft
// configuration: [ {ID, ADDRESS, VOTER}, … ], so operators can watch a
// joining server go from non-voter to voter. Solo: an empty array.
func (s *Server) members(ctx context.Context, _ []any) (any, error) {
	out := []any{}
	if s.node == nil {
		return out, nil
	}
	servers, err := s.node.Configuration(ctx)
	if err != nil {
		return nil, err
	}
	var blocked map[int]string
	if s.zone != nil {
		blocked = s.zone.PromotionBlocked()
	}
	for _, sv := range servers {
		id, _ := strconv.Atoi(string(sv.ID))
		m := map[string]any{"ID": int64(id), "ADDRESS": string(sv.Address), "VOTER": sv.Suffrage == raft.Voter}
		if reason, ok := blocked[id]; ok {
			m["NOT_PROMOTED"] = reason
		}
		out = append(out, m)
	}
	return out, nil
}

// remoteStatus asks another server for its RAFT status over its own
// ENDPOINT (used to decide when a joining server has caught up).
func (s *Server) remoteStatus(ctx context.Context, endpoint string) (zone.RemoteStatus, error) {
	c := s.peerClient(endpoint, s.cfg.XMLRPCTimeout()+time.Second)
	body, err := c.CallONE(ctx, "one.zone.raftstatus", s.auth.session())
	if err != nil {
		return zone.RemoteStatus{}, err
	}
	text, ok := body.(string)
	if !ok {
		return zone.RemoteStatus{}, fmt.Errorf("raftstatus from %s: unexpected %T", endpoint, body)
	}
	var st RaftStatus
	if err := xml.Unmarshal([]byte(text), &st); err != nil {
		return zone.RemoteStatus{}, fmt.Errorf("raftstatus from %s: %w", endpoint, err)
	}
	names := map[int]string{StateSolo: "solo", StateCandidate: "candidate", StateFollower: "follower", StateLeader: "leader"}
	rs := zone.RemoteStatus{State: names[st.State], Term: uint64(max(st.Term, 0)), LogIndex: uint64(max(st.LogIndex, 0)), Commit: uint64(max(st.Commit, 0))}
	// Caught up means the server's DATABASE has the entries, not just its
	// log: a server restoring a large snapshot reports the snapshot's log
	// index long before the restore ends. Promotion uses the smaller.
	applied, settings, err := s.remoteApplied(ctx, endpoint)
	if err != nil {
		return zone.RemoteStatus{}, err
	}
	rs.LogIndex = min(rs.LogIndex, applied)
	rs.Settings = settings
	return rs, nil
}

// remoteApplied reads APPLIED_INDEX and DB_SETTINGS from the server's
// /status (same port).
func (s *Server) remoteApplied(ctx context.Context, endpoint string) (uint64, sqlfsm.Settings, error) {
	var st struct {
		Applied  *uint64         `json:"APPLIED_INDEX"`
		Settings sqlfsm.Settings `json:"DB_SETTINGS"`
	}
	if err := s.getStatus(ctx, strings.TrimSuffix(endpoint, "/RPC2"), s.cfg.XMLRPCTimeout()+time.Second, &st); err != nil {
		return 0, nil, err
	}
	if st.Applied == nil {
		return 0, nil, fmt.Errorf("status of %s: no APPLIED_INDEX", endpoint)
	}
	return *st.Applied, st.Settings, nil
}

// getStatus GETs base+"/status" (base: http://host:port of a zone server)
// over the peer channel and decodes the JSON into out. Over the zone's
// mutual TLS the verified certificate authorizes the request
// (statusAuthorized), so oneadmin's password is sent only in INSECURE_RAFT
// mode, where the peer channel is plain HTTP.
func (s *Server) getStatus(ctx context.Context, base string, timeout time.Duration, out any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.peerURL(base)+"/status", nil)
	if err != nil {
		return err
	}
	if s.creds == nil {
		req.SetBasicAuth(s.auth.user, s.auth.password)
	}
	resp, err := s.peerHTTP(timeout).Do(req)
	if err != nil {
		return fmt.Errorf("status of %s: %w", base, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("status of %s: HTTP %s", base, resp.Status)
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(out); err != nil {
		return fmt.Errorf("status of %s: %w", base, err)
	}
	return nil
}

// listServers reads the zone's servers from the local database (before the
// zone manager runs); a database without the zone tables has none.
func listServers(ctx context.Context, db *sql.DB, zoneID int) ([]zone.Server, error) {
	servers, _, err := readZoneServers(ctx, db, zoneID)
	return servers, err
}

// readZoneServers is listServers that also reports whether the zone table
// is missing, which the peer authorizer tells apart from an empty one.
func readZoneServers(ctx context.Context, db *sql.DB, zoneID int) (servers []zone.Server, missing bool, err error) {
	// sqlx maps the columns to zone.Server's fields by lower-cased name
	// (id, name, endpoint); the driver name only picks the bindvar style
	// of Rebind, unused here ("?" on both backends).
	var out []zone.Server
	err = sqlx.NewDb(db, "sqlite3").SelectContext(ctx, &out,
		"SELECT id, name, endpoint FROM "+zone.ServerTable+" WHERE zone_id = ? ORDER BY id", zoneID)
	if err != nil {
		if isNoTable(err) {
			return nil, true, nil
		}
		return nil, false, fmt.Errorf("read zone servers: %w", err)
	}
	return out, false, nil
}

func isNoTable(err error) bool {
	m := strings.ToLower(err.Error())
	return strings.Contains(m, "no such table") || strings.Contains(m, "doesn't exist") || strings.Contains(m, "1146")
}
