package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/oneha/oneha/internal/cli"
	"github.com/oneha/oneha/internal/cli/clitest"
)

type result struct {
	stdout, stderr string
	code           int
}

func run(t *testing.T, stdin string, env map[string]string, args ...string) result {
	t.Helper()
	var out, errb bytes.Buffer
	root := newRootCmd(strings.NewReader(stdin), &out, &errb, func(k string) string { return env[k] })
	code := cli.Main(context.Background(), root, args, &errb)
	return result{out.String(), errb.String(), code}
}

func authEnv(t *testing.T, endpoint string) map[string]string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "one_auth")
	if err := os.WriteFile(path, []byte("oneadmin:pw\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return map[string]string{"ONE_AUTH": path, "ONE_XMLRPC": endpoint}
}

func execResult(n int) any {
	var rs []any
	for i := range n {
		rs = append(rs, map[string]any{"ROWS_AFFECTED": int64(i + 1), "LAST_INSERT_ID": int64(100 + i)})
	}
	return clitest.OK(rs)
}

func TestExecCommand(t *testing.T) {
	script := filepath.Join(t.TempDir(), "tx.sql")
	if err := os.WriteFile(script, []byte("INSERT INTO t VALUES (1);\n-- comment\nUPDATE t SET a = 'x;y';\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		stdin string
		args  []string
		stmts []any
		out   string
	}{
		{
			name:  "single with typed params",
			args:  []string{"exec", "INSERT INTO t (a, b, c, d) VALUES (?, ?, ?, ?)", "text", "int:42", "null:", "str:int:1"},
			stmts: []any{[]any{"INSERT INTO t (a, b, c, d) VALUES (?, ?, ?, ?)", "text", int64(42), map[string]any{}, "int:1"}},
			out:   "ROWS_AFFECTED LAST_INSERT_ID\n            1            100\n",
		},
		{
			name:  "-p params",
			args:  []string{"exec", "DELETE FROM t WHERE id = ?", "-p", "int:7"},
			stmts: []any{[]any{"DELETE FROM t WHERE id = ?", int64(7)}},
			out:   "ROWS_AFFECTED LAST_INSERT_ID\n            1            100\n",
		},
		{
			name:  "-e transaction",
			args:  []string{"exec", "-e", "INSERT INTO t VALUES (1)", "-e", "INSERT INTO t VALUES (2)"},
			stmts: []any{"INSERT INTO t VALUES (1)", "INSERT INTO t VALUES (2)"},
			out:   "ROWS_AFFECTED LAST_INSERT_ID\n            1            100\n            2            101\n",
		},
		{
			name:  "--file",
			args:  []string{"exec", "--file", script},
			stmts: []any{"INSERT INTO t VALUES (1)", "-- comment\nUPDATE t SET a = 'x;y'"},
			out:   "ROWS_AFFECTED LAST_INSERT_ID\n            1            100\n            2            101\n",
		},
		{
			name:  "--file - --json",
			stdin: "DELETE FROM t",
			args:  []string{"exec", "-f", "-", "--json"},
			stmts: []any{"DELETE FROM t"},
			out:   "[\n  {\n    \"rows_affected\": 1,\n    \"last_insert_id\": 100\n  }\n]\n",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			fe := clitest.NewServer(t, map[string]clitest.Handler{
				"one.sql.exec": func(p []any) any {
					stmts, _ := p[1].([]any)
					return execResult(len(stmts))
				},
			})
			r := run(t, tc.stdin, authEnv(t, fe.URL), tc.args...)
			if r.code != 0 {
				t.Fatalf("exit %d: %s", r.code, r.stderr)
			}
			if r.stdout != tc.out {
				t.Errorf("stdout\n%q\nwant\n%q", r.stdout, tc.out)
			}
			want := []clitest.Call{{Method: "one.sql.exec", Params: []any{"oneadmin:pw", tc.stmts}}}
			if got := fe.Calls(); !reflect.DeepEqual(got, want) {
				t.Errorf("calls\n%#v\nwant\n%#v", got, want)
			}
		})
	}
}

func TestQueryCommand(t *testing.T) {
	value := map[string]any{
		"COLUMNS": []any{"ID", "NAME", "BODY", "SCORE"},
		"ROWS": []any{
			[]any{int64(1), "oneadmin", []byte{0x01, 0xab}, 2.5},
			[]any{int64(1000), map[string]any{}, map[string]any{}, map[string]any{}},
		},
	}
	tests := []struct {
		name   string
		args   []string
		params []any
		out    string
	}{
		{
			name:   "table, default consistency",
			args:   []string{"query", "SELECT * FROM t WHERE a = ? AND b = ?", "x", "int:3"},
			params: []any{"oneadmin:pw", "SELECT * FROM t WHERE a = ? AND b = ?", []any{"x", int64(3)}, "default"},
			out: "  ID NAME     BODY   SCORE\n" +
				"   1 oneadmin 0x01AB   2.5\n" +
				"1000 NULL     NULL    NULL\n",
		},
		{
			name:   "json, strong",
			args:   []string{"query", "--consistency", "strong", "SELECT * FROM t", "--json"},
			params: []any{"oneadmin:pw", "SELECT * FROM t", []any{}, "strong"},
			out: `{
  "columns": [
    "ID",
    "NAME",
    "BODY",
    "SCORE"
  ],
  "rows": [
    [
      1,
      "oneadmin",
      "Aas=",
      2.5
    ],
    [
      1000,
      null,
      null,
      null
    ]
  ]
}
`,
		},
		{
			name:   "stale with -p null",
			args:   []string{"query", "-c", "stale", "SELECT * FROM t WHERE a IS ?", "-p", "null:"},
			params: []any{"oneadmin:pw", "SELECT * FROM t WHERE a IS ?", []any{map[string]any{}}, "stale"},
			out: "  ID NAME     BODY   SCORE\n" +
				"   1 oneadmin 0x01AB   2.5\n" +
				"1000 NULL     NULL    NULL\n",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			fe := clitest.NewServer(t, map[string]clitest.Handler{"one.sql.query": clitest.Const(clitest.OK(value))})
			r := run(t, "", authEnv(t, fe.URL), tc.args...)
			if r.code != 0 {
				t.Fatalf("exit %d: %s", r.code, r.stderr)
			}
			if r.stdout != tc.out {
				t.Errorf("stdout\n%s\nwant\n%s", r.stdout, tc.out)
			}
			want := []clitest.Call{{Method: "one.sql.query", Params: tc.params}}
			if got := fe.Calls(); !reflect.DeepEqual(got, want) {
				t.Errorf("calls\n%#v\nwant\n%#v", got, want)
			}
		})
	}
}

