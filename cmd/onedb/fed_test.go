package main

import (
	"database/sql"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"

	"github.com/oneha/oneha/backup"
	"github.com/oneha/oneha/internal/harness"
	"github.com/oneha/oneha/sqlcheck"
	"github.com/oneha/oneha/sqlfsm"
)

// fedDB is a new empty database of dialect d and the onedb flags naming it.
func fedDB(t *testing.T, d sqlcheck.Dialect) (*sql.DB, []string) {
	t.Helper()
	if d == sqlcheck.SQLite {
		file := filepath.Join(t.TempDir(), "one.db")
		db, err := sqlfsm.OpenSQLite(file)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		return db, []string{"-s", file}
	}
	m := harness.SharedMariaDB(t)
	dsn := m.CreateDatabase(t, "")
	cfg, err := mysql.ParseDSN(dsn)
	if err != nil {
		t.Fatal(err)
	}
	db, err := sqlfsm.OpenMySQL(dsn, 4)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db, []string{"-u", "root", "-S", "127.0.0.1", "-P", strconv.Itoa(m.Port), "-d", cfg.DBName}
}

func execAll(t *testing.T, db *sql.DB, stmts ...string) {
	t.Helper()
	ctx := harness.Ctx(t, time.Minute)
	for _, s := range stmts {
		if _, err := db.ExecContext(ctx, s); err != nil {
			t.Fatalf("%s: %v", s, err)
		}
	}
}

