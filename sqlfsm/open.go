package sqlfsm

import (
	"crypto/tls"
	"database/sql"
	"fmt"
	"time"

	"github.com/go-sql-driver/mysql"
	_ "modernc.org/sqlite" // registers the "sqlite" driver
)

// MySQLSQLMode is the sql_mode every OneHA connection runs with: the same on
// every server, whatever the server's default.
const MySQLSQLMode = "STRICT_TRANS_TABLES,ERROR_FOR_DIVISION_BY_ZERO,NO_ENGINE_SUBSTITUTION"

// MySQLDSN returns dsn with the client settings replicated SQL depends on:
// utf8mb4 with a fixed collation, times as text, and client-side parameter
// interpolation (one round trip per statement). The session variables are
// pinned per connection by the pools' connector (see mysqlPins).
func MySQLDSN(dsn string) (string, error) {
	cfg, err := mysql.ParseDSN(dsn)
	if err != nil {
		return "", fmt.Errorf("parse MySQL DSN: %w", err)
	}
	cfg.InterpolateParams = true
	cfg.ParseTime = false
	cfg.Loc = time.UTC
	cfg.Collation = "utf8mb4_general_ci"
	return cfg.FormatDSN(), nil
}

// OpenMySQL opens a pool on dsn with MySQLDSN's settings and mysqlPins.
func OpenMySQL(dsn string, conns int) (*sql.DB, error) { return OpenMySQLTLS(dsn, nil, conns) }

// OpenMySQLTLS is OpenMySQL over TLS with tlsCfg (nil: as dsn says). The
// configuration goes to this pool's connector only: no driver-wide
// registered TLS config, no package state.
func OpenMySQLTLS(dsn string, tlsCfg *tls.Config, conns int) (*sql.DB, error) {
	cfg, err := mysqlConfig(dsn, tlsCfg)
	if err != nil {
		return nil, err
	}
	db, err := openConnector(cfg)
	if err != nil {
		return nil, err
	}
	if conns < 4 {
		conns = 4
	}
	db.SetMaxOpenConns(conns)
	db.SetMaxIdleConns(conns)
	db.SetConnMaxIdleTime(5 * time.Minute)
	return db, nil
}

// OpenSQLite opens the SQLite file at path in WAL mode (readers never block
// the apply connection), with foreign keys on and synchronous=NORMAL: the Raft
// log, not the SQLite file, is the durable record, and the applied index makes
// replay after a power loss exact.
func OpenSQLite(path string) (*sql.DB, error) {
	db, err := sql.Open("sqlite", "file:"+path+"?"+sqliteParams().Encode())
	if err != nil {
		return nil, fmt.Errorf("open SQLite %s: %w", path, err)
	}
	db.SetMaxOpenConns(8)
	db.SetMaxIdleConns(8)
	return db, nil
}

// OpenMySQLApply opens the pool for Config.ApplyDB: MySQLDSN's settings plus
// multi-statements, which only the FSM's own generated batches use.
func OpenMySQLApply(dsn string) (*sql.DB, error) { return OpenMySQLApplyTLS(dsn, nil) }

// OpenMySQLApplyTLS is OpenMySQLApply over TLS with tlsCfg (nil: as dsn
// says).
func OpenMySQLApplyTLS(dsn string, tlsCfg *tls.Config) (*sql.DB, error) {
	cfg, err := mysqlConfig(dsn, tlsCfg)
	if err != nil {
		return nil, err
	}
	cfg.MultiStatements = true
	db, err := openConnector(cfg)
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(2)
	db.SetMaxIdleConns(2)
	return db, nil
}

// mysqlConfig is dsn with MySQLDSN's settings and, when tlsCfg is
// not nil, TLS with a copy of it (the driver fills in ServerName).
func mysqlConfig(dsn string, tlsCfg *tls.Config) (*mysql.Config, error) {
	d, err := MySQLDSN(dsn)
	if err != nil {
		return nil, err
	}
	cfg, err := mysql.ParseDSN(d)
	if err != nil {
		return nil, fmt.Errorf("parse MySQL DSN: %w", err)
	}
	if tlsCfg != nil {
		cfg.TLS = tlsCfg.Clone()
	}
	return cfg, nil
}

// openConnector opens a pool on cfg whose every connection has mysqlPins
// set (see pinConnector).
func openConnector(cfg *mysql.Config) (*sql.DB, error) {
	c, err := mysql.NewConnector(cfg)
	if err != nil {
		return nil, fmt.Errorf("open MySQL: %w", err)
	}
	return sql.OpenDB(pinConnector{c}), nil
}
