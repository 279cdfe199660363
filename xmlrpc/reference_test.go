// This file is the XML-RPC decoder as it was before the hand-written
// parser (decode.go, lexer*.go) replaced it, built on encoding/xml with
// Strict set, moved unchanged but for the names (ref…). It is the
// reference implementation the differential fuzz tests
// (FuzzDecodeCallMatchesReference, FuzzDecodeResponseMatchesReference)
// hold the new parser to.

package xmlrpc

import (
	"bytes"
	"encoding/base64"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode"
)

// refDecodeCall reads one <methodCall> from r, reading at most maxBody bytes
// (DefaultMaxBody if maxBody ≤ 0). The method name is returned trimmed.
func refDecodeCall(r io.Reader, maxBody int64) (method string, params []any, err error) {
	p := newRefParser(r, maxBody)
	err = p.run(func() error {
		if err := p.root("methodCall"); err != nil {
			return err
		}
		if err := p.expectStart("methodName"); err != nil {
			return err
		}
		name, err := p.text("methodName")
		if err != nil {
			return err
		}
		if method = strings.TrimSpace(name); method == "" {
			return p.errorf("empty methodName")
		}
		tok, err := p.nextSkipSpace()
		if err != nil {
			return err
		}
		switch t := tok.(type) {
		case xml.EndElement: // no <params>: a call without parameters
			return nil
		case xml.StartElement:
			if !refIs(t.Name, "params") {
				return p.errorf("unexpected <%s> in <methodCall>, want <params>", clip(t.Name.Local))
			}
		}
		if params, err = p.params(); err != nil {
			return err
		}
		return p.expectEnd("methodCall")
	})
	if err != nil {
		return "", nil, err
	}
	if params == nil {
		params = []any{}
	}
	return method, params, nil
}

// refDecodeResponse reads one <methodResponse> from r, reading at most maxBody
// bytes (DefaultMaxBody if maxBody ≤ 0). A response must hold exactly one
// parameter, which is returned; a <fault> is returned as a *Fault error.
func refDecodeResponse(r io.Reader, maxBody int64) (any, error) {
	p := newRefParser(r, maxBody)
	var (
		v     any
		fault *Fault
	)
	err := p.run(func() error {
		if err := p.root("methodResponse"); err != nil {
			return err
		}
		tok, err := p.nextSkipSpace()
		if err != nil {
			return err
		}
		start, ok := tok.(xml.StartElement)
		switch {
		case ok && refIs(start.Name, "params"):
			params, err := p.params()
			if err != nil {
				return err
			}
			if len(params) != 1 {
				return p.errorf("response has %d params, want exactly 1", len(params))
			}
			v = params[0]
		case ok && refIs(start.Name, "fault"):
			if fault, err = p.fault(); err != nil {
				return err
			}
		default:
			return p.errorf("empty <methodResponse>, want <params> or <fault>")
		}
		return p.expectEnd("methodResponse")
	})
	switch {
	case err != nil:
		return nil, err
	case fault != nil:
		return nil, fault
	}
	return v, nil
}

// refParser is a strict, bounded reader of XML-RPC messages.
type refParser struct {
	d   *xml.Decoder
	n   *countingReader
	max int64
}

func newRefParser(r io.Reader, maxBody int64) *refParser {
	if maxBody <= 0 {
		maxBody = DefaultMaxBody
	}
	cr := &countingReader{r: io.LimitReader(r, maxBody+1)}
	d := xml.NewDecoder(cr)
	d.Strict = true
	d.CharsetReader = charsetReader
	return &refParser{d: d, n: cr, max: maxBody}
}

// run parses with body, then requires nothing but white space and comments
// up to the end of input. Exceeding the limit wins over any other error,
// since the cut-off input is what made it malformed.
func (p *refParser) run(body func() error) error {
	err := body()
	if err == nil {
		err = p.trailer()
	}
	if p.n.n > p.max {
		return fmt.Errorf("%w: more than %d bytes", ErrTooLarge, p.max)
	}
	return err
}

func (p *refParser) trailer() error {
	for {
		tok, err := p.d.Token()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return p.wrapSyntax(err)
		}
		switch t := tok.(type) {
		case xml.CharData:
			if !refIsSpace(t) {
				return p.errorf("text after the root element")
			}
		case xml.StartElement:
			return p.errorf("element <%s> after the root element", clip(t.Name.Local))
		}
	}
}

