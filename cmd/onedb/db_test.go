package main

import (
	"bytes"
	"database/sql"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"

	"github.com/oneha/oneha/backup"
	"github.com/oneha/oneha/internal/cli"
	"github.com/oneha/oneha/internal/harness"
	"github.com/oneha/oneha/oned"
	"github.com/oneha/oneha/sqlcheck"
	"github.com/oneha/oneha/sqlfsm"
)

func TestMain(m *testing.M) { harness.Main(m) }

type result struct {
	stdout, stderr string
	code           int
}

func run(t *testing.T, env map[string]string, args ...string) result {
	t.Helper()
	var out, errb bytes.Buffer
	root := newRootCmd(&out, &errb, func(k string) string { return env[k] })
	code := cli.Main(harness.Ctx(t, 2*time.Minute), root, args, &errb)
	return result{out.String(), errb.String(), code}
}

func mustRun(t *testing.T, env map[string]string, args ...string) string {
	t.Helper()
	r := run(t, env, args...)
	if r.code != 0 {
		t.Fatalf("onedb %s: exit %d: %s", strings.Join(args, " "), r.code, r.stderr)
	}
	return r.stdout
}

func mustFail(t *testing.T, env map[string]string, want string, args ...string) {
	t.Helper()
	r := run(t, env, args...)
	if r.code != 255 || !strings.Contains(r.stderr, want) || r.stdout != "" {
		t.Fatalf("onedb %s: exit %d, stdout %q, stderr %q; want 255 and %q", strings.Join(args, " "), r.code, r.stdout, r.stderr, want)
	}
}

