package xmlrpc

import (
	"bytes"
	"errors"
	"math"
	"strings"
	"testing"
	"time"
)

// TestRoundTrip encodes each value as a response and as a call parameter,
// decodes it back and compares with the canonical decoded form.
func TestRoundTrip(t *testing.T) {
	ts := time.Date(2024, 2, 29, 23, 59, 59, 0, time.UTC)
	tests := []struct {
		name string
		in   any
		want any // nil: same as in
	}{
		{"int zero", int64(0), nil},
		{"int32 max", int64(math.MaxInt32), nil},
		{"int32 min", int64(math.MinInt32), nil},
		{"int32 max+1 (i8)", int64(math.MaxInt32) + 1, nil},
		{"int32 min-1 (i8)", int64(math.MinInt32) - 1, nil},
		{"int64 max", int64(math.MaxInt64), nil},
		{"int64 min", int64(math.MinInt64), nil},
		{"int", 42, int64(42)},
		{"uint32", uint32(math.MaxUint32), int64(math.MaxUint32)},
		{"true", true, nil},
		{"false", false, nil},
		{"string", "plain", nil},
		{"empty string", "", nil},
		{"escapes", "<a href='x'>&amp; ]]> \"q\"</a>", nil},
		{"white space kept", "  \t\n two  lines\r\n ", nil},
		{"unicode", "héllo ✓ 日本 🚀", nil},
		{"double", 3.141592653589793, nil},
		{"double tiny", 5e-324, nil},
		{"double huge", math.MaxFloat64, nil},
		{"double negative zero", math.Copysign(0, -1), nil},
		{"float32", float32(0.1), 0.1},
		{"base64", []byte{0, 1, 2, 0xff, '<'}, nil},
		{"base64 empty", []byte{}, nil},
		{"time", ts, nil},
		{"time sub-second dropped", ts.Add(time.Millisecond), ts},
		{"empty array", []any{}, nil},
		{"empty struct", map[string]any{}, nil},
		{"nested", []any{int64(1), []any{"a", []any{true}}, map[string]any{"k": []any{map[string]any{"z": 1.5}}}}, nil},
		{"string slice", []string{"a", "b"}, []any{"a", "b"}},
		{"struct slice", []map[string]any{{"a": int64(1)}}, []any{map[string]any{"a": int64(1)}}},
		{"odd member names", map[string]any{"": "empty", "a b<&>": int64(1), "ü": false}, nil},
		{"OpenNebula success", Success("<ZONE><ID>0</ID></ZONE>"), nil},
		{"OpenNebula failure", Failure("one.zone.info", "Error getting zone [3].", NoExistsError),
			[]any{false, "[one.zone.info] Error getting zone [3].", int64(NoExistsError)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			want := tt.want
			if want == nil {
				want = tt.in
			}
			var b bytes.Buffer
			if err := EncodeResponse(&b, tt.in); err != nil {
				t.Fatal(err)
			}
			got, err := DecodeResponse(&b, 0)
			if err != nil {
				t.Fatalf("DecodeResponse: %v", err)
			}
			if !equal(got, want) {
				t.Fatalf("response: got %#v, want %#v", got, want)
			}
			b.Reset()
			if err := EncodeCall(&b, "m.x", "session", tt.in); err != nil {
				t.Fatal(err)
			}
			method, params, err := DecodeCall(&b, 0)
			if err != nil {
				t.Fatalf("DecodeCall: %v", err)
			}
			if method != "m.x" || len(params) != 2 || !equal(params[1], want) {
				t.Fatalf("call: got %q %#v, want %#v", method, params, want)
			}
		})
	}
}

