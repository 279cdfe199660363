package main

import (
	"fmt"
	"strconv"
	"strings"
)

// raftFields are the RAFT elements OpenNebula's Zone#info_extended copies
// into each SERVER of the zone document, in its order.
var raftFields = []string{"STATE", "TERM", "VOTEDFOR", "COMMIT", "LOG_INDEX", "FEDLOG_INDEX"}

// ExtendZone is OpenNebula's Zone#info_extended: it appends to the i-th
// SERVER element of the ZONE document the STATE, TERM, VOTEDFOR, COMMIT,
// LOG_INDEX and FEDLOG_INDEX of status[i]'s RAFT document ("-" for a field
// the document lacks; all "-" when the server did not answer). status is
// in SERVER order (FetchStatus of ParseZone's servers).
func ExtendZone(zone *XNode, status []ServerStatus) {
	pool := zone.Child("SERVER_POOL")
	if pool == nil {
		return
	}
	i := 0
	for _, sv := range pool.Children {
		if sv.Kind != XElement || sv.Name != "SERVER" {
			continue
		}
		var doc *XNode
		if i < len(status) {
			doc = status[i].Doc
		}
		i++
		for _, f := range raftFields {
			v := "-"
			if doc != nil && doc.Name == "RAFT" {
				if e := doc.Child(f); e != nil {
					v = e.Content()
				}
			}
			sv.AddText(f, v)
		}
	}
}

// cell is Ruby's to_s of a to_hash value as a table cell shows it.
func cell(v any) string {
	switch v := v.(type) {
	case string:
		return v
	case *HMap:
		if len(v.Keys) == 0 {
			return "{}"
		}
		parts := make([]string, len(v.Keys))
		for i, k := range v.Keys {
			parts[i] = jsonString(k) + " => " + rubyInspect(v.Vals[k])
		}
		return "{" + strings.Join(parts, ", ") + "}"
	case []any:
		return rubyInspect(v)
	}
	return ""
}

func rubyInspect(v any) string {
	switch v := v.(type) {
	case string:
		return jsonString(v)
	case []any:
		parts := make([]string, len(v))
		for i, e := range v {
			parts[i] = rubyInspect(e)
		}
		return "[" + strings.Join(parts, ", ") + "]"
	}
	return cell(v)
}

// hget is the string at a path of nested hashes ("" when absent).
func hget(v any, path ...string) any {
	for _, p := range path {
		m, ok := v.(*HMap)
		if !ok {
			return nil
		}
		v = m.Get(p)
	}
	return v
}

// list flattens a to_hash value as Ruby's [v].flatten (nil: empty).
func list(v any) []any {
	switch v := v.(type) {
	case nil:
		return nil
	case []any:
		return v
	}
	return []any{v}
}

// ZoneStateName is Zone::ZONE_STATES ("" for an unknown state, as Ruby's
// nil prints).
func ZoneStateName(state string) string {
	switch rubyToI(state) {
	case 0:
		return "ENABLED"
	case 1:
		return "DISABLED"
	}
	return ""
}

// rubyToI is Ruby's String#to_i: the leading integer, 0 when none.
func rubyToI(s string) int {
	s = strings.TrimLeft(s, " \t\n\v\f\r")
	end := 0
	if end < len(s) && (s[end] == '-' || s[end] == '+') {
		end++
	}
	for end < len(s) && s[end] >= '0' && s[end] <= '9' {
		end++
	}
	n, _ := strconv.Atoi(s[:end])
	return n
}

func pad80(s string) string { return fmt.Sprintf("%-80s", s) }

func serversTable() Table {
	return Table{Cols: []Column{
		{Name: "ID", Size: 2},
		{Name: "NAME", Size: 15, Left: true},
		{Name: "ENDPOINT", Size: 63, Left: true},
	}}
}

