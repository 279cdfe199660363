package sqlcheck

import (
	"context"
	"errors"
	"regexp"
	"strings"
	"testing"
	"time"
)

// rwCtx is what a log entry gives RewriteSQLite.
type rwCtx struct {
	Time         time.Time
	Seed1, Seed2 uint32
}

func rewrite(sql string, c rwCtx, stmtIndex int) (string, error) {
	return RewriteSQLite(sql, c.Time, c.Seed1, c.Seed2, stmtIndex)
}

func rewriteCtx() rwCtx {
	return rwCtx{Time: time.Date(2024, 2, 29, 23, 59, 58, 123456000, time.UTC), Seed1: 7, Seed2: 11}
}

func TestRewriteSQLiteLiterals(t *testing.T) {
	c := rewriteCtx()
	const now = "'2024-02-29 23:59:58.123'"
	tests := []struct {
		name, sql, want string
	}{
		{"current keywords", "INSERT INTO t VALUES (CURRENT_TIMESTAMP, current_date, Current_Time)",
			"INSERT INTO t VALUES ('2024-02-29 23:59:58', '2024-02-29', '23:59:58')"},
		{"now argument", "UPDATE t SET a = datetime('now', '+1 day'), b = julianday( 'NOW' )",
			"UPDATE t SET a = datetime(" + now + ", '+1 day'), b = julianday( " + now + " )"},
		{"all date functions", "INSERT INTO t VALUES (date('now'), time('now'), unixepoch('now', 'subsec'), timediff('now', x))",
			"INSERT INTO t VALUES (date(" + now + "), time(" + now + "), unixepoch(" + now + ", 'subsec'), timediff(" + now + ", x))"},
		{"strftime format untouched", "UPDATE t SET a = strftime('now', 'now')",
			"UPDATE t SET a = strftime('now', " + now + ")"},
		{"missing time value", "UPDATE t SET a = datetime(), b = strftime('%s'), c = date( )",
			"UPDATE t SET a = datetime(" + now + "), b = strftime('%s', " + now + "), c = date(" + now + " )"},
		{"parenthesized now", "UPDATE t SET a = date(('now'))", "UPDATE t SET a = date((" + now + "))"},
		{"other strings untouched", "INSERT INTO t VALUES ('now', 'CURRENT_TIMESTAMP', 'random()', upper('now'))",
			"INSERT INTO t VALUES ('now', 'CURRENT_TIMESTAMP', 'random()', upper('now'))"},
		{"comments untouched", "UPDATE t SET a = 1 /* CURRENT_TIMESTAMP random() */ -- datetime('now')",
			"UPDATE t SET a = 1 /* CURRENT_TIMESTAMP random() */ -- datetime('now')"},
		{"quoted identifiers untouched", `UPDATE t SET "now" = 1, [current_timestamp] = 2, a = datetime([now]), b = t.random`,
			`UPDATE t SET "now" = 1, [current_timestamp] = 2, a = datetime([now]), b = t.random`},
		{"ddl untouched", "CREATE TABLE t (a DEFAULT CURRENT_TIMESTAMP, b DEFAULT (random()))",
			"CREATE TABLE t (a DEFAULT CURRENT_TIMESTAMP, b DEFAULT (random()))"},
		{"nothing to do", "DELETE FROM t WHERE id = ?", "DELETE FROM t WHERE id = ?"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := rewrite(tt.sql, c, 0)
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Fatalf("got  %s\nwant %s", got, tt.want)
			}
			if _, err := Lex(SQLite, got); err != nil {
				t.Fatalf("rewritten SQL does not lex: %v", err)
			}
		})
	}
}

var (
	randomLit = regexp.MustCompile(`\((-?[0-9]+)\)|\(-9223372036854775807-1\)`)
	blobLit   = regexp.MustCompile(`X'([0-9a-f]*)'`)
)

