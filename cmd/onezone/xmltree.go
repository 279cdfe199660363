package main

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
)

// ErrXML: a document the XML reader cannot parse.
var ErrXML = errors.New("malformed XML")

// maxXMLDepth bounds element nesting (documents come from the network).
const maxXMLDepth = 64

// XNode is one node of an XML document as libxml2 (OpenNebula's Ruby CLI,
// through Nokogiri) sees it: an element, a text node or a CDATA section.
// encoding/xml merges CDATA into text, so OneHA keeps its own small reader:
// OpenNebula's `-x` prints CDATA sections as they came, and its
// XML-to-hash conversion treats an element with two sections differently
// from one with a single section.
type XNode struct {
	Kind     XKind
	Name     string // elements
	Attrs    []XAttr
	Text     string // text and CDATA (unescaped)
	Children []*XNode
}

// XAttr is an element attribute.
type XAttr struct{ Name, Value string }

// XKind is a node kind.
type XKind int

// Node kinds.
const (
	XElement XKind = iota
	XText
	XCDATA
)

// Child returns the first child element called name, or nil.
func (n *XNode) Child(name string) *XNode {
	for _, c := range n.Children {
		if c.Kind == XElement && c.Name == name {
			return c
		}
	}
	return nil
}

// Elements returns the child elements.
func (n *XNode) Elements() []*XNode {
	var out []*XNode
	for _, c := range n.Children {
		if c.Kind == XElement {
			out = append(out, c)
		}
	}
	return out
}

// Content is the concatenated text of the node and its descendants
// (libxml2's content).
func (n *XNode) Content() string {
	if n.Kind != XElement {
		return n.Text
	}
	var b strings.Builder
	for _, c := range n.Children {
		b.WriteString(c.Content())
	}
	return b.String()
}

// Path follows child element names ("SERVER_POOL", "SERVER") and returns
// the first match, or nil.
func (n *XNode) Path(names ...string) *XNode {
	cur := n
	for _, name := range names {
		if cur = cur.Child(name); cur == nil {
			return nil
		}
	}
	return cur
}

// AddText appends <name>value</name> to the element (Nokogiri's
// add_element with a string content).
func (n *XNode) AddText(name, value string) {
	n.Children = append(n.Children, &XNode{Kind: XElement, Name: name, Children: []*XNode{{Kind: XText, Text: value}}})
}

// ParseXML reads a document and returns its root element. It accepts what
// oned writes (elements, attributes, text, entity and character
// references, CDATA, comments, processing instructions) and nothing else
// (no DTD).
func ParseXML(doc string) (*XNode, error) {
	p := &xmlReader{s: doc}
	p.skipMisc()
	if !strings.HasPrefix(p.s[p.i:], "<") {
		return nil, fmt.Errorf("%w: no root element", ErrXML)
	}
	root, err := p.element(0)
	if err != nil {
		return nil, err
	}
	p.skipMisc()
	if p.i != len(p.s) {
		return nil, fmt.Errorf("%w: content after the root element", ErrXML)
	}
	return root, nil
}

type xmlReader struct {
	s string
	i int
}

func (p *xmlReader) errf(format string, args ...any) error {
	return fmt.Errorf("%w at offset %d: %s", ErrXML, p.i, fmt.Sprintf(format, args...))
}

// skipMisc skips whitespace, comments and processing instructions.
func (p *xmlReader) skipMisc() {
	for {
		rest := p.s[p.i:]
		trimmed := strings.TrimLeft(rest, " \t\r\n")
		p.i += len(rest) - len(trimmed)
		switch {
		case strings.HasPrefix(trimmed, "<?"):
			end := strings.Index(trimmed, "?>")
			if end < 0 {
				return
			}
			p.i += end + 2
		case strings.HasPrefix(trimmed, "<!--"):
			end := strings.Index(trimmed, "-->")
			if end < 0 {
				return
			}
			p.i += end + 3
		default:
			return
		}
	}
}

func isNameByte(c byte) bool {
	return c == '_' || c == '-' || c == '.' || c == ':' || c >= '0' && c <= '9' || c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= 0x80
}

func (p *xmlReader) name() string {
	start := p.i
	for p.i < len(p.s) && isNameByte(p.s[p.i]) {
		p.i++
	}
	return p.s[start:p.i]
}

func (p *xmlReader) space() {
	for p.i < len(p.s) && strings.IndexByte(" \t\r\n", p.s[p.i]) >= 0 {
		p.i++
	}
}

