package backup

import (
	"bufio"
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/oneha/oneha/sqlcheck"
)

// Options tune a dump and its load.
type Options struct {
	// Last is a table dumped LAST and that Load drops FIRST and loads LAST
	// (OneHA's applied-index table "oneha_applied", columns applied_index
	// BIGINT, applied_term BIGINT, one row). So a crash in the middle of Load
	// leaves the DB showing "applied index missing/0" = behind, and the
	// restore reruns. Begin reads the header's applied index and term from
	// it. Empty: no such table.
	Last string
	// Only, when set, limits the dump to these tables (names compared
	// case-insensitively; missing ones are skipped) and their SQLite
	// indexes and triggers: no views, no sqlite_sequence. Load with Only
	// drops and replaces just these tables and leaves the rest of the
	// database alone (federation: a slave's federated tables). The dump's
	// header lists them (Header.Only), and Load checks that list against
	// its own Options.Only: a dump of some tables never loads as a whole
	// database, nor a whole-database dump as some tables (ErrTables).
	Only []string
}

// keepOnly limits cat to the tables named in only (nil: no limit).
func (cat *catalog) keepOnly(only []string) {
	if only == nil {
		return
	}
	in := map[string]bool{}
	for _, n := range only {
		in[strings.ToLower(n)] = true
	}
	var tables []*table
	for _, t := range cat.tables {
		if in[strings.ToLower(t.name)] {
			tables = append(tables, t)
		}
	}
	var extras []*object
	for _, o := range cat.extras {
		if in[strings.ToLower(o.table)] {
			extras = append(extras, o)
		}
	}
	cat.tables, cat.extras, cat.views, cat.seq = tables, extras, nil, false
}

// Snapshot is a consistent read view opened by Begin. It holds one
// connection (and, on MySQL, an open read-only transaction) until Close.
// Write may be called more than once; every call streams the same state.
// Methods are safe for concurrent use, but Writes run one at a time.
type Snapshot struct {
	d    sqlcheck.Dialect
	opt  Options
	hdr  Header
	cat  *catalog
	conn *sql.Conn

	mu     sync.Mutex
	closed bool
}

// catalog is what Begin captured of the schema, in dump order.
type catalog struct {
	tables []*table  // base tables, Last excluded
	last   *table    // Options.Last, nil when absent
	views  []*object // views, in creation order (dependencies first)
	extras []*object // SQLite: indexes and triggers, creation order
	seq    bool      // SQLite: sqlite_sequence exists
}

type table struct {
	name   string
	create string
	cols   []column
	pk     []string // primary key column names, in key order
	rowid  string   // SQLite: name to select/insert the rowid under, "" if not kept
}

type object struct {
	name, table, create string
}

type column struct {
	name string
	kind colKind
}

// colKind decides how a column's values are written.
type colKind uint8

const (
	kindText   colKind = iota // quoted string literal
	kindNumber                // unquoted when it looks like a number
	kindFloat                 // MySQL FLOAT: read as DOUBLE (exact), unquoted
	kindHex                   // 0x… (binary, blob, bit, spatial)
)

// maxInsert is the size at which a multi-row INSERT is cut.
const maxInsert = 1 << 20

// Begin opens a consistent read view now and reads the header (applied
// index/term from Options.Last if that table exists, else 0) and the
// catalog in it. It only runs a few catalog queries, so it is quick enough
// for the Raft FSM goroutine; the rows are streamed later by Write while
// writes go on. The caller must Close the Snapshot.
//
// Begin must not run concurrently with DDL on db (in OneHA it runs on the
// FSM goroutine, which is the only writer).
func Begin(ctx context.Context, db *sql.DB, d sqlcheck.Dialect, opt Options) (*Snapshot, error) {
	if err := validDialect(d); err != nil {
		return nil, err
	}
	conn, err := db.Conn(ctx)
	if err != nil {
		return nil, fmt.Errorf("backup: begin: %w", err)
	}
	s := &Snapshot{d: d, opt: opt, conn: conn, hdr: Header{Dialect: d, Created: time.Now().UTC().Truncate(time.Second)}}
	if opt.Only != nil {
		if s.hdr.Only, err = onlyList(opt.Only); err != nil {
			discard(conn)
			return nil, fmt.Errorf("backup: begin: %w", err)
		}
	}
	switch d {
	case sqlcheck.MySQL:
		err = s.beginMySQL(ctx)
	case sqlcheck.SQLite:
		err = s.beginSQLite(ctx)
	}
	if err != nil {
		_ = s.Close()
		return nil, fmt.Errorf("backup: begin: %w", err)
	}
	return s, nil
}

// QueryRow runs a one-row query in the snapshot's read view and scans it
// into dest: what else a caller needs to read at the same point (the
// federation index of a dump of federated tables).
func (s *Snapshot) QueryRow(ctx context.Context, q string, dest ...any) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrClosed
	}
	return s.conn.QueryRowContext(ctx, q).Scan(dest...)
}