// TestDecodeValue checks forms other encoders produce.
func TestDecodeValue(t *testing.T) {
	tests := []struct {
		name  string
		value string // inside <value>
		want  any
	}{
		{"typeless string", "hello world", "hello world"},
		{"typeless keeps spaces", "  x  ", "  x  "},
		{"typeless empty", "", ""},
		{"typeless escaped", "a&lt;b&amp;c&#x10FFFF;", "a<b&c\U0010FFFF"},
		{"typeless with comment", "ab<!-- c -->cd", "abcd"},
		{"cdata string", "<string><![CDATA[<raw> & ]]></string>", "<raw> & "},
		{"typed with white space around", "\n  <i4>5</i4>\n", int64(5)},
		{"comment around typed", "<!--x--><int>6</int><!--y-->", int64(6)},
		{"i4", "<i4>-2147483648</i4>", int64(math.MinInt32)},
		{"int", "<int>2147483647</int>", int64(math.MaxInt32)},
		{"i8", "<i8>-9223372036854775808</i8>", int64(math.MinInt64)},
		{"int padded and signed", "<int> +12 </int>", int64(12)},
		{"boolean 1", "<boolean>1</boolean>", true},
		{"boolean 0", "<boolean>0</boolean>", false},
		{"boolean true", "<boolean>true</boolean>", true},
		{"boolean false", "<boolean> false </boolean>", false},
		{"boolean TRUE", "<boolean>TRUE</boolean>", true},
		{"empty string element", "<string/>", ""},
		{"double exponent", "<double>1.5e3</double>", 1500.0},
		{"double int form", "<double>-2</double>", -2.0},
		{"base64 wrapped lines", "<base64>\naGVs\nbG8=\n</base64>", []byte("hello")},
		{"base64 empty element", "<base64/>", []byte{}},
		{"datetime compact", "<dateTime.iso8601>20240102T03:04:05</dateTime.iso8601>", time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)},
		{"datetime dashes", "<dateTime.iso8601>2024-01-02T03:04:05</dateTime.iso8601>", time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)},
		{"datetime RFC3339", "<dateTime.iso8601>2024-01-02T03:04:05+02:00</dateTime.iso8601>", time.Date(2024, 1, 2, 1, 4, 5, 0, time.UTC)},
		{"datetime RFC3339 Z", "<dateTime.iso8601>2024-01-02T03:04:05Z</dateTime.iso8601>", time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)},
		{"datetime compact zone", "<dateTime.iso8601>20240102T03:04:05-01:00</dateTime.iso8601>", time.Date(2024, 1, 2, 4, 4, 5, 0, time.UTC)},
		{"array with spaces", "<array>\n <data>\n  <value>a</value>\n  <value><i4>1</i4></value>\n </data>\n</array>", []any{"a", int64(1)}},
		{"empty data element", "<array><data/></array>", []any{}},
		{"struct with spaces", "<struct>\n<member>\n<name>a</name>\n<value>x</value>\n</member>\n</struct>", map[string]any{"a": "x"}},
		{"member value before name", "<struct><member><value><i4>1</i4></value><name>a</name></member></struct>", map[string]any{"a": int64(1)}},
		{"duplicate member keeps last", "<struct><member><name>a</name><value>1</value></member><member><name>a</name><value>2</value></member></struct>", map[string]any{"a": "2"}},
		{"empty struct element", "<struct/>", map[string]any{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := DecodeResponse(strings.NewReader(response(tt.value)), 0)
			if err != nil {
				t.Fatal(err)
			}
			if !equal(got, tt.want) {
				t.Fatalf("got %#v, want %#v", got, tt.want)
			}
		})
	}
}

func TestDecodeCallForms(t *testing.T) {
	tests := []struct {
		name   string
		in     string
		method string
		params []any
	}{
		{"no params element", `<?xml version="1.0"?><methodCall><methodName>system.x</methodName></methodCall>`, "system.x", []any{}},
		{"empty params", `<methodCall><methodName>m</methodName><params/></methodCall>`, "m", []any{}},
		{"python style", "<?xml version='1.0'?>\n<methodCall>\n<methodName>one.zone.info</methodName>\n<params>\n<param>\n<value><string>a:b</string></value>\n</param>\n<param>\n<value><int>0</int></value>\n</param>\n</params>\n</methodCall>\n",
			"one.zone.info", []any{"a:b", int64(0)}},
		{"method name trimmed", "<methodCall><methodName>\n m \n</methodName></methodCall>", "m", []any{}},
		{"latin1 declared", "<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><methodCall><methodName>m</methodName><params><param><value>caf\xe9</value></param></params></methodCall>",
			"m", []any{"café"}},
		{"byte order mark", "\xef\xbb\xbf<?xml version=\"1.0\"?>\n<methodCall><methodName>m</methodName></methodCall>", "m", []any{}},
		{"trailing comment and space", "<methodCall><methodName>m</methodName></methodCall>\n<!-- end -->\n", "m", []any{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			method, params, err := DecodeCall(strings.NewReader(tt.in), 0)
			if err != nil {
				t.Fatal(err)
			}
			if method != tt.method || !equal(params, tt.params) {
				t.Fatalf("got %q %#v, want %q %#v", method, params, tt.method, tt.params)
			}
		})
	}
}

func TestDecodeFault(t *testing.T) {
	in := `<?xml version="1.0"?><methodResponse><fault><value><struct>` +
		`<member><name>faultString</name><value><string>boom</string></value></member>` +
		`<member><name>faultCode</name><value><int>4</int></value></member>` +
		`</struct></value></fault></methodResponse>`
	v, err := DecodeResponse(strings.NewReader(in), 0)
	f, ok := errors.AsType[*Fault](err)
	if !ok || v != nil || f.Code != 4 || f.String != "boom" {
		t.Fatalf("got %v, %v", v, err)
	}
	if f.Error() != "xmlrpc fault 4: boom" {
		t.Fatalf("Error() = %q", f.Error())
	}
}

