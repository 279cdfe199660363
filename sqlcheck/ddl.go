package sqlcheck

import (
	"strings"
)

// ddlStructure handles CREATE/ALTER/DROP from the token after the verb.
func (w *writeCheck) ddlStructure(i int) error {
	s := w.s
	w.bodyStart = -1
	temp := false
	for {
		switch {
		case s.kw(i, "OR") && s.kw(i+1, "REPLACE"):
			i += 2
		case s.kw(i, "TEMP", "TEMPORARY"):
			temp = true
			i++
		case s.kw(i, "UNIQUE", "FULLTEXT", "SPATIAL", "VIRTUAL", "ONLINE", "OFFLINE", "AGGREGATE"):
			i++
		case s.kw(i, "IGNORE"):
			if w.verb == "ALTER" {
				return unsafe("ALTER IGNORE TABLE", "which duplicate rows it drops depends on each server's scan order")
			}
			i++
		case s.kw(i, "ALGORITHM") && s.punct(i+1, "="):
			i += 3
		case s.kw(i, "DEFINER"):
			return unsafe("DEFINER", "names an account that may not exist on every server; omit it")
		case s.kw(i, "SQL") && s.kw(i+1, "SECURITY"):
			i += 3
		default:
			goto object
		}
	}
object:
	if i >= len(s.toks) || s.toks[i].Kind != TokIdent {
		return nil // syntax error on every server
	}
	w.obj = s.toks[i].Value
	what := w.verb + " " + w.obj
	switch w.obj {
	case "TABLE", "VIEW", "TRIGGER", "INDEX":
	case "USER", "ROLE":
		return unsafe(what, "accounts and privileges are per server")
	case "EVENT":
		return unsafe(what, "events run on each server's own timer")
	case "FUNCTION", "PROCEDURE", "PACKAGE":
		return unsafe(what, reasonStoredCode)
	case "DATABASE", "SCHEMA":
		return unsafe(what, "the replicated database is fixed by the configuration")
	case "SEQUENCE":
		return unsafe(what, reasonSequence)
	case "SERVER", "TABLESPACE", "LOGFILE", "RESOURCE", "INSTANCE":
		return unsafe(what, reasonServer)
	default:
		return unsafe(what, "only TABLE, INDEX, VIEW and TRIGGER definitions are replicated")
	}
	if temp {
		return unsafe(w.verb+" TEMPORARY "+w.obj, "temporary objects are connection state and vanish on reconnect")
	}
	i = s.skipIfExists(i + 1)
	switch {
	case w.obj == "INDEX":
		next, last, parts, ok := s.qname(i)
		if !ok {
			return nil
		}
		if parts > 1 {
			return unsafe("database-qualified name "+s.toks[i].Text+"."+s.nameText(last), reasonDBQualified)
		}
		i = next
		if s.kw(i, "USING") {
			i += 2
		}
		if s.kw(i, "ON") {
			j, err := w.setTarget(i + 1)
			if err != nil {
				return err
			}
			if w.verb == "CREATE" && s.punct(j, "(") {
				s.markKeyParts(j)
			}
		}
		return nil
	case w.obj == "TRIGGER" && w.verb == "CREATE":
		next, last, parts, ok := s.qname(i)
		if !ok {
			return nil
		}
		if parts > 1 {
			return unsafe("database-qualified name "+s.toks[i].Text+"."+s.nameText(last), reasonDBQualified)
		}
		for j := next; j < len(s.toks); j++ {
			if s.depth[j] == 0 && s.kw(j, "ON") {
				k, err := w.setTarget(j + 1)
				if err != nil {
					return err
				}
				w.bodyStart = k
				break
			}
		}
		return nil
	case w.obj == "TRIGGER":
		_, err := w.setTarget(i) // DROP TRIGGER names the trigger, not a table
		w.target = -1
		return err
	case w.verb == "DROP":
		for {
			var err error
			if i, err = w.setTarget(i); err != nil {
				return err
			}
			if !s.punct(i, ",") {
				return nil
			}
			i++
		}
	case w.verb == "ALTER":
		next, err := w.setTarget(i)
		if err != nil {
			return err
		}
		for j := next; j < len(s.toks); j++ {
			if s.depth[j] != 0 || !s.kw(j, "RENAME") {
				continue
			}
			k := j + 1
			if s.kw(k, "COLUMN", "INDEX", "KEY", "CONSTRAINT") {
				continue
			}
			if s.kw(k, "TO", "AS") {
				k++
			}
			if _, last, parts, ok := s.qname(k); ok && parts > 1 {
				return unsafe("database-qualified name "+s.toks[k].Text+"."+s.nameText(last), reasonDBQualified)
			}
		}
		s.markIndexDefs()
		return nil
	default:
		_, err := w.setTarget(i)
		s.markIndexDefs()
		return err
	}
}