func TestErrors(t *testing.T) {
	fe := clitest.NewServer(t, map[string]clitest.Handler{
		"one.sql.exec":  clitest.Const(clitest.Fail("[one.sql.exec] statement 1: Duplicate entry '1' for key 'PRIMARY'", 0x800)),
		"one.sql.query": clitest.Const(clitest.Fail("[one.sql.query] Cannot process request, no leader found", 0x2000)),
	})
	tests := []struct {
		name    string
		args    []string
		stderr  string
		noCalls bool
	}{
		{"sql error", []string{"exec", "INSERT INTO t VALUES (1)"}, "Duplicate entry '1' for key 'PRIMARY'", false},
		{"no leader", []string{"query", "SELECT 1"}, "no leader found", false},
		{"no statement", []string{"exec"}, "exactly one of them", true},
		{"no query", []string{"query"}, "query needs at least 1 argument(s) (SQL)", true},
		{"bad consistency", []string{"query", "-c", "eventual", "SELECT 1"}, `--consistency "eventual"`, true},
		{"bad param", []string{"query", "SELECT ?", "int:x"}, "not a 64-bit integer", true},
		{"missing file", []string{"exec", "--file", "/nonexistent.sql"}, "no such file", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before := len(fe.Calls())
			r := run(t, "", authEnv(t, fe.URL), tc.args...)
			if r.code != 255 || !strings.Contains(r.stderr, tc.stderr) || r.stdout != "" {
				t.Errorf("exit %d, stdout %q, stderr %q; want 255 and %q", r.code, r.stdout, r.stderr, tc.stderr)
			}
			if tc.noCalls && len(fe.Calls()) != before {
				t.Errorf("a call was made")
			}
		})
	}
}

// TestExecRequestID: --request-id is sent as one.sql.exec's third
// parameter (absent without the flag), and failures say whether running the
// command again is safe.
func TestExecRequestID(t *testing.T) {
	var answer atomic.Value // the handler runs on the server's goroutine
	answer.Store(execResult(1))
	fe := clitest.NewServer(t, map[string]clitest.Handler{
		"one.sql.exec": func([]any) any { return answer.Load() },
	})
	env := authEnv(t, fe.URL)
	r := run(t, "", env, "exec", "UPDATE t SET a = 1", "--request-id", "job-7:step.2")
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	want := []clitest.Call{{Method: "one.sql.exec", Params: []any{"oneadmin:pw", []any{"UPDATE t SET a = 1"}, "job-7:step.2"}}}
	if got := fe.Calls(); !reflect.DeepEqual(got, want) {
		t.Fatalf("calls\n%#v\nwant\n%#v", got, want)
	}
	for _, tc := range []struct {
		name, msg string
		code      int64
		args      []string
		stderr    string
		attempts  int // calls the CLI makes: retried only when safe
	}{
		{"unknown with id", "[one.sql.exec] OUTCOME UNKNOWN: leadership lost", 0x20000,
			[]string{"--request-id", "r1"}, "same --request-id r1", cli.ClientAttempts},
		{"unknown without id", "[one.sql.exec] OUTCOME UNKNOWN: leadership lost", 0x20000,
			nil, "may or may not be applied", 1},
		{"not applied", "[one.sql.exec] NOT APPLIED: Cannot process request, no leader found", 0x2000,
			nil, "running the command again is safe", cli.ClientAttempts},
		{"other internal error", "[one.sql.exec] disk full", 0x2000, nil, "disk full", 1},
		{"sql error", "[one.sql.exec] statement 0: no such table: t", 0x800, nil, "\n[one.sql.exec] statement 0: no such table: t\n", 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			answer.Store(clitest.Fail(tc.msg, tc.code))
			before := len(fe.Calls())
			r := run(t, "", env, append([]string{"exec", "UPDATE t SET a = 1"}, tc.args...)...)
			if r.code != 255 || !strings.Contains("\n"+r.stderr, tc.stderr) {
				t.Fatalf("exit %d, stderr %q; want 255 and %q", r.code, r.stderr, tc.stderr)
			}
			if n := len(fe.Calls()) - before; n != tc.attempts {
				t.Errorf("%d attempts, want %d", n, tc.attempts)
			}
			if tc.name == "other internal error" && strings.Contains(r.stderr, "safe") {
				t.Fatalf("an unclassified error was called safe: %q", r.stderr)
			}
		})
	}
}
