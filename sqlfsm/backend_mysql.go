package sqlfsm

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"

	"github.com/oneha/oneha/sqlcheck"
)

// mysqlBackend applies entries on MySQL 8 / MariaDB 10.6+.
//
// Session context is bound with one SET per entry: TIMESTAMP (microseconds,
// so NOW(6) matches), the RAND seeds and LAST_INSERT_ID reset to 0 so
// LAST_INSERT_ID() never sees a previous entry. Session settings (time zone,
// sql_mode, charset, …) are pinned on every connection (see mysqlPins).
type mysqlBackend struct {
	texts *textCache // the FSM's; placeholder spans
}

func (mysqlBackend) name() sqlcheck.Dialect { return sqlcheck.MySQL }

func (mysqlBackend) appliedDDL() []string {
	return []string{`CREATE TABLE IF NOT EXISTS ` + AppliedTable + ` (
  id INT NOT NULL PRIMARY KEY,
  applied_index BIGINT UNSIGNED NOT NULL,
  applied_term BIGINT UNSIGNED NOT NULL,
  ddl_index BIGINT UNSIGNED NOT NULL DEFAULT 0,
  ddl_fingerprint VARCHAR(64) NOT NULL DEFAULT ''
) ENGINE=InnoDB`,
		`INSERT IGNORE INTO ` + AppliedTable + ` (id, applied_index, applied_term) VALUES (1, 0, 0)`,
		// Ids compare byte for byte (ascii_bin), as on SQLite.
		`CREATE TABLE IF NOT EXISTS ` + RequestTable + ` (
  scope VARCHAR(128) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  request_id VARCHAR(128) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  log_index BIGINT NOT NULL,
  micros BIGINT NOT NULL,
  stmt_hash CHAR(64) CHARACTER SET ascii NOT NULL,
  result TEXT CHARACTER SET ascii NOT NULL,
  PRIMARY KEY (scope, request_id),
  KEY ` + RequestTable + `_index (log_index),
  KEY ` + RequestTable + `_micros (micros)
) ENGINE=InnoDB`,
		`CREATE TABLE IF NOT EXISTS ` + FedTable + ` (
  id INT NOT NULL PRIMARY KEY,
  last_index BIGINT UNSIGNED NOT NULL
) ENGINE=InnoDB`,
		`INSERT IGNORE INTO ` + FedTable + ` (id, last_index) VALUES (1, 0)`,
		`CREATE TABLE IF NOT EXISTS ` + FedLogTable + ` (
  fed_index BIGINT UNSIGNED NOT NULL PRIMARY KEY,
  record LONGBLOB NOT NULL
) ENGINE=InnoDB`}
}

func (mysqlBackend) bind(ctx context.Context, x execer, c Context) error {
	_, err := x.ExecContext(ctx, mysqlBindSQL(c))
	return err
}

// mysqlBindSQL is the one SET that binds an entry's context.
func mysqlBindSQL(c Context) string {
	var buf [112]byte
	return string(appendMySQLBind(buf[:0], c))
}

// appendMySQLBind appends mysqlBindSQL(c) to b without fmt.
func appendMySQLBind(b []byte, c Context) []byte {
	us := c.Time.UnixMicro()
	if us < 0 { // never in practice; keep fmt's rendering of a negative remainder
		return fmt.Appendf(b, "SET TIMESTAMP = %d.%06d, @@rand_seed1 = %d, @@rand_seed2 = %d, LAST_INSERT_ID = 0",
			us/1e6, us%1e6, c.Seed1, c.Seed2)
	}
	b = append(b, "SET TIMESTAMP = "...)
	b = strconv.AppendInt(b, us/1e6, 10)
	b = append(b, '.')
	frac := us % 1e6
	for d := int64(100000); d > 1 && frac < d; d /= 10 {
		b = append(b, '0')
	}
	b = strconv.AppendInt(b, frac, 10)
	b = append(b, ", @@rand_seed1 = "...)
	b = strconv.AppendUint(b, uint64(c.Seed1), 10)
	b = append(b, ", @@rand_seed2 = "...)
	b = strconv.AppendUint(b, uint64(c.Seed2), 10)
	return append(b, ", LAST_INSERT_ID = 0"...)
}

// prepare inlines the parameters: entries run as plain text, which lets a
// batch travel in one multi-statement round trip (see applyFast).
func (b mysqlBackend) prepare(st Statement, _ Context, _ int) (string, []any, error) {
	q, err := inlineMySQL(b.texts, st.SQL, st.Params)
	return q, nil, err
}
func (mysqlBackend) classify(err error) errClass { return classifyMySQL(err) }

func (mysqlBackend) exec(ctx context.Context, x execer, q string, args []any) (sql.Result, error) {
	return x.ExecContext(ctx, q, args...)
}

func (mysqlBackend) txLost() bool              { return false }
func (mysqlBackend) setupConn(*sql.Conn) error { return nil }
func (mysqlBackend) interrupt()                {} // statements end with their context
func (mysqlBackend) close() error              { return nil }
func (mysqlBackend) transactionalDDL() bool    { return false }

