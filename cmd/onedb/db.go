package main

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/go-sql-driver/mysql"

	"github.com/oneha/oneha/backup"
	"github.com/oneha/oneha/federation"
	"github.com/oneha/oneha/oned"
	"github.com/oneha/oneha/sqlcheck"
	"github.com/oneha/oneha/sqlfsm"
	"github.com/oneha/oneha/zone"
)

// DefaultConfigPath is oned's configuration file.
const DefaultConfigPath = "/etc/one/oned.yaml"

// LockFile is oned.LockFile, the file under DATA_DIR that a running oned
// holds an exclusive flock on.
const LockFile = oned.LockFile

// Target is the database onedb works on.
type Target struct {
	Dialect sqlcheck.Dialect
	// MySQL
	Server   string
	Port     int // 0 = 3306
	User     string
	Password string
	Name     string
	TLS      oned.DBTLSConfig // DB.TLS of oned's configuration
	// SQLite
	File string
}

// Flags are onedb's database options as given on the command line; Set
// names the ones given explicitly.
type Flags struct {
	User, Password, Name, Server string
	Port                         int
	SQLite                       string
	Type                         string
	Set                          map[string]bool
}

// ResolveTarget picks the database: --sqlite, or --type, or MySQL when any
// MySQL option is given, else the configuration's backend. Options not
// given come from cfg (oned's configuration, or its defaults).
func ResolveTarget(f Flags, cfg oned.Config) (Target, error) {
	t := Target{
		Server: cfg.DB.Server, Port: cfg.DB.Port, User: cfg.DB.User, Password: cfg.DB.Passwd, Name: cfg.DB.Name,
		TLS: cfg.DB.TLS, File: cfg.SQLitePath(),
	}
	if f.Set["username"] {
		t.User = f.User
	}
	if f.Set["password"] {
		t.Password = f.Password
	}
	if f.Set["dbname"] {
		t.Name = f.Name
	}
	if f.Set["server"] {
		t.Server = f.Server
	}
	if f.Set["port"] {
		t.Port = f.Port
	}
	mysqlGiven := f.Set["username"] || f.Set["password"] || f.Set["dbname"] || f.Set["server"] || f.Set["port"]
	switch {
	case f.Set["sqlite"]:
		if f.Set["type"] && !strings.EqualFold(f.Type, "sqlite") {
			return Target{}, fmt.Errorf("--sqlite conflicts with --type %s", f.Type)
		}
		if mysqlGiven {
			return Target{}, errors.New("--sqlite conflicts with the MySQL options -u -p -d -S -P")
		}
		t.Dialect, t.File = sqlcheck.SQLite, f.SQLite
	case f.Set["type"]:
		switch strings.ToLower(f.Type) {
		case "mysql":
			t.Dialect = sqlcheck.MySQL
		case "sqlite":
			t.Dialect = sqlcheck.SQLite
		default:
			return Target{}, fmt.Errorf("--type %q: want mysql or sqlite", f.Type)
		}
	case mysqlGiven:
		t.Dialect = sqlcheck.MySQL
	default:
		t.Dialect = cfg.Dialect()
	}
	switch t.Dialect {
	case sqlcheck.MySQL:
		if t.Name == "" {
			return Target{}, errors.New("no MySQL database name: use -d/--dbname")
		}
		if t.Server == "" {
			t.Server = "localhost"
		}
		if t.Port < 0 || t.Port > 65535 {
			return Target{}, fmt.Errorf("-P/--port %d is not a TCP port", t.Port)
		}
	case sqlcheck.SQLite:
		if t.File == "" {
			return Target{}, errors.New("no SQLite file: use -s/--sqlite")
		}
	}
	return t, nil
}

// LoadConfig reads oned's configuration. A missing file at the default
// path means oned's defaults; a missing file given explicitly is an error;
// path "" means no configuration (defaults, no oned lock check).
func LoadConfig(path string, explicit bool) (cfg oned.Config, found bool, err error) {
	if path == "" {
		return oned.DefaultConfig(), false, nil
	}
	if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) && !explicit {
		return oned.DefaultConfig(), false, nil
	}
	cfg, err = oned.LoadConfig(path)
	if err != nil {
		return cfg, false, err
	}
	return cfg, true, nil
}

