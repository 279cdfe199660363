package xmlrpc

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// vmCallBody is BenchmarkServeStages' request: one.sql.exec with an 8 KiB
// VM body, escaped text being most of it.
func vmCallBody(b *testing.B) []byte {
	var body bytes.Buffer
	if err := EncodeCall(&body, "one.sql.exec", "oneadmin:pw", []any{[]any{"REPLACE INTO vm_pool VALUES (?, ?)",
		int64(42), strings.Repeat("<DISK><ID>1</ID></DISK>", 350)}}, "req-1"); err != nil {
		b.Fatal(err)
	}
	return body.Bytes()
}

// insertCallBody is a small write: one single-row INSERT through
// one.sql.exec with a request id, as client.ExecRequest sends it.
func insertCallBody(b *testing.B) []byte {
	var body bytes.Buffer
	if err := EncodeCall(&body, "one.sql.exec", "oneadmin:pw", []any{[]any{
		"INSERT INTO bench (w, seq, payload) VALUES (?, ?, ?)", int64(3), int64(1234), "payload-payload-payload"}},
		"req-0123456789abcdef"); err != nil {
		b.Fatal(err)
	}
	return body.Bytes()
}

// BenchmarkServeSmallCall serves a single-row INSERT one.sql.exec call
// (stage tracing off) through the whole Server: body read, decode,
// dispatch to a handler that does nothing, response encode; logging to
// a text handler at Info, as oned does.
func BenchmarkServeSmallCall(b *testing.B) {
	body := insertCallBody(b)
	s := NewServer(slog.New(slog.NewTextHandler(io.Discard, nil)))
	s.Budget = nil
	s.Register("one.sql.exec", func(context.Context, []any) (any, error) {
		return []any{map[string]any{"ROWS_AFFECTED": int64(1), "LAST_INSERT_ID": int64(7)}}, nil
	})
	b.ReportAllocs()
	for b.Loop() {
		req := httptest.NewRequest(http.MethodPost, "/RPC2", bytes.NewReader(body))
		w := httptest.NewRecorder()
		s.ServeHTTP(w, req)
		if w.Code != http.StatusOK {
			b.Fatal(w.Code)
		}
	}
}

// BenchmarkDecodeCall is DecodeCall alone on the 8 KiB VM call and on
// the small INSERT call.
func BenchmarkDecodeCall(b *testing.B) {
	for _, bc := range []struct {
		name string
		body []byte
	}{{"vm8k", vmCallBody(b)}, {"insert", insertCallBody(b)}} {
		b.Run(bc.name, func(b *testing.B) {
			b.SetBytes(int64(len(bc.body)))
			b.ReportAllocs()
			for b.Loop() {
				if _, _, err := DecodeCall(bytes.NewReader(bc.body), 0); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
