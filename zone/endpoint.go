package zone

import (
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// RaftAddress returns the Raft address of a server from its ENDPOINT: its
// host and port, because Raft shares the XML-RPC port (one port per server).
// "http://10.0.1.10:2633/RPC2" → "10.0.1.10:2633". The endpoint must be
// http:// or https://, name a host and an explicit port (1-65535), and carry
// no user info, query or fragment; otherwise the error wraps ErrBadEndpoint.
func RaftAddress(endpoint string) (string, error) {
	badf := func(format string, args ...any) (string, error) {
		return "", fmt.Errorf("%w: %q: %s", ErrBadEndpoint, endpoint, fmt.Sprintf(format, args...))
	}
	if endpoint == "" {
		return badf("empty")
	}
	if len(endpoint) > maxEndpointLen {
		return badf("longer than %d bytes", maxEndpointLen)
	}
	if hasControl(endpoint) || strings.ContainsAny(endpoint, " \t") {
		return badf("contains spaces or control characters")
	}
	u, err := url.Parse(endpoint)
	if err != nil {
		return badf("%v", err)
	}
	switch u.Scheme {
	case "http", "https":
	default:
		return badf("must start with http:// or https://")
	}
	if u.Opaque != "" || u.Host == "" {
		return badf("no host")
	}
	if u.User != nil {
		return badf("must not carry user info")
	}
	if u.RawQuery != "" || u.Fragment != "" || u.ForceQuery {
		return badf("must not carry a query or fragment")
	}
	host, port := u.Hostname(), u.Port()
	if host == "" {
		return badf("no host")
	}
	if port == "" {
		return badf("no port (raft shares the XML-RPC port, so it must be explicit, e.g. :2633)")
	}
	p, err := strconv.Atoi(port)
	if err != nil || p < 1 || p > 65535 {
		return badf("port %q out of range", port)
	}
	return net.JoinHostPort(strings.ToLower(host), strconv.Itoa(p)), nil
}

// checkName validates a server name: non-empty, at most 128 bytes of valid
// UTF-8, no control characters, no leading or trailing spaces.
func checkName(name string) error {
	switch {
	case name == "" || strings.TrimSpace(name) == "":
		return fmt.Errorf("%w: empty", ErrBadName)
	case len(name) > maxNameLen:
		return fmt.Errorf("%w: %q is longer than %d bytes", ErrBadName, name, maxNameLen)
	case !utf8.ValidString(name):
		return fmt.Errorf("%w: %q is not valid UTF-8", ErrBadName, name)
	case hasControl(name):
		return fmt.Errorf("%w: %q contains control characters", ErrBadName, name)
	case strings.TrimSpace(name) != name:
		return fmt.Errorf("%w: %q has leading or trailing spaces", ErrBadName, name)
	}
	return nil
}

func hasControl(s string) bool {
	return strings.ContainsFunc(s, unicode.IsControl)
}