func haTable() Table {
	return Table{Cols: []Column{
		{Name: "ID", Size: 2},
		{Name: "NAME", Size: 15, Left: true},
		{Name: "STATE", Size: 10, Left: true},
		{Name: "TERM", Size: 10, Left: true},
		{Name: "INDEX", Size: 10, Left: true},
		{Name: "COMMIT", Size: 10, Left: true},
		{Name: "VOTE", Size: 5, Left: true},
		{Name: "FED_INDEX", Size: 10, Left: true},
	}}
}

// raftStateName is the HA table's STATE column.
func raftStateName(s string) string {
	switch s {
	case "0":
		return "solo"
	case "1":
		return "candidate"
	case "2":
		return "follower"
	case "3":
		return "leader"
	}
	return "error"
}

// RenderShow is `onezone show`'s text: OpenNebula's layout of the
// extended ZONE document (ExtendZone) byte for byte (headers padded to 80
// columns, "%-18s: %-20s" lines, two blank lines before ZONE SERVERS,
// tables as CLIHelper::ShowTable prints them), then OneHA's own lines
// (DIVERGED, DEGRADED, NOT PROMOTED, NON-VOTER, BEHIND, STALE,
// INSECURE_RAFT warning) after a blank line, only when there are any, so
// that a parser of OpenNebula's output reads the same text.
func RenderShow(zone *XNode, status []ServerStatus, tty bool) string {
	var b strings.Builder
	h := ToHash(zone)
	z := hget(h, "ZONE")
	b.WriteString(header(pad80("ZONE "+cell(hget(z, "ID"))+" INFORMATION"), true, tty))
	fmt.Fprintf(&b, "%-18s: %-20s\n", "ID", strconv.Itoa(rubyToI(cell(hget(z, "ID")))))
	fmt.Fprintf(&b, "%-18s: %-20s\n", "NAME", cell(hget(z, "NAME")))
	fmt.Fprintf(&b, "%-18s: %-20s\n", "STATE", ZoneStateName(cell(hget(z, "STATE"))))
	b.WriteString("\n")
	if hasServers(zone) {
		servers := list(hget(z, "SERVER_POOL", "SERVER"))
		b.WriteString("\n")
		b.WriteString(header(pad80("ZONE SERVERS"), false, tty))
		rows := make([][]string, len(servers))
		for i, s := range servers {
			rows[i] = []string{cell(hget(s, "ID")), cell(hget(s, "NAME")), cell(hget(s, "ENDPOINT"))}
		}
		out, _ := serversTable().Render(rows, TableOptions{TTY: tty})
		b.WriteString(out)
		b.WriteString("\n")
		b.WriteString(header(pad80("HA & FEDERATION SYNC STATUS"), false, tty))
		rows = make([][]string, len(servers))
		for i, s := range servers {
			rows[i] = []string{cell(hget(s, "ID")), cell(hget(s, "NAME")), raftStateName(cell(hget(s, "STATE"))),
				cell(hget(s, "TERM")), cell(hget(s, "LOG_INDEX")), cell(hget(s, "COMMIT")),
				cell(hget(s, "VOTEDFOR")), cell(hget(s, "FEDLOG_INDEX"))}
		}
		out, _ = haTable().Render(rows, TableOptions{TTY: tty})
		b.WriteString(out)
	}
	b.WriteString("\n")
	b.WriteString(header(pad80("ZONE TEMPLATE"), false, tty))
	b.WriteString(TemplateString(zone.Child("TEMPLATE")) + "\n")
	if extra := oneHALines(status); extra != "" {
		b.WriteString("\n" + extra)
	}
	return b.String()
}

// hasServers is has_elements?("/ZONE/SERVER_POOL/SERVER"): some SERVER
// has a child.
func hasServers(zone *XNode) bool {
	pool := zone.Child("SERVER_POOL")
	if pool == nil {
		return false
	}
	for _, s := range pool.Children {
		if s.Kind == XElement && s.Name == "SERVER" && len(s.Children) > 0 {
			return true
		}
	}
	return false
}

