package sqlcheck

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// ErrLex: SQL text could not be tokenized or structured (unterminated literal
// or comment, NUL byte, malformed number or parameter, unbalanced parentheses,
// malformed WITH clause). The statement would fail on every server, or
// SQLite and the checks would read it differently; it is refused before
// it reaches the log so that the checks never reason about text they cannot
// read.
var ErrLex = errors.New("malformed SQL text")

// TokenKind classifies a token.
type TokenKind uint8

// Token kinds. Comments and whitespace produce no token.
const (
	TokIdent       TokenKind = iota + 1 // bare identifier or keyword
	TokQuotedIdent                      // `x` (both), "x" and [x] (SQLite)
	TokString                           // 'x', "x" (MySQL), N'x' (MySQL)
	TokNumber                           // 12, 1.5, .5, 1e10, 0x1F (SQLite)
	TokBlob                             // X'ab', 0x1F and b'01', 0b01 (MySQL)
	TokParam                            // ? (both); ?NNN :name @name $name #name (SQLite)
	TokUserVar                          // @x, @'x', @`x` (MySQL)
	TokSysVar                           // @@x, @@session.x (MySQL; also lexed, and refused, in SQLite)
	TokPunct                            // operators, parentheses, commas, dots
	TokSemicolon                        // ;
)

var tokenKindNames = [...]string{
	TokIdent:       "ident",
	TokQuotedIdent: "quoted-ident",
	TokString:      "string",
	TokNumber:      "number",
	TokBlob:        "blob",
	TokParam:       "param",
	TokUserVar:     "user-var",
	TokSysVar:      "sys-var",
	TokPunct:       "punct",
	TokSemicolon:   "semicolon",
}

func (k TokenKind) String() string {
	if int(k) < len(tokenKindNames) && tokenKindNames[k] != "" {
		return tokenKindNames[k]
	}
	return "TokenKind(" + strconv.Itoa(int(k)) + ")"
}

// Token is one lexical element of an SQL text.
//
// Invariants: Text == source[Pos:End]; tokens returned by Lex are in source
// order and do not overlap.
type Token struct {
	Kind TokenKind
	// Text is the raw source text of the token.
	Text string
	// Value is the token's meaning: the unquoted, unescaped content of strings
	// and quoted identifiers, the upper-cased text of bare identifiers (so
	// keywords compare with ==), the hex digits of blobs, the name of
	// variables (sys-vars lower-cased, without @@; user-vars without @), and
	// Text for everything else.
	Value string
	// Pos and End are byte offsets of the token in the source.
	Pos, End int
}

// maxSQLiteParam is SQLite's default SQLITE_MAX_VARIABLE_NUMBER.
const maxSQLiteParam = 32766

// Lex tokenizes one SQL text in dialect d. Comments and whitespace are
// skipped.
//
// MySQL lexing assumes the sql_mode the apply connection pins: backslash
// escapes in strings are on (no NO_BACKSLASH_ESCAPES) and "..." is a string
// (no ANSI_QUOTES). MySQL executable comments (/*! ... */, /*M! ... */) are
// refused with an *UnsafeError: their content would run on the server while
// the checks saw a comment. NUL bytes are refused because SQLite stops reading
// at the first NUL while the checks would read on. Other malformed input
// returns an error wrapping ErrLex.
func Lex(d Dialect, sql string) ([]Token, error) {
	var mysql bool
	switch d {
	case MySQL:
		mysql = true
	case SQLite:
	default:
		return nil, fmt.Errorf("%w: unknown dialect %q", ErrLex, d)
	}
	// About one token per 3 bytes of typical SQL; capped so that a long
	// literal does not reserve a large array.
	l := lexer{src: sql, mysql: mysql, toks: make([]Token, 0, min(len(sql)/3+4, 256))}
	if err := l.run(); err != nil {
		return nil, err
	}
	return l.toks, nil
}

type lexer struct {
	src   string
	mysql bool
	toks  []Token
}

