package backup

import (
	"bufio"
	"fmt"
	"io"

	"github.com/oneha/oneha/sqlcheck"
)

// maxStatement bounds one statement's size in Load (Write produces about
// 1 MiB, plus one oversized row at most; MariaDB's max_allowed_packet
// defaults to 16 MiB).
const maxStatement = 256 << 20

// splitter cuts a stream of SQL text into statements without holding more
// than one statement in memory. It knows enough lexical structure not to
// split inside '…' "…" `…` (and [...] on SQLite) quotes, -- and /* */
// comments (and # on MySQL), backslash escapes (MySQL only) and SQLite
// trigger bodies (CREATE TRIGGER … BEGIN …; END;).
//
// Invariant: the statements returned, concatenated, are exactly the bytes
// consumed from the input; each ends with its ';'.
type splitter struct {
	r     *bufio.Reader
	mysql bool
	max   int

	buf     []byte
	content bool // buf has something other than blanks and comments

	// SQLite trigger detection, per statement.
	words   int    // words seen so far
	word    []byte // current word, upper-cased, truncated
	trigger bool   // statement is CREATE [TEMP] TRIGGER
	depth   int    // BEGIN/CASE nesting inside a trigger
	sawBody bool   // the trigger's BEGIN was seen
}

func newSplitter(r *bufio.Reader, d sqlcheck.Dialect) *splitter {
	return &splitter{r: r, mysql: d == sqlcheck.MySQL, max: maxStatement}
}

// next returns the next statement (including leading blanks and comments and
// its ';') and whether it has content. The slice is valid until the next
// call. At the end of input it returns io.EOF; if the input ends inside a
// statement, quote or comment it returns ErrTruncated.
func (s *splitter) next() ([]byte, bool, error) {
	s.buf, s.content = s.buf[:0], false
	s.words, s.word, s.trigger, s.depth, s.sawBody = 0, s.word[:0], false, 0, false
	for {
		c, err := s.read()
		if err != nil {
			return s.atEOF(err, "")
		}
		switch {
		case c == '\'' || c == '"' || c == '`':
			s.endWord()
			s.content = true
			if err := s.quoted(c); err != nil {
				return s.atEOF(err, "a quoted string")
			}
			s.words++
		case c == '[' && !s.mysql:
			s.endWord()
			s.content = true
			if err := s.until(']'); err != nil {
				return s.atEOF(err, "a [quoted] name")
			}
			s.words++
		case c == '#' && s.mysql:
			s.endWord()
			if err := s.until('\n'); err != nil {
				return s.atEOF(err, "")
			}
		case c == '-' && s.peekDashComment():
			s.endWord()
			if err := s.until('\n'); err != nil {
				return s.atEOF(err, "")
			}
		case c == '/' && s.peekIs('*'):
			s.endWord()
			if err := s.blockComment(); err != nil {
				return s.atEOF(err, "a /* comment */")
			}
		case c == ';':
			s.endWord()
			if s.trigger && (!s.sawBody || s.depth > 0) {
				continue // a statement inside a trigger body
			}
			return s.buf, s.content, nil
		case isWordByte(c):
			s.content = true
			if len(s.word) < 16 {
				s.word = append(s.word, upper(c))
			}
		default:
			s.endWord()
			if !isBlank(c) {
				s.content = true
			}
		}
	}
}

// atEOF turns a read error into next's result. inside names the open
// construct, if any.
func (s *splitter) atEOF(err error, inside string) ([]byte, bool, error) {
	switch {
	case err != io.EOF:
		return nil, false, err
	case inside != "":
		return nil, false, fmt.Errorf("%w: input ends inside %s", ErrTruncated, inside)
	case s.content:
		return nil, false, fmt.Errorf("%w: input ends inside a statement (no ';')", ErrTruncated)
	}
	return s.buf, false, io.EOF
}

func (s *splitter) read() (byte, error) {
	c, err := s.r.ReadByte()
	if err != nil {
		return 0, err
	}
	if len(s.buf) >= s.max {
		return 0, fmt.Errorf("%w: over %d bytes", ErrStatementTooLarge, s.max)
	}
	s.buf = append(s.buf, c)
	return c, nil
}

func (s *splitter) peekIs(c byte) bool {
	b, err := s.r.Peek(1)
	return err == nil && b[0] == c
}

// peekDashComment reports whether the '-' just read starts a comment:
// "--" on SQLite; "--" followed by a blank, a control char or EOF on MySQL.
func (s *splitter) peekDashComment() bool {
	b, _ := s.r.Peek(2)
	if len(b) == 0 || b[0] != '-' {
		return false
	}
	if !s.mysql {
		return true
	}
	return len(b) == 1 || b[1] <= ' '
}

// quoted consumes a string or quoted name up to its closing q. A doubled q
// is part of it; on MySQL a backslash escapes the next byte in '…' and "…".
func (s *splitter) quoted(q byte) error {
	for {
		c, err := s.read()
		if err != nil {
			return err
		}
		switch {
		case c == '\\' && s.mysql && q != '`':
			if _, err := s.read(); err != nil {
				return err
			}
		case c == q:
			if !s.peekIs(q) {
				return nil
			}
			if _, err := s.read(); err != nil {
				return err
			}
		}
	}
}

// until consumes bytes up to and including end.
func (s *splitter) until(end byte) error {
	for {
		c, err := s.read()
		if err != nil {
			return err
		}
		if c == end {
			return nil
		}
	}
}

// blockComment consumes a /* comment */ whose '/' was read. MySQL's
// executable comments /*! … */ count as content.
func (s *splitter) blockComment() error {
	if _, err := s.read(); err != nil { // the '*'
		return err
	}
	if s.mysql && s.peekIs('!') {
		s.content = true
	}
	star := false
	for {
		c, err := s.read()
		if err != nil {
			return err
		}
		if star && c == '/' {
			return nil
		}
		star = c == '*'
	}
}

// endWord closes the current word and updates trigger detection (SQLite).
func (s *splitter) endWord() {
	if len(s.word) == 0 {
		return
	}
	w := string(s.word)
	s.word = s.word[:0]
	s.words++
	if s.mysql {
		return
	}
	switch {
	case s.words == 1:
		s.trigger = false
		if w != "CREATE" {
			s.words = 100 // not a CREATE: never a trigger
		}
	case s.words == 2 && (w == "TEMP" || w == "TEMPORARY"):
		s.words = 1 // CREATE TEMP TRIGGER: look at the next word as the second
	case s.words == 2:
		s.trigger = w == "TRIGGER"
	case s.trigger && (w == "BEGIN" || w == "CASE"):
		s.depth++
		if w == "BEGIN" {
			s.sawBody = true
		}
	case s.trigger && w == "END" && s.depth > 0:
		s.depth--
	}
}

func isWordByte(c byte) bool {
	return c == '_' || c == '$' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= 0x80
}

func isBlank(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'
}

func upper(c byte) byte {
	if c >= 'a' && c <= 'z' {
		return c - 'a' + 'A'
	}
	return c
}

// EachStatement calls fn with each statement of an SQL text as Load would
// run it (comments-only pieces skipped), in order; it stops at fn's first
// error. A text that ends inside a statement returns ErrTruncated. It does
// not read a dump's header or end line specially: they are comments.
func EachStatement(r io.Reader, d sqlcheck.Dialect, fn func(stmt string) error) error {
	sp := newSplitter(bufio.NewReader(r), d)
	for {
		stmt, content, err := sp.next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		if !content {
			continue
		}
		if err := fn(string(stmt)); err != nil {
			return err
		}
	}
}
