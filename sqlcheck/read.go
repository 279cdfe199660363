package sqlcheck

import (
	"fmt"
)

// CheckRead accepts only read-only statements for Query: SELECT, WITH ...
// SELECT, VALUES, TABLE, a parenthesized SELECT, (MySQL) SHOW, DESCRIBE,
// DESC and EXPLAIN of a read, (SQLite) EXPLAIN [QUERY PLAN] of a read and the
// read-only PRAGMAs table_info, table_xinfo, index_list, index_info,
// index_xinfo and foreign_key_list. It returns the number of positional
// parameters.
//
// Anything that writes, including SELECT ... INTO and user-variable
// assignment, wraps ErrNotReadOnly. Locking reads (FOR UPDATE, FOR SHARE,
// LOCK IN SHARE MODE: they block the apply path), INTO OUTFILE/DUMPFILE,
// functions with side effects (GET_LOCK(), SLEEP(), LOAD_FILE(),
// NEXTVAL(), load_extension(), ...) and multi-statement text are
// *UnsafeError (ErrUnsafe). Unlike writes, reads may use system variables,
// clock and random functions: their result is not replicated.
func CheckRead(d Dialect, sql string) (int, error) {
	s, err := parseOne(d, sql)
	if err != nil {
		return 0, err
	}
	if err := s.checkReadFrom(0); err != nil {
		return 0, err
	}
	return s.paramCount(), nil
}

func notReadOnly(what string) error {
	return fmt.Errorf("%w: %s", ErrNotReadOnly, what)
}

// readPragmas are the SQLite PRAGMAs allowed in reads (without '=').
var readPragmas = map[string]bool{
	"TABLE_INFO": true, "TABLE_XINFO": true, "INDEX_LIST": true, "INDEX_INFO": true,
	"INDEX_XINFO": true, "FOREIGN_KEY_LIST": true,
}

// checkReadFrom checks the read statement starting at token i.
func (s *stmt) checkReadFrom(i int) error {
	mysql := s.d == MySQL
	t := s.toks[i]
	switch {
	case t.Kind == TokPunct && t.Text == "(":
	case t.Kind != TokIdent:
		return notReadOnly(fmt.Sprintf("statement starts with %q", t.Text))
	case t.Value == "SELECT" || t.Value == "VALUES" || t.Value == "TABLE":
	case t.Value == "WITH":
		vi, err := s.skipCTEs(i)
		if err != nil {
			return err
		}
		if !s.kw(vi, "SELECT", "VALUES", "TABLE") && !s.punct(vi, "(") {
			return notReadOnly("WITH ... " + s.tokValue(vi))
		}
	case mysql && t.Value == "SHOW":
		return nil // SHOW cannot write
	case t.Value == "EXPLAIN" || (mysql && (t.Value == "DESCRIBE" || t.Value == "DESC")):
		j := i + 1
		for {
			switch {
			case s.kw(j, "ANALYZE", "EXTENDED", "PARTITIONS", "VERBOSE"):
				j++
			case !mysql && s.kw(j, "QUERY") && s.kw(j+1, "PLAN"):
				j += 2
			case mysql && s.kw(j, "FORMAT") && s.punct(j+1, "="):
				j += 3
			default:
				goto inner
			}
		}
	inner:
		if j >= len(s.toks) {
			return notReadOnly("EXPLAIN without a statement")
		}
		if mysql && s.isName(j) && !s.kw(j, "SELECT", "WITH", "TABLE", "VALUES", "INSERT", "UPDATE",
			"DELETE", "REPLACE", "FOR") {
			return nil // DESCRIBE tbl [col]
		}
		return s.checkReadFrom(j)
	case !mysql && t.Value == "PRAGMA":
		j := i + 1
		if s.isName(j) && s.punct(j+1, ".") {
			j += 2
		}
		if !s.isName(j) || !readPragmas[upperIdent(s.toks[j].Value)] {
			return notReadOnly("PRAGMA " + s.tokValue(j))
		}
		j++
		if s.punct(j, "(") {
			j = s.match[j] + 1
		}
		if j != len(s.toks) {
			return notReadOnly("PRAGMA with an assignment")
		}
		return nil
	default:
		return notReadOnly(t.Value)
	}
	return s.scanRead(i)
}

// scanRead refuses writing and locking constructs inside a read.
func (s *stmt) scanRead(from int) error {
	for i := from; i < len(s.toks); i++ {
		t := s.toks[i]
		if t.Kind == TokUserVar && s.punct(i+1, ":=") {
			return notReadOnly("user variable assignment @" + t.Value)
		}
		if !s.isName(i) || s.punct(i-1, ".") {
			continue
		}
		if name, ok := s.funcName(i); ok {
			if r, ok := readUnsafeFuncs[name]; ok {
				return unsafe(name+"()", r)
			}
			continue
		}
		if t.Kind != TokIdent {
			continue
		}
		switch t.Value {
		case "INTO":
			if s.kw(i+1, "OUTFILE", "DUMPFILE") {
				return unsafe("INTO "+s.toks[i+1].Value, "writes a file on the server's disk")
			}
			return notReadOnly("SELECT ... INTO")
		case "FOR":
			if s.kw(i+1, "UPDATE", "SHARE") {
				return unsafe("FOR "+s.toks[i+1].Value, "locking reads block the replicated apply path")
			}
		case "LOCK":
			if s.kw(i+1, "IN") {
				return unsafe("LOCK IN SHARE MODE", "locking reads block the replicated apply path")
			}
		case "NEXT":
			if s.kw(i+1, "VALUE") && s.kw(i+2, "FOR") {
				return unsafe("NEXT VALUE FOR", "advances a sequence")
			}
		case "INSERT", "UPDATE", "DELETE", "REPLACE", "CREATE", "DROP", "ALTER", "TRUNCATE":
			// Only reachable inside a read via syntax that writes (e.g. a
			// data-modifying CTE); refuse rather than guess.
			return notReadOnly(t.Value)
		}
	}
	return nil
}
