package xmlrpc

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
)

// diffMaxBody is the body limit the differential fuzz tests decode with.
const diffMaxBody = 1 << 16

// errorClasses are the sentinels a decoding error is classed by.
var errorClasses = []error{ErrMalformed, ErrTooLarge, ErrTooDeep, ErrNil}

// sameErrorClass reports whether a and b wrap the same sentinels, and
// are the same fault if either is one.
func sameErrorClass(a, b error) bool {
	for _, c := range errorClasses {
		if errors.Is(a, c) != errors.Is(b, c) {
			return false
		}
	}
	fa, okA := errors.AsType[*Fault](a)
	fb, okB := errors.AsType[*Fault](b)
	return okA == okB && (!okA || *fa == *fb)
}

// checkErrorText fails unless a malformed-input error gives a position
// and stays short whatever the input.
func checkErrorText(t *testing.T, err error) {
	t.Helper()
	if _, isFault := errors.AsType[*Fault](err); err == nil || isFault || errors.Is(err, ErrTooLarge) {
		return
	}
	msg := err.Error()
	if !strings.Contains(msg, "line ") || !strings.Contains(msg, " col ") {
		t.Fatalf("error without a position: %v", err)
	}
	if len(msg) > 4096 {
		t.Fatalf("error of %d bytes", len(msg))
	}
}

// sameValues compares decoded values both ways the tests use: the
// strict equal (floats bit for bit) and reflect.DeepEqual (types, nil
// against empty).
func sameValues(a, b any) bool { return equal(a, b) && reflect.DeepEqual(a, b) }

// addDiffSeeds adds fuzzSeeds, the stored corpora of FuzzDecodeCall and
// FuzzDecodeResponse, and diffSeeds, each as is and wrapped as a call
// parameter and a response value.
func addDiffSeeds(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add([]byte(s))
	}
	for _, dir := range []string{"FuzzDecodeCall", "FuzzDecodeResponse"} {
		files, _ := filepath.Glob(filepath.Join("testdata", "fuzz", dir, "*"))
		for _, name := range files {
			b, err := os.ReadFile(name)
			if err != nil {
				f.Fatal(err)
			}
			_, arg, ok := strings.Cut(strings.TrimSpace(string(b)), "\n[]byte(")
			if !ok {
				f.Fatalf("%s: not a []byte corpus file", name)
			}
			s, err := strconv.Unquote(strings.TrimSuffix(arg, ")"))
			if err != nil {
				f.Fatalf("%s: %v", name, err)
			}
			f.Add([]byte(s))
		}
	}
	for _, s := range diffSeeds {
		f.Add([]byte(s))
		f.Add([]byte(call("m", s)))
		f.Add([]byte(response(s)))
	}
	for _, s := range documentSeeds {
		f.Add([]byte(s))
	}
}

// convertedTooLarge reports the one accepted difference: input that
// repeated charset declarations would grow beyond twice the limit is
// ErrTooLarge, where the reference decoder goes on converting (and
// growing) without bound.
func convertedTooLarge(err error) bool {
	return errors.Is(err, ErrTooLarge) && strings.Contains(err.Error(), "after charset conversion")
}

// FuzzDecodeCallMatchesReference: DecodeCall returns what the
// encoding/xml-based reference decoder returns (method and parameters, or
// an error of the same class) for every body within the limit, and
// ErrTooLarge for every body beyond it, where the reference fails too.
func FuzzDecodeCallMatchesReference(f *testing.F) {
	addDiffSeeds(f)
	f.Fuzz(func(t *testing.T, data []byte) { checkCallMatchesReference(t, data) })
}

func checkCallMatchesReference(t *testing.T, data []byte) {
	t.Helper()
	method, params, err := DecodeCall(bytes.NewReader(data), diffMaxBody)
	refMethod, refParams, refErr := refDecodeCall(bytes.NewReader(data), diffMaxBody)
	checkErrorText(t, err)
	if len(data) > diffMaxBody {
		if !errors.Is(err, ErrTooLarge) || refErr == nil {
			t.Fatalf("body of %d bytes: got %v, reference %v", len(data), err, refErr)
		}
		return
	}
	if convertedTooLarge(err) {
		return
	}
	if !sameErrorClass(err, refErr) {
		t.Fatalf("error class differs:\n got %v\nwant %v", err, refErr)
	}
	if err == nil && (method != refMethod || !sameValues(params, refParams)) {
		t.Fatalf("result differs:\n got %q %#v\nwant %q %#v", method, params, refMethod, refParams)
	}
	if len(data) > 1 {
		// One byte below the body size is too large for both.
		_, _, err := DecodeCall(bytes.NewReader(data), int64(len(data)-1))
		_, _, refErr := refDecodeCall(bytes.NewReader(data), int64(len(data)-1))
		if !errors.Is(err, ErrTooLarge) || refErr == nil {
			t.Fatalf("limit %d: got %v, reference %v", len(data)-1, err, refErr)
		}
	}
}

// FuzzDecodeResponseMatchesReference: as FuzzDecodeCallMatchesReference,
// for DecodeResponse; faults must be equal.
func FuzzDecodeResponseMatchesReference(f *testing.F) {
	addDiffSeeds(f)
	f.Fuzz(func(t *testing.T, data []byte) { checkResponseMatchesReference(t, data) })
}

func checkResponseMatchesReference(t *testing.T, data []byte) {
	t.Helper()
	v, err := DecodeResponse(bytes.NewReader(data), diffMaxBody)
	refV, refErr := refDecodeResponse(bytes.NewReader(data), diffMaxBody)
	checkErrorText(t, err)
	if len(data) > diffMaxBody {
		if !errors.Is(err, ErrTooLarge) || refErr == nil {
			t.Fatalf("body of %d bytes: got %v, reference %v", len(data), err, refErr)
		}
		return
	}
	if convertedTooLarge(err) {
		return
	}
	if !sameErrorClass(err, refErr) {
		t.Fatalf("error class differs:\n got %v\nwant %v", err, refErr)
	}
	if err == nil && !sameValues(v, refV) {
		t.Fatalf("result differs:\n got %#v\nwant %#v", v, refV)
	}
}