// markIndexDefs marks index and constraint names in table definitions
// ("KEY user (a)", "UNIQUE uuid (a)", "REFERENCES user (id)") and the column
// prefixes of their key lists, so that none reads as a function call.
func (s *stmt) markIndexDefs() {
	for i := range s.toks {
		if !s.kw(i, "KEY", "INDEX", "UNIQUE", "FULLTEXT", "SPATIAL", "CONSTRAINT", "REFERENCES") || s.punct(i-1, ".") {
			continue
		}
		j := i + 1
		if s.kw(j, "KEY", "INDEX") {
			j++
		}
		if s.kw(i, "REFERENCES") {
			s.qname(j)
			continue
		}
		if s.isName(j) && !s.kw(j, "USING") {
			s.names[j] = true
			j++
		}
		if s.kw(j, "USING") {
			j += 2
		}
		if s.punct(j, "(") && !s.kw(i, "CONSTRAINT") {
			s.markKeyParts(j)
		}
	}
}

// markKeyParts marks column names in the index key list opened at paren i:
// "uuid(8)" there is a prefix of column uuid, not a call of UUID().
func (s *stmt) markKeyParts(i int) {
	end := s.match[i]
	for j := i + 1; j < end; j++ {
		if s.depth[j] == s.depth[i]+1 && (s.punct(j-1, "(") && j-1 == i || s.punct(j-1, ",")) &&
			s.isName(j) && s.punct(j+1, "(") && j+2 < end && s.toks[j+2].Kind == TokNumber && s.punct(j+3, ")") {
			s.names[j] = true
		}
	}
}

