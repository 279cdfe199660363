package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"syscall"
	"testing"

	"github.com/oneha/oneha/internal/cli"
	"github.com/oneha/oneha/internal/cli/clitest"
)

type result struct {
	stdout, stderr string
	code           int
}

// run runs onezone in-process with env as the whole environment.
func run(t *testing.T, env map[string]string, args ...string) result {
	t.Helper()
	var out, errb bytes.Buffer
	root := newRootCmd(&out, &errb, func(k string) string { return env[k] })
	code := cli.Main(context.Background(), root, args, &errb)
	return result{out.String(), errb.String(), code}
}

// authEnv writes a one_auth file and returns an environment using it.
func authEnv(t *testing.T, endpoint string) map[string]string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "one_auth")
	if err := os.WriteFile(path, []byte("oneadmin:s3cret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return map[string]string{"ONE_AUTH": path, "ONE_XMLRPC": endpoint, "HOME": t.TempDir()}
}

// deadEndpoint is an endpoint where nothing listens, for the whole test:
// its port stays bound (to a socket that never listens, so connecting is
// refused) until the test ends. A port only looked up and freed could be
// handed to the next listener the test opens, which then answers for the
// "dead" server.
func deadEndpoint(t *testing.T) string {
	t.Helper()
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { syscall.Close(fd) })
	if err := syscall.Bind(fd, &syscall.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		t.Fatal(err)
	}
	sa, err := syscall.Getsockname(fd)
	if err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("http://127.0.0.1:%d/RPC2", sa.(*syscall.SockaddrInet4).Port)
}

