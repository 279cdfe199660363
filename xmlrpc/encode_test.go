package xmlrpc

import (
	"bytes"
	"errors"
	"math"
	"strings"
	"testing"
	"time"
)

func TestEncodeSuccessResponseBytes(t *testing.T) {
	// The exact bytes Ruby's xmlrpc gem, Python's xmlrpc.client and goca
	// accept for OpenNebula's success answer.
	const want = `<?xml version="1.0"?><methodResponse><params><param><value><array><data>` +
		`<value><boolean>1</boolean></value><value><string>x</string></value><value><i4>0</i4></value>` +
		`</data></array></value></param></params></methodResponse>`
	var b bytes.Buffer
	if err := EncodeResponse(&b, Success("x")); err != nil {
		t.Fatal(err)
	}
	if got := b.String(); got != want {
		t.Fatalf("got  %s\nwant %s", got, want)
	}
}

func TestEncodeFaultBytes(t *testing.T) {
	const want = `<?xml version="1.0"?><methodResponse><fault><value><struct>` +
		`<member><name>faultCode</name><value><i4>-32601</i4></value></member>` +
		`<member><name>faultString</name><value><string>[m] &lt;no&gt;</string></value></member>` +
		`</struct></value></fault></methodResponse>`
	var b bytes.Buffer
	if err := EncodeFault(&b, FaultMethodNotFound, "[m] <no>"); err != nil {
		t.Fatal(err)
	}
	if got := b.String(); got != want {
		t.Fatalf("got  %s\nwant %s", got, want)
	}
}

func TestEncodeCallBytes(t *testing.T) {
	want := call("one.zone.info", "<string>oneadmin:pw</string>", "<i4>0</i4>", "<boolean>0</boolean>")
	var b bytes.Buffer
	if err := EncodeCall(&b, "one.zone.info", "oneadmin:pw", 0, false); err != nil {
		t.Fatal(err)
	}
	if got := b.String(); got != want {
		t.Fatalf("got  %s\nwant %s", got, want)
	}
}

