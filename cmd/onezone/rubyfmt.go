package main

import (
	"fmt"
	"strings"
)

// This file reproduces, byte for byte where it matters, how OpenNebula's
// Ruby CLI prints a resource:
//   - `-x`: Nokogiri's to_xml of the parsed document (libxml2's formatted
//     dump: two-space indentation, no XML declaration, CDATA kept, an
//     element holding text printed on one line, non-ASCII as &#xHH;);
//   - `-j` / `-y`: XMLElement#to_hash (an element whose only child is text
//     or CDATA becomes a string, any other element a hash of its child
//     elements, a repeated name becomes an array: arrays only when
//     repeated), then JSON.pretty_generate or Psych's to_yaml.
// OpenNebula passes the hash through check_resource_xsd, which wraps
// elements that the XSD declares maxOccurs="unbounded" into arrays; for
// zones it changes nothing: zone_pool.xsd declares no maxOccurs on ZONE and
// the SERVER_POOL sequence of zone.xsd has a single element, which the
// check does not match (see the report of issue 13).

// HMap is an ordered hash (Ruby hashes keep insertion order).
type HMap struct {
	Keys []string
	Vals map[string]any // string, *HMap or []any
}

func newHMap() *HMap { return &HMap{Vals: map[string]any{}} }

// Get returns the value of key, or nil.
func (m *HMap) Get(key string) any { return m.Vals[key] }

func (m *HMap) add(key string, v any) {
	old, ok := m.Vals[key]
	if !ok {
		m.Keys = append(m.Keys, key)
		m.Vals[key] = v
		return
	}
	if arr, isArr := old.([]any); isArr {
		m.Vals[key] = append(arr, v)
		return
	}
	m.Vals[key] = []any{old, v}
}

// ToHash is XMLElement#to_hash of the element n: {n.Name => value}.
func ToHash(n *XNode) *HMap {
	h := newHMap()
	buildHash(h, n)
	return h
}

func buildHash(h *HMap, n *XNode) {
	var r any
	if len(n.Children) == 1 && n.Children[0].Kind != XElement {
		r = n.Children[0].Text
	} else {
		m := newHMap()
		for _, c := range n.Children {
			if c.Kind == XElement {
				buildHash(m, c)
			}
		}
		r = m
	}
	h.add(n.Name, r)
}

// PrettyJSON is Ruby's JSON.pretty_generate of a hash from ToHash, with
// the newline `puts` adds, as the json library before 2.8 writes it (empty
// objects over two lines), which is what OpenNebula 6.10's CLI prints on
// its platforms' Ruby.
func PrettyJSON(h *HMap) string {
	var b strings.Builder
	writeJSON(&b, h, 0)
	b.WriteByte('\n')
	return b.String()
}

func writeJSON(b *strings.Builder, v any, depth int) {
	ind := func(d int) string { return strings.Repeat("  ", d) }
	switch v := v.(type) {
	case string:
		b.WriteString(jsonString(v))
	case *HMap:
		if len(v.Keys) == 0 {
			// json < 2.8 (every Ruby that OpenNebula 6.10 supports):
			// object_nl and the indent even for an empty object.
			b.WriteString("{\n" + ind(depth) + "}")
			return
		}
		b.WriteString("{\n")
		for i, k := range v.Keys {
			b.WriteString(ind(depth+1) + jsonString(k) + ": ")
			writeJSON(b, v.Vals[k], depth+1)
			if i < len(v.Keys)-1 {
				b.WriteByte(',')
			}
			b.WriteByte('\n')
		}
		b.WriteString(ind(depth) + "}")
	case []any:
		if len(v) == 0 {
			b.WriteString("[\n\n" + ind(depth) + "]")
			return
		}
		b.WriteString("[\n")
		for i, e := range v {
			b.WriteString(ind(depth + 1))
			writeJSON(b, e, depth+1)
			if i < len(v)-1 {
				b.WriteByte(',')
			}
			b.WriteByte('\n')
		}
		b.WriteString(ind(depth) + "]")
	}
}

// jsonString escapes like Ruby's JSON generator: quotes, backslashes and
// control characters; "/" and non-ASCII are left as they are.
func jsonString(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch r {
		case '"':
			b.WriteString(`\"`)
		case '\\':
			b.WriteString(`\\`)
		case '\b':
			b.WriteString(`\b`)
		case '\f':
			b.WriteString(`\f`)
		case '\n':
			b.WriteString(`\n`)
		case '\r':
			b.WriteString(`\r`)
		case '\t':
			b.WriteString(`\t`)
		default:
			if r < 0x20 {
				fmt.Fprintf(&b, `\u%04x`, r)
			} else {
				b.WriteRune(r)
			}
		}
	}
	b.WriteByte('"')
	return b.String()
}

// PrettyXML is Nokogiri's to_xml of the element n (libxml2's formatted
// dump) with the newline `puts` adds.
func PrettyXML(n *XNode) string {
	var b strings.Builder
	dumpXML(&b, n, 0, true)
	b.WriteByte('\n')
	return b.String()
}

// dumpXML follows libxml2's xmlNodeDumpOutputInternal: an element is
// formatted (children on their own lines, indented two spaces a level)
// unless one of its children is text or CDATA; the unformatted state is
// inherited by its descendants.
func dumpXML(b *strings.Builder, n *XNode, level int, format bool) {
	switch n.Kind {
	case XText:
		b.WriteString(xmlEscape(n.Text, false))
		return
	case XCDATA:
		b.WriteString("<![CDATA[" + n.Text + "]]>")
		return
	}
	b.WriteString("<" + n.Name)
	for _, a := range n.Attrs {
		b.WriteString(" " + a.Name + `="` + xmlEscape(a.Value, true) + `"`)
	}
	if len(n.Children) == 0 {
		b.WriteString("/>")
		return
	}
	if format {
		for _, c := range n.Children {
			if c.Kind != XElement {
				format = false
				break
			}
		}
	}
	b.WriteString(">")
	if format {
		b.WriteByte('\n')
	}
	for _, c := range n.Children {
		if format && c.Kind == XElement {
			b.WriteString(strings.Repeat("  ", min(level+1, 30)))
		}
		dumpXML(b, c, level+1, format)
		if format {
			b.WriteByte('\n')
		}
	}
	if format {
		b.WriteString(strings.Repeat("  ", min(level, 30)))
	}
	b.WriteString("</" + n.Name + ">")
}

// xmlEscape escapes text (or an attribute value) as libxml2 does for a
// document without a declared encoding.
func xmlEscape(s string, attr bool) string {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r == '<':
			b.WriteString("&lt;")
		case r == '>':
			b.WriteString("&gt;")
		case r == '&':
			b.WriteString("&amp;")
		case attr && r == '"':
			b.WriteString("&quot;")
		case attr && r == '\n':
			b.WriteString("&#10;")
		case attr && r == '\r':
			b.WriteString("&#13;")
		case attr && r == '\t':
			b.WriteString("&#9;")
		case r == '\n' || r == '\t' || r >= 0x20 && r < 0x80:
			b.WriteRune(r)
		default:
			fmt.Fprintf(&b, "&#x%X;", r)
		}
	}
	return b.String()
}