func TestDecodeBadInput(t *testing.T) {
	deep := strings.Repeat("<array><data><value>", MaxDepth) + "x" + strings.Repeat("</value></data></array>", MaxDepth)
	okDeep := strings.Repeat("<array><data><value>", MaxDepth-1) + "x" + strings.Repeat("</value></data></array>", MaxDepth-1)
	deepStruct := strings.Repeat("<struct><member><name>a</name><value>", MaxDepth) + strings.Repeat("</value></member></struct>", MaxDepth)
	tests := []struct {
		name string
		in   string
		want error
		msg  string // part of the error text
	}{
		{"empty", "", ErrMalformed, "end of input"},
		{"not xml", "hello", ErrMalformed, "unexpected text"},
		{"two byte order marks", "\xef\xbb\xbf\xef\xbb\xbf<methodCall/>", ErrMalformed, "before <methodCall>"},
		{"wrong root", "<methodResponse/>", ErrMalformed, "want <methodCall>"},
		{"truncated", call("m", "<i4>1</i4>")[:60], ErrMalformed, ""},
		{"unclosed", "<methodCall><methodName>m</methodName><params><param><value>", ErrMalformed, ""},
		{"mismatched tags", "<methodCall><methodName>m</methodCall>", ErrMalformed, ""},
		{"empty method", "<methodCall><methodName> </methodName></methodCall>", ErrMalformed, "empty methodName"},
		{"element in method name", "<methodCall><methodName>a<b/></methodName></methodCall>", ErrMalformed, "inside <methodName>"},
		{"nil", call("m", "<nil/>"), ErrNil, "<nil/> is not supported"},
		{"nil is malformed too", call("m", "<nil/>"), ErrMalformed, "param[0]"},
		{"namespaced nil", call("m", `<ex:nil xmlns:ex="http://ws.apache.org/xmlrpc/namespaces/extensions"/>`), ErrMalformed, "namespaced"},
		{"unknown type", call("m", "<float>1</float>"), ErrMalformed, "unknown value type <float>"},
		{"i4 overflow", call("m", "<i4>2147483648</i4>"), ErrMalformed, "32-bit"},
		{"int underflow", call("m", "<int>-2147483649</int>"), ErrMalformed, "32-bit"},
		{"i8 overflow", call("m", "<i8>9223372036854775808</i8>"), ErrMalformed, "64-bit"},
		{"int not a number", call("m", "<int>1.0</int>"), ErrMalformed, "integer"},
		{"empty int", call("m", "<int></int>"), ErrMalformed, "integer"},
		{"boolean 2", call("m", "<boolean>2</boolean>"), ErrMalformed, "boolean"},
		{"boolean yes", call("m", "<boolean>yes</boolean>"), ErrMalformed, "boolean"},
		{"double NaN", call("m", "<double>NaN</double>"), ErrMalformed, "double"},
		{"double overflow", call("m", "<double>1e999</double>"), ErrMalformed, "double"},
		{"bad base64", call("m", "<base64>!!!</base64>"), ErrMalformed, "base64"},
		{"bad date", call("m", "<dateTime.iso8601>yesterday</dateTime.iso8601>"), ErrMalformed, "dateTime"},
		{"date out of range", call("m", "<dateTime.iso8601>0000-01-01T00:00:00+01:00</dateTime.iso8601>"), ErrMalformed, "dateTime"},
		{"text mixed with type", call("m", "x<i4>1</i4>"), ErrMalformed, "mixed"},
		{"two typed elements", call("m", "<i4>1</i4><i4>2</i4>"), ErrMalformed, "want </value>"},
		{"element in string", call("m", "<string>a<b/></string>"), ErrMalformed, "inside <string>"},
		{"array without data", call("m", "<array><value>1</value></array>"), ErrMalformed, "want <data>"},
		{"junk in data", call("m", "<array><data><i4>1</i4></data></array>"), ErrMalformed, "want <value>"},
		{"member without value", call("m", "<struct><member><name>a</name></member></struct>"), ErrMalformed, "<member> needs"},
		{"member with two names", call("m", "<struct><member><name>a</name><name>b</name><value/></member></struct>"), ErrMalformed, "in <member>"},
		{"junk in struct", call("m", "<struct><value/></struct>"), ErrMalformed, "want <member>"},
		{"junk in params", "<methodCall><methodName>m</methodName><params><value/></params></methodCall>", ErrMalformed, "want <param>"},
		{"param without value", "<methodCall><methodName>m</methodName><params><param></param></params></methodCall>", ErrMalformed, "want <value>"},
		{"text after root", "<methodCall><methodName>m</methodName></methodCall>junk", ErrMalformed, "after the root"},
		{"second root", "<methodCall><methodName>m</methodName></methodCall><methodCall/>", ErrMalformed, "after the root"},
		{"undefined entity", call("m", "&foo;"), ErrMalformed, ""},
		{"invalid char ref", call("m", "&#0;"), ErrMalformed, ""},
		{"invalid utf-8", call("m", "\xff\xfe"), ErrMalformed, ""},
		{"unknown charset", `<?xml version="1.0" encoding="EBCDIC"?><methodCall/>`, ErrMalformed, ""},
		{"too deep array", call("m", deep), ErrTooDeep, "levels"},
		{"too deep struct", call("m", "<struct><member><name>a</name><value>"+deepStruct+"</value></member></struct>"), ErrTooDeep, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := DecodeCall(strings.NewReader(tt.in), 0)
			if !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
			if !strings.Contains(err.Error(), tt.msg) {
				t.Fatalf("err = %q, want it to mention %q", err, tt.msg)
			}
		})
	}
	t.Run("deepest allowed", func(t *testing.T) {
		if _, _, err := DecodeCall(strings.NewReader(call("m", okDeep)), 0); err != nil {
			t.Fatal(err)
		}
	})
}

