package sqlcheck

import (
	"context"
	"errors"
	"os"
	"strings"
	"testing"
)

// tableKeys is what the checks ask about one table.
type tableKeys struct {
	autoInc bool
	unique  int        // unique indexes, the primary key included
	keys    [][]string // PRIMARY KEY and NOT NULL UNIQUE keys
}

// parsedSchema answers SchemaInfo from CREATE TABLE statements: a pure,
// static description of a schema, as sqlcheck has no database.
type parsedSchema map[string]tableKeys

func (p parsedSchema) HasAutoIncrement(_ context.Context, table string) (bool, error) {
	return p[table].autoInc, nil
}

func (p parsedSchema) UniqueKeys(_ context.Context, table string) (int, error) {
	return p[table].unique, nil
}

func (p parsedSchema) UniqueKeyColumns(_ context.Context, table string) ([][]string, error) {
	return p[table].keys, nil
}

// splitSQL splits a file into its statements at top-level ';' (comments
// dropped by the lexer).
func splitSQL(t *testing.T, path string) []string {
	t.Helper()
	src, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	toks, err := Lex(MySQL, string(src))
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	var out []string
	start := -1
	for _, tk := range toks {
		if tk.Kind == TokSemicolon {
			if start >= 0 {
				out = append(out, string(src[start:tk.Pos]))
			}
			start = -1
			continue
		}
		if start < 0 {
			start = tk.Pos
		}
	}
	if start >= 0 {
		t.Fatalf("%s: statement without ';' at byte %d", path, start)
	}
	return out
}

// addCreateTable records the keys a CREATE TABLE statement defines: column
// PRIMARY KEY, PRIMARY KEY (...) and UNIQUE (...) (a key of ordering only
// if all its columns are NOT NULL), and AUTO_INCREMENT.
func (p parsedSchema) addCreateTable(t *testing.T, sql string) {
	t.Helper()
	s, err := parseOne(MySQL, sql)
	if err != nil {
		t.Fatal(err)
	}
	i := s.skipIfExists(2)
	name := s.nameText(i)
	open := i + 1
	if !s.punct(open, "(") {
		t.Fatalf("no column list in %q", sql)
	}
	var tk tableKeys
	notNull := map[string]bool{}
	var uniques [][]string
	cols := func(o int) []string {
		var c []string
		for j := o + 1; j < s.match[o]; j++ {
			if s.isName(j) && s.depth[j] == s.depth[o]+1 {
				c = append(c, s.nameText(j))
			}
		}
		return c
	}
	for item := open + 1; item < s.match[open]; {
		end := item
		for end < s.match[open] && !(s.depth[end] == s.depth[open]+1 && s.punct(end, ",")) {
			end++
		}
		switch {
		case s.kw(item, "PRIMARY"):
			tk.keys = append(tk.keys, cols(item+2))
			tk.unique++
		case s.kw(item, "UNIQUE"):
			j := item + 1
			for !s.punct(j, "(") {
				j++
			}
			uniques = append(uniques, cols(j))
			tk.unique++
		case s.kw(item, "KEY", "INDEX", "FULLTEXT", "CONSTRAINT", "FOREIGN", "CHECK"):
		default: // a column definition
			col := s.nameText(item)
			for j := item + 1; j < end; j++ {
				switch {
				case s.kw(j, "PRIMARY") && s.kw(j+1, "KEY"):
					tk.keys = append(tk.keys, []string{col})
					tk.unique++
					notNull[col] = true
				case s.kw(j, "NOT") && s.kw(j+1, "NULL"):
					notNull[col] = true
				case s.kw(j, "AUTO_INCREMENT"):
					tk.autoInc = true
				}
			}
		}
		item = end + 1
	}
	for _, u := range uniques {
		all := true
		for _, c := range u {
			all = all && notNull[c]
		}
		if all {
			tk.keys = append(tk.keys, u)
		}
	}
	p[name] = tk
}