// The server's counters are per statement: reported as they are (the fast
// path reports the same ones).
func (mysqlBackend) counters(_ Statement, ra, li int64) (int64, int64) { return ra, li }

// InnoDB rolls back a failed statement by itself, so a one-statement entry
// needs no savepoint.
func (mysqlBackend) needSavepoint(n int) bool { return n > 1 }

// schemaFingerprint hashes table names, types and creation times, every
// table's SHOW CREATE TABLE, view definitions and triggers. A DDL statement
// that took effect changes it; one that did not leaves it equal. (The
// applied-index table is excluded: the DDL marker lives there.)
func (mysqlBackend) schemaFingerprint(ctx context.Context, x execer) (string, error) {
	h := sha256.New()
	rows, err := x.QueryContext(ctx, `SELECT TABLE_NAME, TABLE_TYPE, COALESCE(CAST(CREATE_TIME AS CHAR), '')
FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME <> ? ORDER BY TABLE_NAME`, AppliedTable)
	if err != nil {
		return "", fmt.Errorf("schema fingerprint: %w", err)
	}
	var tables []string
	for rows.Next() {
		var name, typ, created string
		if err := rows.Scan(&name, &typ, &created); err != nil {
			rows.Close()
			return "", fmt.Errorf("schema fingerprint: %w", err)
		}
		fmt.Fprintf(h, "T|%s|%s|%s\n", name, typ, created)
		if typ == "BASE TABLE" {
			tables = append(tables, name)
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return "", fmt.Errorf("schema fingerprint: %w", err)
	}
	for _, t := range tables {
		var name, create string
		if err := x.QueryRowContext(ctx, "SHOW CREATE TABLE "+quoteMySQLIdent(t)).Scan(&name, &create); err != nil {
			return "", fmt.Errorf("schema fingerprint of %s: %w", t, err)
		}
		fmt.Fprintf(h, "C|%s|%s\n", name, create)
	}
	for _, q := range []string{
		`SELECT TABLE_NAME, VIEW_DEFINITION FROM information_schema.VIEWS WHERE TABLE_SCHEMA = DATABASE() ORDER BY TABLE_NAME`,
		`SELECT TRIGGER_NAME, ACTION_STATEMENT FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = DATABASE() ORDER BY TRIGGER_NAME`,
	} {
		rows, err := x.QueryContext(ctx, q)
		if err != nil {
			return "", fmt.Errorf("schema fingerprint: %w", err)
		}
		for rows.Next() {
			var a, b string
			if err := rows.Scan(&a, &b); err != nil {
				rows.Close()
				return "", fmt.Errorf("schema fingerprint: %w", err)
			}
			fmt.Fprintf(h, "V|%s|%s\n", a, b)
		}
		rows.Close()
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// checkSettings refuses servers whose settings would make replicas differ:
// SET TIMESTAMP forbidden (MariaDB --secure-timestamp), or interleaved
// auto-increment locking (innodb_autoinc_lock_mode = 2).
func (mysqlBackend) checkSettings(ctx context.Context, x execer) error {
	if _, err := x.ExecContext(ctx, "SET TIMESTAMP = 1"); err != nil {
		return fmt.Errorf("%w: SET TIMESTAMP is refused (secure_timestamp?): %v", ErrSettingsMismatch, err)
	}
	if _, err := x.ExecContext(ctx, "SET TIMESTAMP = DEFAULT"); err != nil {
		return fmt.Errorf("%w: SET TIMESTAMP = DEFAULT: %v", ErrSettingsMismatch, err)
	}
	var mode int
	if err := x.QueryRowContext(ctx, "SELECT @@innodb_autoinc_lock_mode").Scan(&mode); err != nil {
		return fmt.Errorf("read innodb_autoinc_lock_mode: %w", err)
	}
	if mode == 2 {
		return fmt.Errorf("%w: innodb_autoinc_lock_mode = 2 gives multi-row inserts different AUTO_INCREMENT values on different servers; set it to 1", ErrSettingsMismatch)
	}
	return nil
}

func (mysqlBackend) schema(db *sql.DB) sqlcheck.SchemaInfo { return mysqlSchema{db} }

type mysqlSchema struct{ db *sql.DB }

func (s mysqlSchema) HasAutoIncrement(ctx context.Context, table string) (bool, error) {
	var n int
	err := s.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM information_schema.COLUMNS
WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ? AND EXTRA LIKE '%auto_increment%'`, table).Scan(&n)
	if err != nil {
		return false, fmt.Errorf("schema of %s: %w", table, err)
	}
	return n > 0, nil
}

func (s mysqlSchema) UniqueKeys(ctx context.Context, table string) (int, error) {
	var n int
	err := s.db.QueryRowContext(ctx, `SELECT COUNT(DISTINCT INDEX_NAME) FROM information_schema.STATISTICS
WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ? AND NON_UNIQUE = 0`, table).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("schema of %s: %w", table, err)
	}
	return n, nil
}

func quoteMySQLIdent(s string) string { return "`" + strings.ReplaceAll(s, "`", "``") + "`" }