func (l *lexer) errf(pos int, format string, args ...any) error {
	return fmt.Errorf("%w: %s at byte %d", ErrLex, fmt.Sprintf(format, args...), pos)
}

func (l *lexer) emit(kind TokenKind, pos, end int, value string) {
	l.toks = append(l.toks, Token{Kind: kind, Text: l.src[pos:end], Value: value, Pos: pos, End: end})
}

// at returns the byte at i, or 0 past the end (NUL is refused in the source,
// so 0 never matches real input).
func (l *lexer) at(i int) byte {
	if i < len(l.src) {
		return l.src[i]
	}
	return 0
}

func isSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func isHexDigit(c byte) bool {
	return isDigit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')
}

func isIdentStart(c byte) bool {
	return c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c >= 0x80
}

// isIdentChar reports whether c may continue a bare identifier. Both dialects
// accept '$' inside identifiers and treat every non-ASCII byte as a letter.
func isIdentChar(c byte) bool { return isIdentStart(c) || isDigit(c) || c == '$' }

// upperIdent folds an identifier for keyword and function-name comparison.
// Non-ASCII text goes through ToLower then ToUpper so that letters a server's
// case-insensitive collation equates with ASCII ones (ſ -> S, K -> K) compare
// equal: a refused function name cannot hide behind a look-alike letter.
func upperIdent(s string) string {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return strings.ToUpper(strings.ToLower(s))
		}
	}
	return strings.ToUpper(s)
}

func (l *lexer) run() error {
	src := l.src
	n := len(src)
	for i := 0; i < n; {
		c := src[i]
		switch {
		case c == 0:
			return l.errf(i, "NUL byte")
		case isSpace(c):
			i++
		case c == '-' && l.at(i+1) == '-' && (!l.mysql || i+2 >= n || src[i+2] <= ' ' || src[i+2] == 0x7f):
			i = l.lineEnd(i)
		case c == '#' && l.mysql:
			i = l.lineEnd(i)
		case c == '/' && l.at(i+1) == '*':
			if l.mysql && (l.at(i+2) == '!' || ((l.at(i+2) == 'M' || l.at(i+2) == 'm') && l.at(i+3) == '!')) {
				return &UnsafeError{Construct: "/*! executable comment */",
					Reason: "its content runs on the server but the checks read it as a comment"}
			}
			end := strings.Index(src[i+2:], "*/")
			if end < 0 {
				return l.errf(i, "unterminated comment")
			}
			i = i + 2 + end + 2
		case c == '\'':
			end, val, err := l.quoted(i, '\'', l.mysql)
			if err != nil {
				return err
			}
			l.emit(TokString, i, end, val)
			i = end
		case c == '"':
			end, val, err := l.quoted(i, '"', l.mysql)
			if err != nil {
				return err
			}
			if l.mysql {
				l.emit(TokString, i, end, val)
			} else {
				l.emit(TokQuotedIdent, i, end, val)
			}
			i = end
		case c == '`':
			end, val, err := l.quoted(i, '`', false)
			if err != nil {
				return err
			}
			l.emit(TokQuotedIdent, i, end, val)
			i = end
		case c == '[' && !l.mysql:
			end := strings.IndexByte(src[i+1:], ']')
			if end < 0 {
				return l.errf(i, "unterminated quoted identifier")
			}
			l.emit(TokQuotedIdent, i, i+1+end+1, src[i+1:i+1+end])
			i = i + 1 + end + 1
		case (c == 'x' || c == 'X') && l.at(i+1) == '\'':
			end, val, err := l.quoted(i+1, '\'', false)
			if err != nil {
				return err
			}
			l.emit(TokBlob, i, end, val)
			i = end
		case l.mysql && (c == 'b' || c == 'B') && l.at(i+1) == '\'':
			end, val, err := l.quoted(i+1, '\'', false)
			if err != nil {
				return err
			}
			l.emit(TokBlob, i, end, val)
			i = end
		case l.mysql && (c == 'n' || c == 'N') && l.at(i+1) == '\'':
			end, val, err := l.quoted(i+1, '\'', true)
			if err != nil {
				return err
			}
			l.emit(TokString, i, end, val)
			i = end
		case isDigit(c) || (c == '.' && isDigit(l.at(i+1)) && !l.afterName()):
			end, err := l.number(i)
			if err != nil {
				return err
			}
			i = end
		case isIdentStart(c) || (l.mysql && c == '$'):
			j := i + 1
			for j < n && isIdentChar(src[j]) {
				j++
			}
			l.emit(TokIdent, i, j, upperIdent(src[i:j]))
			i = j
		case c == '?':
			j := i + 1
			if !l.mysql {
				for j < n && isDigit(src[j]) {
					j++
				}
				if j > i+1 {
					v, err := strconv.Atoi(src[i+1 : j])
					if err != nil || v < 1 || v > maxSQLiteParam {
						return l.errf(i, "parameter %s out of range 1..%d", src[i:j], maxSQLiteParam)
					}
				}
			}
			l.emit(TokParam, i, j, src[i:j])
			i = j
		case !l.mysql && c == '@' && l.at(i+1) == '@':
			// Not SQLite syntax, but read as MySQL does so that the checks
			// name the construct ("@@hostname") in both dialects.
			end, err := l.variable(i)
			if err != nil {
				return err
			}
			i = end
		case !l.mysql && (c == ':' || c == '@' || c == '$' || c == '#'):
			j := i + 1
			for j < n && isIdentChar(src[j]) {
				j++
			}
			if j == i+1 {
				return l.errf(i, "parameter %q without a name", c)
			}
			l.emit(TokParam, i, j, src[i:j])
			i = j
		case l.mysql && c == '@':
			end, err := l.variable(i)
			if err != nil {
				return err
			}
			i = end
		case c == ';':
			l.emit(TokSemicolon, i, i+1, ";")
			i++
		default:
			j := i + punctLen(src[i:])
			l.emit(TokPunct, i, j, src[i:j])
			i = j
		}
	}
	return nil
}