func TestShowCommand(t *testing.T) {
	peer := clitest.NewServer(t, map[string]clitest.Handler{
		"one.zone.raftstatus": clitest.Const(clitest.OK(raftDoc(0, 3, 1, -1, 19, 21, 1, -1))),
	})
	dead := deadEndpoint(t)
	zone := zoneDoc(0, "OpenNebula", 0,
		Server{ID: 0, Name: "server-0", Endpoint: peer.URL},
		Server{ID: 1, Name: "server-1", Endpoint: dead})
	fe := clitest.NewServer(t, map[string]clitest.Handler{"one.zone.info": clitest.Const(clitest.OK(zone))})

	r := run(t, authEnv(t, fe.URL), "show", "0")
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	pad := func(s string, n int) string { return s + strings.Repeat(" ", n-len(s)) }
	want := pad("ZONE 0 INFORMATION", 80) + "\n" +
		"ID                : 0                   \n" +
		"NAME              : OpenNebula          \n" +
		"STATE             : ENABLED             \n" +
		"\n\n" +
		pad("ZONE SERVERS", 80) + "\n" +
		"ID NAME            " + pad("ENDPOINT", 63) + "\n" +
		" 0 server-0        " + peer.URL + "\n" +
		" 1 server-1        " + dead + "\n" +
		"\n" +
		pad("HA & FEDERATION SYNC STATUS", 80) + "\n" +
		"ID NAME            STATE      TERM       INDEX      COMMIT     VOTE  FED_INDEX \n" +
		" 0 server-0        leader     1          21         19         -1    -1\n" +
		" 1 server-1        error      -          -          -          -     -\n" +
		"\n" +
		pad("ZONE TEMPLATE", 80) + "\n" +
		"ENDPOINT=\"http://localhost:2633/RPC2\"\n"
	if r.stdout != want {
		t.Errorf("stdout:\n%s\nwant:\n%s", r.stdout, want)
	}
	// Then OneHA's federation status (a fake front end without it: no
	// federation lines).
	wantCalls := []clitest.Call{{Method: "one.zone.info", Params: []any{"oneadmin:s3cret", int64(0), false}},
		{Method: "one.zone.fedstatus", Params: []any{"oneadmin:s3cret"}}}
	if got := fe.Calls(); !reflect.DeepEqual(got, wantCalls) {
		t.Errorf("front-end calls %#v, want %#v", got, wantCalls)
	}
	wantPeer := []clitest.Call{{Method: "one.zone.raftstatus", Params: []any{"oneadmin:s3cret"}}}
	if got := peer.Calls(); !reflect.DeepEqual(got, wantPeer) {
		t.Errorf("server calls %#v, want %#v", got, wantPeer)
	}

	// --json: OpenNebula's ZONE hash, each SERVER extended with its Raft
	// status ("-" for the unreachable one); all values strings.
	r = run(t, authEnv(t, fe.URL), "show", "0", "--json")
	if r.code != 0 {
		t.Fatalf("--json: exit %d: %s", r.code, r.stderr)
	}
	var doc struct {
		ZONE struct {
			ID, NAME, STATE string
			TEMPLATE        map[string]string
			SERVER_POOL     struct{ SERVER []map[string]string }
		}
	}
	if err := json.Unmarshal([]byte(r.stdout), &doc); err != nil {
		t.Fatalf("--json output: %v\n%s", err, r.stdout)
	}
	z := doc.ZONE
	if z.ID != "0" || z.NAME != "OpenNebula" || z.STATE != "0" || z.TEMPLATE["ENDPOINT"] != "http://localhost:2633/RPC2" || len(z.SERVER_POOL.SERVER) != 2 {
		t.Fatalf("--json document: %+v", doc)
	}
	if s := z.SERVER_POOL.SERVER[0]; s["STATE"] != "3" || s["LOG_INDEX"] != "21" || s["COMMIT"] != "19" || s["TERM"] != "1" || s["VOTEDFOR"] != "-1" || s["FEDLOG_INDEX"] != "-1" {
		t.Errorf("SERVER[0] = %v", s)
	}
	if s := z.SERVER_POOL.SERVER[1]; s["STATE"] != "-" || s["TERM"] != "-" || s["NAME"] != "server-1" {
		t.Errorf("SERVER[1] = %v", s)
	}

	// --xml: the extended document, formatted as Nokogiri prints it.
	r = run(t, authEnv(t, fe.URL), "show", "0", "--xml")
	wantXML := "<ZONE>\n  <ID>0</ID>\n  <NAME>OpenNebula</NAME>\n  <STATE>0</STATE>\n  <TEMPLATE>\n" +
		"    <ENDPOINT><![CDATA[http://localhost:2633/RPC2]]></ENDPOINT>\n  </TEMPLATE>\n  <SERVER_POOL>\n" +
		"    <SERVER>\n      <ENDPOINT><![CDATA[" + peer.URL + "]]></ENDPOINT>\n      <ID>0</ID>\n      <NAME><![CDATA[server-0]]></NAME>\n" +
		"      <STATE>3</STATE>\n      <TERM>1</TERM>\n      <VOTEDFOR>-1</VOTEDFOR>\n      <COMMIT>19</COMMIT>\n      <LOG_INDEX>21</LOG_INDEX>\n      <FEDLOG_INDEX>-1</FEDLOG_INDEX>\n    </SERVER>\n" +
		"    <SERVER>\n      <ENDPOINT><![CDATA[" + dead + "]]></ENDPOINT>\n      <ID>1</ID>\n      <NAME><![CDATA[server-1]]></NAME>\n" +
		"      <STATE>-</STATE>\n      <TERM>-</TERM>\n      <VOTEDFOR>-</VOTEDFOR>\n      <COMMIT>-</COMMIT>\n      <LOG_INDEX>-</LOG_INDEX>\n      <FEDLOG_INDEX>-</FEDLOG_INDEX>\n    </SERVER>\n" +
		"  </SERVER_POOL>\n</ZONE>\n"
	if r.code != 0 || r.stdout != wantXML {
		t.Errorf("--xml: exit %d, stdout\n%s\nwant\n%s", r.code, r.stdout, wantXML)
	}
}