// ddlRules applies the DDL refusals.
func (w *writeCheck) ddlRules() error {
	s := w.s
	toks := s.toks
	if w.verb == "CREATE" && w.obj == "TABLE" {
		for i := range toks {
			if s.kw(i, "SELECT") || (i > w.after && s.depth[i] == 0 && s.kw(i, "AS", "TABLE", "VALUES")) {
				return unsafe("CREATE TABLE ... SELECT", "the copied rows and any auto-increment ids would follow the SELECT's row order; CREATE TABLE first, then INSERT")
			}
		}
	}
	if w.verb == "CREATE" && w.obj == "TRIGGER" && w.bodyStart >= 0 {
		if err := s.checkTriggerBody(w.bodyStart); err != nil {
			return err
		}
	}
	for i, t := range toks {
		if t.Kind != TokIdent || s.names[i] || s.punct(i-1, ".") {
			continue
		}
		if s.d == MySQL {
			switch t.Value {
			case "ENGINE":
				if v, ok := s.engineOption(i); ok && v != "INNODB" {
					return unsafe("ENGINE="+v, reasonEngine)
				}
			case "TYPE": // the old spelling of ENGINE
				if s.depth[i] == 0 && s.punct(i+1, "=") && w.obj == "TABLE" {
					if v, ok := s.engineOption(i); ok && v != "INNODB" {
						return unsafe("TYPE="+v, reasonEngine)
					}
				}
			case "SEQUENCE":
				if s.depth[i] == 0 && w.obj == "TABLE" && (s.punct(i+1, "=") || (i+1 < len(toks) && toks[i+1].Kind == TokNumber)) {
					return unsafe("SEQUENCE table option", reasonSequence)
				}
			case "ROW":
				if err := s.checkRowStart(i); err != nil {
					return err
				}
			case "TABLESPACE":
				return unsafe("TABLESPACE", reasonServer)
			case "DIRECTORY":
				if s.kw(i-1, "DATA", "INDEX") {
					return unsafe(toks[i-1].Value+" DIRECTORY", "names a path on each server's disk")
				}
			case "DEFINER":
				if s.depth[i] == 0 && s.punct(i+1, "=") {
					return unsafe("DEFINER", "names an account that may not exist on every server; omit it")
				}
			}
			continue
		}
		// SQLite: clock and randomness in a definition run per server.
		switch t.Value {
		case "CURRENT_TIMESTAMP", "CURRENT_DATE", "CURRENT_TIME":
			c := t.Value
			if s.kw(i-1, "DEFAULT") {
				c = "DEFAULT " + c
			}
			return unsafe(c, reasonSQLiteClock)
		}
		name, ok := s.funcName(i)
		switch {
		case !ok:
		case name == "RANDOM" || name == "RANDOMBLOB":
			return unsafe(strings.ToLower(name)+"()", reasonSQLiteClock)
		case sqliteDateFuncs[name] && s.dateFuncNow(i):
			return unsafe(strings.ToLower(name)+"('now')", reasonSQLiteClock)
		}
	}
	return nil
}

// reasonEngine: why only InnoDB tables are replicated.
const reasonEngine = "only InnoDB tables roll back with their entry and are crash-safe; use InnoDB"

// engineOption returns the upper-cased engine of a MySQL ENGINE [=] x table
// or partition option at i. A column named engine (after '(' or ',' or a
// column-altering keyword) is not an option.
func (s *stmt) engineOption(i int) (string, bool) {
	if s.punct(i-1, "(") || (s.depth[i] > 0 && s.punct(i-1, ",")) ||
		s.kw(i-1, "ADD", "COLUMN", "CHANGE", "MODIFY", "DROP", "AFTER", "ALTER", "TO", "RENAME", "AND", "OR", "NOT", "XOR") {
		return "", false
	}
	j := i + 1
	if s.punct(j, "=") {
		j++
	} else if s.depth[i] > 0 && !s.kw(i-1, "STORAGE") {
		return "", false
	}
	if j >= len(s.toks) {
		return "", false
	}
	switch t := s.toks[j]; t.Kind {
	case TokIdent, TokQuotedIdent, TokString:
		return upperIdent(t.Value), true
	}
	return "", false
}

// checkTriggerBody refuses statements in a trigger body (from token from)
// that escape the row being changed: stored-code calls, transaction and
// session control, and SET of anything but NEW.col or a DECLAREd variable.
func (s *stmt) checkTriggerBody(from int) error {
	declared := map[string]bool{}
	for j := from; j < len(s.toks); j++ {
		t := s.toks[j]
		if t.Kind != TokIdent || s.punct(j-1, ".") {
			continue
		}
		if t.Value == "DECLARE" {
			for k := j + 1; s.isName(k); k += 2 {
				declared[upperIdent(s.toks[k].Value)] = true
				if !s.punct(k+1, ",") {
					break
				}
			}
		}
		if !isStatementStart(s.toks, j) {
			continue
		}
		if bodyRefused[t.Value] {
			return unsafe(t.Value+" in a trigger body", reasonStoredCode)
		}
		if t.Value == "SET" {
			ok := s.kw(j+1, "NEW") && s.punct(j+2, ".")
			if s.isName(j+1) && declared[upperIdent(s.toks[j+1].Value)] {
				ok = true
			}
			if !ok {
				return unsafe("SET in a trigger body", "only SET NEW.col or a DECLAREd variable is replicated safely")
			}
		}
	}
	return nil
}
