package oned

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"os"
)

// enabled reports whether any DB.TLS key is set.
func (t DBTLSConfig) enabled() bool {
	return t.CA != "" || t.Cert != "" || t.Key != "" || t.ServerName != "" || t.SkipVerify
}

// validate checks DB.TLS without reading files: only with the mysql
// backend, CERT and KEY together, SKIP_VERIFY not mixed with CA.
func (t DBTLSConfig) validate(backend string) error {
	bad := func(key, msg string) error { return fmt.Errorf("%w: DB.TLS.%s: %s", ErrConfig, key, msg) }
	switch {
	case !t.enabled():
		return nil
	case backend != "mysql":
		return fmt.Errorf("%w: DB.TLS: only for BACKEND mysql", ErrConfig)
	case t.Cert != "" && t.Key == "":
		return bad("KEY", "must be set with CERT")
	case t.Key != "" && t.Cert == "":
		return bad("CERT", "must be set with KEY")
	case t.SkipVerify && (t.CA != "" || t.ServerName != ""):
		return bad("SKIP_VERIFY", "contradicts CA and SERVER_NAME; remove one")
	}
	return nil
}

// TLSConfig builds the client TLS configuration of DB.TLS, reading its
// files; nil when DB.TLS is not set. Errors name the key.
func (t DBTLSConfig) TLSConfig() (*tls.Config, error) {
	if !t.enabled() {
		return nil, nil
	}
	cfg := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: t.ServerName, InsecureSkipVerify: t.SkipVerify}
	if t.CA != "" {
		pem, err := os.ReadFile(t.CA)
		if err != nil {
			return nil, fmt.Errorf("%w: DB.TLS.CA: %w", ErrConfig, err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("%w: DB.TLS.CA: no PEM certificate in %s", ErrConfig, t.CA)
		}
		cfg.RootCAs = pool
	}
	if t.Cert != "" {
		pair, err := tls.LoadX509KeyPair(t.Cert, t.Key)
		if err != nil {
			return nil, fmt.Errorf("%w: DB.TLS.CERT/KEY: %w", ErrConfig, err)
		}
		cfg.Certificates = []tls.Certificate{pair}
	}
	return cfg, nil
}
