package zone

import (
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strings"
)

// parseTemplateXML reads OpenNebula's XML form of a template (what pyone
// sends, and Template::from_xml reads): one root element (any name,
// usually TEMPLATE) whose children are attributes; a child holding text is
// a single attribute, one holding elements is a vector whose children hold
// text. Deeper nesting, mixed content, attributes on elements only (ignored,
// as oned does) and anything after the root are errors, except blanks.
func parseTemplateXML(s string) (Template, error) {
	d := xml.NewDecoder(strings.NewReader(s))
	d.Strict = true
	bad := func(format string, args ...any) error {
		line, col := d.InputPos()
		return fmt.Errorf("%w: XML line %d, column %d: %s", ErrTemplate, line, col, fmt.Sprintf(format, args...))
	}
	var t Template
	count := 0
	depth := 0        // 1 inside the root, 2 inside an attribute, 3 inside a vector key
	var cur *Attr     // the attribute being read (depth >= 2)
	var key *Pair     // the vector key being read (depth 3)
	var text []byte   // character data of the innermost open element
	hasChild := false // the current attribute has child elements
	rootDone := false
	for {
		tok, err := d.Token()
		if errors.Is(err, io.EOF) {
			if !rootDone {
				return Template{}, bad("no root element")
			}
			return t, nil
		}
		if err != nil {
			return Template{}, fmt.Errorf("%w: XML: %v", ErrTemplate, err)
		}
		switch tk := tok.(type) {
		case xml.StartElement:
			if rootDone {
				return Template{}, bad("content after the root element")
			}
			name := strings.ToUpper(tk.Name.Local)
			if depth >= 1 {
				if len(name) > maxAttrNameLen || !validName(name) {
					return Template{}, bad("bad attribute name %q", tk.Name.Local)
				}
				count++
				if count > MaxTemplateAttrs {
					return Template{}, bad("more than %d attributes", MaxTemplateAttrs)
				}
			}
			switch depth {
			case 0:
			case 1:
				t.Attrs = append(t.Attrs, Attr{Name: name})
				cur, hasChild, text = &t.Attrs[len(t.Attrs)-1], false, text[:0]
			case 2:
				if strings.TrimSpace(string(text)) != "" {
					return Template{}, bad("attribute %s mixes text and elements", cur.Name)
				}
				if !hasChild {
					cur.Vector = []Pair{}
					hasChild = true
				}
				if _, dup := cur.Get(name); dup {
					return Template{}, bad("key %s repeated in vector %s", name, cur.Name)
				}
				cur.Vector = append(cur.Vector, Pair{Name: name})
				key, text = &cur.Vector[len(cur.Vector)-1], text[:0]
			default:
				return Template{}, bad("element %s nested too deeply (a vector's keys hold text)", tk.Name.Local)
			}
			depth++
		case xml.CharData:
			if depth == 1 {
				if strings.TrimSpace(string(tk)) != "" {
					return Template{}, bad("text directly inside the root element")
				}
				continue
			}
			if depth == 0 {
				if strings.TrimSpace(string(tk)) != "" {
					return Template{}, bad("text outside the root element")
				}
				continue
			}
			if depth == 2 && hasChild && strings.TrimSpace(string(tk)) != "" {
				return Template{}, bad("attribute %s mixes text and elements", cur.Name)
			}
			text = append(text, tk...)
		case xml.EndElement:
			depth--
			switch depth {
			case 0:
				rootDone = true
			case 1:
				if !hasChild {
					cur.Value = string(text)
				}
				cur, text = nil, text[:0]
			case 2:
				key.Value = string(text)
				key, text = nil, text[:0]
			}
		case xml.Directive:
			return Template{}, bad("directives (DOCTYPE, ENTITY) are not allowed")
		case xml.ProcInst, xml.Comment:
			// <?xml …?> and comments are fine.
		}
	}
}

func validName(n string) bool {
	if n == "" || n[0] >= '0' && n[0] <= '9' || n[0] == '-' {
		return false
	}
	for i := 0; i < len(n); i++ {
		if !isNameByte(n[i]) {
			return false
		}
	}
	return true
}

// XML renders the template as oned's Template::to_xml: <TEMPLATE> with
// attributes ordered by name, each value in CDATA, vector keys ordered by
// name. The output always parses (see writeCDATA).
func (t Template) XML() string {
	var b strings.Builder
	t.writeXML(&b)
	return b.String()
}

func (t Template) writeXML(b *strings.Builder) {
	b.WriteString("<TEMPLATE>")
	for _, a := range t.sorted() {
		b.WriteString("<" + a.Name + ">")
		if a.IsVector() {
			for _, p := range a.Vector {
				b.WriteString("<" + p.Name + ">")
				writeCDATA(b, p.Value)
				b.WriteString("</" + p.Name + ">")
			}
		} else {
			writeCDATA(b, a.Value)
		}
		b.WriteString("</" + a.Name + ">")
	}
	b.WriteString("</TEMPLATE>")
}

// String renders the template in the KEY = VALUE syntax, values quoted and
// escaped so that ParseTemplate reads it back unchanged.
func (t Template) String() string {
	var b strings.Builder
	q := func(s string) string {
		return `"` + strings.ReplaceAll(strings.ReplaceAll(s, `\`, `\\`), `"`, `\"`) + `"`
	}
	for _, a := range t.sorted() {
		b.WriteString(a.Name + "=")
		if a.IsVector() {
			b.WriteString("[\n")
			for i, p := range a.Vector {
				b.WriteString("  " + p.Name + "=" + q(p.Value))
				if i < len(a.Vector)-1 {
					b.WriteString(",")
				}
				b.WriteString("\n")
			}
			b.WriteString("]\n")
		} else {
			b.WriteString(q(a.Value) + "\n")
		}
	}
	return b.String()
}
