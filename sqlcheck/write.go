package sqlcheck

import (
	"context"
	"fmt"
	"strconv"
	"strings"
)

// Class is what a checked statement does.
type Class uint8

// Statement classes.
const (
	ClassRead Class = iota // reads only (Query)
	ClassDML               // INSERT, REPLACE, UPDATE, DELETE
	ClassDDL               // CREATE/ALTER/DROP/RENAME/TRUNCATE of TABLE/INDEX/VIEW/TRIGGER
)

func (c Class) String() string {
	switch c {
	case ClassRead:
		return "read"
	case ClassDML:
		return "DML"
	case ClassDDL:
		return "DDL"
	}
	return "Class(" + strconv.Itoa(int(c)) + ")"
}

// Checked describes a statement that passed CheckWrite.
type Checked struct {
	Class Class
	// Table is the table the statement changes, unquoted: the target of
	// INSERT/REPLACE/UPDATE/DELETE (the first one of a multi-table statement),
	// the table (or view) a DDL statement creates, alters, drops, renames or
	// truncates, and the table an index or trigger is defined on. It is ""
	// when the statement does not name it (SQLite DROP INDEX/DROP TRIGGER).
	// Bare names keep their spelling (MySQL table names are case-sensitive).
	Table string
	// Params is the number of positional parameters the statement binds:
	// the count of '?' in MySQL; SQLite's sqlite3_bind_parameter_count (the
	// largest ?NNN, each new :name/@name/$name taking the next index).
	Params int
	// DateFuncs reports SQLite date and time function calls (date(),
	// strftime(), ...): a string parameter 'now' would make them read each
	// server's clock, so the caller refuses one when it binds parameters.
	DateFuncs bool
}

// CheckWrite decides whether one statement may enter the replicated log, for
// dialect d. It accepts INSERT, REPLACE, UPDATE and DELETE (Class DML,
// optionally after WITH) and CREATE/ALTER/DROP/RENAME/TRUNCATE of tables,
// indexes, views and triggers (Class DDL); everything else is refused.
//
// A refusal is an *UnsafeError (errors.Is ErrUnsafe) naming the construct,
// e.g. "UUID()", "UPDATE ... LIMIT", "@@hostname", "BEGIN". Text that cannot
// be tokenized wraps ErrLex; an empty text wraps ErrEmpty; a failing schema
// lookup is returned wrapped. schema answers auto-increment and unique-key
// questions for INSERT ... SELECT and ON DUPLICATE KEY UPDATE; with a nil
// schema those statements are refused.
//
// Invariant: a statement CheckWrite accepts produces the same result on every
// server once the entry's context is bound (MySQL: SET per entry; SQLite: the apply
// connection's own clock and random source, see sqlfsm/sqlite_session.go)
// given identical data, schema and pinned session settings.
func CheckWrite(ctx context.Context, d Dialect, sql string, schema SchemaInfo) (Checked, error) {
	if err := ctx.Err(); err != nil {
		return Checked{}, err
	}
	s, err := parseOne(d, sql)
	if err != nil {
		return Checked{}, err
	}
	first := s.toks[0]
	if first.Kind == TokPunct && first.Text == "(" {
		return Checked{}, unsafe("SELECT", reasonRead)
	}
	if first.Kind != TokIdent {
		return Checked{}, fmt.Errorf("%w: statement starts with %q, not a keyword", ErrLex, first.Text)
	}
	vi := 0
	if first.Value == "WITH" {
		if vi, err = s.skipCTEs(0); err != nil {
			return Checked{}, err
		}
		if vi >= len(s.toks) || s.toks[vi].Kind != TokIdent {
			return Checked{}, fmt.Errorf("%w: no statement after WITH clause", ErrLex)
		}
	}
	verb := s.toks[vi].Value
	w := writeCheck{s: s, vi: vi, verb: verb, target: -1}
	switch verb {
	case "INSERT", "REPLACE", "UPDATE", "DELETE":
		w.class = ClassDML
	case "CREATE", "ALTER", "DROP", "RENAME", "TRUNCATE":
		if vi != 0 {
			return Checked{}, unsafe("WITH ... "+verb, "a WITH clause cannot precede DDL")
		}
		w.class = ClassDDL
	default:
		if r, ok := refusedVerbs[verb]; ok {
			return Checked{}, unsafe(verb, r)
		}
		return Checked{}, unsafe(verb, "only INSERT, REPLACE, UPDATE, DELETE and table, index, view or trigger DDL are replicated")
	}
	if err := s.checkSystemNames(); err != nil {
		return Checked{}, err
	}
	if err := s.checkSystemTimeTrx(); err != nil {
		return Checked{}, err
	}
	// Structure first: it marks object names so that the token scan does not
	// take "INSERT INTO user (a)" for a call of USER().
	if err := w.structure(); err != nil {
		return Checked{}, err
	}
	dateFuncs, err := s.scanWrite()
	if err != nil {
		return Checked{}, err
	}
	if err := w.rules(ctx, schema); err != nil {
		return Checked{}, err
	}
	c := Checked{Class: w.class, Params: s.paramCount(), DateFuncs: dateFuncs}
	if w.target >= 0 {
		c.Table = s.nameText(w.target)
	}
	return c, nil
}

