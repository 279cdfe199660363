package xmlrpc

import (
	"fmt"
	"io"
	"math"
	"slices"
	"strings"
	"sync"
)

// DecodeCall reads one <methodCall> from r, reading at most maxBody bytes
// (DefaultMaxBody if maxBody ≤ 0). The method name is returned trimmed.
//
// The whole body is read before it is parsed, so the time in r's Read
// calls is the transfer and the rest is decoding. A body longer than
// maxBody fails with ErrTooLarge whatever it holds; other failures wrap
// ErrMalformed (and ErrTooDeep or ErrNil where they apply) and give the
// line and column.
func DecodeCall(r io.Reader, maxBody int64) (method string, params []any, err error) {
	p, err := newParser(r, maxBody)
	if err != nil {
		return "", nil, err
	}
	defer p.free()
	err = p.run(func() error {
		if err := p.root("methodCall"); err != nil {
			return err
		}
		if err := p.expectStart("methodName"); err != nil {
			return err
		}
		name, err := p.text("methodName")
		if err != nil {
			return err
		}
		if method = strings.TrimSpace(name); method == "" {
			return p.errorf("empty methodName")
		}
		k, err := p.nextSkipSpace()
		if err != nil {
			return err
		}
		if k == tokEnd { // no <params>: a call without parameters
			return nil
		}
		if !p.is("params") {
			return p.errorf("unexpected <%s> in <methodCall>, want <params>", p.local())
		}
		if params, err = p.params(); err != nil {
			return err
		}
		return p.expectEnd("methodCall")
	})
	if err != nil {
		return "", nil, err
	}
	if params == nil {
		params = []any{}
	}
	return method, params, nil
}

// DecodeResponse reads one <methodResponse> from r, reading at most maxBody
// bytes (DefaultMaxBody if maxBody ≤ 0). A response must hold exactly one
// parameter, which is returned; a <fault> is returned as a *Fault error.
// It reads and fails as DecodeCall does.
func DecodeResponse(r io.Reader, maxBody int64) (any, error) {
	p, err := newParser(r, maxBody)
	if err != nil {
		return nil, err
	}
	defer p.free()
	var (
		v     any
		fault *Fault
	)
	err = p.run(func() error {
		if err := p.root("methodResponse"); err != nil {
			return err
		}
		k, err := p.nextSkipSpace()
		if err != nil {
			return err
		}
		switch {
		case k == tokStart && p.is("params"):
			params, err := p.params()
			if err != nil {
				return err
			}
			if len(params) != 1 {
				return p.errorf("response has %d params, want exactly 1", len(params))
			}
			v = params[0]
		case k == tokStart && p.is("fault"):
			if fault, err = p.fault(); err != nil {
				return err
			}
		default:
			return p.errorf("empty <methodResponse>, want <params> or <fault>")
		}
		return p.expectEnd("methodResponse")
	})
	switch {
	case err != nil:
		return nil, err
	case fault != nil:
		return nil, fault
	}
	return v, nil
}

// parser is a strict reader of XML-RPC messages over the tokens of a
// lexer. It accepts what the encoding/xml-based decoder it replaces
// accepted, returns the same values, and fails where it failed, with the
// same sentinel errors (reference_test.go keeps that decoder, and the
// differential fuzz tests compare the two).
type parser struct {
	lx   lexer
	body []byte // the buffer the body was read into (lx.buf unless converted)
	acc  []byte // text of several tokens joined
	// stack holds the values of the arrays and params being read, each
	// from its mark on, so that each gets a slice of its exact length.
	stack []any
}

// keepBuffers is the largest body buffer, and text buffer, a parser keeps
// for the next one.
const keepBuffers = 64 << 10

var parsers = sync.Pool{New: func() any { return new(parser) }}