// MySQLDSN is the go-sql-driver DSN of a MySQL target.
func (t Target) MySQLDSN() string {
	c := oned.DefaultConfig()
	c.DB = oned.DBConfig{Backend: "mysql", Server: t.Server, Port: t.Port, User: t.User, Passwd: t.Password, Name: t.Name}
	return c.MySQLDSN()
}

// Describe names the target in messages: "MySQL DB db at server" or
// "SQLite DB file".
func (t Target) Describe() string {
	if t.Dialect == sqlcheck.MySQL {
		return fmt.Sprintf("MySQL DB %s at %s", t.Name, t.Server)
	}
	return "SQLite DB " + t.File
}

// Open opens the target with OneHA's pinned session settings. With create
// set a missing database (MySQL) or file (SQLite) is created; otherwise it
// is an error.
func (t Target) Open(ctx context.Context, create bool) (*sql.DB, error) {
	if t.Dialect == sqlcheck.SQLite {
		if _, err := os.Stat(t.File); err != nil && (!create || !errors.Is(err, os.ErrNotExist)) {
			return nil, fmt.Errorf("SQLite DB: %w", err)
		}
		return sqlfsm.OpenSQLite(t.File)
	}
	tlsCfg, err := t.TLS.TLSConfig()
	if err != nil {
		return nil, err
	}
	db, err := sqlfsm.OpenMySQLTLS(t.MySQLDSN(), tlsCfg, 4)
	if err != nil {
		return nil, err
	}
	err = db.PingContext(ctx)
	var me *mysql.MySQLError
	if errors.As(err, &me) && me.Number == 1049 && create { // ER_BAD_DB_ERROR
		err = t.createMySQLDatabase(ctx)
		if err == nil {
			err = db.PingContext(ctx)
		}
	}
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("connect to %s: %w", t.Describe(), err)
	}
	return db, nil
}

func (t Target) createMySQLDatabase(ctx context.Context) error {
	c, err := mysql.ParseDSN(t.MySQLDSN())
	if err != nil {
		return err
	}
	c.DBName = ""
	if c.TLS, err = t.TLS.TLSConfig(); err != nil {
		return err
	}
	conn, err := mysql.NewConnector(c)
	if err != nil {
		return err
	}
	db := sql.OpenDB(conn)
	defer db.Close()
	_, err = db.ExecContext(ctx, "CREATE DATABASE IF NOT EXISTS `"+strings.ReplaceAll(t.Name, "`", "``")+"`")
	if err != nil {
		return fmt.Errorf("create database %s: %w", t.Name, err)
	}
	return nil
}

// VarDir is OpenNebula's VAR_LOCATION: $ONE_LOCATION/var, or /var/lib/one.
func VarDir(env func(string) string) string {
	if l := env("ONE_LOCATION"); l != "" {
		return filepath.Join(l, "var")
	}
	return "/var/lib/one"
}

// DefaultBackupFile is OpenNebula's backup file name: fields of the local
// time not zero-padded (backup.FileName, which oned's scheduled backups
// use too).
func DefaultBackupFile(t Target, now time.Time, varDir string) string {
	return filepath.Join(varDir, backup.FileName(t.Dialect, t.Server, t.Name, now))
}

func backupOptions() backup.Options { return backup.Options{Last: sqlfsm.AppliedTable} }

// Backup dumps the target into file. An existing file is replaced only
// with force; the dump is written to a temporary file in the same
// directory, synced, then renamed, so a failed backup leaves no partial
// file and never clobbers an older one.
func Backup(ctx context.Context, t Target, file string, force bool) error {
	return dump(ctx, t, file, force, backupOptions(), nil)
}