// element parses "<name ...>...</name>" or "<name .../>" at p.i.
func (p *xmlReader) element(depth int) (*XNode, error) {
	if depth > maxXMLDepth {
		return nil, p.errf("nested deeper than %d", maxXMLDepth)
	}
	p.i++ // '<'
	n := &XNode{Kind: XElement, Name: p.name()}
	if n.Name == "" {
		return nil, p.errf("element without a name")
	}
	for {
		p.space()
		if p.i >= len(p.s) {
			return nil, p.errf("unterminated start tag <%s", n.Name)
		}
		if strings.HasPrefix(p.s[p.i:], "/>") {
			p.i += 2
			return n, nil
		}
		if p.s[p.i] == '>' {
			p.i++
			break
		}
		an := p.name()
		if an == "" {
			return nil, p.errf("bad attribute in <%s", n.Name)
		}
		p.space()
		if p.i+1 >= len(p.s) || p.s[p.i] != '=' {
			return nil, p.errf("attribute %s without a value", an)
		}
		p.i++
		p.space()
		q := p.s[p.i]
		if q != '"' && q != '\'' {
			return nil, p.errf("unquoted attribute %s", an)
		}
		end := strings.IndexByte(p.s[p.i+1:], q)
		if end < 0 {
			return nil, p.errf("unterminated attribute %s", an)
		}
		v, err := unescapeXML(p.s[p.i+1 : p.i+1+end])
		if err != nil {
			return nil, err
		}
		n.Attrs = append(n.Attrs, XAttr{an, v})
		p.i += end + 2
	}
	for {
		if p.i >= len(p.s) {
			return nil, p.errf("unterminated element <%s>", n.Name)
		}
		rest := p.s[p.i:]
		switch {
		case strings.HasPrefix(rest, "</"):
			p.i += 2
			if got := p.name(); got != n.Name {
				return nil, p.errf("</%s> closes <%s>", got, n.Name)
			}
			p.space()
			if p.i >= len(p.s) || p.s[p.i] != '>' {
				return nil, p.errf("bad end tag </%s", n.Name)
			}
			p.i++
			return n, nil
		case strings.HasPrefix(rest, "<![CDATA["):
			end := strings.Index(rest, "]]>")
			if end < 0 {
				return nil, p.errf("unterminated CDATA")
			}
			n.Children = append(n.Children, &XNode{Kind: XCDATA, Text: rest[9:end]})
			p.i += end + 3
		case strings.HasPrefix(rest, "<!--"):
			end := strings.Index(rest, "-->")
			if end < 0 {
				return nil, p.errf("unterminated comment")
			}
			p.i += end + 3
		case strings.HasPrefix(rest, "<?"):
			end := strings.Index(rest, "?>")
			if end < 0 {
				return nil, p.errf("unterminated processing instruction")
			}
			p.i += end + 2
		case strings.HasPrefix(rest, "<!"):
			return nil, p.errf("declarations are not accepted")
		case rest[0] == '<':
			c, err := p.element(depth + 1)
			if err != nil {
				return nil, err
			}
			n.Children = append(n.Children, c)
		default:
			end := strings.IndexByte(rest, '<')
			if end < 0 {
				end = len(rest)
			}
			t, err := unescapeXML(rest[:end])
			if err != nil {
				return nil, err
			}
			p.i += end
			// Adjacent text (around a skipped comment) is one node.
			if k := len(n.Children); k > 0 && n.Children[k-1].Kind == XText {
				n.Children[k-1].Text += t
			} else {
				n.Children = append(n.Children, &XNode{Kind: XText, Text: t})
			}
		}
	}
}

// unescapeXML resolves the predefined entities and character references.
func unescapeXML(s string) (string, error) {
	if !strings.Contains(s, "&") {
		return s, nil
	}
	var b strings.Builder
	for {
		i := strings.IndexByte(s, '&')
		if i < 0 {
			b.WriteString(s)
			return b.String(), nil
		}
		b.WriteString(s[:i])
		s = s[i:]
		end := strings.IndexByte(s, ';')
		if end < 0 {
			return "", fmt.Errorf("%w: unterminated reference %.10q", ErrXML, s)
		}
		ref := s[1:end]
		s = s[end+1:]
		switch ref {
		case "lt":
			b.WriteByte('<')
		case "gt":
			b.WriteByte('>')
		case "amp":
			b.WriteByte('&')
		case "quot":
			b.WriteByte('"')
		case "apos":
			b.WriteByte('\'')
		default:
			var n uint64
			var err error
			switch {
			case strings.HasPrefix(ref, "#x"):
				n, err = strconv.ParseUint(ref[2:], 16, 32)
			case strings.HasPrefix(ref, "#"):
				n, err = strconv.ParseUint(ref[1:], 10, 32)
			default:
				err = errors.New("unknown entity")
			}
			if err != nil || !utf8.ValidRune(rune(n)) {
				return "", fmt.Errorf("%w: bad reference &%s;", ErrXML, ref)
			}
			b.WriteRune(rune(n))
		}
	}
}
