package sqlfsm

import (
	"bytes"
	"compress/flate"
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"sync"
	"time"
)

// Entry wire format, version 1:
//
//	byte 0   format version (codecV1)
//	byte 1   flags: flagCompressed (body is raw DEFLATE), flagDDL,
//	         flagRequest (the body ends with a Request)
//	body     varint  context time, Unix microseconds (UTC)
//	         uvarint seed1, uvarint seed2
//	         uvarint statement count, then per statement:
//	           uvarint len, SQL bytes, uvarint param count, params
//	         with flagRequest: uvarint len, scope, uvarint len, id,
//	         uvarint window (s), uvarint keep (entries)
//	         with flagFed: uvarint index, uvarint prev, uvarint keep,
//	         uvarint snapshot (0 or 1)
//	param    one tag byte, then: int64 varint | float64 8 bytes LE |
//	         string/bytes uvarint len + bytes | time varint Unix micros
//
// Decoding never trusts a length: every length is checked against the bytes
// that remain, and a compressed body may not inflate past MaxEntrySize, so a
// hostile entry costs at most its own size in allocations.
//
// flagRequest was added after version 1 shipped: entries without it encode
// and decode exactly as before, so logs written earlier replay unchanged. A
// server too old to know the flag refuses such an entry (ErrBadEntry);
// upgrade every server before clients send request ids. flagFed (the
// federation stream) came later the same way: upgrade every server of
// every zone before setting FEDERATION MODE.
const (
	codecV1 byte = 1

	flagCompressed byte = 1 << 0
	flagDDL        byte = 1 << 1
	flagRequest    byte = 1 << 2
	flagFed        byte = 1 << 3

	// compressAbove is the body size from which the encoder tries DEFLATE.
	compressAbove = 4 << 10
	// MaxEntrySize bounds an entry's decoded body (64 MiB).
	MaxEntrySize = 64 << 20
)

const (
	tagNull byte = iota
	tagFalse
	tagTrue
	tagInt
	tagFloat
	tagString
	tagBytes
	tagTime
)

// Encode serializes e. Parameters must already be normalized (see Normalize);
// anything else returns ErrBadParam. The output is deterministic for a given e.
// It allocates a fresh DEFLATE compressor for a large entry; an Encoder
// reuses them and produces the same bytes.
func Encode(e *Entry) ([]byte, error) {
	var c Encoder
	return c.Encode(e)
}

// Encoder is Encode with a pool of DEFLATE compressors (about 1 MiB each
// at BestSpeed), so a leader does not allocate one per log entry. The zero
// value is ready; it is safe for concurrent use. A compressor is Reset
// before every use, so its output depends only on the entry: Encoder and
// Encode produce identical bytes (TestEncoderMatchesEncode). Only the leader
// encodes; replicas apply the leader's bytes as they are.
type Encoder struct {
	deflaters sync.Pool // *flate.Writer at BestSpeed
}

// Encode serializes e like the package function Encode.
func (c *Encoder) Encode(e *Entry) ([]byte, error) {
	body := make([]byte, 0, 64)
	body = binary.AppendVarint(body, e.Context.Time.UnixMicro())
	body = binary.AppendUvarint(body, uint64(e.Context.Seed1))
	body = binary.AppendUvarint(body, uint64(e.Context.Seed2))
	body = binary.AppendUvarint(body, uint64(len(e.Statements)))
	for i, st := range e.Statements {
		body = appendBytes(body, []byte(st.SQL))
		body = binary.AppendUvarint(body, uint64(len(st.Params)))
		for j, p := range st.Params {
			var err error
			if body, err = appendParam(body, p); err != nil {
				return nil, fmt.Errorf("statement %d, parameter %d: %w", i, j, err)
			}
		}
	}
	if rq := e.Request; rq != nil {
		body = appendBytes(body, []byte(rq.Scope))
		body = appendBytes(body, []byte(rq.ID))
		body = binary.AppendUvarint(body, rq.Window)
		body = binary.AppendUvarint(body, rq.Keep)
	}
	if fd := e.Fed; fd != nil {
		body = binary.AppendUvarint(body, fd.Index)
		body = binary.AppendUvarint(body, fd.Prev)
		body = binary.AppendUvarint(body, fd.Keep)
		var snap uint64
		if fd.Snapshot {
			snap = 1
		}
		body = binary.AppendUvarint(body, snap)
	}
	if len(body) > MaxEntrySize {
		return nil, fmt.Errorf("%w: entry of %d bytes exceeds %d", ErrBadEntry, len(body), MaxEntrySize)
	}
	var flags byte
	if e.DDL {
		flags |= flagDDL
	}
	if e.Request != nil {
		flags |= flagRequest
	}
	if e.Fed != nil {
		flags |= flagFed
	}
	if len(body) >= compressAbove {
		if out, ok := c.deflate(body, flags); ok {
			return out, nil
		}
	}
	out := make([]byte, 0, 2+len(body))
	out = append(out, codecV1, flags)
	return append(out, body...), nil
}

