package oned

import "path/filepath"

// validateTLS checks the TLS, INSECURE_RAFT and API_TLS keys.
func (c Config) validateTLS(bad func(key, format string, args ...any) error) error {
	if (c.TLS.Cert == "") != (c.TLS.Key == "") {
		return bad("TLS.CERT", "TLS.CERT and TLS.KEY go together (this server's own certificate and key)")
	}
	if c.TLS.Cert != "" && c.TLS.CA == "" {
		return bad("TLS.CA", "must be set with TLS.CERT: the CA the zone's certificates chain to")
	}
	if c.TLS.LeafTTLS < 2 {
		return bad("TLS.LEAF_TTL_S", "%d must be >= 2", c.TLS.LeafTTLS)
	}
	if c.TLS.ReloadS < 1 || c.TLS.ReloadS > 3600 {
		return bad("TLS.RELOAD_S", "%d must be between 1 and 3600 (seconds between checks of the TLS files)", c.TLS.ReloadS)
	}
	if (c.APITLS.Cert == "") != (c.APITLS.Key == "") {
		return bad("API_TLS.CERT", "API_TLS.CERT and API_TLS.KEY go together")
	}
	if !c.APITLS.PlainHTTP && c.APITLS.Cert == "" {
		return bad("API_TLS.PLAIN_HTTP", "false needs API_TLS.CERT and API_TLS.KEY: clients would have no way in")
	}
	return nil
}

// ZoneCAPaths are the zone CA's certificate and key files: TLS.CA and
// TLS.CA_KEY, by default zone-ca.crt and zone-ca.key beside ONE_AUTH (the
// folder OpenNebula's procedure copies to every server).
func (c Config) ZoneCAPaths() (cert, key string) {
	dir := filepath.Dir(c.OneAuth)
	cert, key = c.TLS.CA, c.TLS.CAKey
	if cert == "" {
		cert = filepath.Join(dir, "zone-ca.crt")
	}
	if key == "" {
		key = filepath.Join(dir, "zone-ca.key")
	}
	return cert, key
}

// OwnPKI reports whether the operator supplies this server's certificate
// (TLS.CERT and TLS.KEY) instead of the zone CA issuing it.
func (c Config) OwnPKI() bool { return c.TLS.Cert != "" }
