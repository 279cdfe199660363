package sqlcheck

import (
	"fmt"
	"strconv"
)

// stmt is one lexed statement with its paren structure.
//
// Invariants: toks holds no TokSemicolon except inside a trigger body;
// parentheses are balanced; depth[i] is the number of parentheses enclosing
// token i (a parenthesis itself has the depth of its outside); match[i] is
// the index of the partner of the parenthesis at i, or -1.
type stmt struct {
	d     Dialect
	toks  []Token
	depth []int
	match []int
	// names marks tokens known to be object names (tables, indexes, CTEs,
	// index key columns), never function calls.
	names []bool
}

// parseOne lexes sql and returns its single statement. A trailing ';' is
// accepted; anything after it is refused as a second statement.
func parseOne(d Dialect, sql string) (*stmt, error) {
	toks, err := Lex(d, sql)
	if err != nil {
		return nil, err
	}
	end := statementEnd(d, toks)
	rest := toks[end:]
	toks = toks[:end]
	if len(rest) > 0 { // rest[0] is the ';'
		if len(rest) > 1 {
			return nil, &UnsafeError{Construct: "multiple statements",
				Reason: fmt.Sprintf("one SQL text holds exactly one statement; a second one starts at byte %d", rest[1].Pos)}
		}
	}
	if len(toks) == 0 {
		return nil, fmt.Errorf("%w: no statement in SQL text", ErrEmpty)
	}
	s := &stmt{d: d, toks: toks, depth: make([]int, len(toks)), match: make([]int, len(toks)), names: make([]bool, len(toks))}
	var open []int
	for i, t := range toks {
		s.match[i] = -1
		s.depth[i] = len(open)
		if t.Kind != TokPunct {
			continue
		}
		switch t.Text {
		case "(":
			open = append(open, i)
		case ")":
			if len(open) == 0 {
				return nil, fmt.Errorf("%w: unbalanced ')' at byte %d", ErrLex, t.Pos)
			}
			o := open[len(open)-1]
			open = open[:len(open)-1]
			s.depth[i] = len(open)
			s.match[i], s.match[o] = o, i
		}
	}
	if len(open) > 0 {
		return nil, fmt.Errorf("%w: unbalanced '(' at byte %d", ErrLex, toks[open[len(open)-1]].Pos)
	}
	return s, nil
}

// statementEnd returns the index of the ';' that ends the first statement in
// toks, or len(toks). A CREATE TRIGGER body (BEGIN ... END) may hold
// semicolons: in SQLite it ends at the first END that follows a ';' (its
// grammar: BEGIN (cmd ;)+ END); in MySQL at the END that closes the outer
// BEGIN, counting nested BEGIN/CASE/IF/LOOP/WHILE/REPEAT blocks. Text after
// the body up to the next ';' belongs to the statement.
func statementEnd(d Dialect, toks []Token) int {
	trigger := isCreateTrigger(toks)
	depth := 0
	for i := 0; i < len(toks); i++ {
		t := toks[i]
		switch {
		case t.Kind == TokSemicolon:
			return i
		case t.Kind == TokPunct && t.Text == "(":
			depth++
		case t.Kind == TokPunct && t.Text == ")":
			depth--
		case trigger && depth == 0 && t.Kind == TokIdent && t.Value == "BEGIN":
			i = bodyEnd(d, toks, i)
		}
	}
	return len(toks)
}

// bodyEnd returns the index of the END closing the block opened by BEGIN at
// i (or the last index if it is never closed).
func bodyEnd(d Dialect, toks []Token, i int) int {
	if d == SQLite {
		for j := i + 1; j < len(toks); j++ {
			if toks[j].Kind == TokIdent && toks[j].Value == "END" && toks[j-1].Kind == TokSemicolon {
				return j
			}
		}
		return len(toks) - 1
	}
	open := 0
	for j := i; j < len(toks); j++ {
		t := toks[j]
		if t.Kind != TokIdent {
			continue
		}
		prev := ""
		if j > 0 {
			prev = toks[j-1].Value
			if toks[j-1].Kind == TokPunct && toks[j-1].Text == "." {
				continue // NEW.end and the like are names
			}
		}
		switch t.Value {
		case "BEGIN", "CASE":
			if prev != "END" {
				open++
			}
		case "IF", "LOOP", "WHILE", "REPEAT":
			if prev != "END" && isStatementStart(toks, j) {
				open++
			}
		case "END":
			open--
			if open == 0 {
				return j
			}
		}
	}
	return len(toks) - 1
}

// isStatementStart reports whether token j starts a statement inside a
// compound statement (after BEGIN, ';', THEN, ELSE, DO, LOOP, REPEAT or a
// label's ':').
func isStatementStart(toks []Token, j int) bool {
	if j == 0 {
		return true
	}
	p := toks[j-1]
	switch p.Kind {
	case TokSemicolon:
		return true
	case TokPunct:
		return p.Text == ":"
	case TokIdent:
		switch p.Value {
		case "BEGIN", "THEN", "ELSE", "DO", "LOOP", "REPEAT", "ROW":
			return true
		}
	}
	return false
}

// isCreateTrigger reports whether toks start a CREATE ... TRIGGER statement.
func isCreateTrigger(toks []Token) bool {
	if len(toks) == 0 || toks[0].Kind != TokIdent || toks[0].Value != "CREATE" {
		return false
	}
	for _, t := range toks[1:] {
		if t.Kind == TokSemicolon || (t.Kind == TokPunct && t.Text == "(") {
			return false
		}
		if t.Kind == TokIdent {
			switch t.Value {
			case "TRIGGER":
				return true
			case "TABLE", "INDEX", "VIEW", "PROCEDURE", "FUNCTION", "EVENT":
				return false
			}
		}
	}
	return false
}

