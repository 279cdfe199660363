package xmlrpc

import (
	"bytes"
	"fmt"
	"strings"
	"unicode/utf8"
)

// bang reads the markup at pos that starts with <!: a comment or a
// directive, which are skipped, or a CDATA section, which becomes the
// current text token (cdata is then true).
func (lx *lexer) bang() (cdata bool, err error) {
	b := lx.buf
	i := lx.pos + 2
	if i >= len(b) {
		return false, lx.syntaxError(i, "unexpected EOF")
	}
	switch b[i] {
	case '-':
		return false, lx.comment(i + 1)
	case '[':
		const open = "CDATA["
		for k := range len(open) {
			if i+1+k >= len(b) {
				return false, lx.syntaxError(i+1+k, "unexpected EOF")
			}
			if b[i+1+k] != open[k] {
				return false, lx.syntaxError(i+1+k, "invalid <![ sequence")
			}
		}
		return true, lx.cdata(i + 1 + len(open))
	}
	return false, lx.directive(i + 1)
}

// comment reads the rest of a comment after <!- (at i): a second '-',
// then anything up to the first "--", which must be followed by '>'.
func (lx *lexer) comment(i int) error {
	b := lx.buf
	if i >= len(b) {
		return lx.syntaxError(i, "unexpected EOF")
	}
	if b[i] != '-' {
		return lx.syntaxError(i, "invalid sequence <!- not part of <!--")
	}
	end := bytes.Index(b[i+1:], []byte("--"))
	if end < 0 {
		return lx.syntaxError(len(b), "unexpected EOF")
	}
	end += i + 1 + 2
	if end >= len(b) {
		return lx.syntaxError(end, "unexpected EOF")
	}
	if b[end] != '>' {
		return lx.syntaxError(end, `invalid sequence "--" not allowed in comments`)
	}
	lx.pos = end + 1
	return nil
}

// directive skips a directive (<!DOCTYPE …> and the like) whose first
// byte after <! is b[i-1], exactly as encoding/xml does: that byte is taken
// as is; then the directive ends at the first '>' outside quotes at depth
// 0, where each '<' not starting a comment opens a level and each '>'
// closes one, and comments (<!-- to -->) are skipped. An internal subset
// is skipped with it; its declarations have no effect.
func (lx *lexer) directive(i int) error {
	b := lx.buf
	var inquote byte
	depth := 0
	for {
		if i >= len(b) {
			return lx.syntaxError(i, "unexpected EOF")
		}
		c := b[i]
		i++
		if inquote == 0 && c == '>' && depth == 0 {
			lx.pos = i
			return nil
		}
	handle:
		switch {
		case c == inquote:
			inquote = 0
		case inquote != 0:
		case c == '\'' || c == '"':
			inquote = c
		case c == '>':
			depth--
		case c == '<':
			for k := range 3 {
				if i >= len(b) {
					return lx.syntaxError(i, "unexpected EOF")
				}
				c = b[i]
				i++
				if c != "!--"[k] {
					depth++
					goto handle
				}
			}
			end := bytes.Index(b[i:], []byte("-->"))
			if end < 0 {
				return lx.syntaxError(len(b), "unexpected EOF")
			}
			i += end + 3
		}
	}
}

// procInst reads a processing instruction <?target data?> at pos. For
// target xml it checks the version, which must be absent or 1.0, and
// applies the encoding: UTF-8 (any case) or absent leaves the input as it
// is, a single-byte charset charsetSupported accepts converts the rest of
// the input to UTF-8, anything else fails.
func (lx *lexer) procInst() error {
	b := lx.buf
	start := lx.pos + 2
	end, err := lx.name(start, "expected target name after <?")
	if err != nil {
		return err
	}
	target := b[start:end]
	i := skipSpace(b, end)
	n := bytes.Index(b[i:], []byte("?>"))
	if n < 0 {
		return lx.syntaxError(len(b), "unexpected EOF")
	}
	data := b[i : i+n]
	lx.pos = i + n + 2
	if string(target) != "xml" {
		return nil
	}
	if ver := procInstParam("version=", data); len(ver) > 0 && string(ver) != "1.0" {
		return lx.syntaxError(start, fmt.Sprintf("unsupported version %s; only version 1.0 is supported", Quote(string(ver))))
	}
	enc := procInstParam("encoding=", data)
	if len(enc) == 0 || strings.EqualFold(string(enc), "utf-8") {
		return nil
	}
	if !charsetSupported(string(enc)) {
		return lx.syntaxError(start, fmt.Sprintf("unsupported charset %s", Quote(string(enc))))
	}
	return lx.latin1Rest()
}

// procInstParam returns the value of param (with its '=') quoted with '
// or " in s, as encoding/xml's procInst finds it: the first occurrence of
// param that a quote follows, up to the next such quote; nil if none.
func procInstParam(param string, s []byte) []byte {
	lenp := len(param)
	i := 0
	var sep byte
	for i < len(s) {
		sub := s[i:]
		k := bytes.Index(sub, []byte(param))
		if k < 0 || lenp+k >= len(sub) {
			return nil
		}
		i += lenp + k + 1
		if c := sub[lenp+k]; c == '\'' || c == '"' {
			sep = c
			break
		}
	}
	if sep == 0 {
		return nil
	}
	j := bytes.IndexByte(s[i:], sep)
	if j < 0 {
		return nil
	}
	return s[i : i+j]
}

// charsetSupported reports whether a declared encoding is one of the
// single-byte charsets old clients declare, which are read as ISO-8859-1
// (of which ASCII is a subset).
func charsetSupported(charset string) bool {
	switch strings.ToLower(charset) {
	case "us-ascii", "ascii", "iso-8859-1", "latin1", "latin-1":
		return true
	}
	return false
}

// latin1Rest converts buf[pos:] from ISO-8859-1 to UTF-8, keeping
// buf[:pos]. Each declaration converts again what follows it, as
// encoding/xml stacks charset readers; the converted input may not grow
// beyond limit.
//
// A conversion that changes anything at least doubles each non-ASCII byte
// after it, so there are fewer than log2(limit)+1 of them; and once the
// rest is known to be ASCII, later declarations cost nothing.
func (lx *lexer) latin1Rest() error {
	if lx.asciiFrom > 0 && lx.pos >= lx.asciiFrom {
		return nil
	}
	rest := lx.buf[lx.pos:]
	high := 0
	for _, c := range rest {
		if c >= utf8.RuneSelf {
			high++
		}
	}
	if high == 0 {
		lx.asciiFrom = lx.pos // ASCII: nothing changes
		return nil
	}
	if len(lx.buf)+high > lx.limit {
		return fmt.Errorf("%w: more than %d bytes after charset conversion", ErrTooLarge, lx.limit)
	}
	buf := make([]byte, lx.pos, len(lx.buf)+high)
	copy(buf, lx.buf[:lx.pos])
	for _, c := range rest {
		buf = utf8.AppendRune(buf, rune(c))
	}
	lx.buf = buf
	return nil
}