// BackupFederated dumps only the federated tables (tables, as
// FederatedTables lists them: FedTable included) into file, as Backup
// does, in one read view, and returns the federation index they hold. A
// database without FedTable is not a OneHA server's: refused.
func BackupFederated(ctx context.Context, t Target, file string, force bool, tables []string) (uint64, error) {
	var last uint64
	err := dump(ctx, t, file, force, backup.Options{Only: tables}, func(snap *backup.Snapshot) error {
		if err := snap.QueryRow(ctx, `SELECT last_index FROM `+sqlfsm.FedTable+` WHERE id = 1`, &last); err != nil {
			return fmt.Errorf("backup --federated %s: no federation index (%s): is it a OneHA server's database? %w", t.Describe(), sqlfsm.FedTable, err)
		}
		return nil
	})
	return last, err
}

// dump writes the target's dump with opt into file; check, when set, runs
// in the read view before the rows are written.
func dump(ctx context.Context, t Target, file string, force bool, opt backup.Options, check func(*backup.Snapshot) error) error {
	if _, err := os.Lstat(file); err == nil && !force {
		return fmt.Errorf("File %s exists, backup aborted. Use -f to overwrite.", file)
	}
	db, err := t.Open(ctx, false)
	if err != nil {
		return err
	}
	defer db.Close()
	snap, err := backup.Begin(ctx, db, t.Dialect, opt)
	if err != nil {
		return fmt.Errorf("backup %s: %w", t.Describe(), err)
	}
	defer snap.Close()
	if check != nil {
		if err := check(snap); err != nil {
			return err
		}
	}
	tmp, err := os.CreateTemp(filepath.Dir(file), "."+filepath.Base(file)+".tmp*")
	if err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	defer os.Remove(tmp.Name()) // after a successful rename this fails harmlessly
	if _, err := snap.Write(ctx, tmp); err != nil {
		tmp.Close()
		return fmt.Errorf("backup %s: %w", t.Describe(), err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("backup: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	if !force {
		if _, err := os.Lstat(file); err == nil {
			return fmt.Errorf("File %s exists, backup aborted. Use -f to overwrite.", file)
		}
	}
	if err := os.Rename(tmp.Name(), file); err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	return nil
}

// BackupMessage is what onedb backup prints on success.
func BackupMessage(t Target, file string) string {
	if t.Dialect == sqlcheck.MySQL {
		return "MySQL dump stored in " + file + "\n" +
			"Use 'onedb restore' or restore the DB using the mysql command:\n" +
			"mysql -u user -h server -P port db_name < backup_file\n"
	}
	return "SQLite dump stored in " + file + "\n" +
		"Use 'onedb restore' to restore the DB.\n"
}

// FederatedBackupMessage is what onedb backup --federated prints.
func FederatedBackupMessage(t Target, file string, index uint64) string {
	kind := "SQLite"
	if t.Dialect == sqlcheck.MySQL {
		kind = "MySQL"
	}
	return fmt.Sprintf("%s dump of the federated tables stored in %s (federation index %d)\n"+
		"Use 'onedb restore --federated' to restore them in a new slave zone.\n", kind, file, index)
}

// DefaultFederatedBackupFile is OpenNebula's name for a federated backup:
// the default name with "federated_" before the time.
func DefaultFederatedBackupFile(t Target, now time.Time, varDir string) string {
	return filepath.Join(varDir, backup.FederatedFileName(t.Dialect, t.Server, t.Name, now))
}

// FederatedTables is what onedb backup/restore --federated dump and
// replace: OpenNebula's federated tables, the configuration's
// FEDERATED_TABLES, the extra ones given, and FedTable (the federation
// index the tables hold), sorted.
func FederatedTables(cfg oned.Config, extra []string) ([]string, error) {
	ts, err := federation.NewTables(append(slices.Clone(cfg.Federation.Tables), extra...))
	if err != nil {
		return nil, fmt.Errorf("--federated-tables: %w", err)
	}
	return append(ts.List(), sqlfsm.FedTable), nil
}

// ErrOnedRunning: an oned holds the configuration's lock file.
var ErrOnedRunning = errors.New("oned is running")

// LockOned takes the non-blocking exclusive flock a running oned holds on
// path, so no oned starts during the restore. It returns a release
// function. A missing lock file means no oned ever ran there: nothing to
// hold.
func LockOned(path string) (release func(), err error) {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return func() {}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("check oned lock: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf("%w (%s is locked): stop it before restoring its database", ErrOnedRunning, path)
		}
		return nil, fmt.Errorf("check oned lock %s: %w", path, err)
	}
	return func() { f.Close() }, nil // closing drops the flock
}

// Restore replaces the target's contents with the dump in file. lockPath,
// when set, is the oned lock file checked (and held) first. A non-empty
// database needs force. With newZone the restored database then becomes
// the seed of a new zone (ForgetZone).
func Restore(ctx context.Context, t Target, file string, force, newZone bool, lockPath string) error {
	f, err := os.Open(file)
	if err != nil {
		return fmt.Errorf("restore: %w", err)
	}
	defer f.Close()
	h, err := backup.ReadHeader(f)
	if err != nil {
		return fmt.Errorf("restore %s: %w", file, err)
	}
	if h.Dialect != t.Dialect {
		return fmt.Errorf("restore %s: it is a %s dump, the database is %s", file, h.Dialect, t.Dialect)
	}
	if h.Only != "" {
		return fmt.Errorf("restore %s: it is a dump of only the tables %s (onedb backup --federated); restoring it as the whole database would drop every other table: use onedb restore --federated", file, h.Only)
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return fmt.Errorf("restore: %w", err)
	}
	if lockPath != "" {
		release, err := LockOned(lockPath)
		if err != nil {
			return err
		}
		defer release()
	}
	db, err := t.Open(ctx, true)
	if err != nil {
		return err
	}
	defer db.Close()
	empty, err := backup.Empty(ctx, db, t.Dialect)
	if err != nil {
		return fmt.Errorf("restore %s: %w", t.Describe(), err)
	}
	if !empty && !force {
		return fmt.Errorf("%s exists and is not empty, use -f to overwrite.", t.Describe())
	}
	if _, err := backup.Load(ctx, db, t.Dialect, f, backupOptions()); err != nil {
		return fmt.Errorf("restore %s: %w", t.Describe(), err)
	}
	if newZone {
		return ForgetZone(ctx, db, t.Dialect)
	}
	return nil
}

// RestoreFederated replaces the target's federated tables (tables, as
// FederatedTables lists them) with those of a dump made by BackupFederated
// and leaves every other table alone; it returns the federation index the
// restored tables hold. The dump must list exactly these tables (the same
// FEDERATED_TABLES as where it was taken). lockPath, when set, is the oned
// lock file checked (and held) first. A database of a formed zone
// (applied index above 0) needs force: a restore into one server only
// would set it apart from the other servers of its zone.
func RestoreFederated(ctx context.Context, t Target, file string, tables []string, force bool, lockPath string) (uint64, error) {
	f, err := os.Open(file)
	if err != nil {
		return 0, fmt.Errorf("restore: %w", err)
	}
	defer f.Close()
	h, err := backup.ReadHeader(f)
	if err != nil {
		return 0, fmt.Errorf("restore %s: %w", file, err)
	}
	if h.Dialect != t.Dialect {
		return 0, fmt.Errorf("restore %s: it is a %s dump, the database is %s", file, h.Dialect, t.Dialect)
	}
	if h.Only == "" {
		return 0, fmt.Errorf("restore --federated %s: it is a dump of a whole database, not of the federated tables: take one with onedb backup --federated", file)
	}
	if onlyDump, onlyHere := federation.Diff(h.OnlyTables(), tables); len(onlyDump)+len(onlyHere) > 0 {
		return 0, fmt.Errorf("restore --federated %s: it is not a dump of the federated tables here: only in the dump [%s]; only here [%s]; give the same FEDERATED_TABLES (or --federated-tables) as where it was taken",
			file, strings.Join(onlyDump, " "), strings.Join(onlyHere, " "))
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return 0, fmt.Errorf("restore: %w", err)
	}
	if lockPath != "" {
		release, err := LockOned(lockPath)
		if err != nil {
			return 0, err
		}
		defer release()
	}
	db, err := t.Open(ctx, true)
	if err != nil {
		return 0, err
	}
	defer db.Close()
	if !force {
		applied, err := appliedIndex(ctx, db, t.Dialect)
		if err != nil {
			return 0, fmt.Errorf("restore --federated %s: %w", t.Describe(), err)
		}
		if applied > 0 {
			return 0, fmt.Errorf("%s is a server of a formed zone (applied index %d): restoring the federated tables into it alone would set it apart from the other servers of its zone; seed the first server of a new slave zone before it starts, or restore into every server of the stopped zone with -f", t.Describe(), applied)
		}
	}
	if _, err := backup.Load(ctx, db, t.Dialect, f, backup.Options{Only: tables}); err != nil {
		return 0, fmt.Errorf("restore %s: %w", t.Describe(), err)
	}
	var last uint64
	if err := db.QueryRowContext(ctx, `SELECT last_index FROM `+sqlfsm.FedTable+` WHERE id = 1`).Scan(&last); err != nil {
		return 0, fmt.Errorf("restore --federated %s: the dump held no federation index (%s): %w", t.Describe(), sqlfsm.FedTable, err)
	}
	return last, nil
}

// appliedIndex is the database's applied index (0 without AppliedTable).
func appliedIndex(ctx context.Context, db *sql.DB, d sqlcheck.Dialect) (uint64, error) {
	tx, err := db.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return 0, err
	}
	defer tx.Rollback()
	ok, err := tableExists(ctx, tx, d, sqlfsm.AppliedTable)
	if err != nil || !ok {
		return 0, err
	}
	var n uint64
	err = tx.QueryRowContext(ctx, `SELECT applied_index FROM `+sqlfsm.AppliedTable+` WHERE id = 1`).Scan(&n)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	return n, err
}