// writeCheck holds the statement-specific analysis of a write.
type writeCheck struct {
	s      *stmt
	vi     int // index of the statement keyword (after any WITH clause)
	verb   string
	class  Class
	target int // index of the target table's (last) name token, -1 if none
	// after is the index after the target name.
	after int
	// obj is the DDL object keyword (TABLE, INDEX, VIEW, TRIGGER).
	obj       string
	orAction  string // SQLite INSERT/UPDATE OR <action>
	ignore    bool   // MySQL IGNORE modifier
	bodyStart int    // first token of a trigger body, -1 if none
}

// setTarget reads the target name at i and refuses a database-qualified one.
func (w *writeCheck) setTarget(i int) (int, error) {
	next, last, parts, ok := w.s.qname(i)
	if !ok {
		return i, nil // the server reports the syntax error identically
	}
	if parts > 1 {
		return 0, unsafe("database-qualified name "+w.s.toks[i].Text+"."+w.s.nameText(last), reasonDBQualified)
	}
	if w.target < 0 {
		w.target = last
		w.after = next
	}
	return next, nil
}

// structure finds the statement's target and modifiers and marks names.
func (w *writeCheck) structure() error {
	s := w.s
	i := w.vi + 1
	switch w.verb {
	case "INSERT", "REPLACE":
		if w.verb == "REPLACE" {
			w.orAction = "REPLACE"
		}
		for {
			switch {
			case s.kw(i, "OR") && s.isName(i+1):
				w.orAction = s.toks[i+1].Value
				i += 2
				continue
			case s.kw(i, "LOW_PRIORITY", "DELAYED", "HIGH_PRIORITY"):
				i++
				continue
			case s.kw(i, "IGNORE"):
				w.ignore = true
				i++
				continue
			}
			break
		}
		if s.kw(i, "INTO") {
			i++
		}
		_, err := w.setTarget(i)
		return err
	case "UPDATE":
		for {
			switch {
			case s.kw(i, "OR") && s.isName(i+1):
				w.orAction = s.toks[i+1].Value
				i += 2
				continue
			case s.kw(i, "LOW_PRIORITY"):
				i++
				continue
			case s.kw(i, "IGNORE"):
				w.ignore = true
				i++
				continue
			}
			break
		}
		_, err := w.setTarget(i)
		return err
	case "DELETE":
		for s.kw(i, "LOW_PRIORITY", "QUICK", "IGNORE") {
			i++
		}
		if s.kw(i, "FROM") {
			i++
		}
		_, err := w.setTarget(i)
		return err
	case "TRUNCATE":
		if s.kw(i, "TABLE") {
			i++
		}
		_, err := w.setTarget(i)
		return err
	case "RENAME":
		if !s.kw(i, "TABLE", "TABLES") {
			return unsafe("RENAME "+s.toks[min(i, len(s.toks)-1)].Value, "accounts and privileges are per server")
		}
		i++
		for {
			var err error
			if i, err = w.setTarget(i); err != nil {
				return err
			}
			if !s.kw(i, "TO") {
				return nil
			}
			next, last, parts, ok := s.qname(i + 1)
			if !ok {
				return nil
			}
			if parts > 1 {
				return unsafe("database-qualified name "+s.toks[i+1].Text+"."+s.nameText(last), reasonDBQualified)
			}
			i = next
			if !s.punct(i, ",") {
				return nil
			}
			i++
		}
	case "CREATE", "ALTER", "DROP":
		return w.ddlStructure(i)
	}
	return nil
}

