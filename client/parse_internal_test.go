package client

import (
	"reflect"
	"testing"
)

// TestParseAnswers: well-formed answers decode with NULL as nil; answers
// of the wrong shape (a hostile or broken server) are errors, never panics.
func TestParseAnswers(t *testing.T) {
	good := map[string]any{
		"COLUMNS": []any{"id", "name", "blob", "score"},
		"ROWS": []any{
			[]any{int64(1), "one", []byte{0xca, 0xfe}, 1.5},
			[]any{int64(22), map[string]any{}, map[string]any{}, map[string]any{}},
		},
	}
	q, err := parseQuery(good)
	if err != nil {
		t.Fatal(err)
	}
	want := &Rows{Columns: []string{"id", "name", "blob", "score"},
		Rows: [][]any{{int64(1), "one", []byte{0xca, 0xfe}, 1.5}, {int64(22), nil, nil, nil}}}
	if !reflect.DeepEqual(q, want) {
		t.Errorf("got %#v", q)
	}
	for _, bad := range []any{
		"x",
		map[string]any{"ROWS": []any{}},
		map[string]any{"COLUMNS": []any{int64(1)}},
		map[string]any{"COLUMNS": []any{"a"}, "ROWS": "x"},
		map[string]any{"COLUMNS": []any{"a"}, "ROWS": []any{[]any{int64(1), int64(2)}}},
		map[string]any{"COLUMNS": []any{"a"}, "ROWS": []any{[]any{map[string]any{"x": int64(1)}}}},
		map[string]any{"COLUMNS": []any{"a"}, "ROWS": []any{[]any{[]any{}}}},
	} {
		if _, err := parseQuery(bad); err == nil {
			t.Errorf("parseQuery(%#v): no error", bad)
		}
	}
	got, err := parseExec([]any{
		map[string]any{"ROWS_AFFECTED": int64(2), "LAST_INSERT_ID": int64(7)},
		map[string]any{"ROWS_AFFECTED": int64(0), "LAST_INSERT_ID": int64(0)},
	})
	if err != nil || !reflect.DeepEqual(got, []Result{{2, 7}, {0, 0}}) {
		t.Errorf("got %v, %v", got, err)
	}
	for _, bad := range []any{"x", []any{"x"}, []any{map[string]any{"ROWS_AFFECTED": "1", "LAST_INSERT_ID": int64(0)}}} {
		if _, err := parseExec(bad); err == nil {
			t.Errorf("parseExec(%#v): no error", bad)
		}
	}
}

// TestOptions: endpoints and limits are checked before anything is sent;
// the /leader URL sits next to the XML-RPC path.
func TestOptions(t *testing.T) {
	for _, tc := range []struct {
		opts Options
		ok   bool
	}{
		{Options{Endpoints: []string{"http://h:2633/RPC2"}, Auth: "a:b"}, true},
		{Options{Endpoints: []string{"https://h:2633/RPC2", "http://[::1]:2633/RPC2"}, Auth: "a:b:c"}, true},
		{Options{Auth: "a:b"}, false},
		{Options{Endpoints: make([]string, MaxEndpoints+1), Auth: "a:b"}, false},
		{Options{Endpoints: []string{"h:2633"}, Auth: "a:b"}, false},
		{Options{Endpoints: []string{"ftp://h/RPC2"}, Auth: "a:b"}, false},
		{Options{Endpoints: []string{"http://u:p@h/RPC2"}, Auth: "a:b"}, false},
		{Options{Endpoints: []string{"http://h/RPC2"}, Auth: "nocolon"}, false},
		{Options{Endpoints: []string{"http://h/RPC2"}, Auth: "a:"}, false},
		{Options{Endpoints: []string{"http://h/RPC2"}, Auth: "a:b", MaxAttempts: MaxAttemptsLimit + 1}, false},
	} {
		c, err := New(tc.opts)
		if (err == nil) != tc.ok {
			t.Errorf("New(%+v): %v", tc.opts, err)
		}
		if c != nil {
			c.Close()
		}
	}
	for in, want := range map[string]string{
		"http://h:2633/RPC2":     "http://h:2633/leader",
		"https://h/one/RPC2?x=1": "https://h/one/leader",
		"http://h:2633":          "http://h:2633/leader",
	} {
		if ep, err := parseEndpoint(in); err != nil || ep.leader != want {
			t.Errorf("parseEndpoint(%q) = %q, %v; want %q", in, ep.leader, err, want)
		}
	}
}
