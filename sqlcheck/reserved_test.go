package sqlcheck

import (
	"errors"
	"strings"
	"testing"
)

// TestClientStatementsNamingOneHATablesAreRefused: every way of naming a
// table that starts with oneha_ (any statement kind, any case, quoted,
// schema-qualified, inside a trigger body, CTE or subquery) is refused with
// an ErrUnsafe error naming the table, in both dialects.
func TestClientStatementsNamingOneHATablesAreRefused(t *testing.T) {
	refused := []struct{ sql, table string }{
		{"DROP TABLE oneha_applied", "oneha_applied"},
		{"DELETE FROM oneha_applied", "oneha_applied"},
		{"UPDATE oneha_applied SET applied_index = 99999999 WHERE id = 1", "oneha_applied"},
		{"INSERT INTO oneha_server (zone_id, id, name, endpoint) VALUES (0, 9, 'evil', 'http://10.9.9.9:2633')", "oneha_server"},
		{"DELETE FROM oneha_server WHERE zone_id = 0", "oneha_server"},
		{"UPDATE oneha_zone SET endpoint = 'x'", "oneha_zone"},
		{"INSERT INTO oneha_server_reset VALUES (0, 1, 'x', 1)", "oneha_server_reset"},
		{"ALTER TABLE oneha_server ADD COLUMN x INT", "oneha_server"},
		{"ALTER TABLE t RENAME TO oneha_applied", "oneha_applied"},
		{"TRUNCATE TABLE oneha_zone", "oneha_zone"},
		{"CREATE TABLE oneha_new (id INT PRIMARY KEY)", "oneha_new"},
		{"CREATE TRIGGER tr AFTER INSERT ON t FOR EACH ROW INSERT INTO oneha_applied (id) VALUES (2)", "oneha_applied"},
		{"CREATE VIEW v AS SELECT * FROM oneha_server", "oneha_server"},
		{"UPDATE oneha_Applied SET applied_term = 0", "oneha_applied"},
		{"DELETE FROM ONEHA_SERVER", "oneha_server"},
		{"DELETE FROM `oneha_applied`", "oneha_applied"},
		{"DELETE FROM `Oneha_Server_Reset`", "oneha_server_reset"},
		{"DELETE FROM opennebula.oneha_applied", "oneha_applied"},
		{"DELETE FROM `opennebula`.`oneha_server`", "oneha_server"},
		{"WITH c AS (SELECT id FROM oneha_server) DELETE FROM t WHERE id IN (SELECT id FROM c)", "oneha_server"},
		{"DELETE FROM t WHERE id IN (SELECT id FROM oneha_applied)", "oneha_applied"},
		{"UPDATE t SET v = (SELECT applied_index FROM oneha_applied WHERE id = 1)", "oneha_applied"},
		{"CREATE TABLE t2 (id INT REFERENCES oneha_server (id) ON DELETE CASCADE)", "oneha_server"},
	}
	for _, d := range []Dialect{MySQL, SQLite} {
		for _, c := range refused {
			err := RefuseReserved(d, c.sql, ReservedPrefix)
			if !errors.Is(err, ErrUnsafe) || !strings.Contains(err.Error(), c.table+" is not allowed") ||
				!strings.Contains(err.Error(), "OneHA's own table") {
				t.Errorf("%s %q: %v, want ErrUnsafe naming %s", d, c.sql, err, c.table)
			}
		}
	}
	sqliteOnly := []string{
		`DELETE FROM "oneha_applied"`,
		`DELETE FROM [oneha_applied]`,
		`DELETE FROM 'oneha_applied'`,
		`DELETE FROM t WHERE id IN (SELECT id FROM t, 'oneha_server')`,
		"DELETE FROM main.oneha_applied",
	}
	for _, q := range sqliteOnly {
		if err := RefuseReserved(SQLite, q, ReservedPrefix); !errors.Is(err, ErrUnsafe) {
			t.Errorf("sqlite %q: %v, want ErrUnsafe", q, err)
		}
	}
}

// TestClientStatementsNotNamingOneHATablesAreAccepted: data that merely
// contains the prefix, and user tables whose names only resemble it, pass.
func TestClientStatementsNotNamingOneHATablesAreAccepted(t *testing.T) {
	both := []string{
		"INSERT INTO onehax (id, v) VALUES (1, ?)",
		"UPDATE onehax SET v = 'x' WHERE id = 1",
		"DROP TABLE oneha",
		"CREATE TABLE my_oneha_t (id INT PRIMARY KEY)",
		"DELETE FROM t WHERE name LIKE 'oneha%' -- oneha_applied in a comment",
		"/* oneha_applied */ DELETE FROM t",
	}
	for _, d := range []Dialect{MySQL, SQLite} {
		for _, q := range both {
			if err := RefuseReserved(d, q, ReservedPrefix); err != nil {
				t.Errorf("%s %q: %v, want accepted", d, q, err)
			}
		}
	}
	for _, q := range []string{
		"INSERT INTO t (v) VALUES ('oneha_x')",
		`UPDATE t SET v = "oneha_applied" WHERE id = 1`, // a string in MySQL
		"DELETE FROM t WHERE v = 'oneha_server'",
	} {
		if err := RefuseReserved(MySQL, q, ReservedPrefix); err != nil {
			t.Errorf("mysql %q: %v, want accepted", q, err)
		}
	}
}

// TestRefuseReservedReportsMalformedText: text the lexer cannot read is
// refused with its error, never passed as harmless.
func TestRefuseReservedReportsMalformedText(t *testing.T) {
	if err := RefuseReserved(MySQL, "DELETE FROM t WHERE v = 'unterminated", ReservedPrefix); !errors.Is(err, ErrLex) {
		t.Errorf("unterminated literal: %v, want ErrLex", err)
	}
	if err := RefuseReserved(MySQL, "/*! DROP TABLE oneha_applied */", ReservedPrefix); !errors.Is(err, ErrUnsafe) {
		t.Errorf("executable comment: %v, want ErrUnsafe", err)
	}
}