func TestShowStatusTimeout(t *testing.T) {
	hang := make(chan struct{})
	slow := clitest.NewServer(t, map[string]clitest.Handler{
		"one.zone.raftstatus": func([]any) any { <-hang; return clitest.OK(raftDoc(0, 3, 1, -1, 1, 1, 1, -1)) },
	})
	t.Cleanup(func() { close(hang) }) // before the server's Close, which waits for handlers
	zone := zoneDoc(0, "OpenNebula", 0, Server{ID: 0, Name: "slow", Endpoint: slow.URL})
	fe := clitest.NewServer(t, map[string]clitest.Handler{"one.zone.info": clitest.Const(clitest.OK(zone))})
	r := run(t, authEnv(t, fe.URL), "show", "0", "--status-timeout", "200ms")
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	if !strings.Contains(r.stdout, " 0 slow            error      -          -          -          -     -\n") {
		t.Errorf("slow server not shown as error:\n%s", r.stdout)
	}
}

func TestListCommand(t *testing.T) {
	pool := "<ZONE_POOL>" + zoneDoc(0, "DevserversNetwork Zone", 0, seedServers(1)...) + "</ZONE_POOL>"
	fe := clitest.NewServer(t, map[string]clitest.Handler{"one.zonepool.info": clitest.Const(clitest.OK(pool))})
	env := authEnv(t, "")
	r := run(t, env, "list", "--endpoint", fe.URL, "--user", "alice", "--password", "pw")
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	// The client's endpoint is not the zone's: no zone is current (the
	// zone's ENDPOINT does not answer: FED_INDEX "-").
	want := "C    ID NAME                      ENDPOINT                                      FED_INDEX  STAT  \n" +
		"      0 DevserversNetwork Zone    http://localhost:2633/RPC2                    -          on\n"
	if r.stdout != want {
		t.Errorf("stdout:\n%q\nwant\n%q", r.stdout, want)
	}
	wantCalls := []clitest.Call{{Method: "one.zonepool.info", Params: []any{"alice:pw"}}}
	if got := fe.Calls(); !reflect.DeepEqual(got, wantCalls) {
		t.Errorf("calls %#v, want %#v", got, wantCalls)
	}
}