// next returns the next start, end or text token, skipping comments,
// processing instructions and directives. Text is copied.
func (p *refParser) next() (xml.Token, error) {
	for {
		tok, err := p.d.Token()
		if errors.Is(err, io.EOF) {
			return nil, p.errorf("unexpected end of input")
		}
		if err != nil {
			return nil, p.wrapSyntax(err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if t.Name.Space != "" {
				return nil, p.errorf("unexpected namespaced element <%s:%s>", clip(t.Name.Space), clip(t.Name.Local))
			}
			return t, nil
		case xml.EndElement:
			return t, nil
		case xml.CharData:
			return t.Copy(), nil
		}
	}
}

// nextSkipSpace is next without white-space-only text; other text is an
// error, since only <value> and leaf elements hold text.
func (p *refParser) nextSkipSpace() (xml.Token, error) {
	for {
		tok, err := p.next()
		if err != nil {
			return nil, err
		}
		if cd, ok := tok.(xml.CharData); ok {
			if refIsSpace(cd) {
				continue
			}
			return nil, p.errorf("unexpected text %q", clip(string(cd)))
		}
		return tok, nil
	}
}

// root consumes the prolog, which may start with a byte order mark, and
// the root element's start tag.
func (p *refParser) root(name string) error {
	for {
		tok, err := p.next()
		if err != nil {
			return err
		}
		switch t := tok.(type) {
		case xml.CharData:
			if !refIsSpace(bytes.TrimPrefix(t, []byte("\uFEFF"))) {
				return p.errorf("unexpected text %q before <%s>", clip(string(t)), name)
			}
		case xml.StartElement:
			if !refIs(t.Name, name) {
				return p.errorf("unexpected <%s>, want <%s>", clip(t.Name.Local), name)
			}
			return nil
		case xml.EndElement:
			return p.errorf("unexpected </%s>, want <%s>", clip(t.Name.Local), name)
		}
	}
}

func (p *refParser) expectStart(name string) error {
	tok, err := p.nextSkipSpace()
	if err != nil {
		return err
	}
	switch t := tok.(type) {
	case xml.StartElement:
		if refIs(t.Name, name) {
			return nil
		}
		return p.errorf("unexpected <%s>, want <%s>", clip(t.Name.Local), name)
	case xml.EndElement:
		return p.errorf("unexpected </%s>, want <%s>", clip(t.Name.Local), name)
	}
	return p.errorf("want <%s>", name)
}

func (p *refParser) expectEnd(name string) error {
	tok, err := p.nextSkipSpace()
	if err != nil {
		return err
	}
	switch t := tok.(type) {
	case xml.StartElement:
		return p.errorf("unexpected <%s>, want </%s>", clip(t.Name.Local), name)
	case xml.EndElement:
		// The decoder has checked that end tags match start tags.
		return nil
	}
	return p.errorf("want </%s>", name)
}

// text reads the character data of a leaf element up to its end tag.
func (p *refParser) text(name string) (string, error) {
	var sb strings.Builder
	for {
		tok, err := p.next()
		if err != nil {
			return "", err
		}
		switch t := tok.(type) {
		case xml.CharData:
			sb.Write(t)
		case xml.StartElement:
			return "", p.errorf("unexpected <%s> inside <%s>", clip(t.Name.Local), name)
		case xml.EndElement:
			return sb.String(), nil
		}
	}
}

// params reads <param><value>…</value></param>* up to </params>.
func (p *refParser) params() ([]any, error) {
	params := []any{}
	for {
		tok, err := p.nextSkipSpace()
		if err != nil {
			return nil, err
		}
		if _, ok := tok.(xml.EndElement); ok {
			return params, nil
		}
		if t := tok.(xml.StartElement); !refIs(t.Name, "param") {
			return nil, p.errorf("unexpected <%s> in <params>, want <param>", clip(t.Name.Local))
		}
		if err := p.expectStart("value"); err != nil {
			return nil, err
		}
		v, err := p.value(1)
		if err != nil {
			return nil, fmt.Errorf("param[%d]: %w", len(params), err)
		}
		if err := p.expectEnd("param"); err != nil {
			return nil, err
		}
		params = append(params, v)
	}
}

// fault reads <value><struct>faultCode, faultString</struct></value>
// up to </fault>.
func (p *refParser) fault() (*Fault, error) {
	if err := p.expectStart("value"); err != nil {
		return nil, err
	}
	v, err := p.value(1)
	if err != nil {
		return nil, err
	}
	if err := p.expectEnd("fault"); err != nil {
		return nil, err
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, p.errorf("fault value is %s, want struct", typeName(v))
	}
	code, ok := m["faultCode"].(int64)
	if !ok {
		return nil, p.errorf("fault has no integer faultCode")
	}
	msg, ok := m["faultString"].(string)
	if !ok {
		return nil, p.errorf("fault has no string faultString")
	}
	return &Fault{Code: int(code), String: msg}, nil
}

// value reads the rest of a <value> element, whose start tag has been
// consumed: either text (a string) or one typed element, with white space
// around it.
func (p *refParser) value(depth int) (any, error) {
	if depth > MaxDepth {
		line, col := p.d.InputPos()
		return nil, fmt.Errorf("%w: line %d col %d: more than %d levels", ErrTooDeep, line, col, MaxDepth)
	}
	var text []byte
	for {
		tok, err := p.next()
		if err != nil {
			return nil, err
		}
		switch t := tok.(type) {
		case xml.CharData:
			text = append(text, t...)
		case xml.EndElement:
			return string(text), nil
		case xml.StartElement:
			if !refIsSpace(text) {
				return nil, p.errorf("text %q mixed with <%s> in <value>", clip(string(text)), clip(t.Name.Local))
			}
			v, err := p.typed(t.Name.Local, depth)
			if err != nil {
				return nil, err
			}
			if err := p.expectEnd("value"); err != nil {
				return nil, err
			}
			return v, nil
		}
	}
}

// typed reads a typed element whose start tag has been consumed, up to and
// including its end tag.
func (p *refParser) typed(tag string, depth int) (any, error) {
	switch tag {
	case tagArray:
		return p.array(depth)
	case tagStruct:
		return p.structure(depth)
	case tagNil:
		return nil, p.errorf("<nil/> is not supported: %w", ErrNil)
	case tagI4, tagInt, tagI8, tagBoolean, tagString, tagDouble, tagBase64, tagDateTime:
	default:
		return nil, p.errorf("unknown value type <%s>", clip(tag))
	}
	text, err := p.text(tag)
	if err != nil {
		return nil, err
	}
	var v any
	switch tag {
	case tagI4, tagInt:
		v, err = parseInt(text, 32)
	case tagI8:
		v, err = parseInt(text, 64)
	case tagBoolean:
		v, err = parseBool(text)
	case tagString:
		v = text
	case tagDouble:
		v, err = parseDouble(text)
	case tagBase64:
		v, err = base64.StdEncoding.DecodeString(strings.Map(refDropSpace, text))
		if err != nil {
			err = fmt.Errorf("invalid base64: %v", err)
		}
	case tagDateTime:
		v, err = parseDateTime(text)
	}
	if err != nil {
		return nil, p.errorf("<%s>: %v", tag, err)
	}
	return v, nil
}

// array reads <data><value>…</value>*</data></array>.
func (p *refParser) array(depth int) ([]any, error) {
	if err := p.expectStart("data"); err != nil {
		return nil, err
	}
	a := []any{}
	for {
		tok, err := p.nextSkipSpace()
		if err != nil {
			return nil, err
		}
		if _, ok := tok.(xml.EndElement); ok {
			break
		}
		if t := tok.(xml.StartElement); !refIs(t.Name, "value") {
			return nil, p.errorf("unexpected <%s> in <data>, want <value>", clip(t.Name.Local))
		}
		v, err := p.value(depth + 1)
		if err != nil {
			return nil, fmt.Errorf("[%d]: %w", len(a), err)
		}
		a = append(a, v)
	}
	if err := p.expectEnd(tagArray); err != nil {
		return nil, err
	}
	return a, nil
}

// structure reads <member>…</member>* up to </struct>. A repeated name
// keeps the last value.
func (p *refParser) structure(depth int) (map[string]any, error) {
	m := map[string]any{}
	for {
		tok, err := p.nextSkipSpace()
		if err != nil {
			return nil, err
		}
		if _, ok := tok.(xml.EndElement); ok {
			return m, nil
		}
		if t := tok.(xml.StartElement); !refIs(t.Name, "member") {
			return nil, p.errorf("unexpected <%s> in <struct>, want <member>", clip(t.Name.Local))
		}
		name, v, err := p.member(depth)
		if err != nil {
			return nil, err
		}
		m[name] = v
	}
}

// member reads <name> and <value> (in either order) up to </member>.
func (p *refParser) member(depth int) (string, any, error) {
	var (
		name          string
		v             any
		hasName, hasV bool
	)
	for {
		tok, err := p.nextSkipSpace()
		if err != nil {
			return "", nil, err
		}
		if _, ok := tok.(xml.EndElement); ok {
			break
		}
		t := tok.(xml.StartElement)
		switch {
		case refIs(t.Name, "name") && !hasName:
			if name, err = p.text("name"); err != nil {
				return "", nil, err
			}
			hasName = true
		case refIs(t.Name, "value") && !hasV:
			if v, err = p.value(depth + 1); err != nil {
				return "", nil, fmt.Errorf("[%q]: %w", clip(name), err)
			}
			hasV = true
		default:
			return "", nil, p.errorf("unexpected <%s> in <member>", clip(t.Name.Local))
		}
	}
	if !hasName || !hasV {
		return "", nil, p.errorf("<member> needs one <name> and one <value>")
	}
	return name, v, nil
}

// errorf returns an ErrMalformed error with the current input position.
func (p *refParser) errorf(format string, args ...any) error {
	line, col := p.d.InputPos()
	return fmt.Errorf("%w: line %d col %d: %w", ErrMalformed, line, col, fmt.Errorf(format, args...))
}

// wrapSyntax wraps an encoding/xml error; its text (which may quote element
// names of any length) is cut to 3×MaxEcho bytes.
func (p *refParser) wrapSyntax(err error) error {
	if msg := err.Error(); len(msg) > 3*MaxEcho {
		return fmt.Errorf("%w: %s", ErrMalformed, Clip(msg[:3*MaxEcho]))
	}
	return fmt.Errorf("%w: %w", ErrMalformed, err)
}

func refIs(n xml.Name, local string) bool { return n.Space == "" && n.Local == local }

func refIsSpace(b []byte) bool {
	for _, c := range b {
		if c != ' ' && c != '\t' && c != '\n' && c != '\r' {
			return false
		}
	}
	return true
}

func refDropSpace(r rune) rune {
	if unicode.IsSpace(r) {
		return -1
	}
	return r
}
