package sqlfsm

import (
	"bytes"
	"errors"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestCodecRoundTrip(t *testing.T) {
	ts := time.Date(2026, 11, 25, 9, 35, 39, 123456000, time.UTC)
	tests := []struct {
		name string
		e    Entry
	}{
		{"empty statements", Entry{Context: Context{Time: ts}}},
		{"one insert", Entry{Context: Context{Time: ts, Seed1: 7, Seed2: math.MaxUint32},
			Statements: []Statement{{SQL: "INSERT INTO t VALUES (?, ?)", Params: []any{int64(1), "a"}}}}},
		{"every param type", Entry{Context: Context{Time: ts}, Statements: []Statement{{
			SQL: "x", Params: []any{nil, true, false, int64(math.MinInt64), int64(math.MaxInt64),
				math.Inf(-1), 3.25, "", "ünï\x00code", []byte{}, []byte{0, 1, 255}, ts}}}}},
		{"ddl flag", Entry{Context: Context{Time: ts}, DDL: true, Statements: []Statement{{SQL: "CREATE TABLE t (id INT)"}}}},
		{"large compressible", Entry{Context: Context{Time: ts}, Statements: []Statement{
			{SQL: "INSERT INTO t VALUES (?)", Params: []any{strings.Repeat("abc", 10000)}}}}},
		{"request id", Entry{Context: Context{Time: ts}, Statements: []Statement{{SQL: "UPDATE t SET a = 1"}},
			Request: &Request{Scope: "oneadmin", ID: "job-42:step.1", Window: 86400, Keep: 100000}}},
		{"federation: master", Entry{Context: Context{Time: ts}, Statements: []Statement{{SQL: "UPDATE user_pool SET a = 1"}},
			Fed: &Fed{Keep: 1000}}},
		{"federation: slave record with request id", Entry{Context: Context{Time: ts}, Statements: []Statement{{SQL: "UPDATE user_pool SET a = 1"}},
			Request: &Request{Scope: "oneadmin", ID: "r", Window: 1, Keep: 1}, Fed: &Fed{Index: 1 << 40, Prev: 1<<40 - 1}}},
		{"federation: snapshot", Entry{Context: Context{Time: ts}, Statements: []Statement{{SQL: "-- dump", Params: []any{"user_pool"}}},
			Fed: &Fed{Index: 77, Snapshot: true}}},
		{"pre-epoch time", Entry{Context: Context{Time: time.Date(1960, 1, 1, 0, 0, 0, 1000, time.UTC)}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := Encode(&tt.e)
			if err != nil {
				t.Fatal(err)
			}
			got, err := Decode(b)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(*got, tt.e) {
				t.Fatalf("round trip:\n got %#v\nwant %#v", *got, tt.e)
			}
			b2, _ := Encode(got)
			if !bytes.Equal(b, b2) {
				t.Fatal("encoding is not deterministic")
			}
		})
	}
}

func TestCodecCompressesLargeEntries(t *testing.T) {
	e := Entry{Statements: []Statement{{SQL: "INSERT INTO t VALUES (?)", Params: []any{strings.Repeat("x", 1<<20)}}}}
	b, err := Encode(&e)
	if err != nil {
		t.Fatal(err)
	}
	if b[1]&flagCompressed == 0 || len(b) > 64<<10 {
		t.Fatalf("1 MiB of 'x' encoded to %d bytes, flags %#x: want compressed", len(b), b[1])
	}
}

func TestDecodeRejectsMalformed(t *testing.T) {
	good, _ := Encode(&Entry{Statements: []Statement{{SQL: "SELECT 1", Params: []any{"p"}}}})
	tests := []struct {
		name string
		in   []byte
	}{
		{"nil", nil},
		{"one byte", []byte{codecV1}},
		{"unknown version", []byte{9, 0}},
		{"unknown flags", []byte{codecV1, 0x80}},
		{"truncated", good[:len(good)-1]},
		{"trailing", append(append([]byte{}, good...), 0)},
		{"huge statement count", []byte{codecV1, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0x0f}},
		{"bad compressed body", []byte{codecV1, flagCompressed, 1, 2, 3}},
		{"unknown tag", []byte{codecV1, 0, 0, 0, 0, 1, 1, 'x', 1, 99}},
		{"request without its fields", []byte{codecV1, flagRequest, 2, 0, 0, 1, 1, 'x', 0}},
		{"request id with a space", []byte{codecV1, flagRequest, 2, 0, 0, 1, 1, 'x', 0, 1, 'u', 2, 'a', ' ', 1, 1}},
		{"request id empty", []byte{codecV1, flagRequest, 2, 0, 0, 1, 1, 'x', 0, 1, 'u', 0, 1, 1}},
		{"request window 0", []byte{codecV1, flagRequest, 2, 0, 0, 1, 1, 'x', 0, 1, 'u', 1, 'a', 0, 1}},
		{"federation without its fields", []byte{codecV1, flagFed, 2, 0, 0, 1, 1, 'x', 0}},
		{"federation master entry with a prev", []byte{codecV1, flagFed, 2, 0, 0, 1, 1, 'x', 0, 0, 4, 0, 0}},
		{"federation record not after its prev", []byte{codecV1, flagFed, 2, 0, 0, 1, 1, 'x', 0, 4, 4, 0, 0}},
		{"federation record skipping indexes", []byte{codecV1, flagFed, 2, 0, 0, 1, 1, 'x', 0, 9, 4, 0, 0}},
		{"federation record with a keep", []byte{codecV1, flagFed, 2, 0, 0, 1, 1, 'x', 0, 5, 4, 9, 0}},
		{"federation snapshot with a prev", []byte{codecV1, flagFed, 2, 0, 0, 1, 1, 'x', 0, 5, 4, 0, 1}},
		{"federation unknown kind", []byte{codecV1, flagFed, 2, 0, 0, 1, 1, 'x', 0, 5, 4, 0, 2}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := Decode(tt.in); !errors.Is(err, ErrBadEntry) {
				t.Fatalf("Decode = %v, want ErrBadEntry", err)
			}
		})
	}
}

