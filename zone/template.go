package zone

import (
	"errors"
	"fmt"
	"sort"
	"strings"
	"unicode/utf8"
)

// Template is an OpenNebula template: an ordered list of attributes, each
// single (NAME = "value") or a vector (NAME = [ K = "v", … ]). Names are
// upper case; several attributes may share a name (two SERVER vectors).
// Within one vector every key is unique.
type Template struct {
	Attrs []Attr
}

// Attr is one template attribute. Vector is nil for a single attribute.
type Attr struct {
	Name   string
	Value  string // single attributes
	Vector []Pair // vector attributes, in the order given
}

// Pair is one key of a vector attribute.
type Pair struct{ Name, Value string }

// IsVector reports whether a is a vector attribute.
func (a Attr) IsVector() bool { return a.Vector != nil }

// Get returns the value of the vector's key (case-insensitive) and whether
// it is present.
func (a Attr) Get(key string) (string, bool) {
	for _, p := range a.Vector {
		if strings.EqualFold(p.Name, key) {
			return p.Value, true
		}
	}
	return "", false
}

// Bounds of a template, checked while parsing: input beyond them fails with
// ErrTemplate before anything is built from it.
const (
	MaxTemplateBytes = 64 << 10 // the text or XML a client sends
	MaxTemplateAttrs = 512      // attributes plus every vector key
	maxAttrNameLen   = 128
)

// ErrTemplate: a template that does not parse, or exceeds the bounds. The
// message says where.
var ErrTemplate = errors.New("zone: bad template")

// ParseTemplate parses a template as OpenNebula's Template::parse_str_or_xml
// does: XML when the first non-blank character is '<' (<TEMPLATE><NAME>…),
// otherwise the KEY = VALUE syntax of template_syntax.y:
//
//	NAME = "a, \"quoted\" value"     # a comment
//	ENDPOINT = http://h:2633/RPC2
//	SERVER = [ NAME = "a,b", ENDPOINT = "http://h:2633/RPC2" ]
//
// Names are letters, digits, '_' and '-', made upper case. A value is a
// double-quoted string (\" and \\ are the escapes; anything else after a
// backslash is kept as written, as oned does) or an unquoted word (up to
// blank or end of line; inside a vector, up to ',' or ']'). Attributes are
// separated by blanks or newlines, vector keys by ',' (a trailing comma is
// allowed). Unlike oned, which skips what it cannot read in some cases, any
// syntax error, a repeated key inside one vector, or input beyond the
// bounds fails the whole template with ErrTemplate naming line and column.
func ParseTemplate(s string) (Template, error) {
	if len(s) > MaxTemplateBytes {
		return Template{}, fmt.Errorf("%w: %d bytes, at most %d", ErrTemplate, len(s), MaxTemplateBytes)
	}
	if !utf8.ValidString(s) {
		return Template{}, fmt.Errorf("%w: not valid UTF-8", ErrTemplate)
	}
	if strings.HasPrefix(strings.TrimSpace(s), "<") {
		return parseTemplateXML(s)
	}
	p := &tparser{s: s, line: 1, col: 1}
	return p.parse()
}

// tparser is the KEY = VALUE parser: a hand-written scanner over s.
type tparser struct {
	s         string
	i         int
	line, col int
	count     int
}

func (p *tparser) errf(format string, args ...any) error {
	return fmt.Errorf("%w: line %d, column %d: %s", ErrTemplate, p.line, p.col, fmt.Sprintf(format, args...))
}

func (p *tparser) peek() byte {
	if p.i < len(p.s) {
		return p.s[p.i]
	}
	return 0
}

func (p *tparser) next() byte {
	c := p.s[p.i]
	p.i++
	if c == '\n' {
		p.line++
		p.col = 1
	} else {
		p.col++
	}
	return c
}

// skip skips blanks (newlines too when nl) and comments.
func (p *tparser) skip(nl bool) {
	for p.i < len(p.s) {
		switch c := p.peek(); {
		case c == ' ' || c == '\t' || c == '\r':
			p.next()
		case c == '\n' && nl:
			p.next()
		case c == '#':
			for p.i < len(p.s) && p.peek() != '\n' {
				p.next()
			}
		default:
			return
		}
	}
}

func isNameByte(c byte) bool {
	return c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_' || c == '-'
}

func (p *tparser) name() (string, error) {
	start := p.i
	for p.i < len(p.s) && isNameByte(p.peek()) {
		p.next()
	}
	if p.i == start {
		if p.i >= len(p.s) {
			return "", p.errf("unexpected end of template, want an attribute name")
		}
		return "", p.errf("unexpected %q, want an attribute name", p.peek())
	}
	if c := p.s[start]; c >= '0' && c <= '9' || c == '-' {
		return "", p.errf("attribute name %q must start with a letter or '_'", p.s[start:p.i])
	}
	if p.i-start > maxAttrNameLen {
		return "", p.errf("attribute name longer than %d characters", maxAttrNameLen)
	}
	return strings.ToUpper(p.s[start:p.i]), nil
}

func (p *tparser) equal() error {
	p.skip(false)
	if p.peek() != '=' {
		if p.i >= len(p.s) {
			return p.errf("unexpected end of template, want '='")
		}
		return p.errf("unexpected %q, want '='", p.peek())
	}
	p.next()
	p.skip(false)
	return nil
}

