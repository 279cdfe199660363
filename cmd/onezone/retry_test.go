package main

import (
	"reflect"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/oneha/oneha/internal/cli/clitest"
)

// TestRetries: onezone goes through the Go client's retry policy. A read
// is resent after an outcome-unknown answer; a write is resent after a
// NOT APPLIED answer (nothing was logged) and succeeds, but never after an
// OUTCOME UNKNOWN one (it could be applied twice); an ordinary OpenNebula
// failure is printed once, in OpenNebula's words.
func TestRetries(t *testing.T) {
	zone := zoneDoc(0, "OpenNebula", 0, seedServers(1)...)
	const (
		notApplied = "[%s] NOT APPLIED: Cannot process request, no leader found"
		unknown    = "[%s] OUTCOME UNKNOWN: leadership lost after appending"
	)
	// failFirst fails the first call to method with msg and code, then
	// answers ok.
	failFirst := func(method, msg string, code int64, ok any) clitest.Handler {
		var n atomic.Int32
		return func([]any) any {
			if n.Add(1) == 1 {
				return clitest.Fail(strings.Replace(msg, "%s", method, 1), code)
			}
			return clitest.OK(ok)
		}
	}
	tests := []struct {
		name    string
		handler map[string]clitest.Handler
		args    []string
		code    int
		stderr  string // substring, when code != 0
		calls   []string
	}{
		{
			name:    "read resent after an unknown outcome",
			handler: map[string]clitest.Handler{"one.zone.info": failFirst("one.zone.info", unknown, 0x20000, zone)},
			args:    []string{"show", "0", "--status-timeout", "100ms"},
			calls:   []string{"one.zone.info", "one.zone.info", "one.zone.fedstatus"},
		},
		{
			name:    "write resent when not applied",
			handler: map[string]clitest.Handler{"one.zone.delserver": failFirst("one.zone.delserver", notApplied, 0x2000, int64(0))},
			args:    []string{"server-del", "0", "1"},
			calls:   []string{"one.zone.delserver", "one.zone.delserver"},
		},
		{
			name:    "write not resent after an unknown outcome",
			handler: map[string]clitest.Handler{"one.zone.addserver": failFirst("one.zone.addserver", unknown, 0x20000, int64(0))},
			args:    []string{"server-add", "0", "-n", "s9", "-r", "http://10.0.1.90:2633/RPC2"},
			code:    255,
			stderr:  "outcome unknown: [one.zone.addserver] OUTCOME UNKNOWN: leadership lost after appending\n",
			calls:   []string{"one.zone.addserver"},
		},
		{
			name:    "failure printed once",
			handler: map[string]clitest.Handler{"one.zone.rename": clitest.Const(clitest.Fail("[one.zone.rename] Error getting zone [7].", 0x400))},
			args:    []string{"rename", "7", "new"},
			code:    255,
			stderr:  "[one.zone.rename] Error getting zone [7].\n",
			calls:   []string{"one.zone.rename"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			fe := clitest.NewServer(t, tc.handler)
			r := run(t, authEnv(t, fe.URL), tc.args...)
			if r.code != tc.code || (tc.code != 0 && !strings.Contains(r.stderr, tc.stderr)) {
				t.Fatalf("exit %d, stderr %q; want %d and %q", r.code, r.stderr, tc.code, tc.stderr)
			}
			var got []string
			for _, c := range fe.Calls() {
				got = append(got, c.Method)
			}
			if !reflect.DeepEqual(got, tc.calls) {
				t.Errorf("calls %v, want %v", got, tc.calls)
			}
		})
	}
}
