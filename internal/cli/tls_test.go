package cli

import (
	"bytes"
	"context"
	"encoding/pem"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/oneha/oneha/xmlrpc"
)

// TestHTTPSEndpointTrust: an https:// ONE_XMLRPC works when the server's CA
// is in $ONE_CERT_DIR or is the zone CA next to the ONE_AUTH file, fails
// with a certificate error otherwise, and ONE_DISABLE_SSL_VERIFY=YES skips
// verification with a warning.
func TestHTTPSEndpointTrust(t *testing.T) {
	srv := xmlrpc.NewServer(nil)
	srv.Register("one.system.version", func(context.Context, []any) (any, error) { return xmlrpc.Success("OneHA test"), nil })
	ts := httptest.NewTLSServer(srv)
	defer ts.Close()
	caPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ts.Certificate().Raw})

	setup := func(t *testing.T, certDir, zoneCA bool, extra map[string]string) (*Session, *bytes.Buffer) {
		dir := t.TempDir()
		auth := filepath.Join(dir, "one_auth")
		if err := os.WriteFile(auth, []byte("oneadmin:pw\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		vars := map[string]string{"ONE_AUTH": auth, "ONE_XMLRPC": ts.URL + "/RPC2"}
		if certDir {
			cd := filepath.Join(dir, "certs")
			os.Mkdir(cd, 0o755)
			os.WriteFile(filepath.Join(cd, "ca.pem"), caPEM, 0o644)
			os.WriteFile(filepath.Join(cd, "README"), []byte("not a cert"), 0o644)
			vars["ONE_CERT_DIR"] = cd
		}
		if zoneCA {
			os.WriteFile(filepath.Join(dir, ZoneCAFile), caPEM, 0o644)
		}
		for k, v := range extra {
			vars[k] = v
		}
		var warn bytes.Buffer
		c := &Connection{Warn: &warn}
		s, err := c.Session(func(k string) string { return vars[k] })
		if err != nil {
			t.Fatal(err)
		}
		return s, &warn
	}
	for _, tc := range []struct {
		name            string
		certDir, zoneCA bool
		extra           map[string]string
		wantErr, warn   string
	}{
		{name: "ONE_CERT_DIR", certDir: true},
		{name: "zone CA next to ONE_AUTH", zoneCA: true},
		{name: "untrusted", wantErr: "certificate"},
		{name: "verification disabled", extra: map[string]string{"ONE_DISABLE_SSL_VERIFY": "YES"}, warn: "not verified"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, warn := setup(t, tc.certDir, tc.zoneCA, tc.extra)
			// The session's client trusts these CAs; a certificate error
			// is final (not retried).
			c, err := s.Client()
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			start := time.Now()
			v, err := c.Call(context.Background(), true, "one.system.version")
			switch {
			case tc.wantErr != "":
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) || time.Since(start) > time.Second {
					t.Fatalf("client: got %v, %v after %v; want an error with %q at once", v, err, time.Since(start), tc.wantErr)
				}
			case err != nil || v != "OneHA test":
				t.Fatalf("client: got %v, %v", v, err)
			}
			if !strings.Contains(warn.String(), tc.warn) || (tc.warn == "" && warn.Len() > 0) {
				t.Errorf("warning %q, want %q", warn.String(), tc.warn)
			}
		})
	}
}

// TestPythonTrustsZoneCA: the README's recipe for Python's xmlrpc.client
// (an SSL context with the zone CA as cafile) calls an https endpoint.
func TestPythonTrustsZoneCA(t *testing.T) {
	python, err := exec.LookPath("python3")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("python3 is missing")
		}
		t.Skip("python3 is not installed")
	}
	srv := xmlrpc.NewServer(nil)
	srv.Register("one.system.version", func(context.Context, []any) (any, error) { return xmlrpc.Success("OneHA test"), nil })
	ts := httptest.NewTLSServer(srv)
	defer ts.Close()
	ca := filepath.Join(t.TempDir(), ZoneCAFile)
	if err := os.WriteFile(ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ts.Certificate().Raw}), 0o644); err != nil {
		t.Fatal(err)
	}
	script := `
import sys, ssl, xmlrpc.client
ctx = ssl.create_default_context(cafile=sys.argv[2])
print(xmlrpc.client.ServerProxy(sys.argv[1], context=ctx).one.system.version("oneadmin:pw"))
try:
    xmlrpc.client.ServerProxy(sys.argv[1]).one.system.version("oneadmin:pw")
    print("UNVERIFIED CALL WORKED")
except ssl.SSLError as e:
    print("refused without the CA")
`
	out, err := exec.Command(python, "-c", script, ts.URL+"/RPC2", ca).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "OneHA test") || !strings.Contains(string(out), "refused without the CA") {
		t.Fatalf("python: %v\n%s", err, out)
	}
}
