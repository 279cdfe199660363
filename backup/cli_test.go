package backup_test

import (
	"bytes"
	"database/sql"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/go-sql-driver/mysql"

	"github.com/oneha/oneha/internal/harness"
	"github.com/oneha/oneha/sqlcheck"
)

// TestMySQLDumpLoadsWithClient: the stock mariadb client loads a dump into
// another database with the same contents.
func TestMySQLDumpLoadsWithClient(t *testing.T) {
	client, err := exec.LookPath("mariadb")
	harness.RequireOrSkip(t, err == nil, "mariadb client not installed: run make test, which installs mariadb-server")
	f := mysqlFixture()
	src := openDB(t, sqlcheck.MySQL)
	populate(t, src, f)
	text, _ := dump(t, src, sqlcheck.MySQL, opt)
	file := filepath.Join(t.TempDir(), "dump.sql")
	if err := os.WriteFile(file, text, 0o600); err != nil {
		t.Fatal(err)
	}
	m := harness.SharedMariaDB(t)
	dsn := m.CreateDatabase(t, "")
	cfg, err := mysql.ParseDSN(dsn)
	if err != nil {
		t.Fatal(err)
	}
	in, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	cmd := exec.CommandContext(ctxFor(t), client, "--no-defaults", "-h127.0.0.1", "-P"+strconv.Itoa(m.Port), "-uroot", cfg.DBName)
	cmd.Stdin = in
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		t.Fatalf("mariadb < dump: %v\n%s", err, out.String())
	}
	dst, err := sql.Open("mysql", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer dst.Close()
	assertSame(t, sqlcheck.MySQL, f, src, dst)
}