func TestDecodeResponseBadInput(t *testing.T) {
	tests := []struct {
		name string
		in   string
		msg  string
	}{
		{"no params", "<methodResponse><params></params></methodResponse>", "0 params"},
		{"two params", "<methodResponse><params><param><value/></param><param><value/></param></params></methodResponse>", "2 params"},
		{"empty response", "<methodResponse></methodResponse>", "want <params> or <fault>"},
		{"fault not struct", "<methodResponse><fault><value>x</value></fault></methodResponse>", "want struct"},
		{"fault without code", "<methodResponse><fault><value><struct><member><name>faultString</name><value>x</value></member></struct></value></fault></methodResponse>", "faultCode"},
		{"fault string code", "<methodResponse><fault><value><struct><member><name>faultCode</name><value>1</value></member><member><name>faultString</name><value>x</value></member></struct></value></fault></methodResponse>", "faultCode"},
		{"fault without string", "<methodResponse><fault><value><struct><member><name>faultCode</name><value><i4>1</i4></value></member></struct></value></fault></methodResponse>", "faultString"},
		{"a call", call("m"), "want <methodResponse>"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, err := DecodeResponse(strings.NewReader(tt.in), 0)
			if !errors.Is(err, ErrMalformed) || !strings.Contains(err.Error(), tt.msg) {
				t.Fatalf("got %v, %v; want ErrMalformed mentioning %q", v, err, tt.msg)
			}
		})
	}
}

func TestDecodeErrorHasPosition(t *testing.T) {
	in := "<methodCall>\n<methodName>m</methodName>\n<params>\n<param><value><boolean>7</boolean></value></param>\n</params></methodCall>"
	_, _, err := DecodeCall(strings.NewReader(in), 0)
	if err == nil || !strings.Contains(err.Error(), "line 4") {
		t.Fatalf("err = %v, want the line", err)
	}
}

func TestDecodeTooLarge(t *testing.T) {
	body := call("m", "<string>"+strings.Repeat("x", 1000)+"</string>")
	tests := []struct {
		name string
		max  int64
		want error
	}{
		{"exactly the limit", int64(len(body)), nil},
		{"one byte over", int64(len(body)) - 1, ErrTooLarge},
		{"far over", 100, ErrTooLarge},
		{"trailing junk over", int64(len(body)) + 10, ErrTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := body
			if tt.name == "trailing junk over" {
				in += strings.Repeat(" ", 100)
			}
			_, _, err := DecodeCall(strings.NewReader(in), tt.max)
			if !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
		})
	}
}

// TestDecodeStopsAtLimit checks that the decoder reads no more than the
// limit (plus one byte) from an endless stream.
func TestDecodeStopsAtLimit(t *testing.T) {
	r := &endless{prefix: []byte(`<methodCall><methodName>m</methodName><params><param><value><string>`)}
	_, _, err := DecodeCall(r, 1<<16)
	if !errors.Is(err, ErrTooLarge) {
		t.Fatalf("err = %v", err)
	}
	if r.n > 1<<16+1 {
		t.Fatalf("read %d bytes", r.n)
	}
}

type endless struct {
	prefix []byte
	n      int
}

func (e *endless) Read(p []byte) (int, error) {
	for i := range p {
		if e.n+i < len(e.prefix) {
			p[i] = e.prefix[e.n+i]
		} else {
			p[i] = 'x'
		}
	}
	e.n += len(p)
	return len(p), nil
}
