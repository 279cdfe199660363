package backup_test

import (
	"database/sql"
	"math"
	"testing"

	"github.com/oneha/oneha/sqlcheck"
)

// fixture is a schema with awkward values for one dialect.
type fixture struct {
	schema []string
	// inserts run with bound parameters (binary-exact values).
	inserts []stmtArgs
	// compare are queries whose results must be identical after a round trip.
	compare []string
	// exact are queries that must return 1 on the loaded copy (bound floats
	// compared for exact equality, counters, ...).
	exact []stmtArgs
}

type stmtArgs struct {
	query string
	args  []any
}

func fixtureFor(d sqlcheck.Dialect) fixture {
	if d == sqlcheck.MySQL {
		return mysqlFixture()
	}
	return sqliteFixture()
}

const awkwardText = "quotes ' \" ` back\\slash \\' \\\\ nl\n cr\r tab\t ctrl-z\x1a pct% under_ semi; -- not a comment /* nor this */ # nor this"

func mysqlFixture() fixture {
	return fixture{
		schema: []string{
			"CREATE TABLE parent (id BIGINT NOT NULL, code VARCHAR(20) NOT NULL, PRIMARY KEY (id), UNIQUE KEY uq_code (code)) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4",
			"CREATE TABLE awkward (a INT NOT NULL, b VARCHAR(10) NOT NULL, s TEXT NULL, bin VARBINARY(64) NULL, bl BLOB NULL, " +
				"big BIGINT NULL, ubig BIGINT UNSIGNED NULL, dcm DECIMAL(30,10) NULL, f FLOAT NULL, d DOUBLE NULL, " +
				"dt DATE NULL, dtm DATETIME(6) NULL, tm TIME NULL, ts TIMESTAMP(6) NULL, j JSON NULL, bits BIT(10) NULL, " +
				"parent_id BIGINT NULL, e ENUM('x','y') NULL, gen INT AS (a * 2) VIRTUAL, " +
				"PRIMARY KEY (a, b), KEY k_big (big), UNIQUE KEY uq_dcm (dcm), " +
				"CONSTRAINT fk_parent FOREIGN KEY (parent_id) REFERENCES parent (id)) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4",
			"CREATE TABLE nopk (x INT, y VARCHAR(10) COLLATE utf8mb4_general_ci)",
			"CREATE TABLE autoinc (id INT AUTO_INCREMENT PRIMARY KEY, v INT)",
			"CREATE TABLE `we``ird tab` (`co``l` INT PRIMARY KEY)",
			"CREATE TABLE " + lastTable + " (applied_index BIGINT NOT NULL, applied_term BIGINT NOT NULL)",
			"CREATE VIEW v_awk AS SELECT a, b, s FROM awkward WHERE a > 0",
			"CREATE VIEW a_on_view AS SELECT a FROM v_awk", // sorts before its dependency
		},
		inserts: []stmtArgs{
			{"INSERT INTO parent VALUES (?, ?)", []any{1, "one"}},
			{"INSERT INTO parent VALUES (?, ?)", []any{2, "two"}},
			{"INSERT INTO awkward (a, b) VALUES (?, ?)", []any{1, "nulls"}},
			{"INSERT INTO awkward (a,b,s,bin,bl,big,ubig,dcm,f,d,dt,dtm,tm,ts,j,bits,parent_id,e) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)", []any{
				2, "max", awkwardText, []byte{0, 1, 0, '\'', '\\', 0xff}, []byte{},
				int64(math.MaxInt64), uint64(math.MaxUint64), "-12345678901234567890.0123456789",
				float32(math.MaxFloat32), math.SmallestNonzeroFloat64,
				"2024-02-29", "2024-02-29 23:59:59.999999", "-838:59:59", "2038-01-19 03:14:07.999999",
				`{"k": "v\"q", "n": [1, 2.50, null], "u": "\u00fc"}`, []byte{0x03, 0xff}, 1, "y"}},
			{"INSERT INTO awkward (a,b,s,bin,bl,big,ubig,dcm,f,d,dt,dtm,tm,ts,j,bits,parent_id,e) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)", []any{
				-3, "ü😀", "unicode ü 😀 中文", []byte{}, []byte("\x00\x00"),
				int64(math.MinInt64), uint64(0), "0.0000000001",
				float32(16777216), 0.1,
				"1000-01-01", "1000-01-01 00:00:00.000001", "00:00:00", "1970-01-01 00:00:01.000000",
				`[]`, []byte{0x00, 0x00}, 2, "x"}},
			{"INSERT INTO awkward (a,b,s,bin,f,d) VALUES (?,?,?,?,?,?)", []any{4, "empty", "", []byte{}, float32(0.1), -1.7976931348623157e308}},
			{"INSERT INTO awkward (a,b,s) VALUES (?,?,?)", []any{5, "nul", nil}},
			{"INSERT INTO nopk VALUES (1, 'a'), (1, 'A'), (1, 'a'), (NULL, NULL), (2, '')", nil},
			{"INSERT INTO autoinc (v) VALUES (1), (2), (3)", nil},
			{"DELETE FROM autoinc WHERE id = 3", nil},
			{"INSERT INTO `we``ird tab` VALUES (7)", nil},
			{"INSERT INTO " + lastTable + " VALUES (42, 7)", nil},
		},
		compare: []string{
			"SELECT * FROM parent ORDER BY id",
			"SELECT a, b, s, bin, bl, big, ubig, dcm, CAST(f AS DOUBLE), d, dt, dtm, tm, ts, j, bits, parent_id, e, gen, HEX(s), HEX(bl) FROM awkward ORDER BY a, b",
			"SELECT x, y, HEX(y) FROM nopk ORDER BY x, HEX(y)",
			"SELECT * FROM autoinc ORDER BY id",
			"SELECT * FROM v_awk ORDER BY a",
			"SELECT * FROM a_on_view ORDER BY a",
			"SELECT * FROM `we``ird tab`",
			"SELECT * FROM " + lastTable,
		},
		exact: []stmtArgs{
			{"SELECT COUNT(*) FROM awkward WHERE a = 2 AND f = ? AND d = ? AND ubig = ? AND big = ?", []any{float64(float32(math.MaxFloat32)), math.SmallestNonzeroFloat64, uint64(math.MaxUint64), int64(math.MaxInt64)}},
			{"SELECT COUNT(*) FROM awkward WHERE a = -3 AND f = ? AND d = ? AND big = ?", []any{float64(16777216), 0.1, int64(math.MinInt64)}},
			{"SELECT COUNT(*) FROM awkward WHERE a = 4 AND f = ? AND s = '' AND bin = '' AND bl IS NULL", []any{float64(float32(0.1))}},
			{"SELECT COUNT(*) FROM awkward WHERE a = 2 AND s = ? AND bin = ? AND bl = ''", []any{awkwardText, []byte{0, 1, 0, '\'', '\\', 0xff}}},
			{"SELECT COUNT(*) FROM awkward WHERE a = 5 AND s IS NULL", nil},
			// The AUTO_INCREMENT counter survives: the next id is 4, not 3.
			{"SELECT AUTO_INCREMENT = 4 FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'autoinc'", nil},
			{"SELECT COUNT(*) FROM information_schema.REFERENTIAL_CONSTRAINTS WHERE CONSTRAINT_SCHEMA = DATABASE() AND CONSTRAINT_NAME = 'fk_parent'", nil},
			{"SELECT COUNT(*) FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = DATABASE() AND INDEX_NAME = 'uq_dcm' AND NON_UNIQUE = 0", nil},
		},
	}
}

