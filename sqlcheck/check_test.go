package sqlcheck

import (
	"context"
	"errors"
	"testing"

	"github.com/oneha/oneha/sqlcheck/sqlchecktest"
)

var errSchema = sqlchecktest.ErrSchema

func testSchema() sqlchecktest.Schema {
	return sqlchecktest.Schema{
		AutoInc: map[string]bool{"ai": true},
		Unique:  map[string]int{"t": 1, "two": 2, "ai": 1, "nk": 1},
		// nk has UNIQUE (n) on a nullable column: no key for ordering.
		Keys: map[string][][]string{"t": {{"id"}}, "u": {{"id"}}, "two": {{"id"}, {"a", "b"}}, "ai": {{"id"}}},
		Fail: map[string]bool{"broken": true},
	}
}

// both runs a case in both dialects.
const both Dialect = ""

func dialects(d Dialect) []Dialect {
	if d == both {
		return []Dialect{MySQL, SQLite}
	}
	return []Dialect{d}
}

func TestCheckWriteRefused(t *testing.T) {
	tests := []struct {
		d         Dialect
		sql       string
		construct string
	}{
		// Functions, both dialects.
		{both, "INSERT INTO t (id) VALUES (UUID())", "UUID()"},
		{both, "insert into t (id) values (uuid ())", "UUID()"},
		{MySQL, "INSERT INTO t VALUES (`uuid`())", "UUID()"},
		{both, "INSERT INTO t VALUES (UUID_SHORT())", "UUID_SHORT()"},
		{both, "INSERT INTO t VALUES (SYS_GUID())", "SYS_GUID()"},
		{both, "UPDATE t SET a = SYSDATE()", "SYSDATE()"},
		{both, "UPDATE t SET a = USER()", "USER()"},
		{both, "UPDATE t SET a = CURRENT_USER()", "CURRENT_USER()"},
		{MySQL, "UPDATE t SET a = CURRENT_USER", "CURRENT_USER"},
		{MySQL, "UPDATE t SET a = current_role", "CURRENT_ROLE"},
		{both, "UPDATE t SET a = SESSION_USER()", "SESSION_USER()"},
		{both, "UPDATE t SET a = SYSTEM_USER()", "SYSTEM_USER()"},
		{both, "UPDATE t SET a = CURRENT_ROLE()", "CURRENT_ROLE()"},
		{both, "UPDATE t SET a = CONNECTION_ID()", "CONNECTION_ID()"},
		{both, "UPDATE t SET a = FOUND_ROWS()", "FOUND_ROWS()"},
		{both, "UPDATE t SET a = ROW_COUNT()", "ROW_COUNT()"},
		{both, "UPDATE t SET a = LOAD_FILE('/etc/passwd')", "LOAD_FILE()"},
		{both, "UPDATE t SET a = GET_LOCK('x', 1)", "GET_LOCK()"},
		{both, "UPDATE t SET a = RELEASE_LOCK('x')", "RELEASE_LOCK()"},
		{both, "UPDATE t SET a = RELEASE_ALL_LOCKS()", "RELEASE_ALL_LOCKS()"},
		{both, "UPDATE t SET a = IS_FREE_LOCK('x')", "IS_FREE_LOCK()"},
		{both, "UPDATE t SET a = IS_USED_LOCK('x')", "IS_USED_LOCK()"},
		{both, "UPDATE t SET a = SLEEP(1)", "SLEEP()"},
		{both, "UPDATE t SET a = MASTER_POS_WAIT('f', 4)", "MASTER_POS_WAIT()"},
		{both, "UPDATE t SET a = SOURCE_POS_WAIT('f', 4)", "SOURCE_POS_WAIT()"},
		{both, "UPDATE t SET a = MASTER_GTID_WAIT('0-1-1')", "MASTER_GTID_WAIT()"},
		{both, "UPDATE t SET a = BENCHMARK(10, MD5('x'))", "BENCHMARK()"},
		{both, "UPDATE t SET a = DATABASE()", "DATABASE()"},
		{both, "UPDATE t SET a = SCHEMA()", "SCHEMA()"},
		{both, "UPDATE t SET a = VERSION()", "VERSION()"},
		{both, "UPDATE t SET a = RANDOM_BYTES(16)", "RANDOM_BYTES()"},
		{both, "UPDATE t SET a = UUID_TO_BIN(UUID())", "UUID()"},
		{both, "UPDATE t SET a = NEXTVAL(s)", "NEXTVAL()"},
		{both, "UPDATE t SET a = LASTVAL(s)", "LASTVAL()"},
		{both, "UPDATE t SET a = SETVAL(s, 5)", "SETVAL()"},
		{MySQL, "INSERT INTO t VALUES (NEXT VALUE FOR s)", "NEXT VALUE FOR"},
		{MySQL, "INSERT INTO t VALUES (PREVIOUS VALUE FOR s)", "PREVIOUS VALUE FOR"},
		{both, "UPDATE t SET a = ſleep(1)", "SLEEP()"},
		{both, "UPDATE t SET a = otherdb.f(1)", "otherdb.f()"},
		{both, "UPDATE t SET a = 1 WHERE b IN (SELECT UUID() FROM u)", "UUID()"},
		// SQLite functions.
		{SQLite, "UPDATE t SET a = changes()", "changes()"},
		{SQLite, "UPDATE t SET a = total_changes()", "total_changes()"},
		{SQLite, "INSERT INTO t VALUES (last_insert_rowid())", "last_insert_rowid()"},
		{SQLite, "UPDATE t SET a = sqlite_version()", "sqlite_version()"},
		{SQLite, "UPDATE t SET a = sqlite_source_id()", "sqlite_source_id()"},
		{SQLite, "UPDATE t SET a = load_extension('x.so')", "load_extension()"},
		{SQLite, "UPDATE t SET a = randomblob(b)", "randomblob()"},
		{SQLite, "UPDATE t SET a = randomblob(?)", "randomblob()"},
		{SQLite, "UPDATE t SET a = randomblob(2000000)", "randomblob(2000000)"},
		{SQLite, "UPDATE t SET a = datetime('now', 'localtime')", "'localtime' modifier"},
		{SQLite, "UPDATE t SET a = datetime(b, 'UTC')", "'utc' modifier"},
		{SQLite, `UPDATE t SET a = datetime("now")`, `"now"`},
		// Variables.
		{both, "UPDATE t SET a = @@hostname", "@@hostname"},
		{MySQL, "UPDATE t SET a = @@session.server_id", "@@session.server_id"},
		{MySQL, "UPDATE t SET a = @x", "@x"},
		{MySQL, "INSERT INTO t SELECT @'y'", "@y"},
		// Leading statements.
		{both, "BEGIN", "BEGIN"},
		{MySQL, "START TRANSACTION", "START"},
		{both, "COMMIT", "COMMIT"},
		{both, "ROLLBACK", "ROLLBACK"},
		{both, "SAVEPOINT a", "SAVEPOINT"},
		{both, "RELEASE SAVEPOINT a", "RELEASE"},
		{SQLite, "END TRANSACTION", "END"},
		{MySQL, "LOCK TABLES t WRITE", "LOCK"},
		{MySQL, "UNLOCK TABLES", "UNLOCK"},
		{MySQL, "SET autocommit = 0", "SET"},
		{MySQL, "SET GLOBAL read_only = 1", "SET"},
		{MySQL, "SET @x = 1", "SET"},
		{MySQL, "XA START 'x'", "XA"},
		{MySQL, "FLUSH TABLES", "FLUSH"},
		{MySQL, "KILL 5", "KILL"},
		{MySQL, "SHUTDOWN", "SHUTDOWN"},
		{MySQL, "GRANT ALL ON *.* TO 'u'@'h'", "GRANT"},
		{MySQL, "REVOKE ALL ON *.* FROM u", "REVOKE"},
		{MySQL, "USE other", "USE"},
		{MySQL, "LOAD DATA INFILE '/tmp/x' INTO TABLE t", "LOAD"},
		{MySQL, "LOAD XML INFILE '/tmp/x' INTO TABLE t", "LOAD"},
		{MySQL, "HANDLER t OPEN", "HANDLER"},
		{MySQL, "DO SLEEP(1)", "DO"},
		{MySQL, "CALL p()", "CALL"},
		{MySQL, "PREPARE s FROM 'DELETE FROM t'", "PREPARE"},
		{MySQL, "EXECUTE s", "EXECUTE"},
		{MySQL, "DEALLOCATE PREPARE s", "DEALLOCATE"},
		{MySQL, "INSTALL PLUGIN x SONAME 'x.so'", "INSTALL"},
		{MySQL, "UNINSTALL PLUGIN x", "UNINSTALL"},
		{MySQL, "RESET MASTER", "RESET"},
		{MySQL, "PURGE BINARY LOGS TO 'x'", "PURGE"},
		{MySQL, "CHANGE MASTER TO MASTER_HOST='x'", "CHANGE"},
		{MySQL, "OPTIMIZE TABLE t", "OPTIMIZE"},
		{both, "ANALYZE TABLE t", "ANALYZE"},
		{MySQL, "REPAIR TABLE t", "REPAIR"},
		{MySQL, "CHECK TABLE t", "CHECK"},
		{MySQL, "CHECKSUM TABLE t", "CHECKSUM"},
		{MySQL, "CACHE INDEX t IN c", "CACHE"},
		{MySQL, "BINLOG 'x'", "BINLOG"},
		{MySQL, "HELP 'x'", "HELP"},
		{MySQL, "SHOW TABLES", "SHOW"},
		{both, "EXPLAIN SELECT 1", "EXPLAIN"},
		{MySQL, "DESCRIBE t", "DESCRIBE"},
		{both, "SELECT * FROM t", "SELECT"},
		{both, "(SELECT 1)", "SELECT"},
		{both, "WITH c AS (SELECT 1) SELECT * FROM c", "SELECT"},
		{both, "VALUES (1)", "VALUES"},
		{SQLite, "ATTACH 'x.db' AS x", "ATTACH"},
		{SQLite, "DETACH x", "DETACH"},
		{SQLite, "PRAGMA foreign_keys = OFF", "PRAGMA"},
		{SQLite, "VACUUM", "VACUUM"},
		{SQLite, "REINDEX", "REINDEX"},
		{both, "FROBNICATE t", "FROBNICATE"},
		// Objects that are not tables, indexes, views or triggers.
		{MySQL, "CREATE USER u", "CREATE USER"},
		{MySQL, "DROP USER u", "DROP USER"},
		{MySQL, "ALTER USER u IDENTIFIED BY 'x'", "ALTER USER"},
		{MySQL, "CREATE ROLE r", "CREATE ROLE"},
		{MySQL, "DROP ROLE r", "DROP ROLE"},
		{MySQL, "RENAME USER a TO b", "RENAME USER"},
		{MySQL, "CREATE EVENT e ON SCHEDULE EVERY 1 HOUR DO DELETE FROM t", "CREATE EVENT"},
		{MySQL, "ALTER EVENT e DISABLE", "ALTER EVENT"},
		{MySQL, "DROP EVENT e", "DROP EVENT"},
		{MySQL, "CREATE FUNCTION f() RETURNS INT RETURN 1", "CREATE FUNCTION"},
		{MySQL, "CREATE PROCEDURE p() SELECT 1", "CREATE PROCEDURE"},
		{MySQL, "DROP FUNCTION f", "DROP FUNCTION"},
		{MySQL, "DROP PROCEDURE p", "DROP PROCEDURE"},
		{MySQL, "CREATE DATABASE d", "CREATE DATABASE"},
		{MySQL, "DROP SCHEMA d", "DROP SCHEMA"},
		{MySQL, "CREATE SERVER s FOREIGN DATA WRAPPER mysql OPTIONS (HOST 'x')", "CREATE SERVER"},
		{MySQL, "CREATE TABLESPACE ts ADD DATAFILE 'x.ibd'", "CREATE TABLESPACE"},
		{MySQL, "CREATE SEQUENCE s", "CREATE SEQUENCE"},
		{MySQL, "CREATE TEMPORARY TABLE x (a INT)", "CREATE TEMPORARY TABLE"},
		{SQLite, "CREATE TEMP TABLE x (a INT)", "CREATE TEMPORARY TABLE"},
		{SQLite, "CREATE TEMP VIEW v AS SELECT 1", "CREATE TEMPORARY VIEW"},
		{MySQL, "DROP TEMPORARY TABLE x", "DROP TEMPORARY TABLE"},
		{MySQL, "CREATE DEFINER = CURRENT_USER VIEW v AS SELECT 1", "DEFINER"},
		{MySQL, "CREATE DEFINER='u'@'h' TRIGGER tr BEFORE INSERT ON t FOR EACH ROW SET NEW.a = 1", "DEFINER"},
		{MySQL, "ALTER IGNORE TABLE t ADD UNIQUE (a)", "ALTER IGNORE TABLE"},
		// DML rules.
		{both, "UPDATE t SET a = 1 LIMIT 1", "UPDATE ... LIMIT without ORDER BY"},
		{both, "UPDATE t SET a = 1 ORDER BY a LIMIT 10", "UPDATE ... LIMIT with ORDER BY not covering a unique key of t"},
		{both, "DELETE FROM t WHERE a = 1 LIMIT 1", "DELETE ... LIMIT without ORDER BY"},
		{both, "delete from t order by a limit ?", "DELETE ... LIMIT with ORDER BY not covering a unique key of t"},
		{MySQL, "UPDATE IGNORE t SET a = 1", "UPDATE IGNORE"},
		{SQLite, "UPDATE OR IGNORE t SET a = 1", "UPDATE OR IGNORE"},
		{SQLite, "UPDATE OR REPLACE t SET a = 1", "UPDATE OR REPLACE"},
		{MySQL, "INSERT IGNORE INTO t SELECT * FROM u", "INSERT IGNORE ... SELECT"},
		{SQLite, "INSERT OR IGNORE INTO t SELECT * FROM u", "INSERT OR IGNORE ... SELECT"},
		{both, "REPLACE INTO t SELECT * FROM u", "REPLACE ... SELECT"},
		{SQLite, "INSERT OR REPLACE INTO t SELECT * FROM u", "REPLACE ... SELECT"},
		{both, "INSERT INTO ai SELECT * FROM u", "INSERT ... SELECT"},
		{both, "INSERT INTO ai (a, b) SELECT a, b FROM u", "INSERT ... SELECT"},
		{both, "INSERT INTO ai (SELECT a FROM u)", "INSERT ... SELECT"},
		{both, "WITH c AS (SELECT 1) INSERT INTO ai SELECT * FROM c", "INSERT ... SELECT"},
		{MySQL, "INSERT INTO ai WITH c AS (SELECT 1) SELECT * FROM c", "INSERT ... SELECT"},
		{MySQL, "INSERT INTO ai TABLE u", "INSERT ... SELECT"},
		{MySQL, "INSERT INTO t SELECT * FROM u ON DUPLICATE KEY UPDATE a = 1", "INSERT ... SELECT ... ON DUPLICATE KEY UPDATE"},
		{SQLite, "INSERT INTO t SELECT * FROM u WHERE true ON CONFLICT (a) DO UPDATE SET b = 1", "INSERT ... SELECT ... ON CONFLICT"},
		{MySQL, "INSERT INTO two (a, b) VALUES (1, 2) ON DUPLICATE KEY UPDATE b = 3", "INSERT ... ON DUPLICATE KEY UPDATE"},
		{MySQL, "SELECT * FROM t FOR UPDATE SKIP LOCKED", "SELECT"},
		{MySQL, "INSERT INTO t SELECT * FROM u FOR UPDATE SKIP LOCKED", "SKIP LOCKED"},
		{MySQL, "INSERT INTO t SELECT * FROM u FOR UPDATE NOWAIT", "NOWAIT"},
		{MySQL, "INSERT INTO t SELECT * FROM u FOR UPDATE WAIT 5", "WAIT 5"},
		{MySQL, "ALTER TABLE t NOWAIT ADD COLUMN c INT", "NOWAIT"},
		{MySQL, "INSERT INTO t SELECT * FROM u INTO OUTFILE '/tmp/x'", "INTO OUTFILE"},
		{MySQL, "INSERT INTO t SELECT * FROM u INTO DUMPFILE '/tmp/x'", "INTO DUMPFILE"},
		{both, "UPDATE t SET a = (SELECT b FROM u LIMIT 1)", "SELECT ... LIMIT without ORDER BY"},
		{both, "INSERT INTO t SELECT a FROM u LIMIT 10", "INSERT ... SELECT ... LIMIT without ORDER BY"},
		{MySQL, "INSERT INTO t SELECT a FROM u ORDER BY a LIMIT 10", "INSERT ... SELECT ... LIMIT with ORDER BY not covering a unique key of u"},
		{both, "CREATE VIEW v AS SELECT a, NOW() FROM t LIMIT 5", "SELECT ... LIMIT without ORDER BY"},
		// Database-qualified names.
		{both, "INSERT INTO other.t VALUES (1)", "database-qualified name other.t"},
		{MySQL, "INSERT other.t VALUES (1)", "database-qualified name other.t"},
		{MySQL, "REPLACE INTO `other`.`t` VALUES (1)", "database-qualified name `other`.t"},
		{both, "UPDATE other.t SET a = 1", "database-qualified name other.t"},
		{both, "DELETE FROM other.t", "database-qualified name other.t"},
		{SQLite, "DELETE FROM temp.t", "database-qualified name temp.t"},
		{both, "CREATE TABLE other.t (a INT)", "database-qualified name other.t"},
		{both, "DROP TABLE t, other.u", "database-qualified name other.u"},
		{both, "ALTER TABLE other.t ADD COLUMN c INT", "database-qualified name other.t"},
		{both, "ALTER TABLE t RENAME TO other.u", "database-qualified name other.u"},
		{MySQL, "RENAME TABLE t TO other.t", "database-qualified name other.t"},
		{MySQL, "TRUNCATE TABLE other.t", "database-qualified name other.t"},
		{both, "CREATE INDEX i ON other.t (a)", "database-qualified name other.t"},
		{SQLite, "DROP INDEX main.i", "database-qualified name main.i"},
		{both, "INSERT INTO t SELECT * FROM other.u", "database-qualified name other.u"},
		{both, "UPDATE t JOIN other.u ON t.a = u.a SET t.b = 1", "database-qualified name other.u"},
		{both, "DELETE FROM t WHERE a IN (SELECT a FROM x, other.u)", "database-qualified name other.u"},
		{both, "UPDATE t SET a = other.u.b", "database-qualified name other.u"},
		{MySQL, "UPDATE t SET a = `other`.`u`.`b`", "database-qualified name `other`.`u`"},
		{both, "CREATE TABLE t (a INT REFERENCES other.u (id))", "database-qualified name other.u"},
		// DDL rules.
		{MySQL, "CREATE TABLE t (a INT) ENGINE=MyISAM", "ENGINE=MYISAM"},
		{MySQL, "CREATE TABLE t (a INT) ENGINE MEMORY", "ENGINE=MEMORY"},
		{MySQL, "CREATE TABLE t (a INT) DEFAULT CHARSET=utf8mb4, ENGINE = 'Aria'", "ENGINE=ARIA"},
		{MySQL, "ALTER TABLE t ENGINE=MyISAM", "ENGINE=MYISAM"},
		{MySQL, "CREATE TABLE t (a INT) PARTITION BY HASH (a) (PARTITION p0 ENGINE=MyISAM)", "ENGINE=MYISAM"},
		{MySQL, "CREATE TABLE t (a INT) TABLESPACE ts", "TABLESPACE"},
		{MySQL, "CREATE TABLE t (a INT) DATA DIRECTORY = '/x'", "DATA DIRECTORY"},
		{MySQL, "CREATE TABLE t (id CHAR(36) DEFAULT (UUID()))", "UUID()"},
		{both, "CREATE TABLE t AS SELECT * FROM u", "CREATE TABLE ... SELECT"},
		{MySQL, "CREATE TABLE t (id INT AUTO_INCREMENT PRIMARY KEY) SELECT a FROM u", "CREATE TABLE ... SELECT"},
		{SQLite, "CREATE TABLE t (a, ts DEFAULT CURRENT_TIMESTAMP)", "DEFAULT CURRENT_TIMESTAMP"},
		{SQLite, "CREATE TABLE t (a, d TEXT DEFAULT current_date)", "DEFAULT CURRENT_DATE"},
		{SQLite, "ALTER TABLE t ADD COLUMN c DEFAULT CURRENT_TIME", "DEFAULT CURRENT_TIME"},
		{SQLite, "CREATE TABLE t (a, ts DEFAULT (datetime('now')))", "datetime('now')"},
		{SQLite, "CREATE TABLE t (a, ts DEFAULT (strftime('%s')))", "strftime('now')"},
		{SQLite, "CREATE TABLE t (a, r DEFAULT (random()))", "random()"},
		{SQLite, "CREATE VIEW v AS SELECT julianday() AS j", "julianday('now')"},
		{SQLite, "CREATE TRIGGER tr AFTER INSERT ON t BEGIN UPDATE t SET ts = CURRENT_TIMESTAMP WHERE id = NEW.id; END", "CURRENT_TIMESTAMP"},
		{SQLite, "CREATE TRIGGER tr AFTER INSERT ON t BEGIN INSERT INTO log VALUES (randomblob(4)); END", "randomblob()"},
		{MySQL, "CREATE TRIGGER tr BEFORE INSERT ON t FOR EACH ROW SET NEW.id = UUID()", "UUID()"},
		{MySQL, "CREATE TRIGGER tr BEFORE INSERT ON t FOR EACH ROW CALL p()", "CALL in a trigger body"},
		{MySQL, "CREATE TRIGGER tr BEFORE INSERT ON t FOR EACH ROW BEGIN SET NEW.a = 1; CALL p(); END", "CALL in a trigger body"},
		{MySQL, "CREATE TRIGGER tr BEFORE INSERT ON t FOR EACH ROW BEGIN SET sql_mode = ''; END", "SET in a trigger body"},
		{MySQL, "CREATE TRIGGER tr BEFORE INSERT ON t FOR EACH ROW SET @x = 1", "@x"},
		// Multi-statement text.
		{both, "INSERT INTO t VALUES (1); DELETE FROM t", "multiple statements"},
		{both, "INSERT INTO t VALUES (1);;", "multiple statements"},
		{SQLite, "CREATE TRIGGER tr AFTER INSERT ON t BEGIN SELECT 1; END; DROP TABLE t", "multiple statements"},
		{MySQL, "CREATE TRIGGER tr BEFORE INSERT ON t FOR EACH ROW BEGIN IF NEW.a > 0 THEN SET NEW.b = 1; END IF; END; DROP TABLE t", "multiple statements"},
		{both, "WITH c AS (SELECT 1) CREATE TABLE x (a INT)", "WITH ... CREATE"},
	}
	ctx := context.Background()
	for _, tt := range tests {
		for _, d := range dialects(tt.d) {
			t.Run(string(d)+"/"+tt.sql, func(t *testing.T) {
				c, err := CheckWrite(ctx, d, tt.sql, testSchema())
				if err == nil {
					t.Fatalf("accepted as %+v, want refusal %q", c, tt.construct)
				}
				var ue *UnsafeError
				if !errors.Is(err, ErrUnsafe) || !errors.As(err, &ue) {
					t.Fatalf("err = %v, want *UnsafeError %q", err, tt.construct)
				}
				if ue.Construct != tt.construct {
					t.Fatalf("Construct = %q, want %q (err %v)", ue.Construct, tt.construct, err)
				}
				if ue.Reason == "" {
					t.Errorf("no reason given for %q", ue.Construct)
				}
			})
		}
	}
}

