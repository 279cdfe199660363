package oned_test

import (
	"context"
	"log/slog"
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
	m, ca := harness.StartTLSMariaDB(t)
	caFile, wrongFile := ca.File, harness.NewTestCA(t, "other-ca").File
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
		data := "data-ok"
		if tc.wantErr != "" {
			data = "data-wrong"
		}
		p, err := harness.FreePort()
		if err != nil {
			t.Fatal(err)
		}
		yaml := "LISTEN_ADDRESS: 127.0.0.1\nPORT: " + itoa(p) + "\nDATA_DIR: " + filepath.Join(dir, data) +
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