func TestServerCommands(t *testing.T) {
	zone := zoneDoc(0, "OpenNebula", 0, seedServers(2)...)
	pool := "<ZONE_POOL>" + zone + "</ZONE_POOL>"
	const session = "oneadmin:s3cret"
	tests := []struct {
		name  string
		args  []string
		calls []clitest.Call
		out   string
	}{
		{
			name: "server-add",
			args: []string{"server-add", "0", "--name", "vmm02.devservers.network", "--rpc", "http://10.0.1.20:2633/RPC2"},
			calls: []clitest.Call{{Method: "one.zone.addserver", Params: []any{session, int64(0),
				`SERVER = [ NAME = "vmm02.devservers.network", ENDPOINT = "http://10.0.1.20:2633/RPC2" ]`}}},
		},
		{
			name: "server-add short flags, zone by name, verbose",
			args: []string{"server-add", "OpenNebula", "-n", "s3", "-r", "https://10.0.1.30:2633/RPC2", "-v"},
			calls: []clitest.Call{
				{Method: "one.zonepool.info", Params: []any{session}},
				{Method: "one.zone.addserver", Params: []any{session, int64(0), `SERVER = [ NAME = "s3", ENDPOINT = "https://10.0.1.30:2633/RPC2" ]`}},
			},
			out: "ZONE 0: server added\n",
		},
		{
			name:  "server-del",
			args:  []string{"server-del", "0", "1"},
			calls: []clitest.Call{{Method: "one.zone.delserver", Params: []any{session, int64(0), int64(1)}}},
		},
		{
			name:  "server-reset",
			args:  []string{"server-reset", "0", "1"},
			calls: []clitest.Call{{Method: "one.zone.resetserver", Params: []any{session, int64(0), int64(1)}}},
		},
		{
			name: "server-reset by server name",
			args: []string{"server-reset", "0", "vmm02.devservers.network"},
			calls: []clitest.Call{
				{Method: "one.zone.info", Params: []any{session, int64(0), false}},
				{Method: "one.zone.resetserver", Params: []any{session, int64(0), int64(1)}},
			},
		},
		{
			name:  "leader-transfer to any voter",
			args:  []string{"leader-transfer", "0", "-v"},
			calls: []clitest.Call{{Method: "one.zone.leadertransfer", Params: []any{session, int64(0), int64(-1)}}},
			out:   "ZONE 0: leadership transferred to another server\n",
		},
		{
			name: "leader-transfer to a server by name",
			args: []string{"leader-transfer", "0", "vmm02.devservers.network", "-v"},
			calls: []clitest.Call{
				{Method: "one.zone.info", Params: []any{session, int64(0), false}},
				{Method: "one.zone.leadertransfer", Params: []any{session, int64(0), int64(1)}},
			},
			out: "ZONE 0: leadership transferred to server 1\n",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			fe := clitest.NewServer(t, map[string]clitest.Handler{
				"one.zonepool.info":       clitest.Const(clitest.OK(pool)),
				"one.zone.info":           clitest.Const(clitest.OK(zone)),
				"one.zone.addserver":      clitest.Const(clitest.OK(int64(0))),
				"one.zone.delserver":      clitest.Const(clitest.OK(int64(0))),
				"one.zone.resetserver":    clitest.Const(clitest.OK(int64(0))),
				"one.zone.leadertransfer": clitest.Const(clitest.OK(int64(0))),
			})
			r := run(t, authEnv(t, fe.URL), tc.args...)
			if r.code != 0 {
				t.Fatalf("exit %d: %s", r.code, r.stderr)
			}
			if r.stdout != tc.out {
				t.Errorf("stdout %q, want %q", r.stdout, tc.out)
			}
			if got := fe.Calls(); !reflect.DeepEqual(got, tc.calls) {
				t.Errorf("calls\n%#v\nwant\n%#v", got, tc.calls)
			}
		})
	}
}