func TestCheckWriteAllowed(t *testing.T) {
	tests := []struct {
		d      Dialect
		sql    string
		class  Class
		table  string
		params int
	}{
		// Bound by session context / rewrite.
		{both, "INSERT INTO t (a, b) VALUES (NOW(), CURRENT_TIMESTAMP)", ClassDML, "t", 0},
		{MySQL, "INSERT INTO t VALUES (NOW(6), CURDATE(), CURTIME(), UNIX_TIMESTAMP(), UTC_TIMESTAMP(), LOCALTIME(), LOCALTIMESTAMP)", ClassDML, "t", 0},
		{MySQL, "UPDATE t SET a = RAND(), b = LAST_INSERT_ID() WHERE id = ?", ClassDML, "t", 1},
		{SQLite, "INSERT INTO t VALUES (datetime('now'), date('NOW'), time('now'), julianday('now'), strftime('%s', 'now'), unixepoch('now'))", ClassDML, "t", 0},
		{SQLite, "INSERT INTO t VALUES (datetime(), strftime('%Y'), random(), randomblob(16))", ClassDML, "t", 0},
		{SQLite, "INSERT INTO t VALUES (datetime(?, '+1 day'))", ClassDML, "t", 1},
		// Tricky non-matches.
		{both, "INSERT INTO t (user, uuid) VALUES ('UUID()', 'SLEEP(1)')", ClassDML, "t", 0},
		{both, "INSERT INTO user (a) VALUES (1)", ClassDML, "user", 0},
		{MySQL, "INSERT user (a) VALUES (1)", ClassDML, "user", 0},
		{both, "INSERT INTO database (version) VALUES (1)", ClassDML, "database", 0},
		{both, "UPDATE t SET a = 1 -- SLEEP(1)\n WHERE b = 2", ClassDML, "t", 0},
		{both, "UPDATE t SET a = 1 /* UUID() @@hostname LIMIT 1 */", ClassDML, "t", 0},
		{MySQL, "UPDATE t SET a = 1 # UUID()", ClassDML, "t", 0},
		{both, "UPDATE t SET user = 'x', t.uuid = 2 WHERE schema = 1", ClassDML, "t", 0},
		{MySQL, "UPDATE t SET `now` = 1", ClassDML, "t", 0},
		{SQLite, `UPDATE t SET "now" = 1, [now] = 2`, ClassDML, "t", 0},
		{SQLite, "UPDATE t SET a = datetime([now])", ClassDML, "t", 0},
		{SQLite, "UPDATE t SET a = 'now', b = strftime('now', ts)", ClassDML, "t", 0},
		{both, "UPDATE t SET a = 1 WHERE id IN (SELECT id FROM (SELECT id FROM t ORDER BY id LIMIT 5) x)", ClassDML, "t", 0},
		{both, "DELETE FROM t WHERE id IN (SELECT id FROM (SELECT id FROM u ORDER BY id LIMIT 5) AS x)", ClassDML, "t", 0},
		{both, "WITH uuid (a) AS (SELECT 1) UPDATE t SET a = (SELECT a FROM uuid)", ClassDML, "t", 0},
		{MySQL, "INSERT INTO t SELECT a FROM u ORDER BY id LIMIT 10", ClassDML, "t", 0},
		{both, "UPDATE t SET a = u.b FROM u WHERE t.id = u.id", ClassDML, "t", 0},
		{both, "INSERT INTO t (a) VALUES (1), (2) RETURNING id", ClassDML, "t", 0},
		{MySQL, "INSERT INTO t VALUES (1, 'a') ON DUPLICATE KEY UPDATE b = VALUES(b)", ClassDML, "t", 0},
		{SQLite, "INSERT INTO two (a, b) VALUES (1, 2) ON CONFLICT (a) DO UPDATE SET b = excluded.b", ClassDML, "two", 0},
		{both, "INSERT INTO t SELECT * FROM u", ClassDML, "t", 0},
		{both, "REPLACE INTO ai (id, a) VALUES (1, 2)", ClassDML, "ai", 0},
		{MySQL, "INSERT IGNORE INTO t VALUES (1)", ClassDML, "t", 0},
		{SQLite, "INSERT OR IGNORE INTO t VALUES (1)", ClassDML, "t", 0},
		{MySQL, "INSERT INTO t SELECT * FROM u FOR UPDATE", ClassDML, "t", 0},
		{MySQL, "UPDATE t1 JOIN t2 ON t1.id = t2.id SET t1.a = t2.b", ClassDML, "t1", 0},
		{MySQL, "DELETE t1 FROM t1 JOIN t2 ON t1.id = t2.id", ClassDML, "t1", 0},
		{MySQL, "DELETE LOW_PRIORITY QUICK FROM `My Table` WHERE a = ? AND b = ?;", ClassDML, "My Table", 2},
		{both, "UPDATE t SET a = ? WHERE b = 'it''s ?' AND c = ?", ClassDML, "t", 2},
		{MySQL, `UPDATE t SET a = 'it\'s ?' WHERE c = ?`, ClassDML, "t", 1},
		{SQLite, "UPDATE t SET a = ?3 WHERE b = ?1", ClassDML, "t", 3},
		{SQLite, "UPDATE t SET a = :x, b = @y, c = :x, d = ?", ClassDML, "t", 3},
		{both, "INSERT INTO t VALUES (1);", ClassDML, "t", 0},
		{MySQL, "INSERT INTO t VALUES (UUID_TO_BIN(?))", ClassDML, "t", 1},
		{both, "UPDATE t SET v = RANK() OVER (ORDER BY b)", ClassDML, "t", 0},
		// DDL.
		{MySQL, "CREATE TABLE t (id INT AUTO_INCREMENT PRIMARY KEY, ts TIMESTAMP DEFAULT CURRENT_TIMESTAMP ON UPDATE CURRENT_TIMESTAMP) ENGINE=InnoDB", ClassDDL, "t", 0},
		{MySQL, "CREATE TABLE IF NOT EXISTS `user` (`engine` VARCHAR(10), user VARCHAR(10), KEY uuid (user(8)), UNIQUE KEY database (engine)) ENGINE = innodb", ClassDDL, "user", 0},
		{MySQL, "CREATE TABLE t (engine VARCHAR(10), uuid CHAR(36), PRIMARY KEY (uuid(8)))", ClassDDL, "t", 0},
		{MySQL, "ALTER TABLE t ADD INDEX user (a), ADD COLUMN engine INT", ClassDDL, "t", 0},
		{MySQL, "CREATE INDEX i ON t (uuid(8), user)", ClassDDL, "t", 0},
		{both, "CREATE UNIQUE INDEX IF NOT EXISTS i ON t (a)", ClassDDL, "t", 0},
		{MySQL, "DROP INDEX i ON t", ClassDDL, "t", 0},
		{SQLite, "DROP INDEX IF EXISTS i", ClassDDL, "", 0},
		{both, "DROP TABLE IF EXISTS t, u", ClassDDL, "t", 0},
		{both, "CREATE VIEW v AS SELECT a, NOW() FROM t ORDER BY id LIMIT 5", ClassDDL, "v", 0},
		{MySQL, "CREATE OR REPLACE ALGORITHM = MERGE VIEW v AS SELECT 1", ClassDDL, "v", 0},
		{MySQL, "RENAME TABLE a TO b, c TO d", ClassDDL, "a", 0},
		{both, "ALTER TABLE t RENAME TO u", ClassDDL, "t", 0},
		{both, "ALTER TABLE t RENAME COLUMN a TO b", ClassDDL, "t", 0},
		{MySQL, "TRUNCATE TABLE t", ClassDDL, "t", 0},
		{MySQL, "TRUNCATE t", ClassDDL, "t", 0},
		{SQLite, "CREATE TABLE t (id INTEGER PRIMARY KEY, ts TEXT NOT NULL, u TEXT DEFAULT 'CURRENT_TIMESTAMP')", ClassDDL, "t", 0},
		{SQLite, "CREATE TABLE t (a INTEGER, b TEXT) STRICT, WITHOUT ROWID", ClassDDL, "t", 0},
		{SQLite, "CREATE VIRTUAL TABLE ft USING fts5(body)", ClassDDL, "ft", 0},
		{SQLite, "CREATE TRIGGER tr AFTER UPDATE OF a ON t BEGIN UPDATE u SET n = CASE WHEN NEW.a > 0 THEN 1 ELSE 0 END; INSERT INTO log VALUES (NEW.id); END;", ClassDDL, "t", 0},
		{SQLite, "DROP TRIGGER IF EXISTS tr", ClassDDL, "", 0},
		{MySQL, "CREATE TRIGGER tr BEFORE INSERT ON t FOR EACH ROW SET NEW.ts = NOW()", ClassDDL, "t", 0},
		{MySQL, "CREATE TRIGGER tr BEFORE UPDATE ON t FOR EACH ROW BEGIN DECLARE n INT; SET n = 1; IF NEW.a > 0 THEN SET NEW.b = CASE WHEN n > 0 THEN 1 ELSE 2 END; END IF; END", ClassDDL, "t", 0},
		{MySQL, "CREATE TABLE t (a INT) ENGINE=InnoDB PARTITION BY HASH (a) PARTITIONS 4", ClassDDL, "t", 0},
		{MySQL, "CREATE TABLE t LIKE u", ClassDDL, "t", 0},
	}
	ctx := context.Background()
	for _, tt := range tests {
		for _, d := range dialects(tt.d) {
			t.Run(string(d)+"/"+tt.sql, func(t *testing.T) {
				c, err := CheckWrite(ctx, d, tt.sql, testSchema())
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				want := Checked{Class: tt.class, Table: tt.table, Params: tt.params}
				c.DateFuncs = false // TestCheckWriteDateFuncs checks it
				if c != want {
					t.Fatalf("got %+v, want %+v", c, want)
				}
			})
		}
	}
}

