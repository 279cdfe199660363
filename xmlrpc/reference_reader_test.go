// The readers the reference decoder (reference_test.go) streams its input
// through, moved unchanged from reader.go.

package xmlrpc

import (
	"bytes"
	"fmt"
	"io"
	"strings"
)

// countingReader counts the bytes read through it.
type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(b []byte) (int, error) {
	n, err := c.r.Read(b)
	c.n += int64(n)
	return n, err
}

// charsetReader accepts the single-byte encodings old clients declare,
// besides UTF-8, which needs no conversion.
func charsetReader(charset string, input io.Reader) (io.Reader, error) {
	switch strings.ToLower(charset) {
	case "us-ascii", "ascii", "iso-8859-1", "latin1", "latin-1":
		return &latin1Reader{r: input}, nil
	}
	return nil, fmt.Errorf("unsupported charset %q", clip(charset))
}

// latin1Reader converts ISO-8859-1 (and so ASCII) to UTF-8.
type latin1Reader struct {
	r   io.Reader
	buf []byte
	out bytes.Buffer
}

func (l *latin1Reader) Read(b []byte) (int, error) {
	if l.out.Len() == 0 {
		if l.buf == nil {
			l.buf = make([]byte, 2048)
		}
		n, err := l.r.Read(l.buf)
		for _, c := range l.buf[:n] {
			l.out.WriteRune(rune(c))
		}
		if n == 0 {
			return 0, err
		}
	}
	return l.out.Read(b)
}
