package cli

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// ZoneCAFile is the zone CA's certificate the CLIs trust when it lies next
// to the ONE_AUTH file (~/.one/zone-ca.crt by default).
const ZoneCAFile = "zone-ca.crt"

// TLSConfig is the client TLS configuration for https:// endpoints, as
// OpenNebula's CLIs set it up: the system's CA pool plus every PEM
// certificate in the directory $ONE_CERT_DIR, plus ZoneCAFile in authDir
// (the ONE_AUTH file's folder) when it exists. ONE_DISABLE_SSL_VERIFY=YES
// turns verification off, with a warning to warn.
func TLSConfig(env func(string) string, authDir string, warn io.Writer) (*tls.Config, error) {
	if strings.EqualFold(strings.TrimSpace(env("ONE_DISABLE_SSL_VERIFY")), "YES") {
		fmt.Fprintln(warn, "WARNING: ONE_DISABLE_SSL_VERIFY=YES: the server's TLS certificate is not verified; anyone on the path can read the password")
		return &tls.Config{MinVersion: tls.VersionTLS12, InsecureSkipVerify: true}, nil
	}
	pool, err := x509.SystemCertPool()
	if err != nil || pool == nil {
		pool = x509.NewCertPool()
	}
	if dir := strings.TrimSpace(env("ONE_CERT_DIR")); dir != "" {
		entries, err := os.ReadDir(dir)
		if err != nil {
			return nil, fmt.Errorf("ONE_CERT_DIR: %w", err)
		}
		for _, e := range entries {
			if e.IsDir() {
				continue
			}
			path := filepath.Join(dir, e.Name())
			pem, err := os.ReadFile(path)
			if err != nil {
				return nil, fmt.Errorf("ONE_CERT_DIR: %w", err)
			}
			pool.AppendCertsFromPEM(pem) // files that hold no certificate (keys, READMEs) add nothing
		}
	}
	if authDir != "" {
		path := filepath.Join(authDir, ZoneCAFile)
		pem, err := os.ReadFile(path)
		switch {
		case err == nil:
			if !pool.AppendCertsFromPEM(pem) {
				return nil, fmt.Errorf("zone CA %s: no PEM certificate in it", path)
			}
		case !errors.Is(err, os.ErrNotExist):
			return nil, fmt.Errorf("zone CA: %w", err)
		}
	}
	return &tls.Config{MinVersion: tls.VersionTLS12, RootCAs: pool}, nil
}