func (p *tparser) counted() error {
	p.count++
	if p.count > MaxTemplateAttrs {
		return p.errf("more than %d attributes", MaxTemplateAttrs)
	}
	return nil
}

func (p *tparser) parse() (Template, error) {
	var t Template
	for {
		p.skip(true)
		if p.i >= len(p.s) {
			return t, nil
		}
		name, err := p.name()
		if err != nil {
			return Template{}, err
		}
		if err := p.equal(); err != nil {
			return Template{}, err
		}
		if err := p.counted(); err != nil {
			return Template{}, err
		}
		a := Attr{Name: name}
		if p.peek() == '[' {
			p.next()
			if a.Vector, err = p.vector(); err != nil {
				return Template{}, err
			}
		} else if a.Value, err = p.value(false); err != nil {
			return Template{}, err
		}
		t.Attrs = append(t.Attrs, a)
		// An attribute ends at a blank, newline, comment or the end.
		if p.i < len(p.s) {
			if c := p.peek(); c != ' ' && c != '\t' && c != '\r' && c != '\n' && c != '#' {
				return Template{}, p.errf("unexpected %q after the value of %s", c, name)
			}
		}
	}
}

// vector reads `K = V, K = V ]` (the '[' is consumed).
func (p *tparser) vector() ([]Pair, error) {
	v := []Pair{}
	for {
		p.skip(true)
		if p.peek() == ']' {
			p.next()
			return v, nil
		}
		if p.i >= len(p.s) {
			return nil, p.errf("unexpected end of template, want ']'")
		}
		k, err := p.name()
		if err != nil {
			return nil, err
		}
		for _, q := range v {
			if q.Name == k {
				return nil, p.errf("key %s repeated in one vector", k)
			}
		}
		if err := p.equal(); err != nil {
			return nil, err
		}
		if err := p.counted(); err != nil {
			return nil, err
		}
		val, err := p.value(true)
		if err != nil {
			return nil, err
		}
		v = append(v, Pair{Name: k, Value: val})
		p.skip(true)
		switch p.peek() {
		case ',':
			p.next()
		case ']':
		case 0:
			return nil, p.errf("unexpected end of template, want ',' or ']'")
		default:
			return nil, p.errf("unexpected %q, want ',' or ']'", p.peek())
		}
	}
}

// value reads a quoted string or an unquoted word.
func (p *tparser) value(inVector bool) (string, error) {
	if p.peek() == '"' {
		p.next()
		var b strings.Builder
		for {
			if p.i >= len(p.s) {
				return "", p.errf("unterminated quoted value")
			}
			c := p.next()
			switch {
			case c == '"':
				return b.String(), nil
			case c == '\\' && (p.peek() == '"' || p.peek() == '\\'):
				b.WriteByte(p.next())
			default:
				b.WriteByte(c)
			}
		}
	}
	start := p.i
	for p.i < len(p.s) {
		c := p.peek()
		if c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '#' || c == '"' || c == '[' || c == '=' ||
			inVector && (c == ',' || c == ']') {
			break
		}
		p.next()
	}
	if p.i == start {
		if p.i >= len(p.s) || p.peek() == '\n' {
			return "", p.errf("missing value")
		}
		return "", p.errf("unexpected %q, want a value", p.peek())
	}
	return p.s[start:p.i], nil
}

// Erase removes every attribute called name.
func (t *Template) Erase(name string) {
	out := t.Attrs[:0]
	for _, a := range t.Attrs {
		if !strings.EqualFold(a.Name, name) {
			out = append(out, a)
		}
	}
	t.Attrs = out
}

// Single returns the value of the first single attribute called name.
func (t Template) Single(name string) (string, bool) {
	for _, a := range t.Attrs {
		if strings.EqualFold(a.Name, name) && !a.IsVector() {
			return a.Value, true
		}
	}
	return "", false
}

// Vectors returns the vector attributes called name.
func (t Template) Vectors(name string) []Attr {
	var out []Attr
	for _, a := range t.Attrs {
		if strings.EqualFold(a.Name, name) && a.IsVector() {
			out = append(out, a)
		}
	}
	return out
}

// Set replaces every attribute called name by one single attribute.
func (t *Template) Set(name, value string) {
	t.Erase(name)
	t.Attrs = append(t.Attrs, Attr{Name: strings.ToUpper(name), Value: value})
}

// Merge is OpenNebula's Template::merge (one.*.update with type 1): every
// attribute name present in from replaces all attributes of that name here;
// the others are kept.
func (t *Template) Merge(from Template) {
	for _, a := range from.Attrs {
		t.Erase(a.Name)
	}
	t.Attrs = append(t.Attrs, from.Attrs...)
}

// sorted returns the attributes ordered by name, as oned's multimap keeps
// them (stable for equal names), with vector keys ordered by name.
func (t Template) sorted() []Attr {
	out := append([]Attr(nil), t.Attrs...)
	sort.SliceStable(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	for i := range out {
		if out[i].IsVector() {
			v := append([]Pair{}, out[i].Vector...)
			sort.SliceStable(v, func(a, b int) bool { return v[a].Name < v[b].Name })
			out[i].Vector = v
		}
	}
	return out
}