// TestEncodeValue checks the element each Go type becomes, including the
// convenience types that decode to the canonical ones.
func TestEncodeValue(t *testing.T) {
	type named string
	n := int64(7)
	tests := []struct {
		name string
		in   any
		want string
	}{
		{"int zero", 0, "<i4>0</i4>"},
		{"int32 max", int64(math.MaxInt32), "<i4>2147483647</i4>"},
		{"int32 min", int64(math.MinInt32), "<i4>-2147483648</i4>"},
		{"int32 max+1", int64(math.MaxInt32) + 1, "<i8>2147483648</i8>"},
		{"int32 min-1", int64(math.MinInt32) - 1, "<i8>-2147483649</i8>"},
		{"int64 max", int64(math.MaxInt64), "<i8>9223372036854775807</i8>"},
		{"int64 min", int64(math.MinInt64), "<i8>-9223372036854775808</i8>"},
		{"int8", int8(-5), "<i4>-5</i4>"},
		{"uint32 max", uint32(math.MaxUint32), "<i8>4294967295</i8>"},
		{"uint64", uint64(12), "<i4>12</i4>"},
		{"true", true, "<boolean>1</boolean>"},
		{"false", false, "<boolean>0</boolean>"},
		{"string", "a<b&c>d]]>e", "<string>a&lt;b&amp;c&gt;d]]&gt;e</string>"},
		{"quotes and newline", "'\"\n", "<string>&#39;&#34;&#xA;</string>"},
		{"unicode", "héllo ✓ 日本", "<string>héllo ✓ 日本</string>"},
		{"empty string", "", "<string></string>"},
		{"named string", named("n"), "<string>n</string>"},
		{"control char replaced", "a\x00b", "<string>a\uFFFDb</string>"},
		{"double", 1.5, "<double>1.5</double>"},
		{"double negative zero", math.Copysign(0, -1), "<double>-0</double>"},
		{"double no exponent", 1e21, "<double>1000000000000000000000</double>"},
		{"float32", float32(0.1), "<double>0.1</double>"},
		{"base64", []byte("hi\x00"), "<base64>aGkA</base64>"},
		{"base64 empty", []byte{}, "<base64></base64>"},
		{"time utc", time.Date(2024, 1, 2, 3, 4, 5, 999, time.UTC), "<dateTime.iso8601>20240102T03:04:05</dateTime.iso8601>"},
		{"time zone", time.Date(2024, 1, 2, 3, 4, 5, 0, time.FixedZone("x", 3600)), "<dateTime.iso8601>20240102T02:04:05</dateTime.iso8601>"},
		{"array", []any{int64(1), "a"}, "<array><data><value><i4>1</i4></value><value><string>a</string></value></data></array>"},
		{"empty array", []any{}, "<array><data></data></array>"},
		{"nil slice", []any(nil), "<array><data></data></array>"},
		{"string slice", []string{"a", "b"}, "<array><data><value><string>a</string></value><value><string>b</string></value></data></array>"},
		{"int64 slice", []int64{1 << 40}, "<array><data><value><i8>1099511627776</i8></value></data></array>"},
		{"struct sorted", map[string]any{"b": 1, "a": "x", "c": true},
			"<struct><member><name>a</name><value><string>x</string></value></member>" +
				"<member><name>b</name><value><i4>1</i4></value></member>" +
				"<member><name>c</name><value><boolean>1</boolean></value></member></struct>"},
		{"string map", map[string]string{"k&": "v"}, "<struct><member><name>k&amp;</name><value><string>v</string></value></member></struct>"},
		{"struct slice", []map[string]any{{"a": 1}}, "<array><data><value><struct><member><name>a</name><value><i4>1</i4></value></member></struct></value></data></array>"},
		{"pointer", &n, "<i4>7</i4>"},
		{"nested", []any{[]any{map[string]any{"x": []any{}}}},
			"<array><data><value><array><data><value><struct><member><name>x</name><value><array><data></data></array></value></member></struct></value></data></array></value></data></array>"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b bytes.Buffer
			if err := EncodeResponse(&b, tt.in); err != nil {
				t.Fatal(err)
			}
			if got, want := b.String(), response(tt.want); got != want {
				t.Fatalf("got  %s\nwant %s", got, want)
			}
		})
	}
}

func TestEncodeErrors(t *testing.T) {
	var nilPtr *int
	cyclic := []any{nil}
	cyclic[0] = cyclic
	tests := []struct {
		name string
		in   any
		want error
	}{
		{"nil", nil, ErrNil},
		{"nil pointer", nilPtr, ErrNil},
		{"nil in array", []any{1, nil}, ErrNil},
		{"nil in struct", map[string]any{"a": nil}, ErrNil},
		{"NaN", math.NaN(), ErrUnsupportedType},
		{"Inf", math.Inf(1), ErrUnsupportedType},
		{"uint64 overflow", uint64(math.MaxUint64), ErrUnsupportedType},
		{"channel", make(chan int), ErrUnsupportedType},
		{"Go struct", struct{ A int }{1}, ErrUnsupportedType},
		{"int map", map[int]any{1: 1}, ErrUnsupportedType},
		{"year 10000", time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC), ErrUnsupportedType},
		{"fault as value", &Fault{Code: 1}, ErrUnsupportedType},
		{"cycle", cyclic, ErrTooDeep},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b bytes.Buffer
			err := EncodeResponse(&b, tt.in)
			if !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
			if b.Len() != 0 {
				t.Fatalf("wrote %q on error", b.String())
			}
		})
	}
}

func TestEncodeCallErrorNamesParam(t *testing.T) {
	var b bytes.Buffer
	err := EncodeCall(&b, "m", "ok", []any{1, nil})
	if !errors.Is(err, ErrNil) || !strings.Contains(err.Error(), "param[1]: [1]") {
		t.Fatalf("err = %v", err)
	}
	if err := EncodeCall(&b, "", 1); !errors.Is(err, ErrUnsupportedType) {
		t.Fatalf("empty method: err = %v", err)
	}
}
