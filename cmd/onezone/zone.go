package main

import (
	"context"
	"encoding/xml"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Zone is a ZONE document.
type Zone struct {
	ID       int
	Name     string
	State    int // 0 enabled, 1 disabled
	Template []Attr
	Servers  []Server
}

// Attr is one template attribute: a single value, or a vector of them.
type Attr struct {
	Name   string
	Value  string
	Vector []Attr // set for NAME=[ ... ] attributes
}

// Server is one entry of a zone's SERVER_POOL.
type Server struct {
	ID       int    `json:"id"`
	Name     string `json:"name"`
	Endpoint string `json:"endpoint"`
}

// Raft is a RAFT document (one.zone.raftstatus).
type Raft struct {
	ServerID    int64 `xml:"SERVER_ID" json:"server_id"`
	State       int64 `xml:"STATE" json:"-"`
	Term        int64 `xml:"TERM" json:"term"`
	VotedFor    int64 `xml:"VOTEDFOR" json:"vote"`
	Commit      int64 `xml:"COMMIT" json:"commit"`
	LogIndex    int64 `xml:"LOG_INDEX" json:"index"`
	LogTerm     int64 `xml:"LOG_TERM" json:"log_term"`
	FedLogIndex int64 `xml:"FEDLOG_INDEX" json:"fed_index"`
	// InsecureRaft: the server runs plaintext Raft (OneHA's INSECURE_RAFT;
	// the element is absent otherwise).
	InsecureRaft bool `xml:"INSECURE_RAFT" json:"insecure_raft,omitempty"`
	// Diverged: the leader's divergence audit found these followers
	// different (OneHA's; absent otherwise).
	Diverged []Diverged `xml:"DIVERGED" json:"diverged,omitempty"`
	// Degraded: this server's apply is failing or stalled (OneHA's; absent
	// when healthy).
	Degraded string `xml:"DEGRADED" json:"degraded,omitempty"`
	// NotPromoted: joiners the leader keeps non-voters, and why (OneHA's).
	NotPromoted []NotPromoted `xml:"NOT_PROMOTED" json:"not_promoted,omitempty"`
	// LastContactMS, StaleContact: a follower's own time since it last
	// heard from the leader (OneHA's; absent on the leader).
	LastContactMS *int64 `xml:"LAST_CONTACT_MS" json:"last_contact_ms,omitempty"`
	StaleContact  bool   `xml:"STALE_CONTACT" json:"stale_contact,omitempty"`
	// LogRetention and Followers: the leader's RAFT LOG_RETENTION and its
	// view of each follower (OneHA's; leader only).
	LogRetention int64      `xml:"LOG_RETENTION" json:"log_retention,omitempty"`
	Followers    []Follower `xml:"FOLLOWER" json:"followers,omitempty"`
	// Dead: voters the leader's dead-server cleanup removed from the
	// voters, or kept for MIN_QUORUM, and why (OneHA's).
	Dead []NotPromoted `xml:"DEAD" json:"dead,omitempty"`
}

// NotPromoted is one NOT_PROMOTED element of the leader's RAFT document.
type NotPromoted struct {
	ServerID int64  `xml:"SERVER_ID" json:"server_id"`
	Reason   string `xml:"REASON" json:"reason"`
}

// Diverged is one DIVERGED element of the leader's RAFT document.
type Diverged struct {
	ServerID int64  `xml:"SERVER_ID" json:"server_id"`
	Index    uint64 `xml:"INDEX" json:"index"`
	Table    string `xml:"TABLE" json:"table,omitempty"`
}

// String is show's line: "DIVERGED: server 2 at index 12000: table vm_pool
// differs" (or "the entry's outcome differs").
func (d Diverged) String() string {
	what := "the entry's outcome differs"
	if d.Table != "" {
		what = "table " + d.Table + " differs"
	}
	return fmt.Sprintf("DIVERGED: server %d at index %d: %s", d.ServerID, d.Index, what)
}

// ServerStatus is a server with the outcome of its raftstatus call.
type ServerStatus struct {
	Server
	Raft *Raft  // nil when the call failed
	Doc  *XNode // the RAFT document; nil when the call failed
	Err  error
}

// Endpoint is the zone's TEMPLATE/ENDPOINT.
func (z Zone) Endpoint() string {
	for _, a := range z.Template {
		if a.Name == "ENDPOINT" && a.Vector == nil {
			return a.Value
		}
	}
	return ""
}

// StateName is the zone state as OpenNebula prints it.
func (z Zone) StateName() string {
	switch z.State {
	case 0:
		return "ENABLED"
	case 1:
		return "DISABLED"
	}
	return strconv.Itoa(z.State)
}

// StateName maps a RAFT STATE to OpenNebula's name.
func (r Raft) StateName() string {
	switch r.State {
	case 0:
		return "solo"
	case 1:
		return "candidate"
	case 2:
		return "follower"
	case 3:
		return "leader"
	}
	return "error"
}

type zoneXML struct {
	ID       string      `xml:"ID"`
	Name     string      `xml:"NAME"`
	State    string      `xml:"STATE"`
	Template xmlNode     `xml:"TEMPLATE"`
	Servers  []serverXML `xml:"SERVER_POOL>SERVER"`
}

type serverXML struct {
	ID       string `xml:"ID"`
	Name     string `xml:"NAME"`
	Endpoint string `xml:"ENDPOINT"`
}

type xmlNode struct {
	XMLName xml.Name
	Text    string    `xml:",chardata"`
	Nodes   []xmlNode `xml:",any"`
}

// ParseZone parses a ZONE document.
func ParseZone(doc string) (Zone, error) {
	var zx struct {
		XMLName xml.Name `xml:"ZONE"`
		zoneXML
	}
	if err := xml.Unmarshal([]byte(doc), &zx); err != nil {
		return Zone{}, fmt.Errorf("parse ZONE: %w", err)
	}
	return zx.zone()
}

// ParseZonePool parses a ZONE_POOL document.
func ParseZonePool(doc string) ([]Zone, error) {
	var px struct {
		XMLName xml.Name  `xml:"ZONE_POOL"`
		Zones   []zoneXML `xml:"ZONE"`
	}
	if err := xml.Unmarshal([]byte(doc), &px); err != nil {
		return nil, fmt.Errorf("parse ZONE_POOL: %w", err)
	}
	out := make([]Zone, 0, len(px.Zones))
	for _, zx := range px.Zones {
		z, err := zx.zone()
		if err != nil {
			return nil, err
		}
		out = append(out, z)
	}
	return out, nil
}

func (zx zoneXML) zone() (Zone, error) {
	id, err := atoi("ZONE/ID", zx.ID)
	if err != nil {
		return Zone{}, err
	}
	z := Zone{ID: id, Name: zx.Name}
	if strings.TrimSpace(zx.State) != "" {
		if z.State, err = atoi("ZONE/STATE", zx.State); err != nil {
			return Zone{}, err
		}
	}
	for _, n := range zx.Template.Nodes {
		a := Attr{Name: n.XMLName.Local, Value: n.Text}
		if len(n.Nodes) > 0 {
			a.Value = ""
			a.Vector = []Attr{}
			for _, c := range n.Nodes {
				a.Vector = append(a.Vector, Attr{Name: c.XMLName.Local, Value: c.Text})
			}
		}
		z.Template = append(z.Template, a)
	}
	for _, sx := range zx.Servers {
		sid, err := atoi("SERVER/ID", sx.ID)
		if err != nil {
			return Zone{}, err
		}
		z.Servers = append(z.Servers, Server{ID: sid, Name: sx.Name, Endpoint: strings.TrimSpace(sx.Endpoint)})
	}
	return z, nil
}

func atoi(what, s string) (int, error) {
	n, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil {
		return 0, fmt.Errorf("parse %s %q: %w", what, s, err)
	}
	return n, nil
}

// ParseRaft parses a RAFT document.
func ParseRaft(doc string) (Raft, error) {
	var r struct {
		XMLName xml.Name `xml:"RAFT"`
		Raft
	}
	if err := xml.Unmarshal([]byte(doc), &r); err != nil {
		return Raft{}, fmt.Errorf("parse RAFT: %w", err)
	}
	return r.Raft, nil
}

// StatusFunc fetches one server's RAFT document from its endpoint.
type StatusFunc func(ctx context.Context, endpoint string) (string, error)

// FetchStatus asks every server for its Raft status concurrently, each
// call bounded by timeout, and returns the outcomes in server order.
func FetchStatus(ctx context.Context, servers []Server, timeout time.Duration, fetch StatusFunc) []ServerStatus {
	out := make([]ServerStatus, len(servers))
	var wg sync.WaitGroup
	for i, s := range servers {
		out[i].Server = s
		wg.Go(func() {
			cctx, cancel := context.WithTimeout(ctx, timeout)
			defer cancel()
			doc, err := fetch(cctx, s.Endpoint)
			if err != nil {
				out[i].Err = err
				return
			}
			r, err := ParseRaft(doc)
			if err != nil {
				out[i].Err = err
				return
			}
			root, err := ParseXML(doc)
			if err != nil {
				out[i].Err = err
				return
			}
			out[i].Raft, out[i].Doc = &r, root
		})
	}
	wg.Wait()
	return out
}

// divergedLines is one DIVERGED line per follower the (first answering)
// leader reports diverged; "" when none.
func divergedLines(status []ServerStatus) string {
	for _, s := range status {
		if s.Raft == nil || len(s.Raft.Diverged) == 0 {
			continue
		}
		lines := make([]string, len(s.Raft.Diverged))
		for i, d := range s.Raft.Diverged {
			lines[i] = d.String()
		}
		return strings.Join(lines, "\n") + "\n"
	}
	return ""
}

// healthLines has one "DEGRADED: server N: …" line per server whose apply
// is failing or stalled, one "NOT PROMOTED: server N: …" line per joiner
// the (first answering) leader refuses to promote and one "DEAD: server N:
// …" line per voter its dead-server cleanup removed or kept; "" when none.
func healthLines(status []ServerStatus) string {
	var lines []string
	for _, s := range status {
		if s.Raft != nil && s.Raft.Degraded != "" {
			lines = append(lines, fmt.Sprintf("DEGRADED: server %d: %s", s.ID, s.Raft.Degraded))
		}
	}
	for _, s := range status {
		if s.Raft == nil || len(s.Raft.NotPromoted) == 0 {
			continue
		}
		for _, n := range s.Raft.NotPromoted {
			lines = append(lines, fmt.Sprintf("NOT PROMOTED: server %d: %s", n.ServerID, n.Reason))
		}
		break
	}
	for _, s := range status {
		if s.Raft == nil || len(s.Raft.Dead) == 0 {
			continue
		}
		for _, n := range s.Raft.Dead {
			lines = append(lines, fmt.Sprintf("DEAD: server %d: %s", n.ServerID, n.Reason))
		}
		break
	}
	if len(lines) == 0 {
		return ""
	}
	return strings.Join(lines, "\n") + "\n"
}

// insecureWarning names the servers that run plaintext Raft
// (INSECURE_RAFT); "" when none does.
func insecureWarning(status []ServerStatus) string {
	var ids []string
	for _, s := range status {
		if s.Raft != nil && s.Raft.InsecureRaft {
			ids = append(ids, strconv.Itoa(s.ID))
		}
	}
	if len(ids) == 0 {
		return ""
	}
	return "WARNING: INSECURE_RAFT on server(s) " + strings.Join(ids, ", ") +
		": Raft is plaintext and unauthenticated; anyone reaching their PORT can change the zone's data"
}
