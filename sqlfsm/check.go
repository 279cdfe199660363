package sqlfsm

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// ErrEmpty: an entry without statements, or an SQL text without a statement.
var ErrEmpty = errors.New("empty statement or transaction")

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
}

// Reasons shared by several refusals.
const (
	reasonPerServer   = "returns a different value on every server"
	reasonAccount     = "depends on the connection's account, which can differ between servers"
	reasonConnState   = "reads connection state that is not part of the log entry"
	reasonLocks       = "takes or inspects server-local locks"
	reasonTiming      = "depends on timing and blocks the apply path"
	reasonSequence    = "sequence state is not bound by the entry's context"
	reasonStoredCode  = "stored code can hide statements the checks cannot see"
	reasonDBQualified = "database-qualified names escape the replicated database"
	reasonRead        = "reads go through one.sql.query"
	reasonTxn         = "transactions are managed by the log: one entry is one transaction"
	reasonSession     = "session settings are pinned by the apply connection and identical on every server"
	reasonServer      = "administers the local server, not the replicated data"
	reasonSQLiteClock = "in a definition it is evaluated by each server at its own time (or randomly); insert the value explicitly instead"
)

// unsafeFuncs are functions refused in writes, both dialects, keyed by
// upper-cased name.
var unsafeFuncs = map[string]string{
	"UUID":              reasonPerServer,
	"UUID_SHORT":        reasonPerServer,
	"SYS_GUID":          reasonPerServer,
	"RANDOM_BYTES":      reasonPerServer,
	"SYSDATE":           "ignores the entry's timestamp (use NOW())",
	"USER":              reasonAccount,
	"CURRENT_USER":      reasonAccount,
	"SESSION_USER":      reasonAccount,
	"SYSTEM_USER":       reasonAccount,
	"CURRENT_ROLE":      reasonAccount,
	"CONNECTION_ID":     reasonConnState,
	"FOUND_ROWS":        reasonConnState,
	"ROW_COUNT":         reasonConnState,
	"LOAD_FILE":         "reads a file from the server's disk",
	"GET_LOCK":          reasonLocks,
	"RELEASE_LOCK":      reasonLocks,
	"RELEASE_ALL_LOCKS": reasonLocks,
	"IS_FREE_LOCK":      reasonLocks,
	"IS_USED_LOCK":      reasonLocks,
	"SLEEP":             reasonTiming,
	"BENCHMARK":         reasonTiming,
	"MASTER_POS_WAIT":   reasonTiming,
	"SOURCE_POS_WAIT":   reasonTiming,
	"MASTER_GTID_WAIT":  reasonTiming,
	"DATABASE":          "database names can differ between servers",
	"SCHEMA":            "database names can differ between servers",
	"VERSION":           "server versions can differ",
	"NEXTVAL":           reasonSequence,
	"LASTVAL":           reasonSequence,
	"SETVAL":            reasonSequence,
}

// sqliteUnsafeFuncs are additionally refused in SQLite writes.
var sqliteUnsafeFuncs = map[string]string{
	"CHANGES":           reasonConnState,
	"TOTAL_CHANGES":     reasonConnState,
	"LAST_INSERT_ROWID": reasonConnState,
	"SQLITE_VERSION":    "server versions can differ",
	"SQLITE_SOURCE_ID":  "server versions can differ",
	"LOAD_EXTENSION":    "loads code from the server's disk",
}

// readUnsafeFuncs are refused even in reads: they change state or block.
var readUnsafeFuncs = map[string]string{
	"GET_LOCK":          reasonLocks,
	"RELEASE_LOCK":      reasonLocks,
	"RELEASE_ALL_LOCKS": reasonLocks,
	"LOAD_FILE":         "reads a file from the server's disk",
	"SLEEP":             reasonTiming,
	"BENCHMARK":         reasonTiming,
	"MASTER_POS_WAIT":   reasonTiming,
	"SOURCE_POS_WAIT":   reasonTiming,
	"MASTER_GTID_WAIT":  reasonTiming,
	"NEXTVAL":           "advances a sequence",
	"SETVAL":            "changes a sequence",
	"LOAD_EXTENSION":    "loads code from the server's disk",
}

