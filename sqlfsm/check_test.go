package sqlfsm

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/oneha/oneha/sqlcheck"
	"github.com/oneha/oneha/sqlcheck/sqlchecktest"
)

func testSchema() sqlchecktest.Schema {
	return sqlchecktest.Schema{
		AutoInc: map[string]bool{"ai": true},
		Unique:  map[string]int{"t": 1, "two": 2, "ai": 1},
		Keys:    map[string][][]string{"t": {{"id"}}, "two": {{"id"}, {"a", "b"}}, "ai": {{"id"}}},
		Fail:    map[string]bool{"broken": true},
	}
}

func TestCheckEntry(t *testing.T) {
	ctx := context.Background()
	when := time.Date(2024, 5, 6, 7, 8, 9, 123456789, time.FixedZone("x", 3600))
	tests := []struct {
		name    string
		d       sqlcheck.Dialect
		stmts   []Statement
		ddl     bool
		want    error  // sentinel, nil for success
		message string // substring of the error
	}{
		{"one insert", sqlcheck.MySQL, []Statement{{SQL: "INSERT INTO t VALUES (?, ?)", Params: []any{1, "x"}}}, false, nil, ""},
		{"two statements", sqlcheck.SQLite, []Statement{
			{SQL: "INSERT INTO t VALUES (?)", Params: []any{int32(1)}},
			{SQL: "UPDATE t SET a = ? WHERE b = ?;", Params: []any{when, []byte("x")}},
		}, false, nil, ""},
		{"ddl alone", sqlcheck.MySQL, []Statement{{SQL: "CREATE TABLE t (a INT)"}}, true, nil, ""},
		{"empty entry", sqlcheck.MySQL, nil, false, ErrEmpty, "no statements"},
		{"empty sql", sqlcheck.MySQL, []Statement{{SQL: "  "}}, false, ErrEmpty, "statement 0"},
		{"ddl with dml", sqlcheck.MySQL, []Statement{
			{SQL: "INSERT INTO t VALUES (1)"},
			{SQL: "ALTER TABLE t ADD COLUMN c INT"},
		}, false, ErrUnsafe, "DDL must be alone in its transaction: statement 1"},
		{"ddl first", sqlcheck.SQLite, []Statement{
			{SQL: "DROP TABLE t"},
			{SQL: "INSERT INTO t VALUES (1)"},
		}, false, ErrUnsafe, "DDL must be alone in its transaction: statement 0"},
		{"second statement in one SQL", sqlcheck.MySQL, []Statement{{SQL: "INSERT INTO t VALUES (1); INSERT INTO t VALUES (2)"}}, false, ErrUnsafe, "multiple statements"},
		{"too few params", sqlcheck.MySQL, []Statement{
			{SQL: "INSERT INTO t VALUES (1)"},
			{SQL: "INSERT INTO t VALUES (?, ?)", Params: []any{1}},
		}, false, ErrBadParam, "statement 1 has 2 placeholders but 1 parameters"},
		{"too many params", sqlcheck.SQLite, []Statement{{SQL: "INSERT INTO t VALUES (1)", Params: []any{1}}}, false, ErrBadParam, "0 placeholders but 1"},
		{"bad param type", sqlcheck.MySQL, []Statement{{SQL: "INSERT INTO t VALUES (?)", Params: []any{struct{}{}}}}, false, ErrBadParam, "statement 0 parameter 0"},
		{"unsafe statement index", sqlcheck.MySQL, []Statement{
			{SQL: "INSERT INTO t VALUES (1)"},
			{SQL: "UPDATE t SET a = UUID()"},
		}, false, ErrUnsafe, "statement 1: unsafe statement: UUID()"},
		{"sqlite now parameter", sqlcheck.SQLite, []Statement{{SQL: "INSERT INTO t VALUES (datetime(?))", Params: []any{"NOW"}}}, false, ErrUnsafe, "'now' parameter"},
		{"sqlite now parameter without date function", sqlcheck.SQLite, []Statement{{SQL: "INSERT INTO t VALUES (?)", Params: []any{"now"}}}, false, nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ddl, err := CheckEntry(ctx, tt.d, tt.stmts, testSchema())
			if tt.want == nil {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				if ddl != tt.ddl {
					t.Fatalf("ddl = %v, want %v", ddl, tt.ddl)
				}
				return
			}
			if !errors.Is(err, tt.want) || !strings.Contains(err.Error(), tt.message) {
				t.Fatalf("err = %v, want %v containing %q", err, tt.want, tt.message)
			}
		})
	}
}

func TestCheckEntryNormalizesInPlace(t *testing.T) {
	when := time.Date(2024, 5, 6, 7, 8, 9, 123456789, time.FixedZone("x", 3600))
	stmts := []Statement{{SQL: "INSERT INTO t VALUES (?, ?, ?)", Params: []any{int8(3), float32(1.5), when}}}
	if _, err := CheckEntry(context.Background(), sqlcheck.MySQL, stmts, testSchema()); err != nil {
		t.Fatal(err)
	}
	p := stmts[0].Params
	if p[0] != int64(3) || p[1] != float64(1.5) || !p[2].(time.Time).Equal(when.Truncate(time.Microsecond)) || p[2].(time.Time).Location() != time.UTC {
		t.Fatalf("params not normalized: %#v", p)
	}
}