// Header returns the dump's header: dialect, applied index/term at Begin,
// Begin's time.
func (s *Snapshot) Header() Header { return s.hdr }

// Write streams the dump of the state at Begin to w and returns the bytes
// written. Rows are read with the server's unbuffered cursor and written
// through a 256 KiB buffer.
func (s *Snapshot) Write(ctx context.Context, w io.Writer) (int64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return 0, ErrClosed
	}
	sw := &sumWriter{w: w}
	bw := bufio.NewWriterSize(sw, 256<<10)
	if _, err := bw.WriteString(s.hdr.String() + "\n"); err != nil {
		return sw.n, fmt.Errorf("backup: write: %w", err)
	}
	var err error
	switch s.d {
	case sqlcheck.MySQL:
		err = s.writeMySQL(ctx, bw)
	case sqlcheck.SQLite:
		err = s.writeSQLite(ctx, bw)
	}
	if err == nil {
		err = bw.Flush()
	}
	if err == nil {
		err = sw.writeTrailer()
	}
	if err != nil {
		return sw.n, fmt.Errorf("backup: write: %w", err)
	}
	return sw.n, nil
}

// Close ends the read transaction and releases the connection. It is
// idempotent. The connection is discarded, not returned to the pool, so the
// session settings Begin made cannot leak to other users of db.
func (s *Snapshot) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err := s.conn.ExecContext(ctx, "ROLLBACK")
	discard(s.conn)
	if err != nil && !errors.Is(err, driver.ErrBadConn) {
		return fmt.Errorf("backup: close snapshot: %w", err)
	}
	return nil
}

// discard closes conn and drops it from its pool (database/sql closes a
// connection whose Raw callback returns driver.ErrBadConn).
func discard(conn *sql.Conn) {
	_ = conn.Raw(func(any) error { return driver.ErrBadConn })
	_ = conn.Close()
}

// rawValue scans any column as its text (or bytes), keeping NULL apart from
// the empty string (sql.RawBytes cannot: an empty value after a NULL scans
// as nil).
type rawValue struct {
	b    []byte
	null bool
}

func (v *rawValue) Scan(src any) error {
	v.b, v.null = v.b[:0], false
	switch x := src.(type) {
	case nil:
		v.null = true
	case []byte:
		v.b = append(v.b, x...)
	case string:
		v.b = append(v.b, x...)
	case int64:
		v.b = strconv.AppendInt(v.b, x, 10)
	case uint64:
		v.b = strconv.AppendUint(v.b, x, 10)
	case float64:
		v.b = strconv.AppendFloat(v.b, x, 'g', -1, 64)
	case float32:
		v.b = strconv.AppendFloat(v.b, float64(x), 'g', -1, 32)
	case bool:
		v.b = strconv.AppendBool(v.b, x)
	case time.Time:
		v.b = x.AppendFormat(v.b, time.RFC3339Nano)
	default:
		return fmt.Errorf("backup: unexpected value type %T", src)
	}
	return nil
}

// inserter batches rows into multi-row INSERTs of about maxInsert bytes.
type inserter struct {
	w      *bufio.Writer
	prefix []byte
	buf    []byte
}

func newInserter(w *bufio.Writer, d sqlcheck.Dialect, t *table) *inserter {
	p := []byte("INSERT INTO " + quoteIdent(d, t.name) + " (")
	names := t.cols
	if t.rowid != "" {
		p = append(p, t.rowid...)
		if len(names) > 0 {
			p = append(p, ',')
		}
	}
	for i, c := range names {
		if i > 0 {
			p = append(p, ',')
		}
		p = append(p, quoteIdent(d, c.name)...)
	}
	p = append(p, ") VALUES "...)
	return &inserter{w: w, prefix: p}
}

// add appends one encoded row "(…)".
func (in *inserter) add(row []byte) error {
	if len(in.buf) > 0 && len(in.buf)+len(row)+3 > maxInsert {
		if err := in.flush(); err != nil {
			return err
		}
	}
	if len(in.buf) == 0 {
		in.buf = append(in.buf, in.prefix...)
	} else {
		in.buf = append(in.buf, ",\n"...)
	}
	in.buf = append(in.buf, row...)
	return nil
}

func (in *inserter) flush() error {
	if len(in.buf) == 0 {
		return nil
	}
	in.buf = append(in.buf, ";\n"...)
	_, err := in.w.Write(in.buf)
	in.buf = in.buf[:0]
	return err
}

// readApplied reads applied_index and applied_term from the Last table
// (0, 0 when it has no row).
func (s *Snapshot) readApplied(ctx context.Context) error {
	q := "SELECT applied_index, applied_term FROM " + quoteIdent(s.d, s.opt.Last) + " LIMIT 1"
	err := s.conn.QueryRowContext(ctx, q).Scan(&s.hdr.AppliedIndex, &s.hdr.AppliedTerm)
	if errors.Is(err, sql.ErrNoRows) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("read applied index from %s: %w", s.opt.Last, err)
	}
	return nil
}
