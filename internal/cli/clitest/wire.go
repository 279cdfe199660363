package clitest

// A minimal XML-RPC codec for the fake server, independent of the xmlrpc
// package the commands use: it decodes calls and encodes responses with the
// same Go value types (int64, bool, string, float64, []byte, []any,
// map[string]any).

import (
	"bytes"
	"encoding/base64"
	"encoding/xml"
	"errors"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
)

// errMalformed wraps every decoding error.
var errMalformed = errors.New("xmlrpc: malformed document")

// encodeResponse returns the <methodResponse> document holding v.
func encodeResponse(v any) ([]byte, error) {
	var b bytes.Buffer
	b.WriteString(xml.Header)
	b.WriteString("<methodResponse><params><param>")
	if err := encodeValue(&b, v); err != nil {
		return nil, err
	}
	b.WriteString("</param></params></methodResponse>")
	return b.Bytes(), nil
}

func encodeValue(b *bytes.Buffer, v any) error {
	b.WriteString("<value>")
	switch x := v.(type) {
	case bool:
		if x {
			b.WriteString("<boolean>1</boolean>")
		} else {
			b.WriteString("<boolean>0</boolean>")
		}
	case int:
		encodeInt(b, int64(x))
	case int32:
		encodeInt(b, int64(x))
	case int64:
		encodeInt(b, x)
	case float64:
		b.WriteString("<double>" + strconv.FormatFloat(x, 'g', -1, 64) + "</double>")
	case string:
		b.WriteString("<string>")
		if err := xml.EscapeText(b, []byte(x)); err != nil {
			return err
		}
		b.WriteString("</string>")
	case []byte:
		b.WriteString("<base64>" + base64.StdEncoding.EncodeToString(x) + "</base64>")
	case []any:
		b.WriteString("<array><data>")
		for _, e := range x {
			if err := encodeValue(b, e); err != nil {
				return err
			}
		}
		b.WriteString("</data></array>")
	case []string:
		b.WriteString("<array><data>")
		for _, e := range x {
			if err := encodeValue(b, e); err != nil {
				return err
			}
		}
		b.WriteString("</data></array>")
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		b.WriteString("<struct>")
		for _, k := range keys {
			b.WriteString("<member><name>")
			if err := xml.EscapeText(b, []byte(k)); err != nil {
				return err
			}
			b.WriteString("</name>")
			if err := encodeValue(b, x[k]); err != nil {
				return err
			}
			b.WriteString("</member>")
		}
		b.WriteString("</struct>")
	default:
		return fmt.Errorf("xmlrpc: cannot encode %T", v)
	}
	b.WriteString("</value>")
	return nil
}

func encodeInt(b *bytes.Buffer, x int64) {
	if x >= math.MinInt32 && x <= math.MaxInt32 {
		b.WriteString("<int>" + strconv.FormatInt(x, 10) + "</int>")
		return
	}
	b.WriteString("<i8>" + strconv.FormatInt(x, 10) + "</i8>")
}

// node is a generic XML element.
type node struct {
	XMLName xml.Name
	Text    string `xml:",chardata"`
	Nodes   []node `xml:",any"`
}

func (n node) child(name string) (node, bool) {
	for _, c := range n.Nodes {
		if c.XMLName.Local == name {
			return c, true
		}
	}
	return node{}, false
}

// decodeCall parses a <methodCall> document.
func decodeCall(doc []byte) (method string, params []any, err error) {
	var n node
	if err := xml.Unmarshal(doc, &n); err != nil {
		return "", nil, fmt.Errorf("%w: %v", errMalformed, err)
	}
	if n.XMLName.Local != "methodCall" {
		return "", nil, fmt.Errorf("%w: root is <%s>, want <methodCall>", errMalformed, n.XMLName.Local)
	}
	m, ok := n.child("methodName")
	if !ok {
		return "", nil, fmt.Errorf("%w: no <methodName>", errMalformed)
	}
	params, err = decodeParams(n)
	return strings.TrimSpace(m.Text), params, err
}

func decodeParams(n node) ([]any, error) {
	ps, ok := n.child("params")
	if !ok {
		return nil, nil
	}
	var out []any
	for _, p := range ps.Nodes {
		if p.XMLName.Local != "param" {
			continue
		}
		v, ok := p.child("value")
		if !ok {
			return nil, fmt.Errorf("%w: <param> without <value>", errMalformed)
		}
		x, err := decodeValue(v)
		if err != nil {
			return nil, err
		}
		out = append(out, x)
	}
	return out, nil
}

func decodeValue(v node) (any, error) {
	if len(v.Nodes) == 0 {
		return v.Text, nil // untyped: string
	}
	t := v.Nodes[0]
	switch t.XMLName.Local {
	case "int", "i4", "i8":
		n, err := strconv.ParseInt(strings.TrimSpace(t.Text), 10, 64)
		if err != nil {
			return nil, fmt.Errorf("%w: <%s>%s: %v", errMalformed, t.XMLName.Local, t.Text, err)
		}
		return n, nil
	case "boolean":
		switch strings.TrimSpace(t.Text) {
		case "1":
			return true, nil
		case "0":
			return false, nil
		}
		return nil, fmt.Errorf("%w: <boolean>%s", errMalformed, t.Text)
	case "string", "dateTime.iso8601":
		return t.Text, nil
	case "double":
		f, err := strconv.ParseFloat(strings.TrimSpace(t.Text), 64)
		if err != nil {
			return nil, fmt.Errorf("%w: <double>%s: %v", errMalformed, t.Text, err)
		}
		return f, nil
	case "base64":
		b, err := base64.StdEncoding.DecodeString(strings.Join(strings.Fields(t.Text), ""))
		if err != nil {
			return nil, fmt.Errorf("%w: <base64>: %v", errMalformed, err)
		}
		return b, nil
	case "nil":
		return nil, nil
	case "array":
		out := []any{}
		data, _ := t.child("data")
		for _, e := range data.Nodes {
			if e.XMLName.Local != "value" {
				continue
			}
			x, err := decodeValue(e)
			if err != nil {
				return nil, err
			}
			out = append(out, x)
		}
		return out, nil
	case "struct":
		out := map[string]any{}
		for _, m := range t.Nodes {
			if m.XMLName.Local != "member" {
				continue
			}
			name, _ := m.child("name")
			val, ok := m.child("value")
			if !ok {
				return nil, fmt.Errorf("%w: <member> without <value>", errMalformed)
			}
			x, err := decodeValue(val)
			if err != nil {
				return nil, err
			}
			out[name.Text] = x
		}
		return out, nil
	}
	return nil, fmt.Errorf("%w: unknown type <%s>", errMalformed, t.XMLName.Local)
}