// rows is a query's rows as text ("error: …" when it fails).
func rows(t *testing.T, db *sql.DB, q string) string {
	t.Helper()
	rs, err := db.QueryContext(harness.Ctx(t, time.Minute), q)
	if err != nil {
		return "error: " + err.Error()
	}
	defer rs.Close()
	cols, _ := rs.Columns()
	var out []string
	for rs.Next() {
		vals := make([]sql.NullString, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rs.Scan(ptrs...); err != nil {
			t.Fatal(err)
		}
		var r []string
		for _, v := range vals {
			r = append(r, v.String)
		}
		out = append(out, strings.Join(r, "|"))
	}
	if err := rs.Err(); err != nil {
		return "error: " + err.Error()
	}
	return strings.Join(out, "\n")
}

// tablesOf lists the database's tables, lower case, sorted.
func tablesOf(t *testing.T, db *sql.DB, d sqlcheck.Dialect) []string {
	t.Helper()
	q := "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite%'"
	if d == sqlcheck.MySQL {
		q = "SELECT table_name FROM information_schema.tables WHERE table_schema = DATABASE()"
	}
	var out []string
	for _, n := range strings.Split(rows(t, db, q), "\n") {
		if n != "" {
			out = append(out, strings.ToLower(n))
		}
	}
	slices.Sort(out)
	return out
}

const fedTableSchema = "CREATE TABLE " + sqlfsm.FedTable + " (id INTEGER NOT NULL PRIMARY KEY, last_index BIGINT NOT NULL)"

// TestFederatedBackupAndRestore: backup --federated dumps exactly the
// federated tables (OpenNebula's, the config's FEDERATED_TABLES,
// --federated-tables) and the federation index, under OpenNebula's
// federated file name; restore --federated replaces just those tables in a
// database that has local ones, which keep their rows. Plain restore of a
// federated dump, restore --federated of a whole dump or of another table
// list, into a running oned's database or a formed zone's, are refused and
// change nothing.
func TestFederatedBackupAndRestore(t *testing.T) {
	for _, d := range harness.Dialects {
		t.Run(string(d), func(t *testing.T) {
			dir := t.TempDir()
			cfgPath := filepath.Join(dir, "oned.yaml")
			if err := os.WriteFile(cfgPath, []byte("DATA_DIR: "+dir+"\nFEDERATED_TABLES: [fed_cfg]\n"), 0o600); err != nil {
				t.Fatal(err)
			}
			src, srcFlags := fedDB(t, d)
			execAll(t, src,
				"CREATE TABLE user_pool (oid INTEGER PRIMARY KEY, name VARCHAR(128) NOT NULL, body TEXT)",
				"INSERT INTO user_pool VALUES (0, 'oneadmin', '<USER><ID>0</ID></USER>'), (1, 'serveradmin', 'it''s')",
				"CREATE TABLE acl (oid INTEGER PRIMARY KEY, rule VARCHAR(64))", "INSERT INTO acl VALUES (0, '@1 HOST+VNET /* CREATE')",
				"CREATE INDEX acl_rule ON acl (rule)",
				"CREATE TABLE fed_cfg (id INTEGER PRIMARY KEY, v VARCHAR(16))", "INSERT INTO fed_cfg VALUES (1, 'cfg')",
				"CREATE TABLE fed_flag (id INTEGER PRIMARY KEY, v VARCHAR(16))", "INSERT INTO fed_flag VALUES (1, 'flag')",
				"CREATE TABLE vm_pool (oid INTEGER PRIMARY KEY, body TEXT)", "INSERT INTO vm_pool VALUES (9, 'master vm')",
				fedTableSchema, "INSERT INTO "+sqlfsm.FedTable+" VALUES (1, 7)",
				"CREATE TABLE "+sqlfsm.FedLogTable+" (fed_index BIGINT PRIMARY KEY, record TEXT)", "INSERT INTO "+sqlfsm.FedLogTable+" VALUES (7, 'x')",
				"CREATE TABLE "+sqlfsm.AppliedTable+" (id INTEGER PRIMARY KEY, applied_index BIGINT NOT NULL, applied_term BIGINT NOT NULL)",
				"INSERT INTO "+sqlfsm.AppliedTable+" VALUES (1, 40, 2)",
			)
			cfg := []string{"--config", cfgPath}
			dump := filepath.Join(dir, "fed.sql")

			// The dump: exactly the federated tables that exist, and oneha_fed.
			out := mustRun(t, nil, slices.Concat([]string{"backup", "--federated", "--federated-tables", "fed_flag", dump}, cfg, srcFlags)...)
			kind := map[sqlcheck.Dialect]string{sqlcheck.SQLite: "SQLite", sqlcheck.MySQL: "MySQL"}[d]
			if want := kind + " dump of the federated tables stored in " + dump + " (federation index 7)\n" +
				"Use 'onedb restore --federated' to restore them in a new slave zone.\n"; out != want {
				t.Errorf("backup --federated printed %q, want %q", out, want)
			}
			f, err := os.Open(dump)
			if err != nil {
				t.Fatal(err)
			}
			h, err := backup.ReadHeader(f)
			f.Close()
			if err != nil {
				t.Fatal(err)
			}
			if want := "acl,db_versioning,fed_cfg,fed_flag,group_pool,marketplace_pool,marketplaceapp_pool,oneha_fed,user_pool,vdc_pool,zone_pool"; h.Only != want {
				t.Fatalf("dump header lists %q, want %q", h.Only, want)
			}
			scratch, _ := fedDB(t, d)
			in, err := os.Open(dump)
			if err != nil {
				t.Fatal(err)
			}
			_, err = backup.Load(harness.Ctx(t, time.Minute), scratch, d, in, backup.Options{Only: h.OnlyTables()})
			in.Close()
			if err != nil {
				t.Fatal(err)
			}
			if got, want := tablesOf(t, scratch, d), []string{"acl", "fed_cfg", "fed_flag", sqlfsm.FedTable, "user_pool"}; !slices.Equal(got, want) {
				t.Fatalf("the federated dump holds tables %v, want %v", got, want)
			}

			// OpenNebula's federated file name by default.
			loc := t.TempDir()
			if err := os.MkdirAll(filepath.Join(loc, "var"), 0o755); err != nil {
				t.Fatal(err)
			}
			out = mustRun(t, map[string]string{"ONE_LOCATION": loc}, slices.Concat([]string{"backup", "--federated"}, cfg, srcFlags)...)
			prefix := "sqlite_"
			if d == sqlcheck.MySQL {
				prefix = "mysql_127.0.0.1_" + srcFlags[len(srcFlags)-1] + "_"
			}
			re := regexp.MustCompile(`stored in (` + regexp.QuoteMeta(filepath.Join(loc, "var", prefix)) + `federated_\d{4}-\d{1,2}-\d{1,2}_\d{1,2}:\d{1,2}:\d{1,2}\.sql) `)
			if m := re.FindStringSubmatch(out); m == nil {
				t.Errorf("default federated backup: %q", out)
			} else if _, err := os.Stat(m[1]); err != nil {
				t.Error(err)
			}

			// The target: a slave's own tables, stale federated ones, a
			// federated table the master does not have.
			dst, dstFlags := fedDB(t, d)
			execAll(t, dst,
				"CREATE TABLE user_pool (oid INTEGER PRIMARY KEY, name VARCHAR(128) NOT NULL, body TEXT, stale INT)",
				"INSERT INTO user_pool VALUES (5, 'stale', NULL, 1)",
				"CREATE TABLE group_pool (oid INTEGER PRIMARY KEY)", "INSERT INTO group_pool VALUES (3)",
				"CREATE TABLE host_pool (oid INTEGER PRIMARY KEY, body TEXT)", "INSERT INTO host_pool VALUES (7, 'slave host')",
				"CREATE TABLE vm_pool (oid INTEGER PRIMARY KEY, body TEXT)", "INSERT INTO vm_pool VALUES (1, 'slave vm')",
				fedTableSchema, "INSERT INTO "+sqlfsm.FedTable+" VALUES (1, 0)",
			)
			local := func() string {
				return rows(t, dst, "SELECT oid, body FROM host_pool") + "/" + rows(t, dst, "SELECT oid, body FROM vm_pool")
			}
			wantLocal := local()
			federated := func(db *sql.DB) string {
				return rows(t, db, "SELECT oid, name, body FROM user_pool ORDER BY oid") + "/" + rows(t, db, "SELECT * FROM acl") + "/" +
					rows(t, db, "SELECT * FROM fed_cfg") + "/" + rows(t, db, "SELECT * FROM fed_flag") + "/" +
					rows(t, db, "SELECT last_index FROM "+sqlfsm.FedTable)
			}
			staleFed := federated(dst)
			unchanged := func(what string) {
				t.Helper()
				if got := federated(dst); got != staleFed {
					t.Fatalf("%s changed the federated tables: %s", what, got)
				}
				if got := local(); got != wantLocal {
					t.Fatalf("%s changed the local tables: %s", what, got)
				}
			}
			full := filepath.Join(dir, "full.sql")
			mustRun(t, nil, slices.Concat([]string{"backup", full}, cfg, srcFlags)...)

			// Refusals, each leaving the target as it was.
			mustFail(t, nil, "it is a dump of only the tables acl,db_versioning,", slices.Concat([]string{"restore", "-f", dump}, cfg, dstFlags)...)
			unchanged("plain restore of a federated dump")
			mustFail(t, nil, "it is a dump of a whole database, not of the federated tables", slices.Concat([]string{"restore", "--federated", full}, cfg, dstFlags)...)
			unchanged("restore --federated of a whole dump")
			mustFail(t, nil, "only in the dump [fed_flag]; only here []", slices.Concat([]string{"restore", "--federated", dump}, cfg, dstFlags)...)
			mustFail(t, nil, "only in the dump []; only here [fed_other]", slices.Concat([]string{"restore", "--federated", "--federated-tables", "fed_flag,fed_other", dump}, cfg, dstFlags)...)
			unchanged("restore --federated with other tables")
			mustFail(t, nil, "--federated-tables needs --federated", slices.Concat([]string{"restore", "--federated-tables", "fed_flag", dump}, cfg, dstFlags)...)
			mustFail(t, nil, "--federated conflicts with --new-zone", slices.Concat([]string{"restore", "--federated", "--new-zone", "--federated-tables", "fed_flag", dump}, cfg, dstFlags)...)
			mustFail(t, nil, `"oneha_x" is not a table name`, slices.Concat([]string{"backup", "--federated", "--federated-tables", "oneha_x", filepath.Join(dir, "x.sql")}, cfg, srcFlags)...)
			mustFail(t, nil, "no federation index", slices.Concat([]string{"backup", "--federated", filepath.Join(dir, "x.sql")}, cfg, scratchless(t, d))...)

			lock, err := os.Create(filepath.Join(dir, LockFile))
			if err != nil {
				t.Fatal(err)
			}
			defer lock.Close()
			if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
				t.Fatal(err)
			}
			restore := slices.Concat([]string{"restore", "--federated", "--federated-tables", "fed_flag", dump}, cfg, dstFlags)
			mustFail(t, nil, "oned is running", restore...)
			unchanged("restore --federated while oned runs")
			if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_UN); err != nil {
				t.Fatal(err)
			}

			// The restore: federated tables replaced (group_pool, which the
			// master lacks, dropped), local ones kept.
			out = mustRun(t, nil, restore...)
			desc := "SQLite DB " + dstFlags[1]
			if d == sqlcheck.MySQL {
				desc = "MySQL DB " + dstFlags[len(dstFlags)-1] + " at 127.0.0.1"
			}
			if want := desc + " restored: federated tables at federation index 7.\n"; out != want {
				t.Errorf("restore --federated printed %q, want %q", out, want)
			}
			if got, want := federated(dst), federated(src); got != want {
				t.Fatalf("federated tables after restore:\n%s\nwant the source's:\n%s", got, want)
			}
			if got := local(); got != wantLocal {
				t.Fatalf("local tables after restore: %s, want %s", got, wantLocal)
			}
			if got := rows(t, dst, "SELECT oid FROM group_pool"); !strings.HasPrefix(got, "error: ") {
				t.Fatalf("group_pool, federated and not in the dump, survived: %s", got)
			}
			if got, want := tablesOf(t, dst, d), []string{"acl", "fed_cfg", "fed_flag", "host_pool", sqlfsm.FedTable, "user_pool", "vm_pool"}; !slices.Equal(got, want) {
				t.Fatalf("tables after restore %v, want %v", got, want)
			}
			var idx int
			if err := dst.QueryRow("SELECT COUNT(*) FROM acl WHERE rule LIKE '@1%'").Scan(&idx); err != nil || idx != 1 {
				t.Fatalf("acl after restore: %d, %v", idx, err)
			}

			// A server of a formed zone needs -f.
			execAll(t, dst, "CREATE TABLE "+sqlfsm.AppliedTable+" (id INTEGER PRIMARY KEY, applied_index BIGINT NOT NULL, applied_term BIGINT NOT NULL)",
				"INSERT INTO "+sqlfsm.AppliedTable+" VALUES (1, 12, 1)", "UPDATE user_pool SET name = 'changed'")
			mustFail(t, nil, "is a server of a formed zone (applied index 12)", restore...)
			mustRun(t, nil, append(restore, "-f")...)
			if got, want := federated(dst), federated(src); got != want {
				t.Fatalf("federated tables after restore -f:\n%s\nwant\n%s", got, want)
			}
			if got := rows(t, dst, "SELECT applied_index FROM "+sqlfsm.AppliedTable); got != "12" {
				t.Fatalf("restore --federated changed the applied index: %s", got)
			}
		})
	}
}