// populate creates a few OpenNebula-like tables, the applied-index table,
// and rows of awkward values.
func populate(t *testing.T, db *sql.DB, d sqlcheck.Dialect) {
	t.Helper()
	ctx := harness.Ctx(t, time.Minute)
	blob := "BLOB"
	if d == sqlcheck.MySQL {
		blob = "LONGBLOB"
	}
	stmts := []string{
		"CREATE TABLE zone_pool (oid INTEGER PRIMARY KEY, name VARCHAR(128) UNIQUE, body TEXT, uid INTEGER)",
		"CREATE TABLE vm_pool (oid INTEGER PRIMARY KEY, name VARCHAR(128), body " + blob + ", state INTEGER, price DOUBLE)",
		"CREATE TABLE " + sqlfsm.AppliedTable + " (id INTEGER PRIMARY KEY, applied_index BIGINT NOT NULL, applied_term BIGINT NOT NULL)",
		"INSERT INTO " + sqlfsm.AppliedTable + " VALUES (1, 477, 3)",
	}
	for _, s := range stmts {
		if _, err := db.ExecContext(ctx, s); err != nil {
			t.Fatalf("%s: %v", s, err)
		}
	}
	for i := range 50 {
		if _, err := db.ExecContext(ctx, "INSERT INTO vm_pool VALUES (?, ?, ?, ?, ?)",
			i, fmt.Sprintf("vm-%d 'quoted' \"x\" ;\n\\", i), []byte{0, byte(i), 0xff, '\''}, i%7, float64(i)/3); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := db.ExecContext(ctx, "INSERT INTO zone_pool VALUES (0, 'DevserversNetwork Zone', ?, NULL)",
		"<ZONE><ID>0</ID><NAME>DevserversNetwork Zone</NAME></ZONE>"); err != nil {
		t.Fatal(err)
	}
}

func checksum(t *testing.T, db *sql.DB, d sqlcheck.Dialect) string {
	t.Helper()
	sum, err := backup.Checksum(harness.Ctx(t, time.Minute), db, d, backup.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return sum
}

func TestSQLiteRoundTrip(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(dir, "one.db")
	db, err := sqlfsm.OpenSQLite(src)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	populate(t, db, sqlcheck.SQLite)
	want := checksum(t, db, sqlcheck.SQLite)
	env := map[string]string{}
	dump := filepath.Join(dir, "dump.sql")

	out := mustRun(t, env, "backup", "--config", "", "-s", src, dump)
	if exp := "SQLite dump stored in " + dump + "\nUse 'onedb restore' to restore the DB.\n"; out != exp {
		t.Errorf("backup output %q, want %q", out, exp)
	}
	mustFail(t, env, "File "+dump+" exists, backup aborted. Use -f to overwrite.", "backup", "--config", "", "-s", src, dump)
	mustRun(t, env, "backup", "--config", "", "-s", src, dump, "-f")

	// Restore into a new file: no -f needed.
	dst := filepath.Join(dir, "restored.db")
	out = mustRun(t, env, "restore", "--config", "", "-s", dst, dump)
	if exp := "SQLite DB " + dst + " restored.\n"; out != exp {
		t.Errorf("restore output %q, want %q", out, exp)
	}
	rdb, err := sqlfsm.OpenSQLite(dst)
	if err != nil {
		t.Fatal(err)
	}
	defer rdb.Close()
	if got := checksum(t, rdb, sqlcheck.SQLite); got != want {
		t.Errorf("restored checksum %s, want %s", got, want)
	}

	// Now non-empty: refused without -f, replaced with -f.
	mustFail(t, env, "SQLite DB "+dst+" exists and is not empty, use -f to overwrite.", "restore", "--config", "", "-s", dst, dump)
	if _, err := rdb.Exec("DELETE FROM vm_pool WHERE oid < 10"); err != nil {
		t.Fatal(err)
	}
	mustRun(t, env, "restore", "--config", "", "-s", dst, dump, "-f")
	if got := checksum(t, rdb, sqlcheck.SQLite); got != want {
		t.Errorf("restored -f checksum %s, want %s", got, want)
	}

	// The default file name goes under $ONE_LOCATION/var.
	loc := t.TempDir()
	if err := os.MkdirAll(filepath.Join(loc, "var"), 0o755); err != nil {
		t.Fatal(err)
	}
	out = mustRun(t, map[string]string{"ONE_LOCATION": loc}, "backup", "--config", "", "-s", src)
	re := regexp.MustCompile(`^SQLite dump stored in (` + regexp.QuoteMeta(filepath.Join(loc, "var")) + `/sqlite_\d{4}-\d{1,2}-\d{1,2}_\d{1,2}:\d{1,2}:\d{1,2}\.sql)\n`)
	m := re.FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("default backup output %q", out)
	}
	if _, err := os.Stat(m[1]); err != nil {
		t.Error(err)
	}
}

func TestMySQLRoundTrip(t *testing.T) {
	m := harness.SharedMariaDB(t)
	srcDSN := m.CreateDatabase(t, "")
	srcCfg, err := mysql.ParseDSN(srcDSN)
	if err != nil {
		t.Fatal(err)
	}
	src, err := sqlfsm.OpenMySQL(srcDSN, 4)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	populate(t, src, sqlcheck.MySQL)
	want := checksum(t, src, sqlcheck.MySQL)
	port := strconv.Itoa(m.Port)
	conn := func(db string) []string {
		return []string{"--config", "", "-u", "root", "-S", "127.0.0.1", "-P", port, "-d", db}
	}
	env := map[string]string{}
	dump := filepath.Join(t.TempDir(), "mysql_dump.sql")

	out := mustRun(t, env, append([]string{"backup", dump}, conn(srcCfg.DBName)...)...)
	exp := "MySQL dump stored in " + dump + "\n" +
		"Use 'onedb restore' or restore the DB using the mysql command:\n" +
		"mysql -u user -h server -P port db_name < backup_file\n"
	if out != exp {
		t.Errorf("backup output %q, want %q", out, exp)
	}
	mustFail(t, env, "exists, backup aborted. Use -f to overwrite.", append([]string{"backup", dump}, conn(srcCfg.DBName)...)...)

	open := func(name string) *sql.DB {
		c := srcCfg.Clone()
		c.DBName = name
		db, err := sqlfsm.OpenMySQL(c.FormatDSN(), 4)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		return db
	}

	// Into a fresh, empty database.
	dstCfg, err := mysql.ParseDSN(m.CreateDatabase(t, ""))
	if err != nil {
		t.Fatal(err)
	}
	out = mustRun(t, env, append([]string{"restore", dump}, conn(dstCfg.DBName)...)...)
	if exp := "MySQL DB " + dstCfg.DBName + " at 127.0.0.1 restored.\n"; out != exp {
		t.Errorf("restore output %q, want %q", out, exp)
	}
	dst := open(dstCfg.DBName)
	if got := checksum(t, dst, sqlcheck.MySQL); got != want {
		t.Errorf("restored checksum %s, want %s", got, want)
	}

	// Non-empty: refused without -f; -f replaces changed contents.
	mustFail(t, env, "MySQL DB "+dstCfg.DBName+" at 127.0.0.1 exists and is not empty, use -f to overwrite.",
		append([]string{"restore", dump}, conn(dstCfg.DBName)...)...)
	if _, err := dst.Exec("UPDATE vm_pool SET state = 99"); err != nil {
		t.Fatal(err)
	}
	if _, err := dst.Exec("CREATE TABLE extra (a INT)"); err != nil {
		t.Fatal(err)
	}
	mustRun(t, env, append([]string{"restore", "-f", dump}, conn(dstCfg.DBName)...)...)
	if got := checksum(t, dst, sqlcheck.MySQL); got != want {
		t.Errorf("restored -f checksum %s, want %s", got, want)
	}

	// A database that does not exist yet is created.
	fresh := fmt.Sprintf("onedb_fresh_%d", time.Now().UnixNano())
	mustRun(t, env, append([]string{"restore", dump}, conn(fresh)...)...)
	if got := checksum(t, open(fresh), sqlcheck.MySQL); got != want {
		t.Errorf("restored into new database: checksum %s, want %s", got, want)
	}

	// A SQLite dump is refused by a MySQL target and vice versa.
	mustFail(t, env, "it is a mysql dump, the database is sqlite", "restore", "--config", "", "-s", filepath.Join(t.TempDir(), "x.db"), dump)
	notDump := filepath.Join(t.TempDir(), "plain.sql")
	if err := os.WriteFile(notDump, []byte("DROP DATABASE opennebula;\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	mustFail(t, env, "not a OneHA dump", append([]string{"restore", notDump}, conn(dstCfg.DBName)...)...)

	// The dump loads with the stock client, as the message says.
	client, err := exec.LookPath("mariadb")
	harness.RequireOrSkip(t, err == nil, "mariadb client not installed")
	viaCLI, err := mysql.ParseDSN(m.CreateDatabase(t, ""))
	if err != nil {
		t.Fatal(err)
	}
	in, err := os.Open(dump)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	cmd := exec.CommandContext(harness.Ctx(t, time.Minute), client, "--no-defaults", "-u", "root", "-h", "127.0.0.1", "-P", port, viaCLI.DBName)
	cmd.Stdin = in
	var cout bytes.Buffer
	cmd.Stdout, cmd.Stderr = &cout, &cout
	if err := cmd.Run(); err != nil {
		t.Fatalf("mariadb < %s: %v\n%s", dump, err, cout.String())
	}
	if got := checksum(t, open(viaCLI.DBName), sqlcheck.MySQL); got != want {
		t.Errorf("loaded with mariadb: checksum %s, want %s", got, want)
	}
}

// TestRestoreRefusesRunningOned: while a process holds the flock on
// DATA_DIR/oned.lock, restore with that configuration is refused.
func TestRestoreRefusesRunningOned(t *testing.T) {
	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "oned.yaml")
	if err := os.WriteFile(cfgPath, []byte("DATA_DIR: "+dir+"\nDB: {BACKEND: sqlite}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	src := filepath.Join(dir, "src.db")
	db, err := sqlfsm.OpenSQLite(src)
	if err != nil {
		t.Fatal(err)
	}
	populate(t, db, sqlcheck.SQLite)
	db.Close()
	dump := filepath.Join(dir, "dump.sql")
	mustRun(t, nil, "backup", "--config", cfgPath, "-s", src, dump)

	lock, err := os.Create(filepath.Join(dir, LockFile))
	if err != nil {
		t.Fatal(err)
	}
	defer lock.Close()
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		t.Fatal(err)
	}
	// The target is the configuration's DB: DATA_DIR/one.db.
	mustFail(t, nil, "oned is running ("+filepath.Join(dir, LockFile)+" is locked)", "restore", "--config", cfgPath, dump)
	if _, err := os.Stat(filepath.Join(dir, "one.db")); err == nil {
		t.Error("the refused restore created the database")
	}
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_UN); err != nil {
		t.Fatal(err)
	}
	out := mustRun(t, nil, "restore", "--config", cfgPath, dump)
	if exp := "SQLite DB " + filepath.Join(dir, "one.db") + " restored.\n"; out != exp {
		t.Errorf("output %q, want %q", out, exp)
	}
}

func TestResolveTarget(t *testing.T) {
	def := oned.DefaultConfig()
	def.DataDir = "/data"
	my := def
	my.DB = oned.DBConfig{Backend: "mysql", Server: "db1", Port: 3307, User: "one", Passwd: "pw", Name: "opennebula", Connections: 25}
	set := func(names ...string) map[string]bool {
		m := map[string]bool{}
		for _, n := range names {
			m[n] = true
		}
		return m
	}
	tests := []struct {
		name    string
		flags   Flags
		cfg     oned.Config
		want    Target
		wantErr string
	}{
		{"config sqlite", Flags{}, def, Target{Dialect: sqlcheck.SQLite, File: "/data/one.db", Server: "localhost", User: "oneadmin", Name: "opennebula"}, ""},
		{"config mysql", Flags{}, my, Target{Dialect: sqlcheck.MySQL, Server: "db1", Port: 3307, User: "one", Password: "pw", Name: "opennebula", File: "/data/one.db"}, ""},
		{"seed flags over sqlite config", Flags{User: "oneadmin", Password: "oneadmin", Name: "opennebula", Set: set("username", "password", "dbname")}, def,
			Target{Dialect: sqlcheck.MySQL, Server: "localhost", User: "oneadmin", Password: "oneadmin", Name: "opennebula", File: "/data/one.db"}, ""},
		{"flags override mysql config", Flags{Server: "10.0.1.10", Port: 0, Set: set("server", "port")}, my,
			Target{Dialect: sqlcheck.MySQL, Server: "10.0.1.10", Port: 0, User: "one", Password: "pw", Name: "opennebula", File: "/data/one.db"}, ""},
		{"sqlite flag over mysql config", Flags{SQLite: "/tmp/x.db", Set: set("sqlite")}, my,
			Target{Dialect: sqlcheck.SQLite, Server: "db1", Port: 3307, User: "one", Password: "pw", Name: "opennebula", File: "/tmp/x.db"}, ""},
		{"type", Flags{Type: "MySQL", Set: set("type")}, def,
			Target{Dialect: sqlcheck.MySQL, Server: "localhost", User: "oneadmin", Name: "opennebula", File: "/data/one.db"}, ""},
		{"bad type", Flags{Type: "oracle", Set: set("type")}, def, Target{}, "want mysql or sqlite"},
		{"sqlite with mysql flags", Flags{SQLite: "x", User: "u", Set: set("sqlite", "username")}, def, Target{}, "conflicts"},
		{"empty db name", Flags{Name: "", Set: set("dbname")}, def, Target{}, "no MySQL database name"},
		{"bad port", Flags{Port: 70000, Set: set("port")}, def, Target{}, "not a TCP port"},
	}
	for _, tc := range tests {
		got, err := ResolveTarget(tc.flags, tc.cfg)
		if tc.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("%s: error %v, want %q", tc.name, err, tc.wantErr)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("%s: got %+v, %v\nwant %+v", tc.name, got, err, tc.want)
		}
	}
}

func TestDefaultBackupFile(t *testing.T) {
	at := time.Date(2018, 9, 20, 17, 5, 2, 0, time.Local)
	tests := []struct {
		target Target
		want   string
	}{
		{Target{Dialect: sqlcheck.MySQL, Server: "localhost", Name: "opennebula"}, "/var/lib/one/mysql_localhost_opennebula_2018-9-20_17:5:2.sql"},
		{Target{Dialect: sqlcheck.SQLite, File: "/x/one.db"}, "/var/lib/one/sqlite_2018-9-20_17:5:2.sql"},
	}
	for _, tc := range tests {
		if got := DefaultBackupFile(tc.target, at, VarDir(func(string) string { return "" })); got != tc.want {
			t.Errorf("got %s, want %s", got, tc.want)
		}
	}
	if got := VarDir(func(string) string { return "/opt/one" }); got != "/opt/one/var" {
		t.Errorf("VarDir with ONE_LOCATION = %s", got)
	}
}

func TestConfigAndUsageErrors(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.yaml")
	if err := os.WriteFile(bad, []byte("DB: {BACKEND: oracle}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"missing explicit config", []string{"backup", "--config", filepath.Join(dir, "none.yaml")}, "none.yaml"},
		{"invalid config", []string{"backup", "--config", bad}, "DB.BACKEND"},
		{"restore without file", []string{"restore", "--config", ""}, "restore takes 1 argument(s) (FILE), got 0"},
		{"backup two files", []string{"backup", "a", "b"}, "accepts at most 1 arg(s)"},
		{"missing sqlite db", []string{"backup", "--config", "", "-s", filepath.Join(dir, "nope.db"), filepath.Join(dir, "o.sql")}, "no such file"},
		{"missing dump", []string{"restore", "--config", "", "-s", filepath.Join(dir, "x.db"), filepath.Join(dir, "nope.sql")}, "no such file"},
		{"unreachable mysql", []string{"backup", "--config", "", "-u", "root", "-d", "x", "-S", "127.0.0.1", "-P", "1", filepath.Join(dir, "o.sql")}, "connect to MySQL DB x at 127.0.0.1"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { mustFail(t, nil, tc.want, tc.args...) })
	}
	if _, err := os.Stat(filepath.Join(dir, "o.sql")); err == nil {
		t.Error("a failed backup left a file")
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 1 {
		t.Errorf("leftover files: %v", ents)
	}
}