// openNebulaSchema checks every statement of the schema file and returns
// the schema they define.
func openNebulaSchema(t *testing.T) parsedSchema {
	t.Helper()
	schema := parsedSchema{}
	stmts := splitSQL(t, "testdata/opennebula_schema.sql")
	tables := 0
	for _, sql := range stmts {
		c, err := CheckWrite(context.Background(), MySQL, sql, schema)
		if err != nil {
			t.Errorf("schema statement refused: %v\n%s", err, sql)
			continue
		}
		if c.Class != ClassDDL {
			t.Errorf("schema statement is %v, not DDL: %s", c.Class, sql)
		}
		if s, _ := parseOne(MySQL, sql); s.kw(1, "TABLE") {
			schema.addCreateTable(t, sql)
			tables++
		}
	}
	if tables < 39 || len(schema) != tables {
		t.Fatalf("parsed %d tables (%d distinct), want OpenNebula's 39", tables, len(schema))
	}
	return schema
}

// TestOpenNebulaControlPlaneSQLIsAccepted: OpenNebula's own schema and the
// writes its oned issues (4 KB XML bodies, JSON, multi-row REPLACE, pool
// control, ON DUPLICATE KEY UPDATE on a single-key table, the Raft log
// table) pass the checks unchanged, and so do its reads.
func TestOpenNebulaControlPlaneSQLIsAccepted(t *testing.T) {
	schema := openNebulaSchema(t)
	if k := schema["vm_pool"].keys; len(k) != 1 || k[0][0] != "oid" {
		t.Fatalf("vm_pool keys = %v, want [[oid]]", k)
	}
	if u := schema["image_pool"].unique; u != 2 {
		t.Fatalf("image_pool has %d unique keys, want 2 (PRIMARY KEY, UNIQUE(name,uid))", u)
	}
	stmts := splitSQL(t, "testdata/opennebula_statements.sql")
	if len(stmts) < 30 {
		t.Fatalf("only %d statements in the corpus", len(stmts))
	}
	longest := 0
	for _, sql := range stmts {
		longest = max(longest, len(sql))
		c, err := CheckWrite(context.Background(), MySQL, sql, schema)
		if err != nil {
			t.Errorf("refused: %v\n%.200s", err, sql)
			continue
		}
		if c.Class != ClassDML || c.Table == "" {
			t.Errorf("checked as %+v: %.200s", c, sql)
		}
	}
	if longest < 4096 {
		t.Fatalf("longest statement is %d bytes; the corpus must carry a 4 KB object body", longest)
	}
	for _, sql := range []string{
		"SELECT body FROM vm_pool WHERE oid = 42",
		"SELECT last_oid FROM pool_control WHERE tablename='vm_pool'",
		"SELECT MIN(log_index), MAX(log_index) FROM logdb WHERE log_index >= 0",
		"SELECT MIN(i.log_index) FROM (SELECT log_index FROM logdb WHERE fed_index = 18446744073709551615 AND applied = 1 AND log_index >= 0 ORDER BY log_index DESC LIMIT 1000) AS i",
		"SELECT c.log_index, c.term, c.sqlcmd, c.timestamp, c.fed_index, c.applied, p.log_index, p.term FROM logdb c, logdb p WHERE c.log_index = 100 AND p.log_index = 99",
		"SELECT oid FROM vm_pool WHERE MATCH(search_token) AGAINST ('+web-42' in boolean mode) AND state <> 6 ORDER BY oid DESC",
	} {
		if _, err := CheckRead(MySQL, sql); err != nil {
			t.Errorf("read refused: %v\n%s", err, sql)
		}
	}
}

// TestOpenNebulaLogPurgeWithoutOrderIsRefused: oned's logdb purge deletes
// with a LIMIT and no ORDER BY, so each server could delete different rows;
// it is refused. Ordered by the primary key it would be accepted.
func TestOpenNebulaLogPurgeWithoutOrderIsRefused(t *testing.T) {
	schema := openNebulaSchema(t)
	const purge = "DELETE FROM logdb WHERE applied = 1 AND log_index >= 0 AND fed_index = 18446744073709551615 AND log_index < 100 LIMIT 100000"
	_, err := CheckWrite(context.Background(), MySQL, purge, schema)
	var ue *UnsafeError
	if !errors.As(err, &ue) || ue.Construct != "DELETE ... LIMIT without ORDER BY" {
		t.Fatalf("purge: err = %v, want the refusal of DELETE ... LIMIT without ORDER BY", err)
	}
	ordered := strings.Replace(purge, " LIMIT", " ORDER BY log_index LIMIT", 1)
	if _, err := CheckWrite(context.Background(), MySQL, ordered, schema); err != nil {
		t.Fatalf("purge ordered by the primary key refused: %v", err)
	}
}
