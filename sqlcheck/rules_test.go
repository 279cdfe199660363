package sqlcheck

import (
	"context"
	"errors"
	"strings"
	"testing"
)

// ruleCase is one statement and the construct its refusal must name ("" if
// it must be accepted).
type ruleCase struct {
	d         Dialect
	sql       string
	construct string
}

// runRuleCases checks each case against testSchema: accepted ones pass,
// refused ones are *UnsafeError whose Construct contains the construct.
func runRuleCases(t *testing.T, cases []ruleCase) {
	t.Helper()
	for _, tt := range cases {
		for _, d := range dialects(tt.d) {
			t.Run(string(d)+"/"+tt.sql, func(t *testing.T) {
				_, err := CheckWrite(context.Background(), d, tt.sql, testSchema())
				if tt.construct == "" {
					if err != nil {
						t.Fatalf("refused: %v", err)
					}
					return
				}
				var ue *UnsafeError
				if !errors.As(err, &ue) {
					t.Fatalf("err = %v, want a refusal naming %q", err, tt.construct)
				}
				if !strings.Contains(ue.Construct, tt.construct) {
					t.Fatalf("Construct = %q, want it to contain %q", ue.Construct, tt.construct)
				}
			})
		}
	}
}

// TestSystemSchemasAreRefusedAnywhereInAWrite: a MySQL/MariaDB system
// schema named anywhere in a write is refused, however it is spelled or
// nested.
func TestSystemSchemasAreRefusedAnywhereInAWrite(t *testing.T) {
	const c = "system schema"
	runRuleCases(t, []ruleCase{
		{MySQL, "INSERT INTO t SELECT ID FROM information_schema.PROCESSLIST", c},
		{MySQL, "INSERT INTO t SELECT ID FROM (information_schema.PROCESSLIST)", c},
		{MySQL, "INSERT INTO t SELECT * FROM ((INFORMATION_SCHEMA.processlist))", c},
		{MySQL, "INSERT INTO t SELECT 1 FROM `information_schema`.`PROCESSLIST`", c},
		{MySQL, "INSERT INTO t SELECT 1 FROM `Information_Schema` . GLOBAL_STATUS", c},
		{MySQL, "INSERT INTO t SELECT a FROM u JOIN performance_schema.threads p ON p.THREAD_ID = u.a", c},
		{MySQL, "UPDATE t SET a = (SELECT COUNT(*) FROM mysql.user)", c},
		{MySQL, "DELETE FROM t WHERE a IN (SELECT `PORT` FROM sys.x$host_summary)", c},
		{MySQL, "WITH p AS (SELECT ID FROM information_schema.PROCESSLIST) INSERT INTO t SELECT ID FROM p", c},
		{MySQL, "CREATE VIEW v AS SELECT ID, HOST FROM (information_schema.PROCESSLIST)", c},
		{MySQL, "CREATE TABLE p LIKE information_schema.PROCESSLIST", c},
		{MySQL, "CREATE TABLE p (LIKE information_schema.PROCESSLIST)", c},
		{MySQL, "CREATE TABLE p AS SELECT * FROM information_schema.PROCESSLIST", c},
		{MySQL, "CREATE TRIGGER tr BEFORE INSERT ON t FOR EACH ROW SET NEW.a = (SELECT MAX(ID) FROM information_schema.PROCESSLIST)", c},
		{MySQL, "INSERT INTO t VALUES ((SELECT VARIABLE_VALUE FROM performance_schema.global_variables WHERE VARIABLE_NAME = 'port'))", c},
		{MySQL, "REPLACE INTO t SELECT * FROM mysql.transaction_registry", c},
		{MySQL, "USE information_schema", "USE"},
		// Strings and unqualified names are data, not schemas.
		{MySQL, "INSERT INTO t (a) VALUES ('information_schema.PROCESSLIST')", ""},
		{MySQL, "UPDATE t SET a = 1 WHERE sys = 2 AND mysql = 3", ""},
	})
}

