package backup

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/oneha/oneha/sqlcheck"
)

// splitAll returns the statements with content, trimmed, and the error that
// ended the input (nil at a clean end).
func splitAll(d sqlcheck.Dialect, in string) ([]string, error) {
	sp := newSplitter(bufio.NewReader(strings.NewReader(in)), d)
	var out []string
	for {
		stmt, content, err := sp.next()
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return out, err
		}
		if content {
			out = append(out, strings.TrimSpace(string(stmt)))
		}
	}
}

func TestSplit(t *testing.T) {
	tests := []struct {
		name string
		d    sqlcheck.Dialect
		in   string
		want []string
		err  error
	}{
		{"simple", sqlcheck.MySQL, "SELECT 1; SELECT 2;\n", []string{"SELECT 1;", "SELECT 2;"}, nil},
		{"blank and comments only", sqlcheck.MySQL, "\n-- c;\n# d;\n/* e; */\n;", nil, nil},
		{"quotes", sqlcheck.MySQL, `INSERT INTO t VALUES ('a;b', "c;d", 'it''s;', "q""q;");`, []string{`INSERT INTO t VALUES ('a;b', "c;d", 'it''s;', "q""q;");`}, nil},
		{"mysql backslash", sqlcheck.MySQL, `SELECT 'a\';b', "c\";d";SELECT 2;`, []string{`SELECT 'a\';b', "c\";d";`, "SELECT 2;"}, nil},
		{"mysql backslash at end", sqlcheck.MySQL, `SELECT 'a\\';SELECT 2;`, []string{`SELECT 'a\\';`, "SELECT 2;"}, nil},
		{"sqlite no backslash escape", sqlcheck.SQLite, `SELECT 'a\';SELECT 2;`, []string{`SELECT 'a\';`, "SELECT 2;"}, nil},
		{"backticks", sqlcheck.MySQL, "CREATE TABLE `a;``b` (x INT);", []string{"CREATE TABLE `a;``b` (x INT);"}, nil},
		{"brackets sqlite", sqlcheck.SQLite, "SELECT [a;b] FROM t;", []string{"SELECT [a;b] FROM t;"}, nil},
		{"line comments", sqlcheck.MySQL, "SELECT 1 -- x;\n, 2 # y;\n;", []string{"SELECT 1 -- x;\n, 2 # y;\n;"}, nil},
		{"mysql --x is not a comment", sqlcheck.MySQL, "SELECT 1--1;", []string{"SELECT 1--1;"}, nil},
		{"sqlite --x is a comment", sqlcheck.SQLite, "SELECT 1--1;\n;", []string{"SELECT 1--1;\n;"}, nil},
		{"sqlite # is not a comment", sqlcheck.SQLite, "SELECT '#';", []string{"SELECT '#';"}, nil},
		{"block comment", sqlcheck.MySQL, "SELECT /* ; */ 1;", []string{"SELECT /* ; */ 1;"}, nil},
		{"executable comment counts", sqlcheck.MySQL, "/*!40101 SET NAMES utf8 */;", []string{"/*!40101 SET NAMES utf8 */;"}, nil},
		{"sqlite trigger", sqlcheck.SQLite, "CREATE TRIGGER tr AFTER INSERT ON t BEGIN INSERT INTO u VALUES (1); UPDATE u SET a = CASE WHEN 1 THEN 2 END; END; SELECT 1;",
			[]string{"CREATE TRIGGER tr AFTER INSERT ON t BEGIN INSERT INTO u VALUES (1); UPDATE u SET a = CASE WHEN 1 THEN 2 END; END;", "SELECT 1;"}, nil},
		{"sqlite temp trigger", sqlcheck.SQLite, "create temp trigger tr after delete on t begin delete from u; end;select 1;",
			[]string{"create temp trigger tr after delete on t begin delete from u; end;", "select 1;"}, nil},
		{"not a trigger", sqlcheck.SQLite, "CREATE TABLE begin_end (a);SELECT 1;", []string{"CREATE TABLE begin_end (a);", "SELECT 1;"}, nil},
		{"missing semicolon", sqlcheck.MySQL, "SELECT 1; SELECT 2", []string{"SELECT 1;"}, ErrTruncated},
		{"unterminated string", sqlcheck.MySQL, "SELECT 'abc;", nil, ErrTruncated},
		{"unterminated backslash", sqlcheck.MySQL, `SELECT 'abc\`, nil, ErrTruncated},
		{"unterminated comment", sqlcheck.SQLite, "SELECT 1; /* x;", []string{"SELECT 1;"}, ErrTruncated},
		{"trailing line comment ok", sqlcheck.SQLite, "SELECT 1; -- end", []string{"SELECT 1;"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := splitAll(tt.d, tt.in)
			if !errors.Is(err, tt.err) || (tt.err == nil && err != nil) {
				t.Fatalf("err %v, want %v", err, tt.err)
			}
			if strings.Join(got, "\x00") != strings.Join(tt.want, "\x00") {
				t.Fatalf("got %q\nwant %q", got, tt.want)
			}
		})
	}
}

func TestSplitStatementLimit(t *testing.T) {
	sp := newSplitter(bufio.NewReader(strings.NewReader("SELECT '"+strings.Repeat("x", 100)+"';")), sqlcheck.MySQL)
	sp.max = 50
	if _, _, err := sp.next(); !errors.Is(err, ErrStatementTooLarge) {
		t.Fatalf("err %v, want ErrStatementTooLarge", err)
	}
}

// FuzzSplit: never panics, always ends, and the statements returned are
// exactly the bytes consumed, each ending with ';'.
func FuzzSplit(f *testing.F) {
	for _, s := range []string{
		"SELECT 1;", "INSERT INTO `t` VALUES ('a\\'b',\"c\",0x00);", "-- c\n# d\n/* e */;",
		"CREATE TRIGGER x AFTER INSERT ON t BEGIN SELECT CASE WHEN 1 THEN 2 END; END;",
		"SELECT [a;b], 'x''y';", "/*!40101 SET x=1*/;", "SELECT '", "SELECT 1--2;\n",
		"CREATE TEMP TRIGGER t BEGIN", "\\';'\\", "`", "/*/", "-- OneHA dump v1 dialect=mysql\n",
	} {
		f.Add([]byte(s), false)
		f.Add([]byte(s), true)
	}
	f.Fuzz(func(t *testing.T, in []byte, sqlite bool) {
		d := sqlcheck.MySQL
		if sqlite {
			d = sqlcheck.SQLite
		}
		sp := newSplitter(bufio.NewReaderSize(bytes.NewReader(in), 16), d)
		var consumed []byte
		for i := 0; ; i++ {
			if i > len(in)+1 {
				t.Fatal("splitter does not end")
			}
			stmt, _, err := sp.next()
			if err != nil {
				if err != io.EOF && !errors.Is(err, ErrTruncated) {
					t.Fatalf("unexpected error %v", err)
				}
				if err == io.EOF {
					consumed = append(consumed, stmt...)
					if !bytes.Equal(consumed, in) {
						t.Fatalf("consumed %q, input %q", consumed, in)
					}
				}
				return
			}
			if len(stmt) == 0 || stmt[len(stmt)-1] != ';' {
				t.Fatalf("statement %q does not end with ';'", stmt)
			}
			consumed = append(consumed, stmt...)
			if !bytes.HasPrefix(in, consumed) {
				t.Fatalf("statements %q are not a prefix of the input %q", consumed, in)
			}
		}
	})
}
