package sqlfsm_test

import (
	"database/sql"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/raft"

	"github.com/oneha/oneha/internal/harness"
	"github.com/oneha/oneha/sqlcheck"
	"github.com/oneha/oneha/sqlfsm"
)

// TestInlinedParamsEqualBoundParams: on MySQL the FSM runs entries with their
// parameters inlined as literals. Every awkward value must land exactly as
// the server stores it when bound by a server-side prepared statement.
func TestInlinedParamsEqualBoundParams(t *testing.T) {
	m := harness.SharedMariaDB(t)
	dsn := m.CreateDatabase(t, "")
	local := harness.Local{Dialect: sqlcheck.MySQL}
	var err error
	if local.DB, err = sqlfsm.OpenMySQL(dsn, 4); err != nil {
		t.Fatal(err)
	}
	defer local.DB.Close()
	if local.ApplyDB, err = sqlfsm.OpenMySQLApply(dsn); err != nil {
		t.Fatal(err)
	}
	defer local.ApplyDB.Close()
	// Bound: the plain DSN, no client-side interpolation.
	bound, err := sql.Open("mysql", m.DSN(strings.TrimPrefix(dsn[strings.LastIndex(dsn, "/"):], "/"))+"?charset=utf8mb4&collation=utf8mb4_general_ci")
	if err != nil {
		t.Fatal(err)
	}
	defer bound.Close()

	f := newFSM(t, local, nil)
	b := newLogs(t)
	const cols = "s, bl, i, fl, ts, bo"
	f.ApplyBatch([]*raft.Log{b.ddl("CREATE TABLE v (id INT PRIMARY KEY, s TEXT, bl BLOB, i BIGINT, fl DOUBLE, ts DATETIME(6), bo TINYINT) DEFAULT CHARSET=utf8mb4")})
	allBytes := make([]byte, 256)
	for i := range allBytes {
		allBytes[i] = byte(i)
	}
	cases := []struct {
		name string
		args []any
	}{
		{"quotes and escapes", []any{`it's "q" \ \\ \' \n` + "\n\r\t\x00\x1a end", []byte("x'y\\"), int64(0), 0.1, time.Date(2026, 1, 2, 3, 4, 5, 6000, time.UTC), true}},
		{"question marks", []any{"? ?? '?'", []byte("?"), int64(-1), -0.0, time.Date(1970, 1, 1, 0, 0, 1, 0, time.UTC), false}},
		{"extremes", []any{strings.Repeat("ü€😀", 100), allBytes, int64(math.MinInt64), math.MaxFloat64, time.Date(9999, 12, 31, 23, 59, 59, 999999000, time.UTC), true}},
		{"small numbers", []any{"", []byte{}, int64(math.MaxInt64), 5e-324, time.Date(2000, 2, 29, 12, 0, 0, 0, time.UTC), false}},
		{"nulls", []any{nil, nil, nil, nil, nil, nil}},
	}
	for i, tc := range cases {
		id := int64(2*i + 1)
		if _, err := bound.Exec("INSERT INTO v (id, "+cols+") VALUES (?, ?, ?, ?, ?, ?, ?)", append([]any{id}, tc.args...)...); err != nil {
			t.Fatalf("%s: bound insert: %v", tc.name, err)
		}
		params := append([]any{id + 1}, tc.args...)
		for j, p := range params {
			if params[j], err = sqlfsm.Normalize(p); err != nil {
				t.Fatal(err)
			}
		}
		res := results(t, f.ApplyBatch([]*raft.Log{b.sql("INSERT INTO v (id, "+cols+") VALUES (?, ?, ?, ?, ?, ?, ?)", params...)}))
		if res[0] == nil || res[0].Err != nil {
			t.Fatalf("%s: inlined insert: %+v", tc.name, res[0])
		}
		var same [6]bool
		err := local.DB.QueryRow(`SELECT a.s <=> b.s AND HEX(a.s) <=> HEX(b.s), a.bl <=> b.bl, a.i <=> b.i, a.fl <=> b.fl, a.ts <=> b.ts, a.bo <=> b.bo
FROM v a JOIN v b ON b.id = a.id + 1 WHERE a.id = ?`, id).Scan(&same[0], &same[1], &same[2], &same[3], &same[4], &same[5])
		if err != nil {
			t.Fatal(err)
		}
		for c, ok := range same {
			if !ok {
				t.Errorf("%s: column %s differs between inlined and bound", tc.name, strings.Split(cols, ", ")[c])
			}
		}
	}
}
