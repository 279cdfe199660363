package xmlrpc

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"strconv"
	"unicode"
)

// params reads <param><value>…</value></param>* up to </params>.
func (p *parser) params() ([]any, error) {
	mark := len(p.stack)
	defer p.dropStack(mark)
	for {
		k, err := p.nextSkipSpace()
		if err != nil {
			return nil, err
		}
		if k == tokEnd {
			return p.popStack(mark), nil
		}
		if !p.is("param") {
			return nil, p.errorf("unexpected <%s> in <params>, want <param>", p.local())
		}
		if err := p.expectStart("value"); err != nil {
			return nil, err
		}
		v, err := p.value(1)
		if err != nil {
			return nil, fmt.Errorf("param[%d]: %w", len(p.stack)-mark, err)
		}
		if err := p.expectEnd("param"); err != nil {
			return nil, err
		}
		p.stack = append(p.stack, v)
	}
}

// fault reads <value><struct>faultCode, faultString</struct></value>
// up to </fault>.
func (p *parser) fault() (*Fault, error) {
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
func (p *parser) value(depth int) (any, error) {
	if depth > MaxDepth {
		line, col := p.lx.position(p.lx.pos)
		return nil, fmt.Errorf("%w: line %d col %d: more than %d levels", ErrTooDeep, line, col, MaxDepth)
	}
	text, k, err := p.chars()
	if err != nil {
		return nil, err
	}
	if k == tokEnd {
		return string(text), nil
	}
	if !isSpace(text) {
		return nil, p.errorf("text %q mixed with <%s> in <value>", clip(string(text)), p.local())
	}
	v, err := p.typed(depth)
	if err != nil {
		return nil, err
	}
	if err := p.expectEnd("value"); err != nil {
		return nil, err
	}
	return v, nil
}

// typed reads the typed element whose start tag is the current token, up
// to and including its end tag.
func (p *parser) typed(depth int) (any, error) {
	var tag string
	switch string(p.lx.local) {
	case tagArray:
		return p.array(depth)
	case tagStruct:
		return p.structure(depth)
	case tagNil:
		return nil, p.errorf("<nil/> is not supported: %w", ErrNil)
	case tagString:
		return p.text(tagString)
	case tagI4:
		tag = tagI4
	case tagInt:
		tag = tagInt
	case tagI8:
		tag = tagI8
	case tagBoolean:
		tag = tagBoolean
	case tagDouble:
		tag = tagDouble
	case tagBase64:
		tag = tagBase64
	case tagDateTime:
		tag = tagDateTime
	default:
		return nil, p.errorf("unknown value type <%s>", p.local())
	}
	text, k, err := p.chars()
	if err != nil {
		return nil, err
	}
	if k == tokStart {
		return nil, p.errorf("unexpected <%s> inside <%s>", p.local(), tag)
	}
	var v any
	switch tag {
	case tagI4, tagInt:
		v, err = parseIntBytes(text, 32)
	case tagI8:
		v, err = parseIntBytes(text, 64)
	case tagBoolean:
		v, err = parseBoolBytes(text)
	case tagDouble:
		v, err = parseDouble(string(text))
	case tagBase64:
		v, err = decodeBase64(text)
	case tagDateTime:
		v, err = parseDateTime(string(text))
	}
	if err != nil {
		return nil, p.errorf("<%s>: %v", tag, err)
	}
	return v, nil
}

// parseIntBytes is parseInt on text, converting it to a string (which
// allocates) only to report an error.
func parseIntBytes(text []byte, bits int) (int64, error) {
	n, err := strconv.ParseInt(string(bytes.TrimSpace(text)), 10, bits)
	if err != nil {
		return parseInt(string(text), bits)
	}
	return n, nil
}

// parseBoolBytes is parseBool on text, converting it to a string only to
// report an error.
func parseBoolBytes(text []byte) (bool, error) {
	switch t := bytes.TrimSpace(text); {
	case string(t) == "1" || bytes.EqualFold(t, []byte("true")):
		return true, nil
	case string(t) == "0" || bytes.EqualFold(t, []byte("false")):
		return false, nil
	}
	return parseBool(string(text))
}

// decodeBase64 decodes standard base64 with the white space (any
// Unicode space) dropped.
func decodeBase64(text []byte) ([]byte, error) {
	clean := text
	if bytes.IndexFunc(text, unicode.IsSpace) >= 0 {
		clean = bytes.Map(dropSpace, text)
	}
	v := make([]byte, base64.StdEncoding.DecodedLen(len(clean)))
	n, err := base64.StdEncoding.Decode(v, clean)
	if err != nil {
		return nil, fmt.Errorf("invalid base64: %v", err)
	}
	return v[:n], nil
}

// array reads <data><value>…</value>*</data></array>.
func (p *parser) array(depth int) ([]any, error) {
	if err := p.expectStart("data"); err != nil {
		return nil, err
	}
	mark := len(p.stack)
	defer p.dropStack(mark)
	for {
		k, err := p.nextSkipSpace()
		if err != nil {
			return nil, err
		}
		if k == tokEnd {
			break
		}
		if !p.is("value") {
			return nil, p.errorf("unexpected <%s> in <data>, want <value>", p.local())
		}
		v, err := p.value(depth + 1)
		if err != nil {
			return nil, fmt.Errorf("[%d]: %w", len(p.stack)-mark, err)
		}
		p.stack = append(p.stack, v)
	}
	a := p.popStack(mark)
	if err := p.expectEnd(tagArray); err != nil {
		return nil, err
	}
	return a, nil
}

// popStack returns a copy of the values stacked from mark on (an empty,
// non-nil slice if none) and unstacks them.
func (p *parser) popStack(mark int) []any {
	a := make([]any, len(p.stack)-mark)
	copy(a, p.stack[mark:])
	p.dropStack(mark)
	return a
}

// dropStack unstacks the values from mark on, clearing them so that the
// pooled parser holds none.
func (p *parser) dropStack(mark int) {
	clear(p.stack[mark:])
	p.stack = p.stack[:mark]
}

// structure reads <member>…</member>* up to </struct>. A repeated name
// keeps the last value.
func (p *parser) structure(depth int) (map[string]any, error) {
	m := map[string]any{}
	for {
		k, err := p.nextSkipSpace()
		if err != nil {
			return nil, err
		}
		if k == tokEnd {
			return m, nil
		}
		if !p.is("member") {
			return nil, p.errorf("unexpected <%s> in <struct>, want <member>", p.local())
		}
		name, v, err := p.member(depth)
		if err != nil {
			return nil, err
		}
		m[name] = v
	}
}

// member reads <name> and <value> (in either order) up to </member>.
func (p *parser) member(depth int) (string, any, error) {
	var (
		name          string
		v             any
		hasName, hasV bool
	)
	for {
		k, err := p.nextSkipSpace()
		if err != nil {
			return "", nil, err
		}
		if k == tokEnd {
			break
		}
		switch {
		case p.is("name") && !hasName:
			if name, err = p.text("name"); err != nil {
				return "", nil, err
			}
			hasName = true
		case p.is("value") && !hasV:
			if v, err = p.value(depth + 1); err != nil {
				return "", nil, fmt.Errorf("[%q]: %w", clip(name), err)
			}
			hasV = true
		default:
			return "", nil, p.errorf("unexpected <%s> in <member>", p.local())
		}
	}
	if !hasName || !hasV {
		return "", nil, p.errorf("<member> needs one <name> and one <value>")
	}
	return name, v, nil
}

func dropSpace(r rune) rune {
	if unicode.IsSpace(r) {
		return -1
	}
	return r
}