// TestSQLiteFileInternalsAreRefusedInAWrite: SQLite tables and pragma
// functions that describe each server's file are refused in writes.
func TestSQLiteFileInternalsAreRefusedInAWrite(t *testing.T) {
	runRuleCases(t, []ruleCase{
		{SQLite, "INSERT INTO t SELECT rootpage FROM sqlite_master", "sqlite_master"},
		{SQLite, "INSERT INTO t SELECT rootpage FROM main.sqlite_schema", "sqlite_schema"},
		{SQLite, "INSERT INTO t SELECT file FROM pragma_database_list", "pragma_database_list"},
		{SQLite, "UPDATE t SET a = (SELECT page_count FROM pragma_page_count())", "pragma_page_count"},
		{SQLite, "INSERT INTO t SELECT stat FROM sqlite_stat1", "sqlite_stat1"},
		{SQLite, "INSERT INTO t SELECT name FROM sqlite_sequence", ""},
	})
}

// TestOnlyInnoDBTablesAreCreated: no route makes a non-InnoDB table.
func TestOnlyInnoDBTablesAreCreated(t *testing.T) {
	runRuleCases(t, []ruleCase{
		{MySQL, "CREATE TABLE t (a INT) ENGINE=MyISAM", "ENGINE=MYISAM"},
		{MySQL, "CREATE TABLE t (a INT) ENGINE 'Aria'", "ENGINE=ARIA"},
		{MySQL, "ALTER TABLE t ENGINE = MEMORY", "ENGINE=MEMORY"},
		{MySQL, "ALTER TABLE t ADD COLUMN b INT, ENGINE=CSV", "ENGINE=CSV"},
		{MySQL, "CREATE TABLE t (a INT) TYPE=MyISAM", "TYPE=MYISAM"},
		{MySQL, "CREATE TABLE t (a INT) PARTITION BY HASH (a) (PARTITION p0 ENGINE = MyISAM)", "ENGINE=MYISAM"},
		{MySQL, "CREATE TABLE t (a INT) PARTITION BY HASH (a) (PARTITION p0 STORAGE ENGINE MyISAM)", "ENGINE=MYISAM"},
		{MySQL, "CREATE TABLE s (id BIGINT) SEQUENCE=1", "SEQUENCE"},
		{MySQL, "CREATE TABLE t LIKE mysql.user", "system schema"},
		{MySQL, "CREATE TABLE t SELECT * FROM u", "CREATE TABLE ... SELECT"},
		{MySQL, "CREATE TABLE t (a INT) ENGINE=InnoDB", ""},
		{MySQL, "ALTER TABLE t ENGINE=innodb", ""},
		{MySQL, "CREATE TABLE t (engine VARCHAR(8), type INT, sequence INT)", ""},
		{MySQL, "ALTER TABLE t MODIFY type INT, ADD sequence INT", ""},
		{MySQL, "CREATE TABLE t2 LIKE t", ""},
	})
}