// scanWrite applies the token-level refusals to every token of a write.
func (s *stmt) scanWrite() (dateFuncs bool, err error) {
	mysql := s.d == MySQL
	toks := s.toks
	for i, t := range toks {
		switch t.Kind {
		case TokSysVar:
			return dateFuncs, unsafe("@@"+t.Value, "system variables differ between servers")
		case TokUserVar:
			return dateFuncs, unsafe("@"+t.Value, "user variables are connection state, not part of the log entry")
		case TokIdent, TokQuotedIdent:
		default:
			continue
		}
		if name, ok := s.funcName(i); ok {
			if s.punct(i-1, ".") && s.isName(i-2) {
				return dateFuncs, unsafe(s.toks[i-2].Text+"."+t.Text+"()", reasonStoredCode)
			}
			if r, ok := unsafeFuncs[name]; ok {
				return dateFuncs, unsafe(name+"()", r)
			}
			if mysql && name == "MATCH" {
				return dateFuncs, unsafe("MATCH ... AGAINST", "full-text relevance depends on each server's index state (deleted-document lists, caches, OPTIMIZE history)")
			}
			if !mysql {
				if r, ok := sqliteUnsafeFuncs[name]; ok {
					return dateFuncs, unsafe(strings.ToLower(name)+"()", r)
				}
				if name == "RANDOMBLOB" {
					if _, err := s.randomblobLen(i); err != nil {
						return dateFuncs, err
					}
				}
				if sqliteDateFuncs[name] {
					dateFuncs = true
					if err := s.checkDateArgs(i); err != nil {
						return dateFuncs, err
					}
				}
			}
			continue
		}
		// Three-part names (db.table.column) always leave the database.
		if s.punct(i+1, ".") && s.isName(i+2) && s.punct(i+3, ".") && s.isName(i+4) && !s.punct(i-1, ".") {
			return dateFuncs, unsafe("database-qualified name "+t.Text+"."+toks[i+2].Text, reasonDBQualified)
		}
		if t.Kind != TokIdent || s.names[i] || s.punct(i-1, ".") {
			continue
		}
		switch t.Value {
		case "CURRENT_USER", "CURRENT_ROLE":
			if mysql {
				return dateFuncs, unsafe(t.Value, reasonAccount)
			}
		case "NEXT", "PREVIOUS":
			if s.kw(i+1, "VALUE") && s.kw(i+2, "FOR") {
				return dateFuncs, unsafe(t.Value+" VALUE FOR", reasonSequence)
			}
		case "INTO":
			if s.kw(i+1, "OUTFILE", "DUMPFILE") {
				return dateFuncs, unsafe("INTO "+toks[i+1].Value, "writes a file on the server's disk")
			}
		case "NOWAIT":
			return dateFuncs, unsafe("NOWAIT", "whether it fails depends on each server's timing")
		case "SKIP":
			if s.kw(i+1, "LOCKED") {
				return dateFuncs, unsafe("SKIP LOCKED", "which rows it skips depends on each server's timing")
			}
		case "WAIT":
			if i+1 < len(toks) && toks[i+1].Kind == TokNumber {
				return dateFuncs, unsafe("WAIT "+toks[i+1].Text, "whether it fails depends on each server's timing")
			}
		}
	}
	return dateFuncs, nil
}

// rules applies the statement-specific refusals after the token scan.
func (w *writeCheck) rules(ctx context.Context, schema SchemaInfo) error {
	if err := w.s.checkTableRefs(); err != nil {
		return err
	}
	switch w.verb {
	case "INSERT", "REPLACE":
		if err := w.insertRules(ctx, schema); err != nil {
			return err
		}
	case "UPDATE":
		if w.ignore {
			return unsafe("UPDATE IGNORE", "which rows it skips depends on each server's row order")
		}
		if w.orAction == "IGNORE" || w.orAction == "REPLACE" {
			return unsafe("UPDATE OR "+w.orAction, "which rows it skips or replaces depends on each server's row order")
		}
	}
	if err := w.checkLimits(ctx, schema); err != nil {
		return err
	}
	if w.class == ClassDML {
		return nil
	}
	return w.ddlRules()
}

// checkTableRefs refuses database-qualified table references after FROM,
// JOIN, USING and in comma-separated FROM lists, and after REFERENCES.
func (s *stmt) checkTableRefs() error {
	clause := map[int]string{}
	for i, t := range s.toks {
		if s.punct(i, "(") {
			clause[s.depth[i]+1] = ""
		}
		if t.Kind != TokIdent || s.punct(i-1, ".") {
			if s.punct(i, ",") && clause[s.depth[i]] == "FROM" {
				if err := s.refAt(i + 1); err != nil {
					return err
				}
			}
			continue
		}
		switch t.Value {
		case "SELECT", "WHERE", "GROUP", "HAVING", "ORDER", "LIMIT", "WINDOW", "UNION", "EXCEPT",
			"INTERSECT", "SET", "VALUES", "RETURNING":
			clause[s.depth[i]] = t.Value
		case "FROM", "JOIN", "USING", "REFERENCES", "UPDATE", "INTO":
			clause[s.depth[i]] = "FROM"
			if t.Value == "UPDATE" && s.depth[i] == 0 && s.kw(i-1, "KEY") {
				clause[0] = "SET"
				continue
			}
			if err := s.refAt(i + 1); err != nil {
				return err
			}
		}
	}
	return nil
}

// refAt refuses a qualified name at i used as a table reference.
func (s *stmt) refAt(i int) error {
	if s.isName(i) && s.punct(i+1, ".") && s.isName(i+2) && !s.punct(i+3, ".") {
		return unsafe("database-qualified name "+s.toks[i].Text+"."+s.toks[i+2].Text, reasonDBQualified)
	}
	return nil
}
