package backup

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/oneha/oneha/sqlcheck"
)

// validDialect refuses a dialect other than MySQL and SQLite (ErrDialect).
func validDialect(d sqlcheck.Dialect) error {
	if d != sqlcheck.MySQL && d != sqlcheck.SQLite {
		return fmt.Errorf("%w: %q", ErrDialect, string(d))
	}
	return nil
}

// Header is a dump's first line: its dialect, the applied index and term of
// the state it holds (0 when the database had no applied-index table), and
// when Begin ran (UTC, whole seconds).
type Header struct {
	Dialect      sqlcheck.Dialect
	AppliedIndex uint64
	AppliedTerm  uint64
	Created      time.Time
	// Only is set for a dump of some tables only (Options.Only): their
	// names, lower case, sorted, comma-separated; "" for a dump of a whole
	// database. Load refuses to load such a dump as a whole database, and
	// a whole-database dump as some tables.
	Only string
}

const (
	headerPrefix = "-- OneHA dump "
	formatV1     = "v1"
	// maxHeaderLine bounds how much ReadHeader reads looking for a newline
	// (room for an only= list of a few hundred table names).
	maxHeaderLine = 16 << 10
)

// String is the header line without its newline.
func (h Header) String() string {
	s := fmt.Sprintf("%s%s dialect=%s applied_index=%d applied_term=%d created=%s",
		headerPrefix, formatV1, h.Dialect, h.AppliedIndex, h.AppliedTerm, h.Created.UTC().Format(time.RFC3339))
	if h.Only != "" {
		s += " only=" + h.Only
	}
	return s
}

// OnlyTables is Only as a list (nil for a whole-database dump).
func (h Header) OnlyTables() []string {
	if h.Only == "" {
		return nil
	}
	return strings.Split(h.Only, ",")
}

// onlyList is the header's only= value of Options.Only: the names lower
// case, sorted, without duplicates. A name must be non-empty and hold no
// space, comma or '='.
func onlyList(only []string) (string, error) {
	if len(only) == 0 {
		return "", fmt.Errorf("%w: Only names no table", ErrTables)
	}
	seen := map[string]bool{}
	var names []string
	for _, n := range only {
		n = strings.ToLower(n)
		if n == "" || strings.ContainsAny(n, ",= \t\r\n") {
			return "", fmt.Errorf("%w: %q cannot be listed in a dump header", ErrTables, n)
		}
		if !seen[n] {
			seen[n] = true
			names = append(names, n)
		}
	}
	slices.Sort(names)
	return strings.Join(names, ","), nil
}

// ReadHeader reads and parses a dump's first line. It reads byte by byte and
// stops at the newline, so r is positioned at the first statement.
func ReadHeader(r io.Reader) (Header, error) {
	var line []byte
	var b [1]byte
	for {
		n, err := r.Read(b[:])
		if n == 1 {
			if b[0] == '\n' {
				return parseHeader(string(line))
			}
			line = append(line, b[0])
			if len(line) > maxHeaderLine {
				return Header{}, fmt.Errorf("%w: first line longer than %d bytes", ErrNotDump, maxHeaderLine)
			}
			continue
		}
		if err == io.EOF {
			return Header{}, fmt.Errorf("%w: no complete first line (%d bytes)", ErrNotDump, len(line))
		}
		if err != nil {
			return Header{}, fmt.Errorf("backup: read header: %w", err)
		}
	}
}

// readHeaderBuffered is ReadHeader for the loader's bufio.Reader.
func readHeaderBuffered(br *bufio.Reader) (Header, error) {
	line, err := br.ReadSlice('\n')
	switch {
	case err == bufio.ErrBufferFull:
		return Header{}, fmt.Errorf("%w: first line too long", ErrNotDump)
	case err == io.EOF:
		return Header{}, fmt.Errorf("%w: no complete first line (%d bytes)", ErrNotDump, len(line))
	case err != nil:
		return Header{}, fmt.Errorf("backup: read header: %w", err)
	}
	return parseHeader(string(line[:len(line)-1]))
}

func parseHeader(line string) (Header, error) {
	line = strings.TrimSuffix(line, "\r")
	rest, ok := strings.CutPrefix(line, headerPrefix)
	if !ok {
		return Header{}, fmt.Errorf("%w: first line %q does not start with %q", ErrNotDump, clip(line, 60), headerPrefix)
	}
	fields := strings.Fields(rest)
	if len(fields) == 0 || fields[0] != formatV1 {
		return Header{}, fmt.Errorf("%w: %q (this build reads %s)", ErrVersion, clip(rest, 20), formatV1)
	}
	var h Header
	seen := map[string]bool{}
	for _, f := range fields[1:] {
		k, v, ok := strings.Cut(f, "=")
		if !ok || seen[k] {
			return Header{}, fmt.Errorf("%w: bad header field %q", ErrNotDump, clip(f, 40))
		}
		seen[k] = true
		var err error
		switch k {
		case "dialect":
			h.Dialect = sqlcheck.Dialect(v)
			err = validDialect(h.Dialect)
		case "applied_index":
			h.AppliedIndex, err = strconv.ParseUint(v, 10, 64)
		case "applied_term":
			h.AppliedTerm, err = strconv.ParseUint(v, 10, 64)
		case "created":
			h.Created, err = time.Parse(time.RFC3339, v)
			h.Created = h.Created.UTC()
		case "only":
			h.Only = v
			if v == "" || strings.Contains(v, ",,") || strings.HasPrefix(v, ",") || strings.HasSuffix(v, ",") {
				err = errors.New("empty table name")
			}
		default:
			// Unknown fields are allowed: later v1 writers may add some.
		}
		if err != nil {
			return Header{}, fmt.Errorf("%w: header field %s: %w", ErrNotDump, k, err)
		}
	}
	for _, k := range []string{"dialect", "applied_index", "applied_term", "created"} {
		if !seen[k] {
			return Header{}, fmt.Errorf("%w: header lacks %s", ErrNotDump, k)
		}
	}
	return h, nil
}

func clip(s string, n int) string {
	if len(s) > n {
		return s[:n] + "..."
	}
	return s
}