// lineEnd returns the offset after the comment starting at i that runs to the
// end of the line.
func (l *lexer) lineEnd(i int) int {
	if j := strings.IndexByte(l.src[i:], '\n'); j >= 0 {
		return i + j + 1
	}
	return len(l.src)
}

// afterName reports whether the previous token is a name, so that MySQL's
// "t.1col" reads as t . 1col rather than t .1 col.
func (l *lexer) afterName() bool {
	if !l.mysql || len(l.toks) == 0 {
		return false
	}
	k := l.toks[len(l.toks)-1].Kind
	return k == TokIdent || k == TokQuotedIdent
}

// quoted reads a literal starting with quote q at i. A doubled quote stands
// for one quote; with backslash set (MySQL strings) a backslash escapes the
// next byte. It returns the offset after the closing quote and the unescaped
// content.
func (l *lexer) quoted(i int, q byte, backslash bool) (int, string, error) {
	src := l.src
	var b strings.Builder
	for j := i + 1; j < len(src); j++ {
		c := src[j]
		switch {
		case c == 0:
			return 0, "", l.errf(j, "NUL byte")
		case backslash && c == '\\':
			if j+1 >= len(src) {
				return 0, "", l.errf(i, "unterminated string")
			}
			j++
			b.WriteString(mysqlEscape(src[j]))
		case c == q:
			if j+1 < len(src) && src[j+1] == q {
				b.WriteByte(q)
				j++
				continue
			}
			return j + 1, b.String(), nil
		default:
			b.WriteByte(c)
		}
	}
	if q == '\'' || (q == '"' && l.mysql) {
		return 0, "", l.errf(i, "unterminated string")
	}
	return 0, "", l.errf(i, "unterminated quoted identifier")
}