// newParser reads the body from r, at most maxBody+1 bytes, into a pooled
// parser. More than maxBody bytes is ErrTooLarge; a read error is
// ErrMalformed wrapping it.
func newParser(r io.Reader, maxBody int64) (*parser, error) {
	if maxBody <= 0 {
		maxBody = DefaultMaxBody
	}
	p := parsers.Get().(*parser)
	body, err := readBody(p.body[:0], r, maxBody)
	p.body = body
	if err != nil {
		p.free()
		return nil, err
	}
	p.lx = lexer{buf: body, limit: convertLimit(maxBody),
		scratch: p.lx.scratch[:0], open: p.lx.open[:0], ns: p.lx.ns[:0], nsTop: p.lx.nsTop}
	return p, nil
}

// convertLimit is the most bytes the input may grow to by charset
// conversion: twice maxBody, what one conversion can make of it.
func convertLimit(maxBody int64) int {
	if maxBody > math.MaxInt/2 {
		return math.MaxInt
	}
	return int(2 * maxBody)
}

// readChunk is the most bytes one Read asks for, so that a Budget charges
// the body in steps of this size as it arrives.
const readChunk = 4 << 10

// readBody appends all of r to buf, failing with ErrTooLarge as soon as
// it holds more than limit bytes: it reads at most limit+1, in Reads of
// at most readChunk bytes.
func readBody(buf []byte, r io.Reader, limit int64) ([]byte, error) {
	for {
		rest := limit - int64(len(buf)) // ≥ 0: one byte more shows the body is too large
		want := readChunk
		if rest < int64(want) {
			want = int(rest) + 1
		}
		if cap(buf)-len(buf) < want {
			grow := max(want, cap(buf)) // doubling, but to no more than limit+1
			if rest < int64(grow) {
				grow = int(rest) + 1
			}
			buf = slices.Grow(buf, grow)
		}
		n, err := r.Read(buf[len(buf) : len(buf)+want])
		buf = buf[:len(buf)+n]
		if int64(len(buf)) > limit {
			return buf, fmt.Errorf("%w: more than %d bytes", ErrTooLarge, limit)
		}
		if err == io.EOF {
			return buf, nil
		}
		if err != nil {
			return buf, fmt.Errorf("%w: reading the body: %w", ErrMalformed, err)
		}
	}
}

// free returns p to the pool, dropping buffers above keepBuffers and
// every reference into the body.
func (p *parser) free() {
	if cap(p.body) > keepBuffers {
		p.body = nil
	}
	if cap(p.lx.scratch) > keepBuffers {
		p.lx.scratch = nil
	}
	if cap(p.acc) > keepBuffers {
		p.acc = nil
	}
	if cap(p.stack) > keepBuffers/16 {
		p.stack = nil
	}
	if cap(p.lx.ns) > 64 {
		p.lx.ns, p.lx.nsTop = nil, nil // a map does not shrink
	}
	clear(p.lx.nsTop)
	p.lx = lexer{scratch: p.lx.scratch[:0], open: p.lx.open[:0], ns: p.lx.ns[:0], nsTop: p.lx.nsTop}
	p.body, p.acc, p.stack = p.body[:0], p.acc[:0], p.stack[:0]
	parsers.Put(p)
}

// run parses with body, then requires nothing but white space and comments
// up to the end of input.
func (p *parser) run(body func() error) error {
	err := body()
	if err == nil {
		err = p.trailer()
	}
	return err
}

func (p *parser) trailer() error {
	for {
		k, err := p.lx.next()
		if err != nil {
			return err
		}
		switch k {
		case tokEOF:
			return nil
		case tokText:
			if !isSpace(p.lx.text) {
				return p.errorf("text after the root element")
			}
		case tokStart:
			return p.errorf("element <%s> after the root element", p.qname())
		}
	}
}

// next returns the next start, end or text token, skipping comments,
// processing instructions and directives; the end of input and elements
// in a name space are errors.
func (p *parser) next() (tokKind, error) {
	k, err := p.lx.next()
	switch {
	case err != nil:
		return 0, err
	case k == tokEOF:
		return 0, p.errorf("unexpected end of input")
	case k == tokStart && p.lx.spaced:
		return 0, p.errorf("unexpected namespaced element <%s>", p.qname())
	}
	return k, nil
}