func TestErrors(t *testing.T) {
	fe := clitest.NewServer(t, map[string]clitest.Handler{
		"one.zone.info":      clitest.Const(clitest.Fail("[one.zone.info] Error getting zone [5].", 0x400)),
		"one.zonepool.info":  clitest.Const(clitest.OK("<ZONE_POOL></ZONE_POOL>")),
		"one.zone.delserver": clitest.Const(clitest.Fail("[one.zone.delserver] Cannot process request, no leader found", 0x2000)),
	})
	dead := deadEndpoint(t)
	tests := []struct {
		name    string
		env     map[string]string
		args    []string
		stderr  string // substring
		noCalls bool
		stdout  string // exactly
	}{
		// OpenNebula's onezone says this one on stdout, and nothing on
		// stderr.
		{"bad rpc url", authEnv(t, fe.URL), []string{"server-add", "0", "-n", "x", "-r", "10.0.1.20:2633/RPC2"}, "", true, "Wrong protocol specified. Only http or https allowed!\n"},
		{"ftp rpc url", authEnv(t, fe.URL), []string{"server-add", "0", "-n", "x", "-r", "ftp://h/RPC2"}, "", true, "Wrong protocol specified. Only http or https allowed!\n"},
		{"quote in name", authEnv(t, fe.URL), []string{"server-add", "0", "-n", `a"b`, "-r", "http://h:2633/RPC2"}, "must not contain quotes", true, ""},
		{"missing rpc", authEnv(t, fe.URL), []string{"server-add", "0", "-n", "x"}, "To add a server set:\n\t-n <server name>\n\t-r <RPC endpoint>\n", true, ""},
		{"missing template file", authEnv(t, fe.URL), []string{"create", "/nonexistent/zone.tmpl"}, "command create: argument 0 must be one of file\n", true, ""},
		{"update template is a directory", authEnv(t, fe.URL), []string{"update", "0", t.TempDir()}, "command update: argument 1 must be one of file, \n", true, ""},
		{"missing zone id", authEnv(t, fe.URL), []string{"show"}, "show takes 1 argument(s) (ZONEID), got 0", true, ""},
		{"missing server id", authEnv(t, fe.URL), []string{"server-del", "0"}, "server-del takes 2 argument(s)", true, ""},
		{"leader-transfer extra argument", authEnv(t, fe.URL), []string{"leader-transfer", "0", "1", "2"}, "leader-transfer takes 1 to 2 argument(s)", true, ""},
		{"unknown flag", authEnv(t, fe.URL), []string{"list", "--bogus"}, "unknown flag: --bogus", true, ""},
		{"unknown command", authEnv(t, fe.URL), []string{"frobnicate"}, `unknown command "frobnicate"`, true, ""},
		{"unknown list column", authEnv(t, fe.URL), []string{"list", "-l", "ID,BOGUS"}, "Column BOGUS not defined.", false, ""},
		{"too long zone range", authEnv(t, fe.URL), []string{"enable", "0..5000"}, "more than 1000 zones", true, ""},
		// The client retries a refused connection (nothing was sent), then
		// names the endpoint and why.
		{"unreachable endpoint", authEnv(t, dead), []string{"list"}, "attempts): one.zonepool.info at " + dead + ": dial tcp " + strings.TrimSuffix(strings.TrimPrefix(dead, "http://"), "/RPC2") + ": connect: connection refused", true, ""},
		{"bad endpoint", authEnv(t, "localhost:2633"), []string{"list"}, "must start with http://", true, ""},
		{"opennebula error", authEnv(t, fe.URL), []string{"show", "5"}, "[one.zone.info] Error getting zone [5].", false, ""},
		{"no leader", authEnv(t, fe.URL), []string{"server-del", "0", "1"}, "no leader found", false, ""},
		{"unknown zone name", authEnv(t, fe.URL), []string{"show", "nope"}, "ZONE named nope not found", false, ""},
		{"no auth file", map[string]string{"ONE_AUTH": "/nonexistent/one_auth", "ONE_XMLRPC": fe.URL}, []string{"list"}, "ONE_AUTH file", true, ""},
		{"user without password", authEnv(t, fe.URL), []string{"list", "--user", "bob"}, "--user needs --password", true, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before := len(fe.Calls())
			r := run(t, tc.env, tc.args...)
			if r.code != 255 {
				t.Errorf("exit %d, want 255 (stdout %q)", r.code, r.stdout)
			}
			if !strings.Contains(r.stderr, tc.stderr) {
				t.Errorf("stderr %q does not contain %q", r.stderr, tc.stderr)
			}
			if r.stdout != tc.stdout {
				t.Errorf("stdout %q, want %q", r.stdout, tc.stdout)
			}
			if tc.noCalls && len(fe.Calls()) != before {
				t.Errorf("a call was made: %v", fe.Calls()[before:])
			}
		})
	}
}