// sqliteDateFuncs are SQLite's date and time functions; 'now' (or a missing
// time value) makes them read the server clock.
var sqliteDateFuncs = map[string]bool{
	"DATE": true, "TIME": true, "DATETIME": true, "JULIANDAY": true,
	"STRFTIME": true, "UNIXEPOCH": true, "TIMEDIFF": true,
}

// refusedVerbs gives the reason for leading keywords that never enter the
// log. Any leading keyword not handled by CheckWrite is refused as well, with
// a generic reason.
var refusedVerbs = map[string]string{
	"BEGIN": reasonTxn, "START": reasonTxn, "COMMIT": reasonTxn, "ROLLBACK": reasonTxn,
	"SAVEPOINT": reasonTxn, "RELEASE": reasonTxn, "END": reasonTxn, "XA": reasonTxn,
	"LOCK": "table locks are server-local", "UNLOCK": "table locks are server-local",
	"SET": reasonSession, "USE": reasonDBQualified,
	"FLUSH": reasonServer, "KILL": reasonServer, "SHUTDOWN": reasonServer, "RESTART": reasonServer,
	"INSTALL": reasonServer, "UNINSTALL": reasonServer, "RESET": reasonServer, "PURGE": reasonServer,
	"CHANGE": reasonServer, "BINLOG": reasonServer, "CACHE": reasonServer, "CLONE": reasonServer,
	"GRANT": "accounts and privileges are per server", "REVOKE": "accounts and privileges are per server",
	"LOAD":    "reads a file from the server's or client's disk",
	"HANDLER": "handler cursors are connection state", "DO": reasonRead,
	"CALL": reasonStoredCode, "PREPARE": "prepared statements are connection state",
	"EXECUTE": "prepared statements are connection state", "DEALLOCATE": "prepared statements are connection state",
	"OPTIMIZE": reasonServer, "ANALYZE": "statistics are per server and change query plans",
	"REPAIR": reasonServer, "CHECK": reasonServer, "CHECKSUM": reasonServer, "HELP": reasonRead,
	"SHOW": reasonRead, "EXPLAIN": reasonRead, "DESCRIBE": reasonRead, "DESC": reasonRead,
	"SELECT": reasonRead, "TABLE": reasonRead, "VALUES": reasonRead,
	"ATTACH": reasonDBQualified, "DETACH": reasonDBQualified, "PRAGMA": reasonSession,
	"VACUUM": reasonServer, "REINDEX": reasonServer,
	"SIGNAL": reasonStoredCode, "RESIGNAL": reasonStoredCode, "GET": reasonConnState,
	"IMPORT": "reads files from the server's disk", "BACKUP": reasonServer,
}

// unsafe builds the refusal for construct.
func unsafe(construct, reason string) error {
	return &UnsafeError{Construct: construct, Reason: reason}
}

// stmt is one lexed statement with its paren structure.
//
// Invariants: toks holds no TokSemicolon except inside a trigger body;
// parentheses are balanced; depth[i] is the number of parentheses enclosing
// token i (a parenthesis itself has the depth of its outside); match[i] is
// the index of the partner of the parenthesis at i, or -1.
type stmt struct {
	d     DialectName
	toks  []Token
	depth []int
	match []int
	// names marks tokens known to be object names (tables, indexes, CTEs,
	// index key columns), never function calls.
	names []bool
}