// Token predicates.

func (s *stmt) kw(i int, words ...string) bool {
	if i < 0 || i >= len(s.toks) || s.toks[i].Kind != TokIdent {
		return false
	}
	for _, w := range words {
		if s.toks[i].Value == w {
			return true
		}
	}
	return false
}

func (s *stmt) punct(i int, p string) bool {
	return i >= 0 && i < len(s.toks) && s.toks[i].Kind == TokPunct && s.toks[i].Text == p
}

func (s *stmt) isName(i int) bool {
	return i >= 0 && i < len(s.toks) && (s.toks[i].Kind == TokIdent || s.toks[i].Kind == TokQuotedIdent)
}

// funcName returns the upper-cased name if token i is a function call: a
// (quoted) identifier followed by '(' that is not a known object name.
func (s *stmt) funcName(i int) (string, bool) {
	if !s.isName(i) || s.names[i] || !s.punct(i+1, "(") {
		return "", false
	}
	return upperIdent(s.toks[i].Value), true
}

// nameText is the unquoted name of a (quoted) identifier token.
func (s *stmt) nameText(i int) string {
	t := s.toks[i]
	if t.Kind == TokQuotedIdent {
		return t.Value
	}
	return t.Text
}

// qname reads a possibly qualified name (a.b.c) at i, marks its tokens as
// names and returns the index after it and its last part's index. ok is
// false if there is no name at i.
func (s *stmt) qname(i int) (next, last, parts int, ok bool) {
	if !s.isName(i) {
		return i, -1, 0, false
	}
	last, parts = i, 1
	s.names[i] = true
	j := i + 1
	for s.punct(j, ".") && s.isName(j+1) {
		s.names[j+1] = true
		last = j + 1
		parts++
		j += 2
	}
	return j, last, parts, true
}

// skipIfExists skips IF [NOT] EXISTS at i.
func (s *stmt) skipIfExists(i int) int {
	if s.kw(i, "IF") {
		if s.kw(i+1, "NOT") && s.kw(i+2, "EXISTS") {
			return i + 3
		}
		if s.kw(i+1, "EXISTS") {
			return i + 2
		}
	}
	return i
}

// skipCTEs skips a WITH clause starting at i (the WITH token), marking CTE
// names, and returns the index of the statement keyword after it.
func (s *stmt) skipCTEs(i int) (int, error) {
	i++
	if s.kw(i, "RECURSIVE") {
		i++
	}
	for {
		if !s.isName(i) {
			return 0, fmt.Errorf("%w: malformed WITH clause at byte %d", ErrLex, s.pos(i))
		}
		s.names[i] = true
		i++
		if s.punct(i, "(") {
			i = s.match[i] + 1
		}
		if !s.kw(i, "AS") {
			return 0, fmt.Errorf("%w: malformed WITH clause at byte %d", ErrLex, s.pos(i))
		}
		i++
		if s.kw(i, "NOT") {
			i++
		}
		if s.kw(i, "MATERIALIZED") {
			i++
		}
		if !s.punct(i, "(") {
			return 0, fmt.Errorf("%w: malformed WITH clause at byte %d", ErrLex, s.pos(i))
		}
		i = s.match[i] + 1
		if !s.punct(i, ",") {
			return i, nil
		}
		i++
	}
}

// pos is the byte offset of token i (or the end of the text).
func (s *stmt) pos(i int) int {
	if i < len(s.toks) {
		return s.toks[i].Pos
	}
	if len(s.toks) == 0 {
		return 0
	}
	return s.toks[len(s.toks)-1].End
}

func (s *stmt) tokValue(i int) string {
	if i < 0 || i >= len(s.toks) {
		return "(end of text)"
	}
	return s.toks[i].Value
}

// paramCount returns the number of positional parameters of the statement.
func (s *stmt) paramCount() int {
	if s.d == MySQL {
		n := 0
		for _, t := range s.toks {
			if t.Kind == TokParam {
				n++
			}
		}
		return n
	}
	max := 0
	named := map[string]int{}
	for _, t := range s.toks {
		if t.Kind != TokParam {
			continue
		}
		switch {
		case t.Text == "?":
			max++
		case t.Text[0] == '?':
			n, _ := strconv.Atoi(t.Text[1:]) // range-checked by Lex
			if n > max {
				max = n
			}
		default:
			if _, ok := named[t.Text]; !ok {
				max++
				named[t.Text] = max
			}
		}
	}
	return max
}

// args splits the arguments of the call whose '(' is at open into token
// index ranges [from, to), outer parentheses of each argument stripped.
func (s *stmt) args(open int) [][2]int {
	end := s.match[open]
	if end == open+1 {
		return nil
	}
	var out [][2]int
	from := open + 1
	for j := open + 1; j <= end; j++ {
		if j == end || (s.depth[j] == s.depth[open]+1 && s.punct(j, ",")) {
			a, b := from, j
			for b-a >= 2 && s.punct(a, "(") && s.match[a] == b-1 {
				a, b = a+1, b-1
			}
			out = append(out, [2]int{a, b})
			from = j + 1
		}
	}
	return out
}

// topLevel returns the index of the first depth-0 keyword kw, or -1.
func (s *stmt) topLevel(kw string) int {
	for i := range s.toks {
		if s.depth[i] == 0 && s.kw(i, kw) && !s.punct(i-1, ".") {
			return i
		}
	}
	return -1
}