// oneHALines are OneHA's additions to show, each block ending in a newline.
func oneHALines(status []ServerStatus) string {
	var b strings.Builder
	b.WriteString(divergedLines(status))
	b.WriteString(healthLines(status))
	b.WriteString(lagLines(status))
	if w := insecureWarning(status); w != "" {
		b.WriteString(w + "\n")
	}
	return b.String()
}

// TemplateString is OpenNebula's template_str: NAME="value" per attribute
// with text, vectors as NAME=[\n  A="1",\n  B="2" ] (sub-attributes
// without text left out), quotes escaped, lines joined by newlines (no
// final newline).
func TemplateString(tmpl *XNode) string {
	if tmpl == nil {
		return ""
	}
	q := func(s string) string { return `"` + strings.ReplaceAll(s, `"`, `\"`) + `"` }
	var lines []string
	for _, n := range tmpl.Elements() {
		if sub := n.Elements(); len(sub) > 0 {
			var parts []string
			for _, c := range sub {
				if t, ok := firstText(c); ok {
					parts = append(parts, "  "+c.Name+"="+q(t))
				}
			}
			lines = append(lines, n.Name+"=[\n"+strings.Join(parts, ",\n")+" ]")
			continue
		}
		if t, ok := firstText(n); ok {
			lines = append(lines, n.Name+"="+q(t))
		}
	}
	return strings.Join(lines, "\n")
}

// firstText is REXML's Element#text: the first text or CDATA child.
func firstText(n *XNode) (string, bool) {
	for _, c := range n.Children {
		if c.Kind != XElement {
			return c.Text, true
		}
	}
	return "", false
}

// listTable is onezone list's table (OneZoneHelper#format_pool).
func listTable() Table {
	return Table{Cols: []Column{
		{Name: "CURRENT", Desc: "Active Zone", Size: 1},
		{Name: "ID", Desc: "ONE identifier for the Zone", Size: 5},
		{Name: "NAME", Desc: "Name of the Zone", Size: 25, Left: true},
		{Name: "ENDPOINT", Desc: "Endpoint of the Zone", Size: 45, Left: true},
		{Name: "FED_INDEX", Desc: "Federation index", Size: 10, Left: true},
		{Name: "STAT", Desc: "Zone status", Size: 6, Left: true},
	}}
}

// ListRows are the list table's cells for a ZONE_POOL document: "*" in
// CURRENT when the zone's ENDPOINT is the client's endpoint (both
// stripped, as OpenNebula compares them), FED_INDEX from fedIndex (called
// with the zone's ENDPOINT), STAT "on" or "off".
func ListRows(pool *XNode, clientEndpoint string, fedIndex map[string]string) [][]string {
	var rows [][]string
	for _, z := range list(hget(ToHash(pool), "ZONE_POOL", "ZONE")) {
		ep := cell(hget(z, "TEMPLATE", "ENDPOINT"))
		cur := ""
		if strings.TrimSpace(ep) == strings.TrimSpace(clientEndpoint) {
			cur = "*"
		}
		stat := ""
		switch ZoneStateName(cell(hget(z, "STATE"))) {
		case "ENABLED":
			stat = "on"
		case "DISABLED":
			stat = "off"
		}
		fed, ok := fedIndex[ep]
		if !ok {
			fed = "-"
		}
		rows = append(rows, []string{cur, cell(hget(z, "ID")), cell(hget(z, "NAME")), ep, fed, stat})
	}
	return rows
}

// ZoneEndpoints are the distinct TEMPLATE/ENDPOINTs of a ZONE_POOL.
func ZoneEndpoints(pool *XNode) []string {
	var out []string
	seen := map[string]bool{}
	for _, z := range pool.Elements() {
		if z.Name != "ZONE" {
			continue
		}
		ep := ""
		if e := z.Path("TEMPLATE", "ENDPOINT"); e != nil {
			ep = e.Content()
		}
		if !seen[ep] {
			seen[ep] = true
			out = append(out, ep)
		}
	}
	return out
}
