package main

import (
	"context"
	"encoding/xml"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/oneha/oneha/internal/cli"
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
	Raft *Raft // nil when the call failed
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
			out[i].Raft = &r
		})
	}
	wg.Wait()
	return out
}

func serverCols() []cli.Column {
	return []cli.Column{
		{Header: "ID", Width: 2, Right: true},
		{Header: "NAME", Width: 15, Truncate: true},
		{Header: "ENDPOINT", Width: 63},
	}
}

func statusCols() []cli.Column {
	return []cli.Column{
		{Header: "ID", Width: 2, Right: true},
		{Header: "NAME", Width: 15, Truncate: true},
		{Header: "STATE", Width: 10, Truncate: true},
		{Header: "TERM", Width: 10, Truncate: true},
		{Header: "INDEX", Width: 10, Truncate: true},
		{Header: "COMMIT", Width: 10, Truncate: true},
		{Header: "VOTE", Width: 5, Truncate: true},
		{Header: "FED_INDEX", Width: 10, Truncate: true},
	}
}

func listCols() []cli.Column {
	return []cli.Column{
		{Header: "C", Width: 1},
		{Header: "ID", Width: 5, Right: true},
		{Header: "NAME", Width: 25, Truncate: true},
		{Header: "ENDPOINT", Width: 45},
	}
}

// RenderShow is `onezone show`'s text output.
func RenderShow(z Zone, status []ServerStatus) string {
	var b strings.Builder
	fmt.Fprintf(&b, "ZONE %d INFORMATION\n", z.ID)
	fmt.Fprintf(&b, "%-18s: %s\n", "ID", strconv.Itoa(z.ID))
	fmt.Fprintf(&b, "%-18s: %s\n", "NAME", z.Name)
	fmt.Fprintf(&b, "%-18s: %s\n", "STATE", z.StateName())
	b.WriteString("\n")
	if len(z.Servers) > 0 {
		b.WriteString("ZONE SERVERS\n")
		b.WriteString(cli.Header(serverCols()))
		for _, s := range z.Servers {
			b.WriteString(cli.Row(serverCols(), strconv.Itoa(s.ID), s.Name, s.Endpoint))
		}
		b.WriteString("\nHA & FEDERATION SYNC STATUS\n")
		b.WriteString(cli.Header(statusCols()))
		for _, s := range status {
			b.WriteString(cli.Row(statusCols(), statusCells(s)...))
		}
		b.WriteString("\n")
		if d := divergedLines(status); d != "" {
			b.WriteString(d + "\n")
		}
		if h := healthLines(status); h != "" {
			b.WriteString(h + "\n")
		}
		if l := lagLines(status); l != "" {
			b.WriteString(l + "\n")
		}
		if w := insecureWarning(status); w != "" {
			b.WriteString(w + "\n\n")
		}
	}
	b.WriteString("ZONE TEMPLATE\n")
	b.WriteString(TemplateString(z.Template))
	return b.String()
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

func statusCells(s ServerStatus) []string {
	if s.Raft == nil {
		return []string{strconv.Itoa(s.ID), s.Name, "error", "-", "-", "-", "-", "-"}
	}
	r := s.Raft
	i := func(n int64) string { return strconv.FormatInt(n, 10) }
	return []string{strconv.Itoa(s.ID), s.Name, r.StateName(), i(r.Term), i(r.LogIndex), i(r.Commit), i(r.VotedFor), i(r.FedLogIndex)}
}

// TemplateString prints template attributes as OpenNebula does:
// NAME="value", vectors as NAME=[\n  A="1",\n  B="2" ].
func TemplateString(attrs []Attr) string {
	q := func(s string) string { return `"` + strings.ReplaceAll(s, `"`, `\"`) + `"` }
	var b strings.Builder
	for _, a := range attrs {
		if a.Vector == nil {
			b.WriteString(a.Name + "=" + q(a.Value) + "\n")
			continue
		}
		b.WriteString(a.Name + "=[\n")
		for i, c := range a.Vector {
			b.WriteString("  " + c.Name + "=" + q(c.Value))
			if i < len(a.Vector)-1 {
				b.WriteString(",\n")
			}
		}
		b.WriteString(" ]\n")
	}
	return b.String()
}

// CurrentZone picks the zone `list` marks with "*": the zone whose ENDPOINT,
// or one of whose servers' ENDPOINT, is the endpoint the client talks to;
// zone 0 when none matches (a standalone OneHA zone reached through its
// floating IP). It returns -1 when no zone qualifies.
func CurrentZone(zones []Zone, endpoint string) int {
	norm := func(s string) string { return strings.TrimRight(strings.TrimSpace(s), "/") }
	ep := norm(endpoint)
	for _, z := range zones {
		if norm(z.Endpoint()) == ep {
			return z.ID
		}
	}
	for _, z := range zones {
		for _, s := range z.Servers {
			if norm(s.Endpoint) == ep {
				return z.ID
			}
		}
	}
	for _, z := range zones {
		if z.ID == 0 {
			return 0
		}
	}
	return -1
}

// RenderList is `onezone list`'s text output.
func RenderList(zones []Zone, current int) string {
	var b strings.Builder
	b.WriteString(cli.Header(listCols()))
	for _, z := range zones {
		c := ""
		if z.ID == current {
			c = "*"
		}
		b.WriteString(cli.Row(listCols(), c, strconv.Itoa(z.ID), z.Name, z.Endpoint()))
	}
	return b.String()
}

// ShowJSON is `onezone show --json`'s document.
type ShowJSON struct {
	Zone    ZoneJSON     `json:"zone"`
	Servers []Server     `json:"servers"`
	Status  []StatusJSON `json:"status"`
}

// ZoneJSON is a zone's attributes in JSON output.
type ZoneJSON struct {
	ID       int            `json:"id"`
	Name     string         `json:"name"`
	State    string         `json:"state"`
	Template map[string]any `json:"template"`
}

// StatusJSON is one server's Raft status in JSON output; Error is set, and
// the numbers are absent, when the server did not answer.
type StatusJSON struct {
	ID    int    `json:"id"`
	Name  string `json:"name"`
	State string `json:"state"`
	*Raft
	Error string `json:"error,omitempty"`
}

// NewZoneJSON converts a zone for JSON output.
func NewZoneJSON(z Zone) ZoneJSON {
	t := map[string]any{}
	for _, a := range z.Template {
		if a.Vector == nil {
			t[a.Name] = a.Value
			continue
		}
		v := map[string]string{}
		for _, c := range a.Vector {
			v[c.Name] = c.Value
		}
		t[a.Name] = v
	}
	return ZoneJSON{ID: z.ID, Name: z.Name, State: z.StateName(), Template: t}
}

// NewShowJSON converts show's data for JSON output.
func NewShowJSON(z Zone, status []ServerStatus) ShowJSON {
	out := ShowJSON{Zone: NewZoneJSON(z), Servers: z.Servers, Status: []StatusJSON{}}
	if out.Servers == nil {
		out.Servers = []Server{}
	}
	for _, s := range status {
		j := StatusJSON{ID: s.ID, Name: s.Name, State: "error", Raft: s.Raft}
		if s.Raft != nil {
			j.State = s.Raft.StateName()
		} else if s.Err != nil {
			j.Error = s.Err.Error()
		}
		out.Status = append(out.Status, j)
	}
	return out
}