// TestSystemVersioningByTransactionIDIsRefused: BIGINT ROW START/END
// columns store per-server transaction ids; TIMESTAMP ones are pinned.
func TestSystemVersioningByTransactionIDIsRefused(t *testing.T) {
	const c = "on a non-TIMESTAMP column"
	runRuleCases(t, []ruleCase{
		{MySQL, "CREATE TABLE t (x INT, s BIGINT UNSIGNED GENERATED ALWAYS AS ROW START INVISIBLE, e BIGINT UNSIGNED GENERATED ALWAYS AS ROW END INVISIBLE, PERIOD FOR SYSTEM_TIME(s, e)) ENGINE=InnoDB WITH SYSTEM VERSIONING", "AS ROW START " + c},
		{MySQL, "CREATE TABLE t (x INT, s TIMESTAMP(6) AS ROW START, e BIGINT UNSIGNED AS ROW END, PERIOD FOR SYSTEM_TIME(s, e)) WITH SYSTEM VERSIONING", "AS ROW END " + c},
		{MySQL, "ALTER TABLE t ADD COLUMN s BIGINT UNSIGNED GENERATED ALWAYS AS ROW START, ADD COLUMN e BIGINT UNSIGNED GENERATED ALWAYS AS ROW END, ADD PERIOD FOR SYSTEM_TIME(s, e), ADD SYSTEM VERSIONING", "AS ROW START " + c},
		{MySQL, "ALTER TABLE t ADD IF NOT EXISTS (s BIGINT UNSIGNED AS ROW START, e BIGINT UNSIGNED AS ROW END)", "AS ROW START " + c},
		{MySQL, "ALTER TABLE t CHANGE COLUMN s s BIGINT UNSIGNED AS ROW START", "AS ROW START " + c},
		{MySQL, "INSERT INTO t SELECT * FROM u FOR SYSTEM_TIME AS OF TRANSACTION 12", "FOR SYSTEM_TIME ... TRANSACTION"},
		{MySQL, "CREATE TABLE t (x INT, s TIMESTAMP(6) GENERATED ALWAYS AS ROW START, e TIMESTAMP(6) GENERATED ALWAYS AS ROW END, PERIOD FOR SYSTEM_TIME(s, e)) WITH SYSTEM VERSIONING", ""},
		{MySQL, "CREATE TABLE t (x INT) WITH SYSTEM VERSIONING", ""},
		{MySQL, "ALTER TABLE t MODIFY s TIMESTAMP(6) AS ROW START", ""},
		{MySQL, "INSERT INTO t SELECT * FROM u FOR SYSTEM_TIME AS OF TIMESTAMP '2024-01-01 00:00:00'", ""},
		{MySQL, "CREATE TRIGGER tr BEFORE INSERT ON t FOR EACH ROW SET NEW.a = 1", ""},
	})
}