// Decode parses an entry produced by Encode. Malformed input of any kind
// returns an error wrapping ErrBadEntry; it never panics.
func Decode(b []byte) (*Entry, error) {
	if len(b) < 2 {
		return nil, fmt.Errorf("%w: %d bytes is too short", ErrBadEntry, len(b))
	}
	if b[0] != codecV1 {
		return nil, fmt.Errorf("%w: unknown format version %d", ErrBadEntry, b[0])
	}
	flags, body := b[1], b[2:]
	if flags&^(flagCompressed|flagDDL|flagRequest|flagFed) != 0 {
		return nil, fmt.Errorf("%w: unknown flags %#x", ErrBadEntry, flags)
	}
	if flags&flagCompressed != 0 {
		var err error
		if body, err = inflate(body); err != nil {
			return nil, err
		}
	}
	d := decoder{b: body}
	e := &Entry{DDL: flags&flagDDL != 0}
	micros := d.varint()
	e.Context.Time = time.UnixMicro(micros).UTC()
	e.Context.Seed1 = d.uint32()
	e.Context.Seed2 = d.uint32()
	n := d.count(2) // a statement takes at least 2 bytes
	if d.err == nil && n > 0 {
		e.Statements = make([]Statement, 0, n)
	}
	for i := 0; i < n && d.err == nil; i++ {
		st := Statement{SQL: string(d.bytes())}
		np := d.count(1)
		if d.err == nil && np > 0 {
			st.Params = make([]any, 0, np)
		}
		for j := 0; j < np && d.err == nil; j++ {
			st.Params = append(st.Params, d.param())
		}
		e.Statements = append(e.Statements, st)
	}
	if flags&flagRequest != 0 && d.err == nil {
		rq := &Request{Scope: string(d.bytes()), ID: string(d.bytes()), Window: d.uvarint(), Keep: d.uvarint()}
		if d.err == nil {
			if err := rq.validate(); err != nil {
				d.fail("%v", err)
			}
		}
		e.Request = rq
	}
	if flags&flagFed != 0 && d.err == nil {
		fd := &Fed{Index: d.uvarint(), Prev: d.uvarint(), Keep: d.uvarint()}
		switch snap := d.uvarint(); snap {
		case 0:
		case 1:
			fd.Snapshot = true
		default:
			d.fail("federation: kind %d", snap)
		}
		if d.err == nil {
			if err := fd.validate(); err != nil {
				d.fail("%v", err)
			}
		}
		e.Fed = fd
	}
	if d.err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadEntry, d.err)
	}
	if len(d.b) != 0 {
		return nil, fmt.Errorf("%w: %d trailing bytes", ErrBadEntry, len(d.b))
	}
	return e, nil
}

func appendBytes(b, s []byte) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

func appendParam(b []byte, p any) ([]byte, error) {
	switch v := p.(type) {
	case nil:
		return append(b, tagNull), nil
	case bool:
		if v {
			return append(b, tagTrue), nil
		}
		return append(b, tagFalse), nil
	case int64:
		return binary.AppendVarint(append(b, tagInt), v), nil
	case float64:
		return binary.LittleEndian.AppendUint64(append(b, tagFloat), math.Float64bits(v)), nil
	case string:
		return appendBytes(append(b, tagString), []byte(v)), nil
	case []byte:
		return appendBytes(append(b, tagBytes), v), nil
	case time.Time:
		return binary.AppendVarint(append(b, tagTime), v.UnixMicro()), nil
	default:
		return nil, fmt.Errorf("%w: unsupported parameter type %T (normalize first)", ErrBadParam, p)
	}
}

