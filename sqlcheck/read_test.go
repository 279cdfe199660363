package sqlcheck

import (
	"errors"
	"testing"
)

func TestCheckRead(t *testing.T) {
	tests := []struct {
		d         Dialect
		sql       string
		params    int
		notRO     bool   // want ErrNotReadOnly
		construct string // want *UnsafeError with this construct
	}{
		{both, "SELECT * FROM t WHERE a = ? AND b = ?", 2, false, ""},
		{both, "select 1;", 0, false, ""},
		{both, "WITH c AS (SELECT 1 AS a) SELECT a FROM c", 0, false, ""},
		{both, "VALUES (1), (2)", 0, false, ""},
		{both, "(SELECT 1) UNION (SELECT 2)", 0, false, ""},
		{both, "SELECT NOW(), RAND(), UUID() FROM t", 0, false, ""},
		{MySQL, "SELECT @@version, @x", 0, false, ""},
		{MySQL, "SHOW TABLES", 0, false, ""},
		{MySQL, "SHOW CREATE TABLE t", 0, false, ""},
		{MySQL, "DESCRIBE t", 0, false, ""},
		{MySQL, "DESC t a", 0, false, ""},
		{MySQL, "EXPLAIN SELECT * FROM t", 0, false, ""},
		{MySQL, "EXPLAIN FORMAT = JSON SELECT * FROM t WHERE a = ?", 1, false, ""},
		{MySQL, "TABLE t", 0, false, ""},
		{SQLite, "EXPLAIN QUERY PLAN SELECT * FROM t", 0, false, ""},
		{SQLite, "PRAGMA table_info(t)", 0, false, ""},
		{SQLite, "PRAGMA main.index_list('t')", 0, false, ""},
		{SQLite, "SELECT * FROM t WHERE a = :a OR b = :a", 1, false, ""},
		{both, "SELECT 'INSERT INTO t' AS s, `update` FROM t", 0, false, ""},
		{both, "SELECT * FROM t LIMIT 10", 0, false, ""},

		{both, "INSERT INTO t VALUES (1)", 0, true, ""},
		{both, "UPDATE t SET a = 1", 0, true, ""},
		{both, "DELETE FROM t", 0, true, ""},
		{both, "CREATE TABLE t (a INT)", 0, true, ""},
		{both, "WITH c AS (SELECT 1) DELETE FROM t", 0, true, ""},
		{MySQL, "EXPLAIN ANALYZE DELETE FROM t", 0, true, ""},
		{MySQL, "DESCRIBE DELETE FROM t", 0, true, ""},
		{SQLite, "EXPLAIN INSERT INTO t VALUES (1)", 0, true, ""},
		{MySQL, "SELECT a INTO @x FROM t", 0, true, ""},
		{MySQL, "SELECT @x := 1", 0, true, ""},
		{SQLite, "PRAGMA foreign_keys = OFF", 0, true, ""},
		{SQLite, "PRAGMA table_info = 1", 0, true, ""},
		{SQLite, "PRAGMA journal_mode", 0, true, ""},
		{SQLite, "ATTACH 'x' AS y", 0, true, ""},
		{both, "BEGIN", 0, true, ""},
		{MySQL, "SET @x = 1", 0, true, ""},
		{MySQL, "DO 1", 0, true, ""},

		{MySQL, "SELECT * FROM t INTO OUTFILE '/tmp/x'", 0, false, "INTO OUTFILE"},
		{MySQL, "SELECT * FROM t INTO DUMPFILE '/tmp/x'", 0, false, "INTO DUMPFILE"},
		{MySQL, "SELECT * FROM t FOR UPDATE", 0, false, "FOR UPDATE"},
		{MySQL, "SELECT * FROM t FOR SHARE", 0, false, "FOR SHARE"},
		{MySQL, "SELECT * FROM t LOCK IN SHARE MODE", 0, false, "LOCK IN SHARE MODE"},
		{both, "SELECT GET_LOCK('x', 10)", 0, false, "GET_LOCK()"},
		{both, "SELECT SLEEP(100)", 0, false, "SLEEP()"},
		{both, "SELECT LOAD_FILE('/etc/passwd')", 0, false, "LOAD_FILE()"},
		{MySQL, "SELECT NEXT VALUE FOR s", 0, false, "NEXT VALUE FOR"},
		{SQLite, "SELECT load_extension('x.so')", 0, false, "LOAD_EXTENSION()"},
		{both, "SELECT 1; SELECT 2", 0, false, "multiple statements"},
		{MySQL, "SELECT /*! SLEEP(1) */ 1", 0, false, "/*! executable comment */"},
	}
	for _, tt := range tests {
		for _, d := range dialects(tt.d) {
			t.Run(string(d)+"/"+tt.sql, func(t *testing.T) {
				n, err := CheckRead(d, tt.sql)
				switch {
				case tt.notRO:
					if !errors.Is(err, ErrNotReadOnly) {
						t.Fatalf("err = %v, want ErrNotReadOnly", err)
					}
				case tt.construct != "":
					var ue *UnsafeError
					if !errors.As(err, &ue) || !errors.Is(err, ErrUnsafe) || ue.Construct != tt.construct {
						t.Fatalf("err = %v, want unsafe %q", err, tt.construct)
					}
				default:
					if err != nil {
						t.Fatalf("refused: %v", err)
					}
					if n != tt.params {
						t.Fatalf("params = %d, want %d", n, tt.params)
					}
				}
			})
		}
	}
}