// scratchless is the flags of a new database that has a federated table
// but no federation index.
func scratchless(t *testing.T, d sqlcheck.Dialect) []string {
	t.Helper()
	db, flags := fedDB(t, d)
	execAll(t, db, "CREATE TABLE user_pool (oid INTEGER PRIMARY KEY)")
	return flags
}

func TestDefaultFederatedBackupFile(t *testing.T) {
	at := time.Date(2018, 9, 20, 17, 5, 2, 0, time.Local)
	for _, tc := range []struct {
		target Target
		want   string
	}{
		{Target{Dialect: sqlcheck.MySQL, Server: "localhost", Name: "opennebula"}, "/var/lib/one/mysql_localhost_opennebula_federated_2018-9-20_17:5:2.sql"},
		{Target{Dialect: sqlcheck.SQLite, File: "/x/one.db"}, "/var/lib/one/sqlite_federated_2018-9-20_17:5:2.sql"},
	} {
		if got := DefaultFederatedBackupFile(tc.target, at, "/var/lib/one"); got != tc.want {
			t.Errorf("got %s, want %s", got, tc.want)
		}
	}
	// Scheduled-backup rotation never lists (and so never deletes) them.
	dir := t.TempDir()
	name := filepath.Base(DefaultFederatedBackupFile(Target{Dialect: sqlcheck.SQLite}, at, dir))
	if err := os.WriteFile(filepath.Join(dir, name), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if ds, err := backup.Dumps(dir, sqlcheck.SQLite, "", ""); err != nil || len(ds) != 0 {
		t.Fatalf("Dumps lists %v, %v", ds, err)
	}
}