// TestLimitNeedsOrderByAUniqueKey: a row limit in a write is accepted
// exactly when its ORDER BY covers a unique key (PRIMARY KEY or NOT NULL
// UNIQUE) of the single table it reads.
func TestLimitNeedsOrderByAUniqueKey(t *testing.T) {
	runRuleCases(t, []ruleCase{
		// Accepted: ordered by a unique key.
		{both, "DELETE FROM t WHERE a = 1 ORDER BY id LIMIT 1", ""},
		{both, "UPDATE t SET a = 1 WHERE b = 2 ORDER BY id DESC LIMIT 1", ""},
		{both, "UPDATE t SET a = 1 ORDER BY t.id LIMIT 1", ""},
		{both, "UPDATE t AS x SET a = 1 ORDER BY x.id LIMIT 1", ""},
		{both, "DELETE FROM two ORDER BY b, a LIMIT 5", ""},
		{both, "DELETE FROM two ORDER BY `a` ASC, b DESC, c LIMIT 5", ""},
		{both, "INSERT INTO t (a) SELECT a FROM u WHERE a > 0 ORDER BY id LIMIT 3", ""},
		{both, "INSERT INTO t (a) SELECT a FROM u ORDER BY id LIMIT 3 OFFSET 2", ""},
		{both, "UPDATE t SET a = (SELECT b FROM u WHERE u.c = t.c ORDER BY id LIMIT 1)", ""},
		{both, "DELETE FROM t WHERE id IN (SELECT id FROM (SELECT id FROM u ORDER BY id DESC LIMIT 5) AS x)", ""},
		{MySQL, "DELETE FROM t WHERE id IN (SELECT id FROM (SELECT id FROM u ORDER BY id OFFSET 1 ROWS FETCH FIRST 5 ROWS ONLY) AS x)", ""},
		{both, "INSERT INTO t (a) SELECT 1 LIMIT 1", ""},
		{both, "CREATE VIEW v AS SELECT id, a FROM t ORDER BY id LIMIT 10", ""},
		// Refused: no ORDER BY.
		{both, "DELETE FROM t WHERE a = 1 LIMIT 1", "DELETE ... LIMIT without ORDER BY"},
		{both, "UPDATE t SET a = 1 LIMIT 1", "UPDATE ... LIMIT without ORDER BY"},
		{both, "INSERT INTO t (a) SELECT a FROM u LIMIT 1", "INSERT ... SELECT ... LIMIT without ORDER BY"},
		{MySQL, "DELETE FROM t WHERE id IN (SELECT id FROM (SELECT id FROM u FETCH FIRST 1 ROWS ONLY) x)", "SELECT ... FETCH without ORDER BY"},
		{both, "CREATE VIEW v AS SELECT a FROM t LIMIT 5", "SELECT ... LIMIT without ORDER BY"},
		// Refused: ORDER BY does not cover a unique key.
		{both, "DELETE FROM t ORDER BY a LIMIT 1", "DELETE ... LIMIT with ORDER BY not covering a unique key of t"},
		{both, "INSERT INTO t (a) SELECT a FROM u ORDER BY a LIMIT 1", "INSERT ... SELECT ... LIMIT with ORDER BY not covering a unique key of u"},
		{both, "DELETE FROM two ORDER BY a LIMIT 1", "not covering a unique key of two"},
		{both, "DELETE FROM nk ORDER BY n LIMIT 1", "not covering a unique key of nk"}, // UNIQUE (n) allows NULLs
		{both, "DELETE FROM t ORDER BY id + 0 LIMIT 1", "not covering"},
		{both, "DELETE FROM t ORDER BY 1 LIMIT 1", "not covering"},
		{MySQL, "DELETE FROM t ORDER BY id COLLATE utf8mb4_bin LIMIT 1", "not covering"},
		{both, "UPDATE t SET a = (SELECT b FROM u ORDER BY x.id LIMIT 1)", "not covering a unique key of u"},
		{both, "INSERT INTO t (a) SELECT a AS id FROM u ORDER BY id LIMIT 1", "not covering a unique key of u"},
		{both, "INSERT INTO t (a) SELECT a id FROM u ORDER BY id LIMIT 1", "not covering a unique key of u"},
		{both, "INSERT INTO t (a) SELECT a 'id' FROM u ORDER BY id LIMIT 1", "not covering a unique key of u"},
		{both, "INSERT INTO t (a) SELECT a AS \"id\" FROM u ORDER BY id LIMIT 1", "not covering a unique key of u"},
		{both, "INSERT INTO t (a) SELECT DISTINCT id FROM u ORDER BY id LIMIT 1", ""},
		{both, "DELETE FROM t WHERE a IN (SELECT a FROM nokeys ORDER BY a LIMIT 1)", "not covering a unique key of nokeys"},
		// Refused: not a single table.
		{both, "INSERT INTO t (a) SELECT u.a FROM u JOIN t ON t.id = u.id ORDER BY u.id LIMIT 1", "over a join"},
		{both, "INSERT INTO t (a) SELECT u.a FROM u, t ORDER BY u.id LIMIT 1", "over a join"},
		{both, "INSERT INTO t (a) SELECT a FROM (SELECT a, id FROM u) d ORDER BY id LIMIT 1", "over a join, a derived table"},
		{MySQL, "UPDATE t JOIN u ON t.id = u.id SET t.a = 1 ORDER BY t.id LIMIT 1", "multi-table UPDATE ... LIMIT"},
		{both, "INSERT INTO t (a) SELECT a FROM u UNION SELECT a FROM t ORDER BY a LIMIT 1", "UNION ... LIMIT"},
		{both, "INSERT INTO t (a) SELECT MAX(a) FROM u GROUP BY b ORDER BY id LIMIT 1", "GROUP BY ... LIMIT"},
		{SQLite, "CREATE TRIGGER tr AFTER INSERT ON t BEGIN DELETE FROM u WHERE a = NEW.a ORDER BY id LIMIT 1; END", "LIMIT in a trigger body"},
		{MySQL, "CREATE TRIGGER tr AFTER INSERT ON t FOR EACH ROW DELETE FROM u ORDER BY id LIMIT 1", "LIMIT in a trigger body"},
	})
}

// TestLimitWithoutSchemaIsRefused: without schema information no ORDER BY
// can be shown to cover a unique key.
func TestLimitWithoutSchemaIsRefused(t *testing.T) {
	_, err := CheckWrite(context.Background(), MySQL, "DELETE FROM t ORDER BY id LIMIT 1", nil)
	var ue *UnsafeError
	if !errors.As(err, &ue) || !strings.Contains(ue.Reason, "no schema information") {
		t.Fatalf("err = %v, want a refusal for missing schema information", err)
	}
}