// ForgetZone turns a restored database into the seed of a new zone (the
// "every host is lost" procedure): the applied index goes back to 0, so the
// new zone's Raft log applies from its first entry and the server may
// bootstrap (a database with an applied index above 0 refuses to), and the
// zone's server list and pending reset tokens are emptied, so the operator
// registers the new hosts with onezone server-add as for any new zone. The
// data, the zone row (name, endpoint, enabled state) stay. One
// transaction.
func ForgetZone(ctx context.Context, db *sql.DB, d sqlcheck.Dialect) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("new zone: %w", err)
	}
	defer tx.Rollback()
	r, err := tx.ExecContext(ctx, `UPDATE `+sqlfsm.AppliedTable+` SET applied_index = 0, applied_term = 0, ddl_index = 0, ddl_fingerprint = '' WHERE id = 1`)
	if err != nil {
		return fmt.Errorf("new zone: %w", err)
	}
	if n, err := r.RowsAffected(); err == nil && n == 0 {
		// MySQL counts changed rows only: 0 is also "already 0".
		var one int
		if err := tx.QueryRowContext(ctx, `SELECT 1 FROM `+sqlfsm.AppliedTable+` WHERE id = 1`).Scan(&one); err != nil {
			return fmt.Errorf("new zone: the dump has no applied-index row: %w", err)
		}
	}
	for _, table := range []string{zone.ServerTable, zone.ResetTable} {
		ok, err := tableExists(ctx, tx, d, table)
		if err != nil {
			return fmt.Errorf("new zone: %w", err)
		}
		if !ok {
			continue
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM `+table); err != nil {
			return fmt.Errorf("new zone: empty %s: %w", table, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("new zone: %w", err)
	}
	return nil
}

func tableExists(ctx context.Context, tx *sql.Tx, d sqlcheck.Dialect, table string) (bool, error) {
	q := `SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = ?`
	if d == sqlcheck.MySQL {
		q = `SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ?`
	}
	var n int
	if err := tx.QueryRowContext(ctx, q, table).Scan(&n); err != nil {
		return false, fmt.Errorf("look up table %s: %w", table, err)
	}
	return n > 0, nil
}
