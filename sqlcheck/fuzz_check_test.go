package sqlcheck

import (
	"context"
	"errors"
	"testing"
)

// fuzzSeeds are shared by the fuzz targets' corpora.
var fuzzSeeds = []string{
	"",
	"SELECT 1",
	"INSERT INTO t (a, b) VALUES (?, 'x''y')",
	`UPDATE t SET a = 'it\'s', b = "q""q" WHERE c = ? -- x`,
	"DELETE FROM t WHERE a IN (SELECT a FROM u ORDER BY a LIMIT 3) # c",
	"INSERT INTO t VALUES (UUID(), @x, @@hostname, NOW(6), X'0a', 0x1F, b'01', 1e10, .5)",
	"CREATE TABLE t (id INT AUTO_INCREMENT, ts TIMESTAMP DEFAULT CURRENT_TIMESTAMP) ENGINE=MyISAM",
	"CREATE TRIGGER tr AFTER INSERT ON t BEGIN UPDATE u SET n = CASE WHEN 1 THEN 2 END; END; DROP TABLE t",
	"CREATE TRIGGER tr BEFORE INSERT ON t FOR EACH ROW BEGIN IF NEW.a THEN SET NEW.b = 1; END IF; END",
	"INSERT INTO t VALUES (datetime('now'), random(), randomblob(4), strftime('%s'), [now], `x`, :a, ?2, $b)",
	"WITH RECURSIVE c(n) AS (SELECT 1 UNION ALL SELECT n+1 FROM c) INSERT INTO t SELECT n FROM c",
	"SELECT /*! 1 */ /*M! 2 */ 'unterminated",
	"((((", "))", "[", "`", "\"", "'", "/*", "--", "#", "@", "@@", "?", "?0", ":", "0x", "1e", "1.2.3",
	"INSERT INTO user (a) VALUES (1); SELECT 2;",
	"DELETE FROM t WHERE a = 1 ORDER BY id DESC LIMIT 1",
	"INSERT INTO t SELECT a AS id FROM u ORDER BY id LIMIT 1 OFFSET 2",
	"DELETE FROM t WHERE id IN (SELECT id FROM (SELECT id FROM u ORDER BY id FETCH FIRST 1 ROWS ONLY) x)",
	"INSERT INTO t SELECT ID FROM (`information_schema` . PROCESSLIST)",
	"CREATE TABLE t (s BIGINT UNSIGNED AS ROW START, e BIGINT UNSIGNED AS ROW END, PERIOD FOR SYSTEM_TIME(s, e)) WITH SYSTEM VERSIONING",
	"ALTER TABLE t ADD IF NOT EXISTS (s TIMESTAMP(6) AS ROW START), TYPE=MyISAM",
	"SELECT MIN(i.a) FROM (SELECT a FROM t ORDER BY a DESC LIMIT 5) AS i",
}

// FuzzLex checks that Lex never panics and that its tokens are ordered,
// non-overlapping, within bounds and equal to their source text.
func FuzzLex(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add(s, true)
		f.Add(s, false)
	}
	f.Fuzz(func(t *testing.T, sql string, mysql bool) {
		d := SQLite
		if mysql {
			d = MySQL
		}
		toks, err := Lex(d, sql)
		if err != nil {
			if !errors.Is(err, ErrLex) && !errors.Is(err, ErrUnsafe) {
				t.Fatalf("Lex error wraps neither ErrLex nor ErrUnsafe: %v", err)
			}
			return
		}
		prev := 0
		for i, tk := range toks {
			if tk.Pos < prev || tk.End <= tk.Pos || tk.End > len(sql) {
				t.Fatalf("token %d %+v out of order or bounds (prev end %d, len %d)", i, tk, prev, len(sql))
			}
			if tk.Text != sql[tk.Pos:tk.End] {
				t.Fatalf("token %d Text %q != source %q", i, tk.Text, sql[tk.Pos:tk.End])
			}
			if tk.Kind < TokIdent || tk.Kind > TokSemicolon {
				t.Fatalf("token %d has kind %d", i, tk.Kind)
			}
			prev = tk.End
		}
	})
}

// FuzzCheckWrite checks that the statement checks never panic, that every
// error wraps a known sentinel, and that the FSM's text cache answers what
// the check answers.
func FuzzCheckWrite(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add(s, true)
		f.Add(s, false)
	}
	schema := testSchema()
	ctx := context.Background()
	known := func(err error) bool {
		return errors.Is(err, ErrUnsafe) || errors.Is(err, ErrLex) || errors.Is(err, ErrEmpty) ||
			errors.Is(err, ErrNotReadOnly) || errors.Is(err, errSchema)
	}
	f.Fuzz(func(t *testing.T, sql string, mysql bool) {
		d := SQLite
		if mysql {
			d = MySQL
		}
		if _, err := CheckRead(d, sql); err != nil && !known(err) {
			t.Fatalf("CheckRead: unexpected error %v", err)
		}
		checked, err := CheckWrite(ctx, d, sql, schema)
		if err != nil {
			if !known(err) {
				t.Fatalf("CheckWrite: unexpected error %v", err)
			}
			return
		}
		if checked.Class == ClassRead {
			t.Fatalf("CheckWrite accepted a read: %+v", checked)
		}
	})
}

// FuzzCheckRead checks that CheckRead never panics, that its errors wrap a
// known sentinel, and that no text is both a read and a write.
func FuzzCheckRead(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add(s, true)
		f.Add(s, false)
	}
	ctx := context.Background()
	f.Fuzz(func(t *testing.T, sql string, mysql bool) {
		d := SQLite
		if mysql {
			d = MySQL
		}
		n, err := CheckRead(d, sql)
		if err != nil {
			if !errors.Is(err, ErrUnsafe) && !errors.Is(err, ErrLex) && !errors.Is(err, ErrEmpty) && !errors.Is(err, ErrNotReadOnly) {
				t.Fatalf("CheckRead: unexpected error %v", err)
			}
			return
		}
		if n < 0 {
			t.Fatalf("negative parameter count %d", n)
		}
		if c, err := CheckWrite(ctx, d, sql, testSchema()); err == nil {
			t.Fatalf("accepted both as a read and as a write %+v", c)
		}
	})
}
