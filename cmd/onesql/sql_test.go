package main

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/oneha/oneha/client"
)

func TestParseParam(t *testing.T) {
	tests := []struct {
		in      string
		want    any
		wantErr string
	}{
		{"plain", "plain", ""},
		{"", "", ""},
		{"http://x:2633/RPC2", "http://x:2633/RPC2", ""},
		{"a:b", "a:b", ""},
		{"int:5", int64(5), ""},
		{"int:-9223372036854775808", int64(-9223372036854775808), ""},
		{"int:5.5", nil, "not a 64-bit integer"},
		{"int:", nil, "not a 64-bit integer"},
		{"float:1.5", 1.5, ""},
		{"float:NaN", nil, "not a finite number"},
		{"bool:true", true, ""},
		{"bool:0", false, ""},
		{"bool:maybe", nil, "not true or false"},
		{"null:", map[string]any{}, ""},
		{"null:x", nil, "takes no value"},
		{"str:int:5", "int:5", ""},
		{"str:", "", ""},
		{"hex:DEADbeef", []byte{0xde, 0xad, 0xbe, 0xef}, ""},
		{"hex:0x00ff", []byte{0, 0xff}, ""},
		{"hex:zz", nil, "not hexadecimal"},
	}
	for _, tc := range tests {
		got, err := ParseParam(tc.in)
		if tc.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("ParseParam(%q) error %v, want %q", tc.in, err, tc.wantErr)
			}
			continue
		}
		if err != nil || !reflect.DeepEqual(got, tc.want) {
			t.Errorf("ParseParam(%q) = %#v, %v; want %#v", tc.in, got, err, tc.want)
		}
	}
}

func TestSplitSQL(t *testing.T) {
	tests := []struct {
		name, in string
		want     []string
		wantErr  bool
	}{
		{"one", "INSERT INTO t VALUES (1)", []string{"INSERT INTO t VALUES (1)"}, false},
		{"two with blanks", " a ;\n\n b;;  ", []string{"a", "b"}, false},
		{"semicolon in quotes", `INSERT INTO t VALUES ('a;b', "c;d", ` + "`e;f`" + `); x`, []string{`INSERT INTO t VALUES ('a;b', "c;d", ` + "`e;f`" + `)`, "x"}, false},
		{"escaped and doubled quotes", `SELECT 'it''s;', 'a\';b'; y`, []string{`SELECT 'it''s;', 'a\';b'`, "y"}, false},
		{"comments", "-- first; not a statement\na; # b; c\n/* d; */ e;\n-- trailing", []string{"-- first; not a statement\na", "# b; c\n/* d; */ e"}, false},
		{"double dash without blank is code", "SELECT 5--3; z", []string{"SELECT 5--3", "z"}, false},
		{"only comments", "-- nothing\n/* at all */", nil, false},
		{"unterminated quote", "SELECT 'x", nil, true},
		{"unterminated comment", "SELECT 1 /* x", nil, true},
	}
	for _, tc := range tests {
		got, err := SplitSQL(tc.in)
		if (err != nil) != tc.wantErr {
			t.Errorf("%s: error %v", tc.name, err)
			continue
		}
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s: got %q, want %q", tc.name, got, tc.want)
		}
	}
}

func TestBuildExec(t *testing.T) {
	tests := []struct {
		name       string
		args       []string
		exprs      []string
		script     string
		haveScript bool
		params     []string
		want       []any
		wantErr    string
	}{
		{name: "bare", args: []string{"DELETE FROM t"}, want: []any{"DELETE FROM t"}},
		{name: "positional params", args: []string{"INSERT INTO t VALUES (?, ?, ?)", "x", "int:2", "null:"},
			want: []any{[]any{"INSERT INTO t VALUES (?, ?, ?)", "x", int64(2), map[string]any{}}}},
		{name: "-p params", args: []string{"INSERT INTO t VALUES (?)"}, params: []string{"float:2.5"},
			want: []any{[]any{"INSERT INTO t VALUES (?)", 2.5}}},
		{name: "-e", exprs: []string{"INSERT INTO t VALUES (1)", "UPDATE t SET a = 2"},
			want: []any{"INSERT INTO t VALUES (1)", "UPDATE t SET a = 2"}},
		{name: "script", script: "INSERT INTO t VALUES (1);\nINSERT INTO t VALUES (';');\n", haveScript: true,
			want: []any{"INSERT INTO t VALUES (1)", "INSERT INTO t VALUES (';')"}},
		{name: "nothing", wantErr: "exactly one"},
		{name: "two sources", args: []string{"a"}, exprs: []string{"b"}, wantErr: "exactly one"},
		{name: "both param styles", args: []string{"a", "b"}, params: []string{"c"}, wantErr: "not both"},
		{name: "params with -e", exprs: []string{"a"}, params: []string{"c"}, wantErr: "single statement"},
		{name: "empty -e", exprs: []string{"a", " "}, wantErr: "statement 2 is empty"},
		{name: "empty script", script: "-- nothing", haveScript: true, wantErr: "no statements"},
		{name: "bad param", args: []string{"a", "int:x"}, wantErr: "not a 64-bit integer"},
	}
	for _, tc := range tests {
		got, err := BuildExec(tc.args, tc.exprs, tc.script, tc.haveScript, tc.params)
		if tc.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("%s: error %v, want %q", tc.name, err, tc.wantErr)
			}
			continue
		}
		if err != nil || !reflect.DeepEqual(got.Statements, tc.want) {
			t.Errorf("%s: got %#v, %v; want %#v", tc.name, got.Statements, err, tc.want)
		}
	}
}

func TestQueryTable(t *testing.T) {
	if c := Cell(time.Date(2018, 9, 20, 17, 15, 20, 0, time.UTC)); c != "2018-09-20 17:15:20" {
		t.Errorf("Cell(time) = %q", c)
	}
	q := &client.Rows{Columns: []string{"id", "name", "blob", "score"},
		Rows: [][]any{{int64(1), "one", []byte{0xca, 0xfe}, 1.5}, {int64(22), nil, nil, nil}}}
	cells, right := QueryTable(q)
	if !reflect.DeepEqual(cells, [][]string{{"1", "one", "0xCAFE", "1.5"}, {"22", "NULL", "NULL", "NULL"}}) {
		t.Errorf("cells %q", cells)
	}
	if !reflect.DeepEqual(right, map[int]bool{0: true, 3: true}) {
		t.Errorf("right-aligned %v", right)
	}
}
