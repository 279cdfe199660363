package oned_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"log/slog"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"

	"github.com/oneha/oneha/internal/harness"
	"github.com/oneha/oneha/oned"
	"github.com/oneha/oneha/sqlfsm"
)

// testCA is a throw-away CA that signs a server certificate for 127.0.0.1.
type testCA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	pem  []byte
}

func newTestCA(t *testing.T, name string) *testCA {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	return &testCA{cert, key, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})}
}

// issue writes a server certificate for 127.0.0.1 and its key to dir.
func (ca *testCA) issue(t *testing.T, dir string) (certFile, keyFile string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "mariadb"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, DNSNames: []string{"localhost"},
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile = filepath.Join(dir, "server.pem"), filepath.Join(dir, "server.key")
	writeFile(t, certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))
	writeFile(t, keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}))
	return certFile, keyFile
}

func writeFile(t *testing.T, path string, b []byte) {
	t.Helper()
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

// TestDBConnectionsUseTLS: with DB.TLS naming the CA of a MariaDB that
// serves TLS, oned's connections are encrypted (Ssl_cipher is set) and oned
// starts; with another CA it refuses to start with a certificate error
// naming the DB section.
func TestDBConnectionsUseTLS(t *testing.T) {
	dir := t.TempDir()
	ca, wrong := newTestCA(t, "db-ca"), newTestCA(t, "other-ca")
	caFile, wrongFile := filepath.Join(dir, "ca.pem"), filepath.Join(dir, "wrong-ca.pem")
	writeFile(t, caFile, ca.pem)
	writeFile(t, wrongFile, wrong.pem)
	certFile, keyFile := ca.issue(t, dir)
	m := harness.StartMariaDB(t, harness.WithServerArgs("--ssl-ca="+caFile, "--ssl-cert="+certFile, "--ssl-key="+keyFile))
	dsn := m.CreateDatabase(t, "")

	// The pool itself: the session is encrypted.
	tlsCfg, err := oned.DBTLSConfig{CA: caFile}.TLSConfig()
	if err != nil {
		t.Fatal(err)
	}
	db, err := sqlfsm.OpenMySQLTLS(dsn, tlsCfg, 4)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var name, cipher string
	if err := db.QueryRow("SHOW SESSION STATUS LIKE 'Ssl_cipher'").Scan(&name, &cipher); err != nil {
		t.Fatal(err)
	}
	if cipher == "" {
		t.Fatal("Ssl_cipher is empty: the connection is not encrypted")
	}
	t.Logf("Ssl_cipher = %s", cipher)

	// oned with DB.TLS: starts with the right CA, refuses the wrong one.
	mc, err := mysql.ParseDSN(dsn)
	if err != nil {
		t.Fatal(err)
	}
	host, port, _ := net.SplitHostPort(mc.Addr)
	auth := filepath.Join(dir, "one_auth")
	writeFile(t, auth, []byte("oneadmin:pw\n"))
	for _, tc := range []struct {
		ca      string
		wantErr string
	}{{caFile, ""}, {wrongFile, "certificate"}} {
		p, err := harness.FreePort()
		if err != nil {
			t.Fatal(err)
		}
		yaml := "LISTEN_ADDRESS: 127.0.0.1\nPORT: " + itoa(p) + "\nDATA_DIR: " + filepath.Join(dir, "data-"+filepath.Base(tc.ca)) +
			"\nONE_AUTH: " + auth + "\nDB: {BACKEND: mysql, SERVER: " + host + ", PORT: " + port + ", USER: " + mc.User +
			", DB_NAME: " + mc.DBName + ", TLS: {CA: " + tc.ca + "}}\n"
		cfg, err := oned.ParseConfig([]byte(yaml))
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		s, err := oned.New(ctx, cfg, slog.New(slog.DiscardHandler))
		cancel()
		if s != nil {
			s.Shutdown(context.Background())
		}
		switch {
		case tc.wantErr == "" && err != nil:
			t.Errorf("oned with the right DB CA: %v", err)
		case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr) || !strings.Contains(err.Error(), "DB")):
			t.Errorf("oned with the wrong DB CA: %v, want an error naming DB and %q", err, tc.wantErr)
		case err != nil:
			t.Logf("wrong CA: %v", err)
		}
	}
}

func itoa(n int) string { return strconv.Itoa(n) }