// TestLimitSchemaErrorIsReturned: a failing unique-key lookup is returned,
// wrapped, not taken for an answer.
func TestLimitSchemaErrorIsReturned(t *testing.T) {
	_, err := CheckWrite(context.Background(), MySQL, "DELETE FROM broken ORDER BY id LIMIT 1", testSchema())
	if !errors.Is(err, errSchema) || errors.Is(err, ErrUnsafe) {
		t.Fatalf("err = %v, want the schema error", err)
	}
}

// TestFullTextMatchIsRefusedInAWrite: MySQL full-text relevance depends on
// each server's index state; reads may use it.
func TestFullTextMatchIsRefusedInAWrite(t *testing.T) {
	runRuleCases(t, []ruleCase{
		{MySQL, "DELETE FROM t WHERE MATCH (a) AGAINST ('x')", "MATCH ... AGAINST"},
		{MySQL, "UPDATE t SET a = MATCH (b) AGAINST ('x' IN NATURAL LANGUAGE MODE)", "MATCH ... AGAINST"},
		{MySQL, "UPDATE t SET `match` = 1", ""},
	})
	if _, err := CheckRead(MySQL, "SELECT oid FROM t WHERE MATCH (a) AGAINST ('x')"); err != nil {
		t.Fatalf("read refused: %v", err)
	}
}

// TestRowOrderAndServerStateFunctionsAreRefusedInAWrite: functions whose
// result follows row order, tie-breaking, random salts, key files or the
// server's own replication state are refused in writes.
func TestRowOrderAndServerStateFunctionsAreRefusedInAWrite(t *testing.T) {
	runRuleCases(t, []ruleCase{
		{MySQL, "UPDATE t SET a = (SELECT GROUP_CONCAT(b) FROM u)", "GROUP_CONCAT()"},
		{MySQL, "INSERT INTO t (a) SELECT JSON_ARRAYAGG(b) FROM u", "JSON_ARRAYAGG()"},
		{SQLite, "UPDATE t SET a = (SELECT group_concat(b, ',') FROM u)", "GROUP_CONCAT()"},
		{SQLite, "UPDATE t SET a = (SELECT json_group_array(b) FROM u)", "JSON_GROUP_ARRAY()"},
		{MySQL, "INSERT INTO t (a) SELECT ROWNUM() FROM u", "ROWNUM()"},
		{both, "INSERT INTO t (a, b) SELECT ROW_NUMBER() OVER (ORDER BY c), b FROM u", "ROW_NUMBER()"},
		{both, "UPDATE t SET v = LAST_VALUE(a) OVER (ORDER BY b)", "LAST_VALUE()"},
		{both, "INSERT INTO t (a) SELECT LAG(a) OVER (ORDER BY b) FROM u", "LAG()"},
		{MySQL, "INSERT INTO t (p) VALUES (ENCRYPT('secret'))", "ENCRYPT()"},
		{MySQL, "INSERT INTO t (p) VALUES (DES_ENCRYPT('secret'))", "DES_ENCRYPT()"},
		{MySQL, "INSERT INTO t (g) VALUES (BINLOG_GTID_POS('mysql-bin.000001', 4))", "BINLOG_GTID_POS()"},
		{MySQL, "INSERT INTO t (g) VALUES (PS_CURRENT_THREAD_ID())", "PS_CURRENT_THREAD_ID()"},
		{SQLite, "INSERT INTO t (a) SELECT sqlite_offset(b) FROM u", "sqlite_offset()"},
		{both, "UPDATE t SET v = RANK() OVER (ORDER BY b)", ""},
		{both, "UPDATE t SET v = (SELECT COUNT(*) FROM u)", ""},
	})
	if _, err := CheckRead(MySQL, "SELECT GROUP_CONCAT(b), ROW_NUMBER() OVER () FROM u"); err != nil {
		t.Fatalf("read refused: %v", err)
	}
}
