package sqlcheck

import (
	"context"
	"fmt"
	"strings"
)

// The LIMIT rule. A row limit (LIMIT n, OFFSET n ROWS, FETCH FIRST n ROWS)
// picks rows in the order the query produces them. Unless that order is
// total, two servers with identical data may pick different rows: their
// plans (and so their row orders) can differ. The order is total exactly
// when the ORDER BY of the limited query names, as plain column references,
// every column of a unique key of its single table: the PRIMARY KEY or a
// UNIQUE key whose columns are all NOT NULL (SchemaInfo.UniqueKeyColumns).
//
// So a limit is accepted when its query level (the UPDATE or DELETE itself,
// or the SELECT that holds it: in INSERT ... SELECT, a subquery, a CTE or a
// view) reads exactly one table, has no GROUP BY and no UNION, EXCEPT or
// INTERSECT, and its ORDER BY covers a unique key of that table. A SELECT
// without FROM yields one row and may carry any limit. A limit in a trigger
// body is refused. Everything else is refused with the construct named.

// limitReason is the reason shared by the LIMIT refusals.
const limitReason = "the rows a LIMIT picks depend on each server's plan unless ORDER BY covers a unique key (the PRIMARY KEY or a NOT NULL UNIQUE key) of its single table"

// isLimit reports whether token i starts a row limit: LIMIT, FETCH
// FIRST|NEXT, or OFFSET n ROW|ROWS.
func (s *stmt) isLimit(i int) bool {
	if s.punct(i-1, ".") || s.names[i] {
		return false
	}
	switch {
	case s.kw(i, "LIMIT"):
		return true
	case s.kw(i, "FETCH"):
		return s.kw(i+1, "FIRST", "NEXT")
	case s.kw(i, "OFFSET"):
		return i+2 < len(s.toks) && (s.toks[i+1].Kind == TokNumber || s.toks[i+1].Kind == TokParam) && s.kw(i+2, "ROW", "ROWS")
	}
	return false
}

// checkLimits applies the LIMIT rule to every row limit of the statement.
func (w *writeCheck) checkLimits(ctx context.Context, schema SchemaInfo) error {
	s := w.s
	for i := range s.toks {
		if !s.isLimit(i) {
			continue
		}
		if w.obj == "TRIGGER" && w.bodyStart >= 0 && i >= w.bodyStart {
			return unsafe(s.toks[i].Value+" in a trigger body", limitReason)
		}
		if err := w.checkLimit(ctx, schema, i); err != nil {
			return err
		}
	}
	return nil
}

// checkLimit applies the LIMIT rule to the row limit at token i.
func (w *writeCheck) checkLimit(ctx context.Context, schema SchemaInfo, i int) error {
	s := w.s
	k := s.depth[i]
	what := w.verb + " ... " + s.toks[i].Value
	start := i
	for start > 0 && s.depth[start-1] >= k && s.toks[start-1].Kind != TokSemicolon {
		start--
	}
	order, group, from, sel := -1, -1, -1, -1
	for j := start; j < i; j++ {
		if s.depth[j] != k || s.punct(j-1, ".") {
			continue
		}
		switch {
		case s.kw(j, "UNION", "EXCEPT", "INTERSECT"):
			return unsafe(s.toks[j].Value+" ... "+s.toks[i].Value, limitReason)
		case s.kw(j, "ORDER") && s.kw(j+1, "BY"):
			order = j + 2
		case s.kw(j, "GROUP") && s.kw(j+1, "BY"):
			group = j
		case s.kw(j, "FROM") && !s.names[j]:
			from = j
		case s.kw(j, "SELECT"):
			sel, from, order, group = j, -1, -1, -1 // a new query level (INSERT ... SELECT)
		}
	}
	var table, alias string
	switch {
	case k == 0 && sel < 0 && (w.verb == "UPDATE" || w.verb == "DELETE"):
		if w.target < 0 || !w.singleTable() {
			return unsafe("multi-table "+what, limitReason)
		}
		table, alias = s.nameText(w.target), w.targetAlias()
	case sel < 0:
		return unsafe(s.toks[i].Value+" outside a SELECT", limitReason)
	case from < 0:
		return nil // SELECT without FROM: one row
	default:
		what = "SELECT ... " + s.toks[i].Value
		if k == 0 && (w.verb == "INSERT" || w.verb == "REPLACE") {
			what = w.verb + " ... SELECT ... " + s.toks[i].Value
		}
		var ok bool
		if table, alias, ok = s.singleFrom(from + 1); !ok {
			return unsafe(what+" over a join, a derived table or several tables", limitReason)
		}
	}
	if group >= 0 {
		return unsafe("GROUP BY ... "+s.toks[i].Value, limitReason)
	}
	if order < 0 {
		return unsafe(what+" without ORDER BY", limitReason)
	}
	end := order
	for end < i && !(s.depth[end] == k && s.isLimit(end)) {
		end++
	}
	cols := s.orderColumns(order, end, table, alias)
	if sel >= 0 {
		for _, a := range s.selectAliases(sel+1, from) {
			delete(cols, a) // ORDER BY a resolves to the select alias first
		}
	}
	if schema == nil {
		return unsafe(what, "no schema information to find the unique keys of "+table)
	}
	keys, err := schema.UniqueKeyColumns(ctx, table)
	if err != nil {
		return fmt.Errorf("unique keys of table %s: %w", table, err)
	}
	for _, key := range keys {
		if coversKey(cols, key) {
			return nil
		}
	}
	return unsafe(what+" with ORDER BY not covering a unique key of "+table, limitReason)
}

