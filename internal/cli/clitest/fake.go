// Package clitest is a fake OpenNebula XML-RPC endpoint for the command
// tests: an httptest server that decodes each call, records it, and answers
// with the value a per-method handler returns, encoded as an XML-RPC
// response. It has its own small codec (wire.go) so it shares no code with
// the xmlrpc client under test.
package clitest

import (
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
)

// Call is one recorded request.
type Call struct {
	Method string
	Params []any
}

// Handler answers one call; its result is encoded as the response value.
type Handler func(params []any) any

// Server is a fake XML-RPC endpoint.
type Server struct {
	URL string

	mu       sync.Mutex
	calls    []Call
	handlers map[string]Handler
}

// NewServer starts a fake endpoint answering the methods in handlers and
// closes it when the test ends. Unknown methods get an OpenNebula failure.
func NewServer(tb testing.TB, handlers map[string]Handler) *Server {
	tb.Helper()
	s := &Server{handlers: handlers}
	ts := httptest.NewServer(http.HandlerFunc(s.serve))
	tb.Cleanup(ts.Close)
	s.URL = ts.URL + "/RPC2"
	return s
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	method, params, err := decodeCall(body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	s.mu.Lock()
	s.calls = append(s.calls, Call{Method: method, Params: params})
	h := s.handlers[method]
	s.mu.Unlock()
	var v any
	if h == nil {
		v = Fail("["+method+"] unknown method", 0x1000)
	} else {
		v = h(params)
	}
	out, err := encodeResponse(v)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/xml")
	_, _ = w.Write(out)
}

// Calls returns the calls received so far.
func (s *Server) Calls() []Call {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Call(nil), s.calls...)
}

// OK is OpenNebula's success response [true, v, 0].
func OK(v any) any { return []any{true, v, int64(0)} }

// Fail is OpenNebula's failure response [false, msg, code, -1, -1].
func Fail(msg string, code int64) any {
	return []any{false, msg, code, int64(-1), int64(-1)}
}

// Const is a Handler that always returns v.
func Const(v any) Handler { return func([]any) any { return v } }
