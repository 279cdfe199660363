package xmlrpc

import (
	"bytes"
	"fmt"
)

// tokKind is the kind of a token the lexer returns.
type tokKind uint8

const (
	tokEOF   tokKind = iota // end of input outside every element
	tokStart                // a start tag: lexer.local, lexer.spaced
	tokEnd                  // an end tag, or the end of a self-closing tag: lexer.local
	tokText                 // character data or a CDATA section: lexer.text
)

// lexer splits an XML document held in memory into the tokens that
// encoding/xml's Decoder.Token returns with Strict set (and Entity,
// AutoClose, DefaultSpace unset), and fails on exactly the inputs it fails
// on, token by token:
//
//   - comments, processing instructions and directives are checked as
//     encoding/xml checks them and skipped; <?xml version=… encoding=…?>
//     is honoured wherever it appears, as encoding/xml does;
//   - start and end tags must nest and match by their raw qualified names;
//     names must be XML names with at most one colon; attribute values
//     must be quoted and well formed, and are otherwise ignored except
//     xmlns bindings, which decide whether an element is in a name space;
//   - text is returned with entities and character references replaced and
//     \r\n and lone \r turned into \n; it must be valid UTF-8 of XML Chars
//     and hold no ]]> outside CDATA sections.
//
// buf is only ever read or replaced (by a charset conversion, which keeps
// buf[:pos]), never written, so spans and slices into it stay valid.
type lexer struct {
	buf   []byte
	pos   int // next byte to read; after a token, the end of it
	limit int // the most bytes buf may grow to by charset conversions

	kind   tokKind // the last token returned
	local  []byte  // tokStart, tokEnd: the element's local name
	spaced bool    // tokStart: the element is in a name space, as encoding/xml translates it
	text   []byte  // tokText: the text, valid until a text token follows a non-text one

	// scratch holds text that needed decoding. Consecutive text tokens
	// (separated by comments or the like) append to it, so that all of them
	// stay valid until the next run of text starts.
	scratch []byte

	open      []openElem  // elements started and not ended, innermost last
	ns        []nsBinding // xmlns bindings in scope, innermost last
	nsTop     nsIndex     // prefix → its innermost binding in ns
	closeNext bool        // the last start tag was self-closing: its end comes next

	// asciiFrom, if > 0, is an offset from which buf holds only ASCII, so
	// that a charset declaration there changes nothing.
	asciiFrom int
}

// openElem is an element whose end tag has not been read.
type openElem struct {
	name   span // the raw qualified name in the start tag
	local  span // its local part
	nsMark int  // len(lexer.ns) before the element's own bindings
}

// span is buf[lo:hi].
type span struct{ lo, hi int }

func (lx *lexer) bytes(s span) []byte { return lx.buf[s.lo:s.hi] }

// next reads the next start tag, end tag or text token, skipping
// comments, processing instructions and directives. At the end of the
// input it returns tokEOF if no element is open and an error otherwise.
func (lx *lexer) next() (tokKind, error) {
	if lx.closeNext {
		lx.closeNext = false
		lx.pop()
		lx.kind = tokEnd
		return tokEnd, nil
	}
	for {
		b := lx.buf
		i := lx.pos
		if i >= len(b) {
			if len(lx.open) > 0 {
				return 0, lx.syntaxError(i, "unexpected EOF")
			}
			lx.kind = tokEOF
			return tokEOF, nil
		}
		if b[i] != '<' {
			return lx.token(tokText, lx.charData())
		}
		if i+1 >= len(b) {
			return 0, lx.syntaxError(i+1, "unexpected EOF")
		}
		var err error
		switch b[i+1] {
		case '/':
			return lx.token(tokEnd, lx.endTag())
		case '?':
			err = lx.procInst()
		case '!':
			var cdata bool
			if cdata, err = lx.bang(); cdata && err == nil {
				return lx.token(tokText, nil)
			}
		default:
			return lx.token(tokStart, lx.startTag())
		}
		if err != nil {
			return 0, err
		}
	}
}

func (lx *lexer) token(k tokKind, err error) (tokKind, error) {
	if err != nil {
		return 0, err
	}
	lx.kind = k
	return k, nil
}

// startTag reads <name attr="value"…> or <name …/> at pos and opens the
// element.
func (lx *lexer) startTag() error {
	b := lx.buf
	name, local, err := lx.qname(lx.pos+1, "expected element name after <")
	if err != nil {
		return err
	}
	mark := len(lx.ns)
	i := name.hi
	for {
		i = skipSpace(b, i)
		if i >= len(b) {
			return lx.syntaxError(i, "unexpected EOF")
		}
		if b[i] == '>' {
			i++
			break
		}
		if b[i] == '/' {
			if i+1 >= len(b) {
				return lx.syntaxError(i+1, "unexpected EOF")
			}
			if b[i+1] != '>' {
				return lx.syntaxError(i+1, "expected /> in element")
			}
			i += 2
			lx.closeNext = true
			break
		}
		if i, err = lx.attribute(i); err != nil {
			return err
		}
	}
	lx.pos = i
	lx.open = append(lx.open, openElem{name: name, local: local, nsMark: mark})
	lx.local = lx.bytes(local)
	lx.spaced = lx.inSpace(name, local)
	return nil
}