func TestRewriteSQLiteRandom(t *testing.T) {
	c := rewriteCtx()
	sql := "INSERT INTO t VALUES (random(), random(), 5-random(), randomblob(16), randomblob(0), RANDOMBLOB(3))"
	got, err := rewrite(sql, c, 3)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(strings.ToLower(got), "random") {
		t.Fatalf("random call left in %s", got)
	}
	if strings.Contains(got, "--") {
		t.Fatalf("rewrite produced a comment: %s", got)
	}
	ints := randomLit.FindAllString(got, -1)
	if len(ints) != 3 || ints[0] == ints[1] {
		t.Fatalf("want 3 distinct random literals, got %q in %s", ints, got)
	}
	blobs := blobLit.FindAllStringSubmatch(got, -1)
	if len(blobs) != 3 || len(blobs[0][1]) != 32 || len(blobs[1][1]) != 2 || len(blobs[2][1]) != 6 {
		t.Fatalf("blobs = %q in %s", blobs, got)
	}
	toks, err := Lex(SQLite, got)
	if err != nil {
		t.Fatalf("rewritten SQL does not lex: %v", err)
	}
	for _, tk := range toks {
		if tk.Kind == TokBlob && len(tk.Value)%2 != 0 {
			t.Fatalf("odd blob %q", tk.Text)
		}
	}
	if _, err := CheckWrite(context.Background(), SQLite, got, testSchema()); err != nil {
		t.Fatalf("rewritten SQL refused: %v", err)
	}

	// Determinism: same inputs, same text; any input change, other values.
	again, _ := rewrite(sql, c, 3)
	if again != got {
		t.Fatalf("not deterministic:\n%s\n%s", got, again)
	}
	for name, variant := range map[string]func() (string, error){
		"seed1":     func() (string, error) { c2 := c; c2.Seed1++; return rewrite(sql, c2, 3) },
		"seed2":     func() (string, error) { c2 := c; c2.Seed2++; return rewrite(sql, c2, 3) },
		"statement": func() (string, error) { return rewrite(sql, c, 4) },
	} {
		other, err := variant()
		if err != nil {
			t.Fatal(err)
		}
		if other == got {
			t.Errorf("changing %s did not change the values", name)
		}
	}
	// Rewriting is idempotent: nothing left to bind.
	twice, err := rewrite(got, c, 3)
	if err != nil || twice != got {
		t.Fatalf("second rewrite changed the text: %v\n%s\n%s", err, got, twice)
	}
}

func TestRewriteSQLiteTimeIsUTC(t *testing.T) {
	c := rewriteCtx()
	c.Time = c.Time.In(time.FixedZone("plus2", 2*3600))
	got, err := rewrite("SELECT CURRENT_TIMESTAMP", c, 0)
	if err != nil || got != "SELECT '2024-02-29 23:59:58'" {
		t.Fatalf("got %q, %v", got, err)
	}
}

func TestRewriteSQLiteErrors(t *testing.T) {
	c := rewriteCtx()
	tests := []struct {
		sql  string
		want error
	}{
		{"UPDATE t SET a = randomblob(n)", ErrUnsafe},
		{"UPDATE t SET a = randomblob(99999999)", ErrUnsafe},
		{"UPDATE t SET a = 'x", ErrLex},
	}
	for _, tt := range tests {
		if _, err := rewrite(tt.sql, c, 0); !errors.Is(err, tt.want) {
			t.Errorf("RewriteSQLite(%q) = %v, want %v", tt.sql, err, tt.want)
		}
	}
}

func TestInt64Literal(t *testing.T) {
	for v, want := range map[int64]string{0: "(0)", -5: "(-5)", 9223372036854775807: "(9223372036854775807)", -9223372036854775808: "(-9223372036854775807-1)"} {
		if got := int64Literal(v); got != want {
			t.Errorf("int64Literal(%d) = %s, want %s", v, got, want)
		}
	}
}

func TestRewriteSQLiteQuotedFunctionNames(t *testing.T) {
	// SQLite calls random() for "random"() and [random]() too.
	got, err := rewrite(`UPDATE t SET a = "random"(), b = [RANDOMBLOB](2), c = "datetime"('now')`, rewriteCtx(), 0)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(strings.ToLower(got), "random") || strings.Contains(got, "'now'") {
		t.Fatalf("quoted calls not rewritten: %s", got)
	}
}
