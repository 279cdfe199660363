package sqlfsm

import (
	"bytes"
	"errors"
	"math"
	"reflect"
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
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := Decode(tt.in); !errors.Is(err, ErrBadEntry) {
				t.Fatalf("Decode = %v, want ErrBadEntry", err)
			}
		})
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
