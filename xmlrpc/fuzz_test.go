package xmlrpc

import (
	"bytes"
	"errors"
	"testing"
)

var fuzzSeeds = []string{
	call("one.zone.info", "<string>oneadmin:pw</string>", "<i4>0</i4>", "<boolean>1</boolean>"),
	call("m", "typeless &amp; text", "<int> -7 </int>", "<i8>9223372036854775807</i8>", "<double>-1.5e-3</double>"),
	call("m", "<base64>aGVs\nbG8=</base64>", "<dateTime.iso8601>2024-01-02T03:04:05+02:00</dateTime.iso8601>"),
	call("m", "<array><data><value><struct><member><name>a</name><value><array><data/></array></value></member></struct></value></data></array>"),
	call("m", "<string><![CDATA[<x>]]></string>", "<nil/>", "<struct/>"),
	"<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><methodCall><methodName>m</methodName></methodCall>",
	response("<array><data><value><boolean>1</boolean></value><value><string>x</string></value><value><i4>0</i4></value></data></array>"),
	"<methodResponse><fault><value><struct><member><name>faultCode</name><value><int>4</int></value></member>" +
		"<member><name>faultString</name><value>x</value></member></struct></value></fault></methodResponse>",
	"<methodCall><methodName>m</methodName><params><param><value><array><data><value>",
	"",
}

// checkDecodeError fails unless err is one of the decoder's documented
// errors.
func checkDecodeError(t *testing.T, err error) {
	t.Helper()
	if !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrTooLarge) && !errors.Is(err, ErrTooDeep) {
		t.Fatalf("undocumented error: %v", err)
	}
}

// FuzzDecodeCall: decoding never panics, fails only with documented errors,
// and whatever decodes re-encodes to a message that decodes to the same
// call and encodes to the same bytes.
func FuzzDecodeCall(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		method, params, err := DecodeCall(bytes.NewReader(data), 1<<16)
		if err != nil {
			checkDecodeError(t, err)
			return
		}
		var b1 bytes.Buffer
		if err := EncodeCall(&b1, method, params...); err != nil {
			t.Fatalf("decoded call does not encode: %v", err)
		}
		method2, params2, err := DecodeCall(bytes.NewReader(b1.Bytes()), 0)
		if err != nil {
			t.Fatalf("re-encoded call does not decode: %v\n%s", err, b1.Bytes())
		}
		if method2 != method || !equal(params2, params) {
			t.Fatalf("unstable: %q %#v became %q %#v", method, params, method2, params2)
		}
		var b2 bytes.Buffer
		if err := EncodeCall(&b2, method2, params2...); err != nil || !bytes.Equal(b1.Bytes(), b2.Bytes()) {
			t.Fatalf("encoding not a fixed point (%v):\n%s\n%s", err, b1.Bytes(), b2.Bytes())
		}
	})
}

// FuzzDecodeResponse: as FuzzDecodeCall, for responses and faults.
func FuzzDecodeResponse(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		v, err := DecodeResponse(bytes.NewReader(data), 1<<16)
		var b1 bytes.Buffer
		switch fault, isFault := errors.AsType[*Fault](err); {
		case isFault:
			if err := EncodeFault(&b1, fault.Code, fault.String); err != nil {
				t.Fatalf("decoded fault does not encode: %v", err)
			}
		case err != nil:
			checkDecodeError(t, err)
			return
		default:
			if err := EncodeResponse(&b1, v); err != nil {
				t.Fatalf("decoded response does not encode: %v", err)
			}
		}
		v2, err2 := DecodeResponse(bytes.NewReader(b1.Bytes()), 0)
		if f1, ok := errors.AsType[*Fault](err); ok {
			f2, ok := errors.AsType[*Fault](err2)
			if !ok || *f1 != *f2 {
				t.Fatalf("unstable fault: %v became %v", f1, err2)
			}
			return
		}
		if err2 != nil || !equal(v, v2) {
			t.Fatalf("unstable: %#v became %#v, %v\n%s", v, v2, err2, b1.Bytes())
		}
	})
}
