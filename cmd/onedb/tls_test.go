package main

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/go-sql-driver/mysql"

	"github.com/oneha/oneha/internal/harness"
)

// TestBackupUsesDBTLS: onedb reaches the database over TLS as oned's
// DB.TLS says: a backup works with the server's CA and fails with a
// certificate error with another CA.
func TestBackupUsesDBTLS(t *testing.T) {
	m, ca := harness.StartTLSMariaDB(t)
	dsn := m.CreateDatabase(t, "")
	mc, err := mysql.ParseDSN(dsn)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	config := func(name, caFile string) string {
		path := filepath.Join(dir, name)
		yaml := fmt.Sprintf("DATA_DIR: %s\nDB: {BACKEND: mysql, SERVER: 127.0.0.1, PORT: %d, USER: root, DB_NAME: %s, TLS: {CA: %s}}\n",
			dir, m.Port, mc.DBName, caFile)
		if err := os.WriteFile(path, []byte(yaml), 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}
	mustRun(t, nil, "backup", "--config", config("good.yaml", ca.File), filepath.Join(dir, "dump.sql"))
	mustFail(t, nil, "certificate", "backup", "--config", config("wrong.yaml", harness.NewTestCA(t, "other").File), filepath.Join(dir, "dump2.sql"))
}