// nextSkipSpace is next without white-space-only text; other text is an
// error, since only <value> and leaf elements hold text.
func (p *parser) nextSkipSpace() (tokKind, error) {
	for {
		k, err := p.next()
		if err != nil || k != tokText {
			return k, err
		}
		if !isSpace(p.lx.text) {
			return 0, p.errorf("unexpected text %q", clip(string(p.lx.text)))
		}
	}
}

// chars reads text tokens up to the next start or end tag, which it
// returns, and returns their text joined; it stays valid until the next
// text is read.
func (p *parser) chars() ([]byte, tokKind, error) {
	k, err := p.next()
	if err != nil || k != tokText {
		return nil, k, err
	}
	first := p.lx.text
	if k, err = p.next(); err != nil || k != tokText {
		return first, k, err
	}
	acc := append(append(p.acc[:0], first...), p.lx.text...)
	for {
		if k, err = p.next(); err != nil || k != tokText {
			p.acc = acc
			return acc, k, err
		}
		acc = append(acc, p.lx.text...)
	}
}

// root consumes the prolog, each text of which may start with a byte
// order mark, and the root element's start tag.
func (p *parser) root(name string) error {
	for {
		k, err := p.next()
		if err != nil {
			return err
		}
		switch k {
		case tokText:
			if t := p.lx.text; !isSpace(trimBOM(t)) {
				return p.errorf("unexpected text %q before <%s>", clip(string(t)), name)
			}
		case tokStart:
			if !p.is(name) {
				return p.errorf("unexpected <%s>, want <%s>", p.local(), name)
			}
			return nil
		}
	}
}

func (p *parser) expectStart(name string) error {
	k, err := p.nextSkipSpace()
	if err != nil {
		return err
	}
	switch {
	case k == tokStart && p.is(name):
		return nil
	case k == tokStart:
		return p.errorf("unexpected <%s>, want <%s>", p.local(), name)
	}
	return p.errorf("unexpected </%s>, want <%s>", p.local(), name)
}

// expectEnd reads the end tag that closes the current element, which the
// lexer has checked to be </name>.
func (p *parser) expectEnd(name string) error {
	k, err := p.nextSkipSpace()
	if err != nil {
		return err
	}
	if k == tokStart {
		return p.errorf("unexpected <%s>, want </%s>", p.local(), name)
	}
	return nil
}

// text reads the character data of a leaf element up to its end tag.
func (p *parser) text(name string) (string, error) {
	t, k, err := p.chars()
	if err != nil {
		return "", err
	}
	if k == tokStart {
		return "", p.errorf("unexpected <%s> inside <%s>", p.local(), name)
	}
	return string(t), nil
}

// is reports whether the current start tag is <name>.
func (p *parser) is(name string) bool { return string(p.lx.local) == name }

// local is the current tag's local name, cut for messages.
func (p *parser) local() string { return clip(string(p.lx.local)) }

// qname is the current start tag's qualified name, cut for messages.
func (p *parser) qname() string { return clip(string(p.lx.bytes(p.lx.open[len(p.lx.open)-1].name))) }

// errorf returns an ErrMalformed error at the end of the current token.
func (p *parser) errorf(format string, args ...any) error {
	line, col := p.lx.position(p.lx.pos)
	return fmt.Errorf("%w: line %d col %d: %w", ErrMalformed, line, col, fmt.Errorf(format, args...))
}

func isSpace(b []byte) bool {
	for _, c := range b {
		if c != ' ' && c != '\t' && c != '\n' && c != '\r' {
			return false
		}
	}
	return true
}

// trimBOM drops a leading byte order mark.
func trimBOM(b []byte) []byte {
	if len(b) >= 3 && b[0] == 0xEF && b[1] == 0xBB && b[2] == 0xBF {
		return b[3:]
	}
	return b
}