// deflate returns the whole entry (version, flags|flagCompressed, then
// body compressed at BestSpeed), or false when compressing does not make
// the body smaller.
func (c *Encoder) deflate(body []byte, flags byte) ([]byte, bool) {
	sw := &sliceWriter{b: make([]byte, 2, 2+len(body))}
	sw.b[0], sw.b[1] = codecV1, flags|flagCompressed
	w, _ := c.deflaters.Get().(*flate.Writer)
	if w == nil {
		var err error
		if w, err = flate.NewWriter(sw, flate.BestSpeed); err != nil {
			return nil, false
		}
	} else {
		w.Reset(sw)
	}
	_, err := w.Write(body)
	if err == nil {
		err = w.Close()
	}
	w.Reset(io.Discard) // drop the reference to sw before pooling
	c.deflaters.Put(w)
	if err != nil || len(sw.b)-2 >= len(body) {
		return nil, false
	}
	return sw.b, true
}

// sliceWriter appends what is written to b.
type sliceWriter struct{ b []byte }

func (s *sliceWriter) Write(p []byte) (int, error) {
	s.b = append(s.b, p...)
	return len(p), nil
}

func inflate(b []byte) ([]byte, error) {
	r := flate.NewReader(bytes.NewReader(b))
	defer r.Close()
	out, err := io.ReadAll(io.LimitReader(r, MaxEntrySize+1))
	if err != nil {
		return nil, fmt.Errorf("%w: compressed body: %v", ErrBadEntry, err)
	}
	if len(out) > MaxEntrySize {
		return nil, fmt.Errorf("%w: body inflates past %d bytes", ErrBadEntry, MaxEntrySize)
	}
	return out, nil
}

// decoder reads the body; the first error sticks and later reads return zero
// values, so callers check d.err once per loop.
type decoder struct {
	b   []byte
	err error
}

func (d *decoder) fail(format string, args ...any) {
	if d.err == nil {
		d.err = fmt.Errorf(format, args...)
	}
}

func (d *decoder) uvarint() uint64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.fail("bad uvarint")
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) varint() int64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Varint(d.b)
	if n <= 0 {
		d.fail("bad varint")
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) uint32() uint32 {
	v := d.uvarint()
	if v > math.MaxUint32 {
		d.fail("seed %d overflows uint32", v)
		return 0
	}
	return uint32(v)
}

// count reads an element count and checks that that many elements of at
// least min bytes each can still fit in the remaining body.
func (d *decoder) count(min int) int {
	v := d.uvarint()
	if d.err == nil && v > uint64(len(d.b)/min) {
		d.fail("count %d exceeds remaining %d bytes", v, len(d.b))
		return 0
	}
	return int(v)
}

func (d *decoder) bytes() []byte {
	n := d.uvarint()
	if d.err != nil {
		return nil
	}
	if n > uint64(len(d.b)) {
		d.fail("length %d exceeds remaining %d bytes", n, len(d.b))
		return nil
	}
	out := make([]byte, n)
	copy(out, d.b[:n])
	d.b = d.b[n:]
	return out
}

func (d *decoder) param() any {
	if d.err != nil {
		return nil
	}
	if len(d.b) == 0 {
		d.fail("missing parameter tag")
		return nil
	}
	tag := d.b[0]
	d.b = d.b[1:]
	switch tag {
	case tagNull:
		return nil
	case tagFalse:
		return false
	case tagTrue:
		return true
	case tagInt:
		return d.varint()
	case tagFloat:
		if len(d.b) < 8 {
			d.fail("short float")
			return nil
		}
		v := math.Float64frombits(binary.LittleEndian.Uint64(d.b))
		d.b = d.b[8:]
		return v
	case tagString:
		return string(d.bytes())
	case tagBytes:
		return d.bytes()
	case tagTime:
		return time.UnixMicro(d.varint()).UTC()
	default:
		d.fail("unknown parameter tag %d", tag)
		return nil
	}
}
