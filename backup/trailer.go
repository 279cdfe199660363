package backup

import (
	"bytes"
	"fmt"
	"hash/crc32"
	"io"
)

// The end line: "-- OneHA dump end bytes=<n> crc32c=<hex>\n", covering all
// bytes before it.
const trailerPrefix = "-- OneHA dump end "

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// sumWriter counts and checksums what passes through it.
type sumWriter struct {
	w   io.Writer
	n   int64
	crc uint32
}

func (s *sumWriter) Write(p []byte) (int, error) {
	n, err := s.w.Write(p)
	s.n += int64(n)
	s.crc = crc32.Update(s.crc, castagnoli, p[:n])
	return n, err
}

// writeTrailer appends the end line for what s has seen so far.
func (s *sumWriter) writeTrailer() error {
	n, err := fmt.Fprintf(s.w, "%sbytes=%d crc32c=%08x\n", trailerPrefix, s.n, s.crc)
	s.n += int64(n)
	return err
}

// maxTrailer bounds how much of the last line verifyReader keeps.
const maxTrailer = 128

// verifyReader checksums a dump as it is read and, at the end, checks the
// end line against the bytes before it.
type verifyReader struct {
	r io.Reader
	// n and crc cover every byte read; lineN and lineCRC cover the bytes
	// before the current line; prevN, prevCRC and prev describe the last
	// complete line.
	n, lineN, prevN      int64
	crc, lineCRC, prevCR uint32
	line, prev           []byte
	eof                  bool
}

func newVerifyReader(r io.Reader) *verifyReader { return &verifyReader{r: r} }

func (v *verifyReader) Read(p []byte) (int, error) {
	n, err := v.r.Read(p)
	b := p[:n]
	for len(b) > 0 {
		i := bytes.IndexByte(b, '\n')
		seg := b
		if i >= 0 {
			seg = b[:i+1]
		}
		v.crc = crc32.Update(v.crc, castagnoli, seg)
		v.n += int64(len(seg))
		if len(v.line) < maxTrailer {
			v.line = append(v.line, seg[:min(len(seg), maxTrailer-len(v.line))]...)
		}
		if i >= 0 { // a line ended
			v.prev = append(v.prev[:0], v.line...)
			v.prevN, v.prevCR = v.lineN, v.lineCRC
			v.line = v.line[:0]
			v.lineN, v.lineCRC = v.n, v.crc
		}
		b = b[len(seg):]
	}
	if err == io.EOF {
		v.eof = true
	}
	return n, err
}

// check verifies the end line once the whole input has been read.
func (v *verifyReader) check() error {
	if !v.eof {
		return fmt.Errorf("%w: data after the last statement", ErrCorrupt)
	}
	if len(v.line) != 0 || !bytes.HasPrefix(v.prev, []byte(trailerPrefix)) {
		return fmt.Errorf("%w: no end line after %d bytes", ErrTruncated, v.n)
	}
	var n int64
	var crc uint32
	if _, err := fmt.Sscanf(string(v.prev[len(trailerPrefix):]), "bytes=%d crc32c=%08x\n", &n, &crc); err != nil {
		return fmt.Errorf("%w: bad end line %q: %w", ErrCorrupt, v.prev, err)
	}
	if n != v.prevN || crc != v.prevCR {
		return fmt.Errorf("%w: end line says %d bytes crc32c=%08x, read %d bytes crc32c=%08x", ErrCorrupt, n, crc, v.prevN, v.prevCR)
	}
	return nil
}
