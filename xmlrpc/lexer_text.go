package xmlrpc

import (
	"bytes"
	"fmt"
	"slices"
	"unicode/utf8"
)

// plainText marks the bytes that stand for themselves in character data
// and attribute values: ASCII XML Chars other than < & ] and \r. Every
// other byte needs a closer look.
var plainText = func() (t [256]bool) {
	for c := 0x20; c < 0x80; c++ {
		t[c] = true
	}
	for _, c := range "<&]\r" {
		t[c] = false
	}
	t['\t'], t['\n'] = true, true
	return t
}()

// predefined are the entities XML predefines, the only ones a strict
// encoding/xml Decoder without an Entity map knows.
var predefined = [...]struct {
	name string // with the closing ';'
	c    byte
}{{"lt;", '<'}, {"gt;", '>'}, {"amp;", '&'}, {"apos;", '\''}, {"quot;", '"'}}

// charData reads character data from pos up to the next '<' or the end
// of input. Text that needs no decoding is returned in place.
func (lx *lexer) charData() error {
	b := lx.buf
	start := lx.pos
	i := start
	for i < len(b) {
		c := b[i]
		if plainText[c] {
			i++
			continue
		}
		switch {
		case c == '<':
			lx.text, lx.pos = b[start:i], i
			return nil
		case c == '&' || c == '\r':
			return lx.charDataSlow(start, i)
		case c == ']':
			if bytes.HasPrefix(b[i:], []byte("]]>")) {
				return lx.syntaxError(i, "unescaped ]]> not in CDATA section")
			}
			i++
		default:
			n, err := lx.char(i)
			if err != nil {
				return err
			}
			i += n
		}
	}
	lx.text, lx.pos = b[start:i], i
	return nil
}

// charDataSlow goes on with charData at i, decoding b[start:] up to the
// next '<' into scratch. Decoded text is never longer than its source
// (every reference is longer than its character), so scratch is grown
// once and written by index.
func (lx *lexer) charDataSlow(start, i int) error {
	b := lx.buf
	end := bytes.IndexByte(b[i:], '<')
	if end < 0 {
		end = len(b)
	} else {
		end += i
	}
	out, mark := lx.startScratch()
	out = slices.Grow(out, end-start)
	o := out[:cap(out)]
	n := mark + copy(o[mark:], b[start:i])
	for i < end {
		c := b[i]
		if plainText[c] {
			o[n] = c
			n++
			i++
			continue
		}
		switch c {
		case '&':
			if i+3 < end && b[i+3] == ';' && b[i+2] == 't' && (b[i+1] == 'l' || b[i+1] == 'g') {
				o[n] = '<'
				if b[i+1] == 'g' {
					o[n] = '>'
				}
				n++
				i += 4
				continue
			}
			r, next, err := lx.entity(i)
			if err != nil {
				return err
			}
			n += utf8.EncodeRune(o[n:], r)
			i = next
		case '\r':
			o[n] = '\n'
			n++
			if i++; i < end && b[i] == '\n' {
				i++
			}
		case ']':
			if bytes.HasPrefix(b[i:], []byte("]]>")) {
				return lx.syntaxError(i, "unescaped ]]> not in CDATA section")
			}
			o[n] = c
			n++
			i++
		default:
			size, err := lx.char(i)
			if err != nil {
				return err
			}
			n += copy(o[n:], b[i:i+size])
			i += size
		}
	}
	lx.scratch, lx.text, lx.pos = o[:n], o[mark:n], end
	return nil
}

// cdata reads a CDATA section whose content starts at i, up to the first
// ]]>, as text: no entities, line ends normalised, characters checked.
func (lx *lexer) cdata(i int) error {
	b := lx.buf
	end := bytes.Index(b[i:], []byte("]]>"))
	if end < 0 {
		return lx.syntaxError(len(b), "unexpected EOF in CDATA section")
	}
	end += i
	start := i
	for i < end {
		c := b[i]
		switch {
		case plainText[c] || c == '<' || c == '&' || c == ']':
			i++
		case c == '\r':
			return lx.cdataSlow(start, i, end)
		default:
			n, err := lx.char(i)
			if err != nil {
				return err
			}
			i += n
		}
	}
	lx.text, lx.pos = b[start:end], end+3
	return nil
}

// cdataSlow goes on with cdata at i, copying b[start:end] into scratch
// with line ends normalised.
func (lx *lexer) cdataSlow(start, i, end int) error {
	b := lx.buf
	out, mark := lx.startScratch()
	out = append(out, b[start:i]...)
	for i < end {
		switch c := b[i]; {
		case c == '\r':
			out = append(out, '\n')
			if i++; i < end && b[i] == '\n' {
				i++
			}
		case c < utf8.RuneSelf && c >= 0x20 || c == '\t' || c == '\n':
			out = append(out, c)
			i++
		default:
			n, err := lx.char(i)
			if err != nil {
				return err
			}
			out = append(out, b[i:i+n]...)
			i += n
		}
	}
	lx.scratch, lx.text, lx.pos = out, out[mark:], end+3
	return nil
}

