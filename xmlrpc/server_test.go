package xmlrpc

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// testServer starts an httptest server with methods echo, fail (a plain
// error), fault (a wrapped *Fault), panic, badresult (a nil result) and
// one.test.success, and returns its URL.
func testServer(t *testing.T, maxBody int64, logs *bytes.Buffer) string {
	t.Helper()
	var logger *slog.Logger
	if logs != nil {
		logger = slog.New(slog.NewTextHandler(logs, nil))
	}
	s := NewServer(logger)
	if maxBody != 0 {
		s.MaxBody = maxBody
	}
	s.Register("echo", func(_ context.Context, params []any) (any, error) { return params, nil })
	s.Register("fail", func(context.Context, []any) (any, error) { return nil, errors.New("it broke") })
	s.Register("fault", func(context.Context, []any) (any, error) {
		return nil, fmt.Errorf("context: %w", &Fault{Code: 42, String: "custom"})
	})
	s.Register("panic", func(context.Context, []any) (any, error) { panic("handler bug") })
	s.Register("badresult", func(context.Context, []any) (any, error) { return nil, nil })
	s.Register("one.test.success", func(_ context.Context, params []any) (any, error) {
		if _, err := ParamString(params, 0); err != nil {
			return Failure("one.test.success", err.Error(), XMLRPCAPIError), nil
		}
		return Success("x"), nil
	})
	ts := httptest.NewServer(s)
	t.Cleanup(ts.Close)
	return ts.URL + "/RPC2"
}

func post(t *testing.T, url, body string) (*http.Response, []byte) {
	t.Helper()
	resp, err := http.Post(url, "text/xml", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, b
}

func TestServerAnswers(t *testing.T) {
	var logs bytes.Buffer
	url := testServer(t, 4096, &logs)
	tests := []struct {
		name      string
		body      string
		want      any // the response value, if no fault
		faultCode int
		faultMsg  string
	}{
		{"echo", call("echo", "<i4>1</i4>", "s"), []any{int64(1), "s"}, 0, ""},
		{"one success", call("one.test.success", "<string>a:b</string>"),
			[]any{true, "x", int64(0)}, 0, ""},
		{"one failure", call("one.test.success", "<i4>1</i4>"),
			[]any{false, "[one.test.success] xmlrpc: invalid parameter: param[0]: want string, got int 1", int64(XMLRPCAPIError)}, 0, ""},
		{"handler error", call("fail"), nil, FaultApplication, "it broke"},
		{"handler fault", call("fault"), nil, 42, "custom"},
		{"handler panic", call("panic"), nil, FaultInternal, "[panic] internal error"},
		{"unencodable result", call("badresult"), nil, FaultInternal, "[badresult] cannot encode result"},
		{"unknown method", call("one.nope"), nil, FaultMethodNotFound, "[one.nope] not implemented"},
		{"malformed", "<methodCall><methodName>m", nil, FaultParse, "malformed"},
		{"truncated", call("echo", "<i4>1</i4>")[:70], nil, FaultParse, "malformed"},
		{"nil param", call("echo", "<nil/>"), nil, FaultParse, "nil"},
		{"wrong type element", call("echo", "<i4>x</i4>"), nil, FaultParse, "integer"},
		{"too deep", call("echo", strings.Repeat("<array><data><value>", 70)+strings.Repeat("</value></data></array>", 70)), nil, FaultParse, "too deep"},
		{"huge body", call("echo", "<string>"+strings.Repeat("x", 1<<20)+"</string>"), nil, FaultParse, "too large"},
		{"empty body", "", nil, FaultParse, "end of input"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, body := post(t, url, tt.body)
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("status %s", resp.Status)
			}
			if ct := resp.Header.Get("Content-Type"); ct != "text/xml" {
				t.Fatalf("Content-Type %q", ct)
			}
			v, err := DecodeResponse(bytes.NewReader(body), 0)
			if tt.faultCode == 0 {
				if err != nil || !equal(v, tt.want) {
					t.Fatalf("got %#v, %v; want %#v", v, err, tt.want)
				}
				return
			}
			f, ok := errors.AsType[*Fault](err)
			if !ok || f.Code != tt.faultCode || !strings.Contains(f.String, tt.faultMsg) {
				t.Fatalf("got %v, %v; want fault %d %q", v, err, tt.faultCode, tt.faultMsg)
			}
		})
	}
	var line string
	for l := range strings.Lines(logs.String()) {
		if strings.Contains(l, "handler bug") {
			line = l
		}
	}
	// The operator sees which method and which client hit the bug.
	if line == "" || !strings.Contains(line, "method=panic") || !strings.Contains(line, "remote=127.0.0.1:") {
		t.Errorf("panic not logged with method and remote: %q", logs.String())
	}
}

func TestServerRejectsNonPOST(t *testing.T) {
	url := testServer(t, 0, nil)
	for _, method := range []string{http.MethodGet, http.MethodPut, http.MethodHead} {
		t.Run(method, func(t *testing.T) {
			req, _ := http.NewRequest(method, url, nil)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusMethodNotAllowed || resp.Header.Get("Allow") != "POST" {
				t.Fatalf("status %s, Allow %q", resp.Status, resp.Header.Get("Allow"))
			}
		})
	}
}

func TestServerDefaultMaxBody(t *testing.T) {
	url := testServer(t, 0, nil)
	_, body := post(t, url, call("echo", "<string>"+strings.Repeat("y", DefaultMaxBody)+"</string>"))
	_, err := DecodeResponse(bytes.NewReader(body), 0)
	if f, ok := errors.AsType[*Fault](err); !ok || f.Code != FaultParse || !strings.Contains(f.String, "too large") {
		t.Fatalf("got %v", err)
	}
	// Just under the limit is fine.
	_, body = post(t, url, call("echo", "<string>"+strings.Repeat("y", DefaultMaxBody-200)+"</string>"))
	v, err := DecodeResponse(bytes.NewReader(body), DefaultMaxBody+1024)
	if err != nil || len(v.([]any)[0].(string)) != DefaultMaxBody-200 {
		t.Fatalf("got err %v", err)
	}
}

func TestServerRegister(t *testing.T) {
	s := NewServer(nil)
	h := func(context.Context, []any) (any, error) { return nil, nil }
	s.Register("b", h)
	s.Register("a", h)
	if got := s.Methods(); strings.Join(got, ",") != "a,b" {
		t.Fatalf("Methods() = %v", got)
	}
	tests := []struct {
		name   string
		method string
		h      HandlerFunc
	}{
		{"duplicate", "a", h},
		{"empty name", "", h},
		{"nil handler", "c", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Fatal("no panic")
				}
			}()
			s.Register(tt.method, tt.h)
		})
	}
}

func TestServerZeroValue(t *testing.T) {
	var s Server // no NewServer: nil map, nil logger, zero MaxBody
	s.Register("m", func(context.Context, []any) (any, error) { return "ok", nil })
	rec := httptest.NewRecorder()
	s.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/RPC2", strings.NewReader(call("m"))))
	if v, err := DecodeResponse(rec.Body, 0); err != nil || v != "ok" {
		t.Fatalf("got %v, %v", v, err)
	}
}
