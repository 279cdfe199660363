package main

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/go-sql-driver/mysql"

	"github.com/oneha/oneha/backup"
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
	if _, err := os.Lstat(file); err == nil && !force {
		return fmt.Errorf("File %s exists, backup aborted. Use -f to overwrite.", file)
	}
	db, err := t.Open(ctx, false)
	if err != nil {
		return err
	}
	defer db.Close()
	snap, err := backup.Begin(ctx, db, t.Dialect, backupOptions())
	if err != nil {
		return fmt.Errorf("backup %s: %w", t.Describe(), err)
	}
	defer snap.Close()
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