func sqliteFixture() fixture {
	return fixture{
		schema: []string{
			"CREATE TABLE parent (id INTEGER PRIMARY KEY, code TEXT NOT NULL UNIQUE)",
			"CREATE TABLE awkward (a INTEGER NOT NULL, b TEXT NOT NULL, s TEXT, bl BLOB, big INTEGER, r REAL, anyv, " +
				"dt DATETIME, n NUMERIC, parent_id INTEGER REFERENCES parent(id), -- a comment\n" +
				"g INTEGER GENERATED ALWAYS AS (a * 2) VIRTUAL, PRIMARY KEY (a, b))",
			"CREATE INDEX k_big ON awkward (big)",
			"CREATE UNIQUE INDEX uq_s ON awkward (s) WHERE s IS NOT NULL AND s <> ''",
			"CREATE TABLE nopk (x, y TEXT COLLATE NOCASE)",
			"CREATE TABLE autoinc (id INTEGER PRIMARY KEY AUTOINCREMENT, v)",
			"CREATE TABLE wr (k TEXT PRIMARY KEY, v) WITHOUT ROWID",
			`CREATE TABLE "we""ird tab" ("co""l" INTEGER)`,
			"CREATE TABLE " + lastTable + " (applied_index INTEGER NOT NULL, applied_term INTEGER NOT NULL)",
			"CREATE VIEW v_awk AS SELECT a, b, s FROM awkward WHERE a > 0",
			"CREATE TRIGGER trg AFTER INSERT ON nopk BEGIN UPDATE parent SET code = code || '' WHERE id = CASE WHEN NEW.x > 0 THEN 1 ELSE 2 END; SELECT 1; END",
		},
		inserts: []stmtArgs{
			{"INSERT INTO parent VALUES (?, ?)", []any{1, "one"}},
			{"INSERT INTO parent VALUES (?, ?)", []any{2, "two"}},
			{"INSERT INTO awkward (a, b) VALUES (?, ?)", []any{1, "nulls"}},
			{"INSERT INTO awkward (a,b,s,bl,big,r,anyv,dt,n,parent_id) VALUES (?,?,?,?,?,?,?,?,?,?)", []any{
				2, "max", awkwardText, []byte{0, 1, 0, '\'', '\\', 0xff}, int64(math.MaxInt64), math.MaxFloat64, 1.0,
				"2024-01-02 03:04:05.123456789", "12345678901234567890.123", 1}},
			{"INSERT INTO awkward (a,b,s,bl,big,r,anyv,dt,n,parent_id) VALUES (?,?,?,?,?,?,?,?,?,?)", []any{
				-3, "ü😀", "unicode ü 😀 中文", []byte{}, int64(math.MinInt64), 0.1, "1", "not a date", 3.0, 2}},
			{"INSERT INTO awkward (a,b,s,bl,r,anyv) VALUES (4, 'special', CAST(X'610062ff' AS TEXT), X'', 9e999, X'00')", nil},
			{"INSERT INTO awkward (a,b,s,r,anyv) VALUES (5, 'neg', '', -9e999, -0.0)", nil},
			{"INSERT INTO awkward (a,b,r,anyv) VALUES (6, 'tiny', ?, ?)", []any{math.SmallestNonzeroFloat64, 1e21}},
			{"INSERT INTO nopk VALUES (1, 'a'), (1, 'A'), (1, 'a'), (NULL, NULL), (2.5, X'01')", nil},
			{"INSERT INTO autoinc (v) VALUES (1), (2), (3)", nil},
			{"DELETE FROM autoinc WHERE id = 3", nil},
			{"INSERT INTO wr VALUES ('b', 2), ('a', 1)", nil},
			{`INSERT INTO "we""ird tab" VALUES (7)`, nil},
			{"DELETE FROM awkward WHERE a = 1", nil}, // a rowid gap
			{"INSERT INTO awkward (a, b) VALUES (1, 'nulls')", nil},
			{"INSERT INTO " + lastTable + " VALUES (42, 7)", nil},
		},
		compare: []string{
			"SELECT * FROM parent ORDER BY id",
			"SELECT rowid, a, b, typeof(s), CAST(s AS BLOB), bl, big, r, typeof(anyv), anyv, typeof(dt), CAST(dt AS BLOB), typeof(n), n, parent_id, g FROM awkward ORDER BY a, b",
			"SELECT rowid, typeof(x), x, typeof(y), CAST(y AS BLOB) FROM nopk ORDER BY rowid",
			"SELECT * FROM autoinc ORDER BY id",
			"SELECT * FROM sqlite_sequence ORDER BY name",
			"SELECT * FROM wr",
			"SELECT * FROM v_awk ORDER BY a",
			`SELECT * FROM "we""ird tab"`,
			"SELECT * FROM " + lastTable,
			"SELECT type, name, tbl_name, sql FROM sqlite_master ORDER BY name",
		},
		exact: []stmtArgs{
			{"SELECT COUNT(*) FROM awkward WHERE a = 2 AND r = ? AND s = ? AND bl = ? AND typeof(anyv) = 'real'", []any{math.MaxFloat64, awkwardText, []byte{0, 1, 0, '\'', '\\', 0xff}}},
			{"SELECT COUNT(*) FROM awkward WHERE a = 6 AND r = ? AND anyv = ?", []any{math.SmallestNonzeroFloat64, 1e21}},
			{"SELECT COUNT(*) FROM awkward WHERE a = 4 AND s = CAST(X'610062ff' AS TEXT) AND typeof(s) = 'text' AND typeof(anyv) = 'blob' AND r > 1e308", nil},
			{"SELECT COUNT(*) FROM awkward WHERE a = 5 AND s = '' AND typeof(s) = 'text' AND r < -1e308", nil},
			{"SELECT COUNT(*) FROM awkward WHERE a = -3 AND big = -9223372036854775808 AND typeof(big) = 'integer' AND typeof(bl) = 'blob' AND length(bl) = 0", nil},
			{"SELECT COUNT(*) FROM sqlite_master WHERE name = 'trg'", nil},
		},
	}
}