// TestDecodeEntriesWrittenBeforeRequestIDs: the bytes of a version-1 entry
// from before request ids (no flagRequest) decode as before and re-encode to
// the same bytes, and so does every entry of the fuzz corpus.
func TestDecodeEntriesWrittenBeforeRequestIDs(t *testing.T) {
	old := []byte{codecV1, 0, 2, 7, 9, 1, 1, 'x', 1, tagInt, 4}
	e, err := Decode(old)
	if err != nil {
		t.Fatal(err)
	}
	want := Entry{Context: Context{Time: time.UnixMicro(1).UTC(), Seed1: 7, Seed2: 9},
		Statements: []Statement{{SQL: "x", Params: []any{int64(2)}}}}
	if !reflect.DeepEqual(*e, want) {
		t.Fatalf("decoded %#v, want %#v", *e, want)
	}
	if b, _ := Encode(e); !bytes.Equal(b, old) {
		t.Fatalf("re-encoded to % x, want % x", b, old)
	}
	files, _ := filepath.Glob("testdata/fuzz/FuzzDecode/*")
	if len(files) == 0 {
		t.Fatal("no fuzz corpus")
	}
	for _, name := range files {
		raw, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		body := strings.TrimSpace(strings.TrimPrefix(string(raw), "go test fuzz v1\n"))
		q, ok := strings.CutPrefix(body, "[]byte(")
		if !ok {
			t.Fatalf("%s: unexpected corpus format", name)
		}
		s, err := strconv.Unquote(strings.TrimSuffix(q, ")"))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		e, err := Decode([]byte(s))
		if err != nil || e.Request != nil {
			t.Fatalf("%s: %+v, %v: want an entry without request", name, e, err)
		}
		if b, _ := Encode(e); !bytes.Equal(b, []byte(s)) {
			t.Fatalf("%s: re-encodes differently", name)
		}
	}
}

func TestEncodeRejectsUnnormalizedParams(t *testing.T) {
	_, err := Encode(&Entry{Statements: []Statement{{SQL: "x", Params: []any{struct{}{}}}}})
	if !errors.Is(err, ErrBadParam) {
		t.Fatalf("Encode = %v, want ErrBadParam", err)
	}
}

func FuzzDecode(f *testing.F) {
	for _, e := range []Entry{
		{},
		{DDL: true, Statements: []Statement{{SQL: "CREATE TABLE t (a INT)"}}},
		{Statements: []Statement{{SQL: "INSERT INTO t VALUES (?,?,?)", Params: []any{int64(-1), 2.5, []byte("b")}}}},
		{Statements: []Statement{{SQL: strings.Repeat("y", 5000)}}},
		{Statements: []Statement{{SQL: "x"}}, Request: &Request{Scope: "u", ID: "r-1", Window: 60, Keep: 10}},
		{Statements: []Statement{{SQL: "x"}}, Fed: &Fed{Index: 9, Prev: 8}},
	} {
		b, _ := Encode(&e)
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		e, err := Decode(b)
		if err != nil {
			if !errors.Is(err, ErrBadEntry) {
				t.Fatalf("error %v does not wrap ErrBadEntry", err)
			}
			return
		}
		// Whatever decodes must re-encode and decode to the same entry.
		b2, err := Encode(e)
		if err != nil {
			t.Fatalf("re-encode: %v", err)
		}
		e2, err := Decode(b2)
		if err != nil {
			t.Fatalf("decode of re-encoded entry: %v", err)
		}
		// Compare encodings, not values: NaN parameters are not DeepEqual.
		if b3, _ := Encode(e2); !bytes.Equal(b2, b3) {
			t.Fatalf("unstable round trip")
		}
	})
}
