package cli

import (
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"
)

// DefaultEndpoint is OpenNebula's XML-RPC endpoint when ONE_XMLRPC is unset.
const DefaultEndpoint = "http://localhost:2633/RPC2"

// DefaultTimeout bounds one call to the endpoint.
const DefaultTimeout = 30 * time.Second

// ErrUsage marks a bad command line (wrong flags or arguments).
var ErrUsage = errors.New("usage")

// Connection holds the global connection flags of OpenNebula's CLIs.
type Connection struct {
	Endpoint string
	User     string
	Password string
	Timeout  time.Duration
	// Warn receives warnings (ONE_DISABLE_SSL_VERIFY); os.Stderr if nil.
	Warn io.Writer
}

// AddConnectionFlags registers --endpoint, --user, --password and --timeout
// as persistent flags of cmd and returns where their values land.
func AddConnectionFlags(cmd *cobra.Command) *Connection {
	c := &Connection{}
	f := cmd.PersistentFlags()
	f.StringVar(&c.Endpoint, "endpoint", "", "URL of the OpenNebula XML-RPC front-end (default $ONE_XMLRPC or "+DefaultEndpoint+")")
	f.StringVar(&c.User, "user", "", "user name used to connect to OpenNebula (default: from $ONE_AUTH)")
	f.StringVar(&c.Password, "password", "", "password to authenticate with OpenNebula (with --user)")
	f.DurationVar(&c.Timeout, "timeout", DefaultTimeout, "timeout of each call to the endpoint")
	return c
}

// Session is an authenticated connection to an OpenNebula endpoint.
type Session struct {
	Endpoint string        // XML-RPC URL
	Auth     string        // "user:password", the first parameter of every call
	Timeout  time.Duration // per call
	// TLS configures https:// endpoints for Client (nil: system roots);
	// Connection.Session sets it from $ONE_CERT_DIR, the zone CA and
	// ONE_DISABLE_SSL_VERIFY.
	TLS *tls.Config
}

// Session resolves the endpoint (--endpoint, then $ONE_XMLRPC, then
// DefaultEndpoint) and the credentials (--user/--password, then the
// $ONE_AUTH file, default ~/.one/one_auth). env looks up environment
// variables. Its TLS is TLSConfig (the CAs of $ONE_CERT_DIR and the zone
// CA next to the ONE_AUTH file).
func (c *Connection) Session(env func(string) string) (*Session, error) {
	endpoint := strings.TrimSpace(c.Endpoint)
	if endpoint == "" {
		endpoint = strings.TrimSpace(env("ONE_XMLRPC"))
	}
	if endpoint == "" {
		endpoint = DefaultEndpoint
	}
	if err := CheckURL(endpoint); err != nil {
		return nil, fmt.Errorf("endpoint: %w", err)
	}
	auth, err := c.auth(env)
	if err != nil {
		return nil, err
	}
	authFile, err := authPath(env)
	if err != nil {
		return nil, err
	}
	warn := c.Warn
	if warn == nil {
		warn = os.Stderr
	}
	tlsCfg, err := TLSConfig(env, filepath.Dir(authFile), warn)
	if err != nil {
		return nil, err
	}
	t := c.Timeout
	if t <= 0 {
		t = DefaultTimeout
	}
	return &Session{Endpoint: endpoint, Auth: auth, Timeout: t, TLS: tlsCfg}, nil
}

func (c *Connection) auth(env func(string) string) (string, error) {
	switch {
	case c.User != "" && c.Password != "":
		if strings.Contains(c.User, ":") {
			return "", fmt.Errorf("%w: --user must not contain ':'", ErrUsage)
		}
		return c.User + ":" + c.Password, nil
	case c.User != "":
		return "", fmt.Errorf("%w: --user needs --password", ErrUsage)
	case c.Password != "":
		return "", fmt.Errorf("%w: --password needs --user", ErrUsage)
	}
	path, err := authPath(env)
	if err != nil {
		return "", err
	}
	return ReadAuthFile(path)
}

// authPath is the ONE_AUTH file: $ONE_AUTH, else ~/.one/one_auth.
func authPath(env func(string) string) (string, error) {
	if path := env("ONE_AUTH"); path != "" {
		return path, nil
	}
	home := env("HOME")
	if home == "" {
		h, err := os.UserHomeDir()
		if err != nil {
			return "", fmt.Errorf("ONE_AUTH is not set and the home directory is unknown: %w", err)
		}
		home = h
	}
	return filepath.Join(home, ".one", "one_auth"), nil
}

// ReadAuthFile reads a one_auth file: its first line is "user:password".
func ReadAuthFile(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("ONE_AUTH file: %w (set ONE_AUTH or use --user and --password)", err)
	}
	line, _, _ := strings.Cut(string(b), "\n")
	line = strings.TrimSpace(line)
	user, pass, ok := strings.Cut(line, ":")
	if !ok || user == "" || pass == "" {
		return "", fmt.Errorf("ONE_AUTH file %s: want one line \"user:password\"", path)
	}
	return line, nil
}

// CheckURL reports whether s is an http:// or https:// URL with a host.
func CheckURL(s string) error {
	rest, ok := strings.CutPrefix(s, "http://")
	if !ok {
		rest, ok = strings.CutPrefix(s, "https://")
	}
	if !ok {
		return fmt.Errorf("%q: must start with http:// or https://", s)
	}
	host, _, _ := strings.Cut(rest, "/")
	if host == "" || strings.ContainsAny(s, " \t\r\n\"") {
		return fmt.Errorf("%q: not a valid URL", s)
	}
	return nil
}