func TestAuthFileFromHome(t *testing.T) {
	home := t.TempDir()
	if err := os.MkdirAll(filepath.Join(home, ".one"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(home, ".one", "one_auth"), []byte("carol:pw2"), 0o600); err != nil {
		t.Fatal(err)
	}
	fe := clitest.NewServer(t, map[string]clitest.Handler{"one.zonepool.info": clitest.Const(clitest.OK("<ZONE_POOL/>"))})
	r := run(t, map[string]string{"HOME": home, "ONE_XMLRPC": fe.URL}, "list")
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	if c := fe.Calls(); len(c) != 1 || c[0].Params[0] != "carol:pw2" {
		t.Errorf("calls %v", c)
	}
}

// TestPerformActions: as OpenNebula's onezone (run side by side with it),
// -v is global and says "ZONE <id>: <what>" after each action; delete,
// enable and disable take a range ("100..101", spaces ignored) or a list of
// IDs and names (all names resolved first); a failing zone is reported on
// stderr and the next one goes on; an empty range does nothing.
func TestPerformActions(t *testing.T) {
	zone := zoneDoc(0, "OpenNebula", 0, seedServers(2)...)
	pool := "<ZONE_POOL>" + zone + "</ZONE_POOL>"
	const session = "oneadmin:s3cret"
	tmpl := filepath.Join(t.TempDir(), "zone.tmpl")
	if err := os.WriteFile(tmpl, []byte(`LABEL="x"`), 0o600); err != nil {
		t.Fatal(err)
	}
	byID := func(method string) clitest.Handler {
		return func(p []any) any {
			if p[1] == int64(5) {
				return clitest.Fail("["+method+"] Error getting zone [5].", 0x400)
			}
			return clitest.OK(p[1])
		}
	}
	tests := []struct {
		name        string
		args        []string
		calls       []clitest.Call
		out, stderr string
		code        int
	}{
		{
			name:  "rename -v",
			args:  []string{"rename", "0", "Z", "-v"},
			calls: []clitest.Call{{Method: "one.zone.rename", Params: []any{session, int64(0), "Z"}}},
			out:   "ZONE 0: renamed\n",
		},
		{
			name:  "update --verbose",
			args:  []string{"--verbose", "update", "0", tmpl, "-a"},
			calls: []clitest.Call{{Method: "one.zone.update", Params: []any{session, int64(0), `LABEL="x"`, int64(1)}}},
			out:   "ZONE 0: modified\n",
		},
		{
			name: "delete a range -v",
			args: []string{"delete", "100..101", "-v"},
			calls: []clitest.Call{
				{Method: "one.zone.delete", Params: []any{session, int64(100)}},
				{Method: "one.zone.delete", Params: []any{session, int64(101)}},
			},
			out: "ZONE 100: deleted\nZONE 101: deleted\n",
		},
		{
			name: "delete a list, one failing",
			args: []string{"delete", "5,OpenNebula", "-v"},
			calls: []clitest.Call{
				{Method: "one.zonepool.info", Params: []any{session}},
				{Method: "one.zone.delete", Params: []any{session, int64(5)}},
				{Method: "one.zone.delete", Params: []any{session, int64(0)}},
			},
			out:    "ZONE 0: deleted\n",
			stderr: "[one.zone.delete] Error getting zone [5].\n",
			code:   255,
		},
		{
			name:   "a name not found: nothing done",
			args:   []string{"disable", "0,nope"},
			calls:  []clitest.Call{{Method: "one.zonepool.info", Params: []any{session}}},
			stderr: "ZONE named nope not found.\n",
			code:   255,
		},
		{
			name: "empty range: nothing done",
			args: []string{"enable", "3..1"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			fe := clitest.NewServer(t, map[string]clitest.Handler{
				"one.zonepool.info": clitest.Const(clitest.OK(pool)),
				"one.zone.rename":   byID("one.zone.rename"),
				"one.zone.update":   byID("one.zone.update"),
				"one.zone.delete":   byID("one.zone.delete"),
				"one.zone.enable":   byID("one.zone.enable"),
			})
			r := run(t, authEnv(t, fe.URL), tc.args...)
			if r.code != tc.code || r.stdout != tc.out || r.stderr != tc.stderr {
				t.Errorf("exit %d, stdout %q, stderr %q; want %d, %q, %q", r.code, r.stdout, r.stderr, tc.code, tc.out, tc.stderr)
			}
			if got := fe.Calls(); !reflect.DeepEqual(got, tc.calls) {
				t.Errorf("calls\n%#v\nwant\n%#v", got, tc.calls)
			}
		})
	}
}