// coversKey reports whether every column of key is in cols (lower-cased).
func coversKey(cols map[string]bool, key []string) bool {
	if len(key) == 0 {
		return false
	}
	for _, c := range key {
		if !cols[strings.ToLower(c)] {
			return false
		}
	}
	return true
}

// singleTable reports whether a top-level UPDATE or DELETE changes one
// table: no JOIN, comma list, FROM (SQLite UPDATE ... FROM), USING or
// second FROM at depth 0.
func (w *writeCheck) singleTable() bool {
	s := w.s
	inSet := false
	for j := w.after; j < len(s.toks); j++ {
		if s.depth[j] != 0 || s.punct(j-1, ".") {
			continue
		}
		switch {
		case s.kw(j, "FROM"):
			return false
		case s.kw(j, "SET", "WHERE", "ORDER", "LIMIT"):
			inSet = true
		case !inSet && (s.kw(j, "JOIN", "USING", "STRAIGHT_JOIN") || s.punct(j, ",")):
			return false
		}
	}
	return true
}

// targetAlias returns the alias of a top-level UPDATE/DELETE target
// ("UPDATE t AS x", "DELETE FROM t x"), or "".
func (w *writeCheck) targetAlias() string {
	s := w.s
	j := w.after
	if s.kw(j, "AS") {
		j++
	}
	if s.isName(j) && !s.kw(j, "SET", "WHERE", "ORDER", "LIMIT", "INDEXED", "NOT", "USE", "FORCE", "IGNORE", "PARTITION") {
		return s.nameText(j)
	}
	return ""
}

// singleFrom reads the table list starting at i (after FROM): exactly one
// unqualified table name with an optional alias, then the end of the query
// level or a clause keyword. ok is false for anything else (joins, comma
// lists, derived tables, table functions).
func (s *stmt) singleFrom(i int) (table, alias string, ok bool) {
	if !s.isName(i) || s.punct(i+1, ".") || s.punct(i+1, "(") {
		return "", "", false
	}
	table = s.nameText(i)
	k := s.depth[i]
	j := i + 1
	if s.kw(j, "AS") {
		j++
	}
	if s.isName(j) && !s.kw(j, "WHERE", "GROUP", "HAVING", "ORDER", "WINDOW", "LIMIT", "FETCH", "OFFSET", "FOR", "LOCK",
		"JOIN", "INNER", "LEFT", "RIGHT", "CROSS", "NATURAL", "STRAIGHT_JOIN", "FULL", "USE", "FORCE", "IGNORE", "PARTITION",
		"INDEXED", "NOT", "UNION", "EXCEPT", "INTERSECT", "ON", "RETURNING", "INTO") {
		alias = s.nameText(j)
		j++
	}
	if j >= len(s.toks) || s.depth[j] < k || s.toks[j].Kind == TokSemicolon {
		return table, alias, true
	}
	if s.kw(j, "WHERE", "GROUP", "HAVING", "ORDER", "WINDOW", "LIMIT", "FETCH", "OFFSET", "FOR", "LOCK") {
		return table, alias, true
	}
	return "", "", false
}

// orderColumns returns the lower-cased columns that ORDER BY items from
// token from up to to name as plain column references: col or
// table.col / alias.col of the level's table, optionally followed by ASC,
// DESC or NULLS FIRST|LAST. Other items (expressions, positions, COLLATE,
// columns of other tables) contribute nothing.
func (s *stmt) orderColumns(from, to int, table, alias string) map[string]bool {
	cols := map[string]bool{}
	k := s.depth[from]
	item := from
	for j := from; j <= to; j++ {
		if j < to && !(s.depth[j] == k && s.punct(j, ",")) {
			continue
		}
		if c, ok := s.plainColumn(item, j, table, alias); ok {
			cols[strings.ToLower(c)] = true
		}
		item = j + 1
	}
	return cols
}

// plainColumn reports whether tokens [a, b) are a plain column reference
// of table (alias) with an optional direction, and returns the column.
func (s *stmt) plainColumn(a, b int, table, alias string) (string, bool) {
	end := b
	switch {
	case end-2 >= a && s.kw(end-2, "NULLS") && s.kw(end-1, "FIRST", "LAST"):
		end -= 2
	}
	if end-1 >= a && s.kw(end-1, "ASC", "DESC") {
		end--
	}
	switch {
	case end-a == 1 && s.isName(a):
		return s.nameText(a), true
	case end-a == 3 && s.isName(a) && s.punct(a+1, ".") && s.isName(a+2):
		q := s.nameText(a)
		if strings.EqualFold(q, table) || (alias != "" && strings.EqualFold(q, alias)) {
			return s.nameText(a + 2), true
		}
	}
	return "", false
}

// selectAliases returns the lower-cased output names a select list (tokens
// from up to to) gives to items that are not plain column references:
// "expr AS a", "expr a" and "expr 'a'".
func (s *stmt) selectAliases(from, to int) []string {
	var out []string
	k := s.depth[from]
	item := from
	for j := from; j <= to; j++ {
		if j < to && !(s.depth[j] == k && s.punct(j, ",")) {
			continue
		}
		for item < j && s.kw(item, "DISTINCT", "DISTINCTROW", "ALL") {
			item++
		}
		if n := j - item; n >= 2 && s.isName(j-1) && !s.punct(j-2, ".") {
			out = append(out, strings.ToLower(s.nameText(j-1)))
		}
		if n := j - item; n >= 2 && s.toks[j-1].Kind == TokString { // a 'string' alias
			out = append(out, strings.ToLower(s.toks[j-1].Value))
		}
		item = j + 1
	}
	return out
}