func TestCheckWriteOtherErrors(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name string
		d    Dialect
		sql  string
		want error
	}{
		{"empty", MySQL, "", ErrEmpty},
		{"only comment", SQLite, "/* nothing */", ErrEmpty},
		{"only semicolon", MySQL, ";", ErrEmpty},
		{"unterminated", MySQL, "INSERT INTO t VALUES ('x)", ErrLex},
		{"unbalanced", SQLite, "INSERT INTO t VALUES ((1)", ErrLex},
		{"unbalanced close", SQLite, "INSERT INTO t VALUES (1))", ErrLex},
		{"starts with a literal", MySQL, "'x'", ErrLex},
		{"schema failure", MySQL, "INSERT INTO broken SELECT 1", errSchema},
		{"schema failure odku", MySQL, "INSERT INTO broken VALUES (1) ON DUPLICATE KEY UPDATE a = 1", errSchema},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := CheckWrite(ctx, tt.d, tt.sql, testSchema())
			if !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
		})
	}
	t.Run("nil schema refuses what needs it", func(t *testing.T) {
		_, err := CheckWrite(ctx, MySQL, "INSERT INTO t SELECT 1", nil)
		if !errors.Is(err, ErrUnsafe) {
			t.Fatalf("err = %v, want ErrUnsafe", err)
		}
		if _, err := CheckWrite(ctx, MySQL, "INSERT INTO t VALUES (1)", nil); err != nil {
			t.Fatalf("plain insert with nil schema: %v", err)
		}
	})
	t.Run("cancelled context", func(t *testing.T) {
		cctx, cancel := context.WithCancel(ctx)
		cancel()
		if _, err := CheckWrite(cctx, MySQL, "INSERT INTO t VALUES (1)", nil); !errors.Is(err, context.Canceled) {
			t.Fatalf("err = %v", err)
		}
	})
}

