package xmlrpc

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestClientCall(t *testing.T) {
	url := testServer(t, 0, nil)
	c := NewClient(url, 5*time.Second)
	ctx := t.Context()
	when := time.Date(2020, 5, 6, 7, 8, 9, 0, time.UTC)
	params := []any{"s", int64(1) << 40, true, 2.5, []byte{1, 2}, when, []any{"x"}, map[string]any{"k": int64(1)}}
	tests := []struct {
		name   string
		method string
		params []any
		want   any
		err    error
	}{
		{"echo all types", "echo", params, params, nil},
		{"echo nothing", "echo", nil, []any{}, nil},
		{"fault", "fault", nil, nil, &Fault{Code: 42, String: "custom"}},
		{"unknown method", "nope", nil, nil, &Fault{Code: FaultMethodNotFound, String: "[nope] not implemented"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, err := c.Call(ctx, tt.method, tt.params...)
			if tt.err != nil {
				f, ok := err.(*Fault)
				if !ok || *f != *tt.err.(*Fault) {
					t.Fatalf("err = %#v, want %#v", err, tt.err)
				}
				return
			}
			if err != nil || !equal(v, tt.want) {
				t.Fatalf("got %#v, %v; want %#v", v, err, tt.want)
			}
		})
	}
}

func TestClientCallONE(t *testing.T) {
	url := testServer(t, 0, nil)
	c := NewClient(url, 5*time.Second)
	v, err := c.CallONE(t.Context(), "one.test.success", "a:b")
	if err != nil || v != "x" {
		t.Fatalf("got %v, %v", v, err)
	}
	_, err = c.CallONE(t.Context(), "one.test.success", 7)
	var oe *Error
	if !errors.As(err, &oe) || oe.Code != XMLRPCAPIError || !errors.Is(err, ErrONE) {
		t.Fatalf("err = %v", err)
	}
}

// TestClientDeadline: a handler slower than the caller's deadline makes
// Call return the context's error promptly.
func TestClientDeadline(t *testing.T) {
	s := NewServer(nil)
	s.Register("slow", func(ctx context.Context, _ []any) (any, error) {
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(10 * time.Second):
			return "late", nil
		}
	})
	ts := httptest.NewServer(s)
	defer ts.Close()
	c := NewClient(ts.URL, 0)
	ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := c.Call(ctx, "slow")
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want deadline exceeded", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("returned after %v", d)
	}
}

func TestClientErrors(t *testing.T) {
	tests := []struct {
		name    string
		handler http.HandlerFunc
		maxBody int64
		want    error
	}{
		{"HTTP 500", func(w http.ResponseWriter, _ *http.Request) { http.Error(w, "oops", 500) }, 0, ErrHTTP},
		{"not XML", func(w http.ResponseWriter, _ *http.Request) { w.Write([]byte("<html>")) }, 0, ErrMalformed},
		{"two params", func(w http.ResponseWriter, _ *http.Request) {
			w.Write([]byte("<methodResponse><params><param><value/></param><param><value/></param></params></methodResponse>"))
		}, 0, ErrMalformed},
		{"nil response", func(w http.ResponseWriter, _ *http.Request) { w.Write([]byte(response("<nil/>"))) }, 0, ErrNil},
		{"too large", func(w http.ResponseWriter, _ *http.Request) {
			w.Write([]byte(response(strings.Repeat("z", 5000))))
		}, 1000, ErrTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ts := httptest.NewServer(tt.handler)
			defer ts.Close()
			c := NewClient(ts.URL, 5*time.Second)
			c.MaxBody = tt.maxBody
			_, err := c.Call(t.Context(), "m")
			if !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
		})
	}
	t.Run("unencodable param", func(t *testing.T) {
		c := NewClient("http://127.0.0.1:1/", time.Second)
		if _, err := c.Call(t.Context(), "m", nil); !errors.Is(err, ErrNil) {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("connection refused", func(t *testing.T) {
		ts := httptest.NewServer(http.NotFoundHandler())
		url := ts.URL
		ts.Close()
		c := &Client{URL: url} // zero value fields: default HTTP client and limit
		if _, err := c.Call(t.Context(), "m"); err == nil || !strings.Contains(err.Error(), "call m") {
			t.Fatalf("err = %v", err)
		}
	})
}