// mysqlEscape is MySQL's meaning of backslash followed by c.
func mysqlEscape(c byte) string {
	switch c {
	case '0':
		return "\x00"
	case 'b':
		return "\b"
	case 'n':
		return "\n"
	case 'r':
		return "\r"
	case 't':
		return "\t"
	case 'Z':
		return "\x1a"
	case '%', '_':
		return "\\" + string(c) // kept for LIKE patterns
	default:
		return string(c)
	}
}

// number reads a numeric literal at i and emits it. MySQL reads a digit run
// followed by letters as an identifier (1abc); SQLite rejects it.
func (l *lexer) number(i int) (int, error) {
	src := l.src
	n := len(src)
	// Hexadecimal and (MySQL) binary literals.
	if src[i] == '0' && (l.at(i+1) == 'x' || l.at(i+1) == 'X' || (l.mysql && l.at(i+1) == 'b')) {
		isDig := isHexDigit
		if l.at(i+1) == 'b' {
			isDig = func(c byte) bool { return c == '0' || c == '1' }
		}
		if isDig(l.at(i + 2)) {
			j := i + 2
			for j < n && isDig(src[j]) {
				j++
			}
			if j >= n || !isIdentChar(src[j]) {
				if l.mysql {
					l.emit(TokBlob, i, j, src[i+2:j])
				} else {
					l.emit(TokNumber, i, j, src[i:j])
				}
				return j, nil
			}
		}
		// otherwise fall through: "0x" + letters is an identifier (MySQL) or
		// an error (SQLite), decided below.
	}
	digits := func(j int) int {
		for j < n && (isDigit(src[j]) || (!l.mysql && src[j] == '_' && j+1 < n && isDigit(src[j+1]) && j > 0 && isDigit(src[j-1]))) {
			j++
		}
		return j
	}
	j := digits(i)
	plain := true // digits only so far
	if j < n && src[j] == '.' {
		plain = false
		j = digits(j + 1)
	}
	if j < n && (src[j] == 'e' || src[j] == 'E') {
		k := j + 1
		if k < n && (src[k] == '+' || src[k] == '-') {
			k++
		}
		if k < n && isDigit(src[k]) {
			plain = false
			j = digits(k)
		}
	}
	if j < n && isIdentChar(src[j]) {
		if !l.mysql {
			return 0, l.errf(i, "unrecognized token %q", src[i:j+1])
		}
		if plain {
			for j < n && isIdentChar(src[j]) {
				j++
			}
			l.emit(TokIdent, i, j, upperIdent(src[i:j]))
			return j, nil
		}
	}
	l.emit(TokNumber, i, j, src[i:j])
	return j, nil
}

// variable reads a MySQL user variable (@x, @'x') or system variable
// (@@x, @@session.x) at i.
func (l *lexer) variable(i int) (int, error) {
	src := l.src
	n := len(src)
	if l.at(i+1) == '@' {
		j := i + 2
		for j < n && (isIdentChar(src[j]) || src[j] == '.') {
			j++
		}
		if j < n && src[j] == '`' {
			end, _, err := l.quoted(j, '`', false)
			if err != nil {
				return 0, err
			}
			j = end
		}
		l.emit(TokSysVar, i, j, strings.ToLower(strings.Trim(src[i+2:j], "`")))
		return j, nil
	}
	if q := l.at(i + 1); q == '\'' || q == '"' || q == '`' {
		end, val, err := l.quoted(i+1, q, q != '`')
		if err != nil {
			return 0, err
		}
		l.emit(TokUserVar, i, end, val)
		return end, nil
	}
	j := i + 1
	for j < n && (isIdentChar(src[j]) || src[j] == '.') {
		j++
	}
	l.emit(TokUserVar, i, j, src[i+1:j])
	return j, nil
}

// punctLen returns the length of the operator at the start of s (at least 1).
func punctLen(s string) int {
	for _, op := range [...]string{"<=>", "->>", "<=", ">=", "<>", "!=", "==", "||", "&&", "<<", ">>", ":=", "->"} {
		if strings.HasPrefix(s, op) {
			return len(op)
		}
	}
	return 1
}
