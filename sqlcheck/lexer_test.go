package sqlcheck

import (
	"errors"
	"strings"
	"testing"
)

// tk is a compact expected token: kind and value.
type tk struct {
	k TokenKind
	v string
}

func TestLexTokens(t *testing.T) {
	tests := []struct {
		name string
		d    Dialect
		sql  string
		want []tk
	}{
		{"idents upper-cased", MySQL, "select a_1, $x FROM t", []tk{
			{TokIdent, "SELECT"}, {TokIdent, "A_1"}, {TokPunct, ","}, {TokIdent, "$X"}, {TokIdent, "FROM"}, {TokIdent, "T"}}},
		{"mysql single-quoted escapes", MySQL, `'a\'b''c\n\\'`, []tk{{TokString, "a'b'c\n\\"}}},
		{"mysql double-quoted string", MySQL, `"x""y\"z"`, []tk{{TokString, `x"y"z`}}},
		{"mysql like escapes kept", MySQL, `'\%\_'`, []tk{{TokString, `\%\_`}}},
		{"mysql backtick ident", MySQL, "`a``b`", []tk{{TokQuotedIdent, "a`b"}}},
		{"mysql N string", MySQL, "N'x'", []tk{{TokString, "x"}}},
		{"mysql hex and bit literals", MySQL, "X'0aF' 0x1F b'01' 0b10", []tk{
			{TokBlob, "0aF"}, {TokBlob, "1F"}, {TokBlob, "01"}, {TokBlob, "10"}}},
		{"mysql digit-leading ident", MySQL, "1abc 0xZZ", []tk{{TokIdent, "1ABC"}, {TokIdent, "0XZZ"}}},
		{"numbers", MySQL, "1 1.5 .5 1e10 1E-3 2.", []tk{
			{TokNumber, "1"}, {TokNumber, "1.5"}, {TokNumber, ".5"}, {TokNumber, "1e10"}, {TokNumber, "1E-3"}, {TokNumber, "2."}}},
		{"mysql t.1col", MySQL, "t.1c", []tk{{TokIdent, "T"}, {TokPunct, "."}, {TokIdent, "1C"}}},
		{"mysql comments", MySQL, "a -- c\nb # c\nc /* x */ d --\ne", []tk{
			{TokIdent, "A"}, {TokIdent, "B"}, {TokIdent, "C"}, {TokIdent, "D"}, {TokIdent, "E"}}},
		{"mysql double dash without space is minus minus", MySQL, "1--1", []tk{
			{TokNumber, "1"}, {TokPunct, "-"}, {TokPunct, "-"}, {TokNumber, "1"}}},
		{"mysql optimizer hint is a comment", MySQL, "SELECT /*+ BKA(t) */ 1", []tk{{TokIdent, "SELECT"}, {TokNumber, "1"}}},
		{"mysql params and vars", MySQL, "? @a @'b c' @`d` @@hostname @@SESSION.sql_mode", []tk{
			{TokParam, "?"}, {TokUserVar, "a"}, {TokUserVar, "b c"}, {TokUserVar, "d"},
			{TokSysVar, "hostname"}, {TokSysVar, "session.sql_mode"}}},
		{"operators", MySQL, "a<=>b<=c>=d<>e!=f||g:=h->>'$'->i;", []tk{
			{TokIdent, "A"}, {TokPunct, "<=>"}, {TokIdent, "B"}, {TokPunct, "<="}, {TokIdent, "C"}, {TokPunct, ">="},
			{TokIdent, "D"}, {TokPunct, "<>"}, {TokIdent, "E"}, {TokPunct, "!="}, {TokIdent, "F"}, {TokPunct, "||"},
			{TokIdent, "G"}, {TokPunct, ":="}, {TokIdent, "H"}, {TokPunct, "->>"}, {TokString, "$"}, {TokPunct, "->"},
			{TokIdent, "I"}, {TokSemicolon, ";"}}},
		{"sqlite strings have no backslash escapes", SQLite, `'a\' 'b''c'`, []tk{{TokString, `a\`}, {TokString, "b'c"}}},
		{"sqlite quoted idents", SQLite, "\"a\"\"b\" `c` [d e]", []tk{
			{TokQuotedIdent, `a"b`}, {TokQuotedIdent, "c"}, {TokQuotedIdent, "d e"}}},
		{"sqlite params", SQLite, "? ?12 :a @b $c #d", []tk{
			{TokParam, "?"}, {TokParam, "?12"}, {TokParam, ":a"}, {TokParam, "@b"}, {TokParam, "$c"}, {TokParam, "#d"}}},
		{"sqlite comments", SQLite, "a --x\nb /* c */ c --", []tk{{TokIdent, "A"}, {TokIdent, "B"}, {TokIdent, "C"}}},
		{"sqlite numbers", SQLite, "0x1F X'ab' 1_000 t.5", []tk{
			{TokNumber, "0x1F"}, {TokBlob, "ab"}, {TokNumber, "1_000"}, {TokIdent, "T"}, {TokNumber, ".5"}}},
		{"sqlite brackets are not idents in mysql", MySQL, "[a]", []tk{{TokPunct, "["}, {TokIdent, "A"}, {TokPunct, "]"}}},
		{"unicode look-alike folds", MySQL, "ſleep", []tk{{TokIdent, "SLEEP"}}},
		{"empty", SQLite, "  -- only a comment", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Lex(tt.d, tt.sql)
			if err != nil {
				t.Fatalf("Lex(%q): %v", tt.sql, err)
			}
			if len(got) != len(tt.want) {
				t.Fatalf("Lex(%q) = %d tokens %v, want %d", tt.sql, len(got), got, len(tt.want))
			}
			for i, w := range tt.want {
				if got[i].Kind != w.k || got[i].Value != w.v {
					t.Errorf("token %d = %v %q, want %v %q", i, got[i].Kind, got[i].Value, w.k, w.v)
				}
				if got[i].Text != tt.sql[got[i].Pos:got[i].End] {
					t.Errorf("token %d Text %q != source %q", i, got[i].Text, tt.sql[got[i].Pos:got[i].End])
				}
			}
		})
	}
}

func TestLexPositions(t *testing.T) {
	sql := "INSERT INTO `t` (a) VALUES ('x''y', ?) -- c"
	toks, err := Lex(MySQL, sql)
	if err != nil {
		t.Fatal(err)
	}
	want := []struct {
		text     string
		pos, end int
	}{
		{"INSERT", 0, 6}, {"INTO", 7, 11}, {"`t`", 12, 15}, {"(", 16, 17}, {"a", 17, 18}, {")", 18, 19},
		{"VALUES", 20, 26}, {"(", 27, 28}, {"'x''y'", 28, 34}, {",", 34, 35}, {"?", 36, 37}, {")", 37, 38},
	}
	if len(toks) != len(want) {
		t.Fatalf("got %d tokens, want %d: %v", len(toks), len(want), toks)
	}
	for i, w := range want {
		if toks[i].Text != w.text || toks[i].Pos != w.pos || toks[i].End != w.end {
			t.Errorf("token %d = %q [%d,%d), want %q [%d,%d)", i, toks[i].Text, toks[i].Pos, toks[i].End, w.text, w.pos, w.end)
		}
	}
}

func TestLexErrors(t *testing.T) {
	tests := []struct {
		name   string
		d      Dialect
		sql    string
		unsafe string // expected Construct; "" means ErrLex
	}{
		{"unterminated single", MySQL, "SELECT 'abc", ""},
		{"unterminated escaped quote", MySQL, `SELECT 'abc\'`, ""},
		{"trailing backslash", MySQL, `SELECT 'abc\`, ""},
		{"unterminated double mysql", MySQL, `SELECT "abc`, ""},
		{"unterminated backtick", MySQL, "SELECT `abc", ""},
		{"unterminated comment", MySQL, "SELECT 1 /* x", ""},
		{"unterminated sqlite string", SQLite, "SELECT 'a", ""},
		{"unterminated sqlite double quote", SQLite, `SELECT "a`, ""},
		{"unterminated bracket", SQLite, "SELECT [a", ""},
		{"unterminated blob", SQLite, "SELECT X'ab", ""},
		{"nul byte", SQLite, "SELECT 1\x00; DROP TABLE t", ""},
		{"sqlite number then letters", SQLite, "SELECT 1abc", ""},
		{"sqlite param zero", SQLite, "SELECT ?0", ""},
		{"sqlite param too big", SQLite, "SELECT ?99999", ""},
		{"sqlite bare colon", SQLite, "SELECT : a", ""},
		{"unknown dialect", Dialect("oracle"), "SELECT 1", ""},
		{"executable comment", MySQL, "INSERT INTO t VALUES (1) /*! , (UUID()) */", "/*! executable comment */"},
		{"versioned executable comment", MySQL, "SELECT /*!50000 SLEEP(1) */ 1", "/*! executable comment */"},
		{"mariadb executable comment", MySQL, "SELECT /*M!100100 1 */", "/*! executable comment */"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Lex(tt.d, tt.sql)
			if err == nil {
				t.Fatalf("Lex(%q) succeeded", tt.sql)
			}
			if tt.unsafe == "" {
				if !errors.Is(err, ErrLex) {
					t.Fatalf("Lex(%q) = %v, want ErrLex", tt.sql, err)
				}
				return
			}
			var ue *UnsafeError
			if !errors.As(err, &ue) || ue.Construct != tt.unsafe || !errors.Is(err, ErrUnsafe) {
				t.Fatalf("Lex(%q) = %v, want unsafe %q", tt.sql, err, tt.unsafe)
			}
		})
	}
}

func TestLexSQLiteExecutableCommentIsComment(t *testing.T) {
	toks, err := Lex(SQLite, "SELECT /*! 1 */ 2")
	if err != nil || len(toks) != 2 || toks[1].Text != "2" {
		t.Fatalf("got %v, %v", toks, err)
	}
}

func TestTokenKindString(t *testing.T) {
	if TokSysVar.String() != "sys-var" || !strings.HasPrefix(TokenKind(99).String(), "TokenKind(") {
		t.Fatal(TokSysVar.String(), TokenKind(99).String())
	}
}
