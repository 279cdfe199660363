package oned

import (
	"bytes"
	"log/slog"
	"slices"
	"strings"
	"testing"
)

// TestLeafHostsAreValidIPsOrDNSNames: only IP addresses and RFC 1123 DNS
// host names go into this server's zone certificate, normalized; anything
// else (a wildcard, spaces, bad labels, non-ASCII) is skipped with a
// warning naming it.
func TestLeafHostsAreValidIPsOrDNSNames(t *testing.T) {
	var logs bytes.Buffer
	s := &Server{log: slog.New(slog.NewTextHandler(&logs, nil))}
	got := s.validLeafHosts([]string{
		"10.0.0.2", "[2001:db8::1]", "fe80::1%eth0", "::ffff:10.0.0.3",
		"One-2.Example.", "one-2.example", "localhost", "a-b.c9",
		"*.example.com", "bad host", "-lead.example", "trail-.example", "a..b", "",
		"ünï.example", "under_score.example", strings.Repeat("a", 64) + ".example", strings.Repeat("a.", 127) + "aa",
		"x\x00y", "http://10.0.0.9/",
	})
	want := []string{"10.0.0.2", "2001:db8::1", "fe80::1", "10.0.0.3", "one-2.example", "localhost", "a-b.c9"}
	if !slices.Equal(got, want) {
		t.Errorf("leaf hosts = %q, want %q", got, want)
	}
	for _, skipped := range []string{"*.example.com", "bad host", "under_score.example"} {
		if !strings.Contains(logs.String(), skipped) {
			t.Errorf("no warning names skipped host %q:\n%s", skipped, logs.String())
		}
	}
}
