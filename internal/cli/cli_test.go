package cli

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/spf13/cobra"

	"github.com/oneha/oneha/internal/cli/clitest"
	"github.com/oneha/oneha/xmlrpc"
)

func TestSession(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	good := write("good", "oneadmin:s3cr:et\nignored\n")
	if err := os.MkdirAll(filepath.Join(dir, "home", ".one"), 0o700); err != nil {
		t.Fatal(err)
	}
	write("home/.one/one_auth", "  homeuser:pw  \n")
	tests := []struct {
		name         string
		conn         Connection
		env          map[string]string
		wantEndpoint string
		wantAuth     string
		wantErr      string
	}{
		{"defaults", Connection{}, map[string]string{"HOME": filepath.Join(dir, "home")}, DefaultEndpoint, "homeuser:pw", ""},
		{"env", Connection{}, map[string]string{"ONE_XMLRPC": "https://h:2633/RPC2", "ONE_AUTH": good}, "https://h:2633/RPC2", "oneadmin:s3cr:et", ""},
		{"flags win", Connection{Endpoint: "http://x/RPC2", User: "u", Password: "p"}, map[string]string{"ONE_XMLRPC": "http://y/RPC2", "ONE_AUTH": good}, "http://x/RPC2", "u:p", ""},
		{"bad endpoint", Connection{Endpoint: "x:2633"}, map[string]string{"ONE_AUTH": good}, "", "", "must start with http://"},
		{"endpoint without host", Connection{Endpoint: "http:///RPC2"}, map[string]string{"ONE_AUTH": good}, "", "", "not a valid URL"},
		{"missing auth file", Connection{}, map[string]string{"ONE_AUTH": filepath.Join(dir, "none")}, "", "", "ONE_AUTH file"},
		{"bad auth file", Connection{}, map[string]string{"ONE_AUTH": write("bad", "nocolon\n")}, "", "", `want one line "user:password"`},
		{"empty password in file", Connection{}, map[string]string{"ONE_AUTH": write("nopw", "user:\n")}, "", "", `want one line`},
		{"user only", Connection{User: "u"}, nil, "", "", "--user needs --password"},
		{"password only", Connection{Password: "p"}, nil, "", "", "--password needs --user"},
		{"colon in user", Connection{User: "a:b", Password: "p"}, nil, "", "", "must not contain ':'"},
	}
	for _, tc := range tests {
		s, err := tc.conn.Session(func(k string) string { return tc.env[k] })
		if tc.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("%s: error %v, want %q", tc.name, err, tc.wantErr)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", tc.name, err)
			continue
		}
		if s.Endpoint != tc.wantEndpoint || s.Auth != tc.wantAuth || s.Timeout != DefaultTimeout {
			t.Errorf("%s: got %s %s %v", tc.name, s.Endpoint, s.Auth, s.Timeout)
		}
	}
}

// TestCall: a session's client sends the session string first, returns
// the answer's value, phrases a failure as OpenNebula's CLIs print it and
// refuses a malformed answer.
func TestCall(t *testing.T) {
	fe := clitest.NewServer(t, map[string]clitest.Handler{
		"ok":   clitest.Const(clitest.OK("<X/>")),
		"fail": clitest.Const(clitest.Fail("[fail] Error getting zone [5].", 0x400)),
		"junk": clitest.Const("not an array"),
	})
	s := &Session{Endpoint: fe.URL, Auth: "u:p", Timeout: 5 * time.Second}
	c, err := s.Client()
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx := context.Background()
	if v, err := c.Call(ctx, true, "ok", int64(1), false); err != nil || v != "<X/>" {
		t.Errorf("ok: %v, %v", v, err)
	}
	if calls := fe.Calls(); len(calls) != 1 || len(calls[0].Params) != 3 || calls[0].Params[0] != "u:p" || calls[0].Params[1] != int64(1) || calls[0].Params[2] != false {
		t.Errorf("sent %#v", calls)
	}
	_, err = c.Call(ctx, true, "fail")
	var oe *xmlrpc.Error
	if err = ClientError(err); err == nil || err.Error() != "[fail] Error getting zone [5]." || !errors.As(err, &oe) || oe.Code != 0x400 {
		t.Errorf("fail: %v", err)
	}
	if _, err := c.Call(ctx, true, "junk"); !errors.Is(err, xmlrpc.ErrMalformed) {
		t.Errorf("junk: %v, want xmlrpc.ErrMalformed", err)
	}
}

func TestRow(t *testing.T) {
	cols := []Column{{Header: "ID", Width: 2, Right: true}, {Header: "NAME", Width: 5, Truncate: true}, {Header: "LAST", Width: 8}}
	tests := []struct {
		cells []string
		want  string
	}{
		{[]string{"1", "ab", "x"}, " 1 ab    x\n"},
		{[]string{"123", "abcdefgh", "a long last value"}, "123 abcde a long last value\n"},
		{[]string{"1", "", ""}, " 1\n"},
		{[]string{"1", "ñandú!", "z"}, " 1 ñandú z\n"},
	}
	for _, tc := range tests {
		if got := Row(cols, tc.cells...); got != tc.want {
			t.Errorf("Row(%q) = %q, want %q", tc.cells, got, tc.want)
		}
	}
	if got := Header(cols); got != "ID NAME  LAST\n" {
		t.Errorf("Header = %q", got)
	}
	var b bytes.Buffer
	if err := AutoTable(&b, []string{"A", "BB"}, [][]string{{"xyz", "1"}, {"", "22"}}, map[int]bool{1: true}); err != nil {
		t.Fatal(err)
	}
	if want := "A   BB\nxyz  1\n    22\n"; b.String() != want {
		t.Errorf("AutoTable = %q, want %q", b.String(), want)
	}
}

func TestMainExitCodes(t *testing.T) {
	tests := []struct {
		name   string
		run    func() error
		args   []string
		code   int
		stderr string
	}{
		{"ok", func() error { return nil }, nil, 0, ""},
		{"error", func() error { return errors.New("[one.zone.info] boom") }, nil, 255, "[one.zone.info] boom\n"},
		{"usage error", func() error { return errors.New("unreached") }, []string{"--nope"}, 255, "unknown flag: --nope\nUsage: tool [flags]\n"},
		{"args", func() error { return nil }, []string{"x"}, 255, "tool takes 0 argument(s) (), got 1\nUsage: tool [flags]\n"},
	}
	for _, tc := range tests {
		var errb bytes.Buffer
		cmd := &cobra.Command{Use: "tool", Args: ExactArgs(0), RunE: func(*cobra.Command, []string) error { return tc.run() }}
		code := Main(context.Background(), cmd, tc.args, &errb)
		if code != tc.code || !strings.HasPrefix(errb.String(), tc.stderr) {
			t.Errorf("%s: code %d, stderr %q; want %d, %q", tc.name, code, errb.String(), tc.code, tc.stderr)
		}
	}
}