func TestClassString(t *testing.T) {
	for c, want := range map[Class]string{ClassRead: "read", ClassDML: "DML", ClassDDL: "DDL", Class(9): "Class(9)"} {
		if c.String() != want {
			t.Errorf("%d.String() = %q, want %q", c, c.String(), want)
		}
	}
}

// TestCheckWriteDateFuncs: Checked.DateFuncs reports SQLite date and time
// function calls, which make a 'now' parameter read the server clock.
func TestCheckWriteDateFuncs(t *testing.T) {
	tests := []struct {
		d    Dialect
		sql  string
		want bool
	}{
		{SQLite, "INSERT INTO t VALUES (datetime(?))", true},
		{SQLite, "UPDATE t SET a = strftime('%s', ?)", true},
		{SQLite, "INSERT INTO t VALUES (?)", false},
		{SQLite, "UPDATE t SET datetime = ?", false},
		{MySQL, "INSERT INTO t VALUES (DATE(?))", false},
	}
	for _, tt := range tests {
		c, err := CheckWrite(context.Background(), tt.d, tt.sql, testSchema())
		if err != nil {
			t.Fatalf("%s: refused: %v", tt.sql, err)
		}
		if c.DateFuncs != tt.want {
			t.Errorf("%s: DateFuncs = %v, want %v", tt.sql, c.DateFuncs, tt.want)
		}
	}
}