// parseOne lexes sql and returns its single statement. A trailing ';' is
// accepted; anything after it is refused as a second statement.
func parseOne(d DialectName, sql string) (*stmt, error) {
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
func statementEnd(d DialectName, toks []Token) int {
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
func bodyEnd(d DialectName, toks []Token, i int) int {
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

// info carries facts CheckEntry needs beyond Checked.
type info struct {
	dateFuncs bool // SQLite date/time function calls present
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
// server once the entry's context is bound (MySQL) or RewriteSQLite has run
// (SQLite), given identical data, schema and pinned session settings.
func CheckWrite(ctx context.Context, d DialectName, sql string, schema SchemaInfo) (Checked, error) {
	c, _, err := checkWrite(ctx, d, sql, schema)
	return c, err
}

func checkWrite(ctx context.Context, d DialectName, sql string, schema SchemaInfo) (Checked, info, error) {
	if err := ctx.Err(); err != nil {
		return Checked{}, info{}, err
	}
	s, err := parseOne(d, sql)
	if err != nil {
		return Checked{}, info{}, err
	}
	first := s.toks[0]
	if first.Kind == TokPunct && first.Text == "(" {
		return Checked{}, info{}, unsafe("SELECT", reasonRead)
	}
	if first.Kind != TokIdent {
		return Checked{}, info{}, fmt.Errorf("%w: statement starts with %q, not a keyword", ErrLex, first.Text)
	}
	vi := 0
	if first.Value == "WITH" {
		if vi, err = s.skipCTEs(0); err != nil {
			return Checked{}, info{}, err
		}
		if vi >= len(s.toks) || s.toks[vi].Kind != TokIdent {
			return Checked{}, info{}, fmt.Errorf("%w: no statement after WITH clause", ErrLex)
		}
	}
	verb := s.toks[vi].Value
	w := writeCheck{s: s, vi: vi, verb: verb, target: -1}
	switch verb {
	case "INSERT", "REPLACE", "UPDATE", "DELETE":
		w.class = ClassDML
	case "CREATE", "ALTER", "DROP", "RENAME", "TRUNCATE":
		if vi != 0 {
			return Checked{}, info{}, unsafe("WITH ... "+verb, "a WITH clause cannot precede DDL")
		}
		w.class = ClassDDL
	default:
		if r, ok := refusedVerbs[verb]; ok {
			return Checked{}, info{}, unsafe(verb, r)
		}
		return Checked{}, info{}, unsafe(verb, "only INSERT, REPLACE, UPDATE, DELETE and table, index, view or trigger DDL are replicated")
	}
	// Structure first: it marks object names so that the token scan does not
	// take "INSERT INTO user (a)" for a call of USER().
	if err := w.structure(); err != nil {
		return Checked{}, info{}, err
	}
	inf, err := s.scanWrite()
	if err != nil {
		return Checked{}, info{}, err
	}
	if err := w.rules(ctx, schema); err != nil {
		return Checked{}, info{}, err
	}
	c := Checked{Class: w.class, Params: s.paramCount()}
	if w.target >= 0 {
		c.Table = s.nameText(w.target)
	}
	return c, inf, nil
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

// scanWrite applies the token-level refusals to every token of a write.
func (s *stmt) scanWrite() (info, error) {
	var inf info
	mysql := s.d == MySQL
	toks := s.toks
	for i, t := range toks {
		switch t.Kind {
		case TokSysVar:
			return inf, unsafe("@@"+t.Value, "system variables differ between servers")
		case TokUserVar:
			return inf, unsafe("@"+t.Value, "user variables are connection state, not part of the log entry")
		case TokIdent, TokQuotedIdent:
		default:
			continue
		}
		if name, ok := s.funcName(i); ok {
			if s.punct(i-1, ".") && s.isName(i-2) {
				return inf, unsafe(s.toks[i-2].Text+"."+t.Text+"()", reasonStoredCode)
			}
			if r, ok := unsafeFuncs[name]; ok {
				return inf, unsafe(name+"()", r)
			}
			if !mysql {
				if r, ok := sqliteUnsafeFuncs[name]; ok {
					return inf, unsafe(strings.ToLower(name)+"()", r)
				}
				if name == "RANDOMBLOB" {
					if _, err := s.randomblobLen(i); err != nil {
						return inf, err
					}
				}
				if sqliteDateFuncs[name] {
					inf.dateFuncs = true
					if err := s.checkDateArgs(i); err != nil {
						return inf, err
					}
				}
			}
			continue
		}
		// Three-part names (db.table.column) always leave the database.
		if s.punct(i+1, ".") && s.isName(i+2) && s.punct(i+3, ".") && s.isName(i+4) && !s.punct(i-1, ".") {
			return inf, unsafe("database-qualified name "+t.Text+"."+toks[i+2].Text, reasonDBQualified)
		}
		if t.Kind != TokIdent || s.names[i] || s.punct(i-1, ".") {
			continue
		}
		switch t.Value {
		case "CURRENT_USER", "CURRENT_ROLE":
			if mysql {
				return inf, unsafe(t.Value, reasonAccount)
			}
		case "NEXT", "PREVIOUS":
			if s.kw(i+1, "VALUE") && s.kw(i+2, "FOR") {
				return inf, unsafe(t.Value+" VALUE FOR", reasonSequence)
			}
		case "INTO":
			if s.kw(i+1, "OUTFILE", "DUMPFILE") {
				return inf, unsafe("INTO "+toks[i+1].Value, "writes a file on the server's disk")
			}
		case "NOWAIT":
			return inf, unsafe("NOWAIT", "whether it fails depends on each server's timing")
		case "SKIP":
			if s.kw(i+1, "LOCKED") {
				return inf, unsafe("SKIP LOCKED", "which rows it skips depends on each server's timing")
			}
		case "WAIT":
			if i+1 < len(toks) && toks[i+1].Kind == TokNumber {
				return inf, unsafe("WAIT "+toks[i+1].Text, "whether it fails depends on each server's timing")
			}
		}
	}
	return inf, nil
}

// maxRandomblob caps randomblob(N) so a rewritten statement stays small.
const maxRandomblob = 1 << 20

// randomblobLen returns N of randomblob(N) at i, refusing anything but an
// integer literal up to maxRandomblob.
func (s *stmt) randomblobLen(i int) (int, error) {
	if i+3 < len(s.toks) && s.toks[i+2].Kind == TokNumber && s.punct(i+3, ")") {
		if n, err := strconv.Atoi(s.toks[i+2].Text); err == nil {
			if n > maxRandomblob {
				return 0, unsafe("randomblob("+s.toks[i+2].Text+")", fmt.Sprintf("at most %d bytes", maxRandomblob))
			}
			return max(n, 1), nil
		}
	}
	return 0, unsafe("randomblob()", "its length must be an integer literal so the leader can bind the bytes")
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

// dateFuncNow reports whether the SQLite date function called at i reads the
// clock: an argument 'now', or no time value at all.
func (s *stmt) dateFuncNow(i int) bool {
	args := s.args(i + 1)
	name := upperIdent(s.toks[i].Value)
	if len(args) == 0 || (name == "STRFTIME" && len(args) == 1) {
		return true
	}
	for k, a := range args {
		if name == "STRFTIME" && k == 0 {
			continue
		}
		if a[1]-a[0] == 1 && s.toks[a[0]].Kind == TokString && strings.EqualFold(s.toks[a[0]].Value, "now") {
			return true
		}
	}
	return false
}

// checkDateArgs refuses SQLite date-function arguments that read the
// server's time zone or that SQLite may take for 'now' behind the checks'
// back (a double-quoted "now" becomes a string when no such column exists).
func (s *stmt) checkDateArgs(i int) error {
	for _, a := range s.args(i + 1) {
		if a[1]-a[0] != 1 {
			continue
		}
		t := s.toks[a[0]]
		v := strings.ToLower(t.Value)
		switch {
		case t.Kind == TokString && (v == "localtime" || v == "utc"):
			return unsafe("'"+v+"' modifier", "converts with each server's local time zone")
		case t.Kind == TokQuotedIdent && t.Text[0] == '"' && (v == "now" || v == "localtime" || v == "utc"):
			return unsafe(t.Text, "SQLite may read a double-quoted word as a string; write '"+v+"' or quote a column as [x] or `x`")
		}
	}
	return nil
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
		if w.s.topLevel("LIMIT") >= 0 {
			return unsafe("UPDATE ... LIMIT", "the rows a LIMIT picks depend on each server's plan, even with ORDER BY on a non-unique key")
		}
	case "DELETE":
		if w.s.topLevel("LIMIT") >= 0 {
			return unsafe("DELETE ... LIMIT", "the rows a LIMIT picks depend on each server's plan, even with ORDER BY on a non-unique key")
		}
	}
	if w.class == ClassDML {
		return w.s.checkSubqueryLimits(w.verb == "UPDATE" || w.verb == "DELETE")
	}
	return w.ddlRules()
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

// checkSubqueryLimits refuses a LIMIT whose query level has no ORDER BY:
// the rows it picks would depend on each server's plan. skipTop skips
// depth-0 LIMITs (refused separately for UPDATE/DELETE). ORDER BY a unique
// key is the caller's responsibility: uniqueness is not checked.
func (s *stmt) checkSubqueryLimits(skipTop bool) error {
	for i := range s.toks {
		if !s.kw(i, "LIMIT") || s.punct(i-1, ".") || (skipTop && s.depth[i] == 0) {
			continue
		}
		k := s.depth[i]
		ordered := false
		for j := i - 1; j >= 0 && s.depth[j] >= k; j-- {
			if s.depth[j] == k && s.kw(j, "ORDER") && s.kw(j+1, "BY") {
				ordered = true
				break
			}
		}
		if !ordered {
			return unsafe("LIMIT without ORDER BY", "the rows a LIMIT picks depend on each server's plan; add ORDER BY on a unique key")
		}
	}
	return nil
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

// insertRules applies the INSERT/REPLACE refusals.
func (w *writeCheck) insertRules(ctx context.Context, schema SchemaInfo) error {
	s := w.s
	fromSelect := w.selectSource()
	odku := -1
	conflict := -1
	for i := w.after; i < len(s.toks); i++ {
		if s.depth[i] != 0 || !s.kw(i, "ON") {
			continue
		}
		if s.kw(i+1, "DUPLICATE") {
			odku = i
		}
		if s.kw(i+1, "CONFLICT") {
			conflict = i
		}
	}
	ignore := w.ignore || w.orAction == "IGNORE"
	if fromSelect {
		switch {
		case ignore:
			if w.ignore {
				return unsafe("INSERT IGNORE ... SELECT", "which rows it skips depends on the SELECT's row order")
			}
			return unsafe("INSERT OR IGNORE ... SELECT", "which rows it skips depends on the SELECT's row order")
		case w.orAction == "REPLACE":
			return unsafe("REPLACE ... SELECT", "which rows it replaces depends on the SELECT's row order")
		case odku >= 0:
			return unsafe("INSERT ... SELECT ... ON DUPLICATE KEY UPDATE", "which rows it updates depends on the SELECT's row order")
		case conflict >= 0:
			return unsafe("INSERT ... SELECT ... ON CONFLICT", "which rows it updates or skips depends on the SELECT's row order")
		}
		if w.target < 0 {
			return unsafe(w.verb+" ... SELECT", "its target table was not recognised")
		}
		table := s.nameText(w.target)
		if schema == nil {
			return unsafe(w.verb+" ... SELECT", "no schema information to check "+table+" for an auto-increment column")
		}
		ai, err := schema.HasAutoIncrement(ctx, table)
		if err != nil {
			return fmt.Errorf("checking table %s for an auto-increment column: %w", table, err)
		}
		if ai {
			return unsafe(w.verb+" ... SELECT", "table "+table+" has an auto-increment column whose values would follow the SELECT's row order")
		}
	}
	if odku >= 0 && s.d == MySQL && w.target >= 0 {
		table := s.nameText(w.target)
		if schema == nil {
			return unsafe("INSERT ... ON DUPLICATE KEY UPDATE", "no schema information to count the unique keys of "+table)
		}
		n, err := schema.UniqueKeys(ctx, table)
		if err != nil {
			return fmt.Errorf("counting unique keys of table %s: %w", table, err)
		}
		if n >= 2 {
			return unsafe("INSERT ... ON DUPLICATE KEY UPDATE",
				fmt.Sprintf("table %s has %d unique keys; which row it updates depends on the order keys are checked", table, n))
		}
	}
	return nil
}

// selectSource reports whether an INSERT/REPLACE takes its rows from a
// query (SELECT, WITH, TABLE) rather than VALUES/SET/DEFAULT VALUES.
func (w *writeCheck) selectSource() bool {
	s := w.s
	if w.target < 0 {
		return false
	}
	i := w.after
	for i < len(s.toks) {
		switch {
		case s.kw(i, "PARTITION") && s.punct(i+1, "("):
			i = s.match[i+1] + 1
		case s.punct(i, "("):
			if s.kw(i+1, "SELECT", "WITH", "TABLE", "VALUES") || s.punct(i+1, "(") {
				return true
			}
			i = s.match[i] + 1 // column list
		case s.kw(i, "AS") && s.isName(i+1):
			i += 2 // SQLite target alias
		default:
			return s.kw(i, "SELECT", "WITH", "TABLE")
		}
	}
	return false
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
					return unsafe("ENGINE="+v, "non-transactional tables cannot be rolled back with the entry; use InnoDB")
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
	} else if s.depth[i] > 0 {
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

// bodyRefused are statement keywords refused inside a trigger body.
var bodyRefused = map[string]bool{
	"CALL": true, "PREPARE": true, "EXECUTE": true, "DEALLOCATE": true, "DO": true, "LOAD": true,
	"HANDLER": true, "LOCK": true, "UNLOCK": true, "START": true, "COMMIT": true, "ROLLBACK": true,
	"SAVEPOINT": true, "RELEASE": true, "XA": true, "FLUSH": true, "KILL": true, "GRANT": true,
	"REVOKE": true, "USE": true, "CREATE": true, "DROP": true, "ALTER": true, "RENAME": true, "TRUNCATE": true,
	"ANALYZE": true, "OPTIMIZE": true, "REPAIR": true, "INSTALL": true, "UNINSTALL": true, "RESET": true,
	"PURGE": true, "CHANGE": true, "SHUTDOWN": true,
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
func CheckRead(d DialectName, sql string) (int, error) {
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

func (s *stmt) tokValue(i int) string {
	if i < 0 || i >= len(s.toks) {
		return "(end of text)"
	}
	return s.toks[i].Value
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

// CheckEntry checks a whole transaction before it is appended: it is not
// empty; each statement's SQL holds exactly one statement (a trailing ';' is
// fine) that passes CheckWrite; each has exactly as many parameters as
// placeholders (ErrBadParam); a DDL statement is alone in its entry
// (ErrUnsafe). Statement indexes in errors are 0-based, as in SQLError.
//
// On success every stmts[i].Params[j] has been replaced, in place, by its
// Normalize form, and ddl reports whether the single statement is DDL.
// SQLite: a string parameter equal to 'now' in a statement that calls a date
// function is refused, since the function would read the server clock.
func CheckEntry(ctx context.Context, d DialectName, stmts []Statement, schema SchemaInfo) (ddl bool, err error) {
	return checkEntry(ctx, nil, d, stmts, schema)
}

// checkEntry is CheckEntry with tc's verdict cache (nil: none).
func checkEntry(ctx context.Context, tc *textCache, d DialectName, stmts []Statement, schema SchemaInfo) (ddl bool, err error) {
	if len(stmts) == 0 {
		return false, fmt.Errorf("%w: entry has no statements", ErrEmpty)
	}
	for i := range stmts {
		st := &stmts[i]
		c, inf, err := tc.checkWrite(ctx, d, st.SQL, schema)
		if err != nil {
			return false, fmt.Errorf("statement %d: %w", i, err)
		}
		if c.Class == ClassDDL {
			if len(stmts) > 1 {
				return false, fmt.Errorf("%w: DDL must be alone in its transaction: statement %d", ErrUnsafe, i)
			}
			ddl = true
		}
		if len(st.Params) != c.Params {
			return false, fmt.Errorf("%w: statement %d has %d placeholders but %d parameters", ErrBadParam, i, c.Params, len(st.Params))
		}
		for j, p := range st.Params {
			v, err := Normalize(p)
			if err != nil {
				return false, fmt.Errorf("statement %d parameter %d: %w", i, j, err)
			}
			if str, ok := v.(string); ok && inf.dateFuncs && strings.EqualFold(str, "now") {
				return false, fmt.Errorf("statement %d parameter %d: %w", i, j,
					unsafe("'now' parameter", "a date function would read each server's clock; pass the time itself"))
			}
			st.Params[j] = v
		}
	}
	return ddl, nil
}