// attribute reads name="value" at i and returns the index after it,
// recording xmlns bindings.
func (lx *lexer) attribute(i int) (int, error) {
	b := lx.buf
	name, local, err := lx.qname(i, "expected attribute name in element")
	if err != nil {
		return 0, err
	}
	i = skipSpace(b, name.hi)
	if i >= len(b) {
		return 0, lx.syntaxError(i, "unexpected EOF")
	}
	if b[i] != '=' {
		return 0, lx.syntaxError(i, "attribute name without = in element")
	}
	i = skipSpace(b, i+1)
	if i >= len(b) {
		return 0, lx.syntaxError(i, "unexpected EOF")
	}
	q := b[i]
	if q != '"' && q != '\'' {
		return 0, lx.syntaxError(i, "unquoted or missing attribute value in element")
	}
	end, err := lx.attrValue(i+1, q)
	if err != nil {
		return 0, err
	}
	empty := end == i+2 // nothing between the quotes; anything else decodes to something
	switch {
	case local.lo > name.lo && string(b[name.lo:local.lo-1]) == "xmlns":
		lx.bind(local, empty)
	case local == name && string(lx.bytes(name)) == "xmlns":
		lx.bind(span{name.lo, name.lo}, empty)
	}
	return end, nil
}

// endTag reads </name> at pos and closes the innermost element, which
// must have been started with the same raw name.
func (lx *lexer) endTag() error {
	b := lx.buf
	name, local, err := lx.qname(lx.pos+2, "expected element name after </")
	if err != nil {
		return err
	}
	i := skipSpace(b, name.hi)
	if i >= len(b) {
		return lx.syntaxError(i, "unexpected EOF")
	}
	if b[i] != '>' {
		return lx.syntaxError(i, fmt.Sprintf("invalid characters between </%s and >", clip(string(lx.bytes(local)))))
	}
	if len(lx.open) == 0 {
		return lx.syntaxError(i, fmt.Sprintf("unexpected end element </%s>", clip(string(lx.bytes(name)))))
	}
	if top := lx.open[len(lx.open)-1]; !bytes.Equal(lx.bytes(top.name), lx.bytes(name)) {
		return lx.syntaxError(i, fmt.Sprintf("element <%s> closed by </%s>", clip(string(lx.bytes(top.name))), clip(string(lx.bytes(name)))))
	}
	lx.pos = i + 1
	lx.pop()
	return nil
}

// pop closes the innermost element, dropping its bindings.
func (lx *lexer) pop() {
	top := lx.open[len(lx.open)-1]
	lx.open = lx.open[:len(lx.open)-1]
	lx.unbind(top.nsMark)
	lx.local = lx.bytes(top.local)
}

// qname reads a qualified name at i as encoding/xml's nsname does: a
// name with at most one colon, split into prefix and local part only if
// both are non-empty. msg is the error when no name starts at i.
func (lx *lexer) qname(i int, msg string) (name, local span, err error) {
	end, err := lx.name(i, msg)
	if err != nil {
		return span{}, span{}, err
	}
	name = span{i, end}
	colon := bytes.IndexByte(lx.buf[i:end], ':')
	if colon >= 0 && bytes.IndexByte(lx.buf[i+colon+1:end], ':') >= 0 {
		return span{}, span{}, lx.syntaxError(i, msg)
	}
	if colon <= 0 || i+colon+1 == end {
		return name, name, nil
	}
	return name, span{i + colon + 1, end}, nil
}

// name reads an XML name at i and returns its end. Like encoding/xml's
// readName it takes the longest run of name bytes and non-ASCII bytes and
// fails at the end of input, then validates the run.
func (lx *lexer) name(i int, msg string) (int, error) {
	b := lx.buf
	if i >= len(b) {
		return 0, lx.syntaxError(i, "unexpected EOF")
	}
	if c := b[i]; c < 0x80 && !nameByte[c] {
		return 0, lx.syntaxError(i, msg)
	}
	end := i + 1
	for end < len(b) && (b[end] >= 0x80 || nameByte[b[end]]) {
		end++
	}
	if end >= len(b) {
		return 0, lx.syntaxError(end, "unexpected EOF")
	}
	if !validName(b[i:end]) {
		return 0, lx.syntaxError(i, fmt.Sprintf("invalid XML name: %s", Quote(string(b[i:end]))))
	}
	return end, nil
}

// skipSpace returns the index of the first byte at or after i that is not
// XML white space.
func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\n' || b[i] == '\t' || b[i] == '\r') {
		i++
	}
	return i
}

// syntaxError returns an ErrMalformed error at byte offset at.
func (lx *lexer) syntaxError(at int, msg string) error {
	line, col := lx.position(at)
	return fmt.Errorf("%w: line %d col %d: %s", ErrMalformed, line, col, msg)
}

// position returns the 1-based line and column of byte offset at.
func (lx *lexer) position(at int) (line, col int) {
	at = min(at, len(lx.buf))
	line = 1 + bytes.Count(lx.buf[:at], []byte{'\n'})
	return line, at - (bytes.LastIndexByte(lx.buf[:at], '\n') + 1) + 1
}