// populate creates the fixture in db.
func populate(t testing.TB, db *sql.DB, f fixture) {
	t.Helper()
	execAll(t, db, f.schema...)
	for _, s := range f.inserts {
		if _, err := db.ExecContext(ctxFor(t), s.query, s.args...); err != nil {
			t.Fatalf("%s: %v", s.query, err)
		}
	}
}

// assertSame checks that dst holds what src holds.
func assertSame(t *testing.T, d sqlcheck.Dialect, f fixture, src, dst *sql.DB) {
	t.Helper()
	if a, b := checksum(t, src, d), checksum(t, dst, d); a != b {
		t.Errorf("checksum differs: source %s, copy %s", a, b)
	}
	for _, q := range f.compare {
		a, b := rowsOf(t, src, q), rowsOf(t, dst, q)
		if len(a) != len(b) {
			t.Errorf("%s: %d rows, copy has %d", q, len(a), len(b))
			continue
		}
		for i := range a {
			if a[i] != b[i] {
				t.Errorf("%s row %d:\n source %s\n copy   %s", q, i, a[i], b[i])
			}
		}
	}
	for _, e := range f.exact {
		var n int
		if err := dst.QueryRowContext(ctxFor(t), e.query, e.args...).Scan(&n); err != nil {
			t.Errorf("%s: %v", e.query, err)
		} else if n != 1 {
			t.Errorf("%s = %d, want 1", e.query, n)
		}
	}
}