// startScratch returns scratch to append a text token to, and where the
// token starts in it: a text token right after another one keeps the
// earlier one's bytes.
func (lx *lexer) startScratch() ([]byte, int) {
	if lx.kind != tokText {
		lx.scratch = lx.scratch[:0]
	}
	return lx.scratch, len(lx.scratch)
}

// attrValue checks an attribute value whose first byte is at i, quoted
// with q, and returns the index after the closing quote. encoding/xml
// allows ]]> in it but not <.
func (lx *lexer) attrValue(i int, q byte) (int, error) {
	b := lx.buf
	var err error
	for i < len(b) {
		c := b[i]
		switch {
		case c == q:
			return i + 1, nil
		case c == '<':
			return 0, lx.syntaxError(i, "unescaped < inside quoted string")
		case plainText[c] || c == ']' || c == '\r':
			i++
		case c == '&':
			if _, i, err = lx.entity(i); err != nil {
				return 0, err
			}
		default:
			n, err := lx.char(i)
			if err != nil {
				return 0, err
			}
			i += n
		}
	}
	return 0, lx.syntaxError(i, "unexpected EOF")
}

// entity decodes the entity or character reference at b[i] == '&' into
// the character it stands for and returns the index after its ';'. It
// accepts what a strict encoding/xml Decoder accepts: the predefined
// entities, &#decimal; and &#xhex; of at most utf8.MaxRune (surrogates
// becoming U+FFFD, as string(rune(n)) makes them) that are XML Chars.
func (lx *lexer) entity(i int) (rune, int, error) {
	b := lx.buf
	j := i + 1
	if j >= len(b) {
		return 0, 0, lx.syntaxError(j, "unexpected EOF")
	}
	if b[j] != '#' {
		for _, e := range predefined {
			if bytes.HasPrefix(b[j:], []byte(e.name)) {
				return rune(e.c), j + len(e.name), nil
			}
		}
		return 0, 0, lx.badEntity(i)
	}
	j++
	hex := j < len(b) && b[j] == 'x'
	if hex {
		j++
	}
	base := uint64(10)
	if hex {
		base = 16
	}
	start := j
	var n uint64
	for ; j < len(b); j++ {
		d := digitValue(b[j], hex)
		if d < 0 {
			break
		}
		n = min(n*base+uint64(d), utf8.MaxRune+1) // saturated: anything larger is as invalid
	}
	if j >= len(b) {
		return 0, 0, lx.syntaxError(j, "unexpected EOF")
	}
	if b[j] != ';' || j == start || n > utf8.MaxRune {
		return 0, 0, lx.badEntity(i)
	}
	r := rune(n)
	if !utf8.ValidRune(r) {
		r = utf8.RuneError
	}
	if !isXMLChar(r) {
		return 0, 0, lx.syntaxError(i, fmt.Sprintf("illegal character code %U", r))
	}
	return r, j + 1, nil
}

// digitValue is c's value as a decimal or hexadecimal digit, or -1.
func digitValue(c byte, hex bool) int {
	switch {
	case '0' <= c && c <= '9':
		return int(c - '0')
	case hex && 'a' <= c && c <= 'f':
		return int(c-'a') + 10
	case hex && 'A' <= c && c <= 'F':
		return int(c-'A') + 10
	}
	return -1
}

// badEntity is the error for the reference at i, quoting at most 12
// bytes of it.
func (lx *lexer) badEntity(i int) error {
	end := min(i+12, len(lx.buf))
	if semi := bytes.IndexByte(lx.buf[i:end], ';'); semi >= 0 {
		end = i + semi + 1
	}
	return lx.syntaxError(i, fmt.Sprintf("invalid character entity %s", Quote(string(lx.buf[i:end]))))
}

// char checks the character at b[i], which is not plain text, and returns
// its length: it must be valid UTF-8 and an XML Char.
func (lx *lexer) char(i int) (int, error) {
	r, n := utf8.DecodeRune(lx.buf[i:])
	if r == utf8.RuneError && n == 1 {
		return 0, lx.syntaxError(i, "invalid UTF-8")
	}
	if !isXMLChar(r) {
		return 0, lx.syntaxError(i, fmt.Sprintf("illegal character code %U", r))
	}
	return n, nil
}

// isXMLChar reports whether r is in XML's Char production.
func isXMLChar(r rune) bool {
	return r == 0x09 || r == 0x0A || r == 0x0D || r >= 0x20 && r <= 0xD7FF ||
		r >= 0xE000 && r <= 0xFFFD || r >= 0x10000 && r <= 0x10FFFF
}
