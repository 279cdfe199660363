package sqlfsm

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"net/url"
	"reflect"
	"strings"
	"sync"
	gounsafe "unsafe"

	"modernc.org/libc"
	sqlite3 "modernc.org/sqlite/lib"
)

// sqliteSession binds SQLite's clock, randomness and instruction count to
// the entry being applied, at the source, on the FSM's own apply connection:
//
//   - time: the apply connection is opened through a VFS of its own, a copy
//     of SQLite's "unix" VFS whose xCurrentTime/xCurrentTimeInt64 return the
//     entry's Context.Time. Every reading of 'now' goes through the VFS
//     (sqlite3StmtCurrentTime), so date(), datetime(), julianday(),
//     strftime(), unixepoch(), CURRENT_TIMESTAMP/DATE/TIME see the entry's
//     time however the 'now' string was built and wherever the expression
//     sits: in the statement, a column DEFAULT, a trigger or a view.
//   - randomness: random() and randomblob(N) are replaced, on the apply
//     connection only, by functions drawing from a generator seeded with the
//     entry's Seed1/Seed2. SQLite's own PRNG is process-global and also used
//     by other connections (reads, temp file names, WAL salts), so it cannot
//     be made to give the same sequence on every server; it is not used.
//   - rowids: when a table's largest rowid is 9223372036854775807, SQLite
//     picks the next automatic rowid from that global PRNG. A pre-update hook
//     refuses (deterministically) any write that stores that rowid, so the
//     random path is never reached.
//   - instructions: a progress handler counts VM instructions per statement
//     and stops a statement that exceeds Config.StatementBudget: the entry
//     fails with the same error at the same instruction on every server.
//     The same handler stops a statement when the FSM closes (a transient
//     fault: the entry is applied again after restart).
//
// The per-entry values live in one block of C memory (allocated with libc,
// like everything SQLite dereferences) behind the VFS structure; the
// callbacks are plain functions that find the block from the pointer SQLite
// hands them, so there is no package-level registry. The VFS is registered
// under a name unique to this session (derived from the block's address)
// and unregistered by close, after the apply connections are closed.
type sqliteSession struct {
	tls    *libc.TLS
	vfs    uintptr // sqlite3_vfs followed by the sessionBlock
	name   uintptr // C string: the VFS name
	path   string  // the database file
	pool   *sql.DB // the apply pool: one connection, through the VFS
	budget int64   // VM instructions per statement
	db     uintptr // sqlite3* of the current apply connection

	mu     sync.Mutex // guards closed: interrupt may race with close
	closed bool       // the block is freed
}

// Layout of the block that follows the sqlite3_vfs structure. The callbacks
// read it through SQLite's pointers; Go code accesses it with libc's
// uintptr-based atomics (the memory is outside the Go heap).
const (
	blkTime     = 0  // int64: entry time, Julian day in milliseconds
	blkRand     = 8  // uint64: generator state for random()/randomblob()
	blkCalls    = 16 // int64: progress handler calls in this statement
	blkLimit    = 24 // int64: calls allowed per statement
	blkStop     = 32 // int32: 1 once the FSM closes
	blkExceeded = 36 // int32: 1 when the statement ran out of budget
	blkRowidMax = 40 // int32: 1 when the statement wrote rowid MaxInt64
	blkSize     = 48
)

// progressEvery is how many VM instructions run between two calls of the
// progress handler: the budget's granularity and the delay before a
// shutdown stops a running statement (a few microseconds).
const progressEvery = 1000

// DefaultStatementBudget is the default Config.StatementBudget. A 4 KiB
// OpenNebula-style INSERT or UPDATE runs about 40 VM instructions (EXPLAIN;
// TestTypicalStatementsFitAThousandInstructions runs them under a budget of
// 1000), a full-table UPDATE some 10-20 per row: the default lets a
// statement touch about ten million rows, and stops a runaway one (an
// unbounded recursive CTE) after some 10 s of CPU (measured ~18 M
// instructions/s on a loaded 2-core machine).
const DefaultStatementBudget = 200_000_000

// julianEpochMs is the Unix epoch as a Julian day in milliseconds (SQLite's
// unixEpoch in os_unix.c).
const julianEpochMs = 210866760000000

var vfsSize = uintptr(gounsafe.Sizeof(sqlite3.Tsqlite3_vfs{}))

// newSQLiteSession registers the session's VFS and opens the apply pool on
// the file main is open on.
func newSQLiteSession(ctx context.Context, main *sql.DB, budget int64) (*sqliteSession, error) {
	var path string
	rows, err := main.QueryContext(ctx, "SELECT name, file FROM pragma_database_list")
	if err != nil {
		return nil, fmt.Errorf("sqlfsm: SQLite database file: %w", err)
	}
	for rows.Next() {
		var name, file string
		if err := rows.Scan(&name, &file); err != nil {
			rows.Close()
			return nil, fmt.Errorf("sqlfsm: SQLite database file: %w", err)
		}
		if name == "main" {
			path = file
		}
	}
	rows.Close()
	if path == "" {
		return nil, errors.New("sqlfsm: SQLite database has no file (in-memory databases cannot be replicated)")
	}
	if budget <= 0 {
		budget = DefaultStatementBudget
	}
	s := &sqliteSession{tls: libc.NewTLS(), path: path, budget: budget}
	if err := s.register(); err != nil {
		s.tls.Close()
		return nil, err
	}
	q := sqliteParams()
	q.Set("vfs", libc.GoString(s.name))
	s.pool, err = sql.Open("sqlite", "file:"+path+"?"+q.Encode())
	if err != nil {
		s.close()
		return nil, fmt.Errorf("sqlfsm: open SQLite apply connection: %w", err)
	}
	s.pool.SetMaxOpenConns(1)
	s.pool.SetMaxIdleConns(1)
	return s, nil
}

// register copies the "unix" VFS with the time methods replaced and
// registers it under a name unique to the session.
func (s *sqliteSession) register() error {
	unix, err := libc.CString("unix")
	if err != nil {
		return err
	}
	base := sqlite3.Xsqlite3_vfs_find(s.tls, unix)
	libc.Xfree(s.tls, unix)
	if base == 0 {
		return errors.New("sqlfsm: SQLite has no unix VFS")
	}
	s.vfs = libc.Xcalloc(s.tls, 1, uint64(vfsSize+blkSize))
	if s.vfs == 0 {
		return errors.New("sqlfsm: out of memory for the SQLite VFS")
	}
	libc.Xmemcpy(s.tls, s.vfs, base, uint64(vfsSize))
	if s.name, err = libc.CString(fmt.Sprintf("oneha-apply-%x", s.vfs)); err != nil {
		libc.Xfree(s.tls, s.vfs)
		return err
	}
	var v sqlite3.Tsqlite3_vfs
	setPtr(s.vfs+gounsafe.Offsetof(v.FpNext), 0)
	setPtr(s.vfs+gounsafe.Offsetof(v.FzName), s.name)
	setPtr(s.vfs+gounsafe.Offsetof(v.FxCurrentTime), cFunc(vfsCurrentTime))
	setPtr(s.vfs+gounsafe.Offsetof(v.FxCurrentTimeInt64), cFunc(vfsCurrentTimeInt64))
	libc.AtomicStoreNInt64(s.block()+blkLimit, (s.budget+progressEvery-1)/progressEvery, 0)
	if rc := sqlite3.Xsqlite3_vfs_register(s.tls, s.vfs, 0); rc != sqlite3.SQLITE_OK {
		libc.Xfree(s.tls, s.name)
		libc.Xfree(s.tls, s.vfs)
		return fmt.Errorf("sqlfsm: register SQLite VFS: result code %d", rc)
	}
	return nil
}

func (s *sqliteSession) block() uintptr { return s.vfs + vfsSize }

// setup prepares a new apply connection: it checks that it runs through
// the session's VFS on the expected file, replaces random() and
// randomblob(), and installs the pre-update hook.
func (s *sqliteSession) setup(conn *sql.Conn) error {
	return conn.Raw(func(dc any) error {
		db, err := sqliteHandle(dc)
		if err != nil {
			return err
		}
		main, err := libc.CString("main")
		if err != nil {
			return err
		}
		file := libc.GoString(sqlite3.Xsqlite3_db_filename(s.tls, db, main))
		libc.Xfree(s.tls, main)
		if file != s.path {
			return fmt.Errorf("sqlfsm: apply connection handle is on %q, want %q", file, s.path)
		}
		for _, fn := range []struct {
			name string
			args int32
			impl uintptr
		}{{"random", 0, cFunc(sqlRandom)}, {"randomblob", 1, cFunc(sqlRandomblob)}} {
			z, err := libc.CString(fn.name)
			if err != nil {
				return err
			}
			rc := sqlite3.Xsqlite3_create_function_v2(s.tls, db, z, fn.args, sqlite3.SQLITE_UTF8, s.block(), fn.impl, 0, 0, 0)
			libc.Xfree(s.tls, z)
			if rc != sqlite3.SQLITE_OK {
				return fmt.Errorf("sqlfsm: replace %s(): result code %d", fn.name, rc)
			}
		}
		sqlite3.Xsqlite3_preupdate_hook(s.tls, db, cFunc(preupdateRowid), s.block())
		s.db = db
		return nil
	})
}

// sqliteHandle returns the sqlite3* behind a modernc.org/sqlite connection.
// The driver does not export it; the field is read (not written) by
// reflection, and setup checks the handle against the database file.
func sqliteHandle(dc any) (uintptr, error) {
	v := reflect.ValueOf(dc)
	if v.Kind() == reflect.Pointer && v.Elem().Kind() == reflect.Struct {
		if f := v.Elem().FieldByName("db"); f.IsValid() && f.Kind() == reflect.Uintptr && f.Uint() != 0 {
			return uintptr(f.Uint()), nil
		}
	}
	return 0, fmt.Errorf("sqlfsm: cannot find the SQLite handle of %T", dc)
}

// bind makes the entry's context what the apply connection sees.
func (s *sqliteSession) bind(c Context) {
	b := s.block()
	libc.AtomicStoreNInt64(b+blkTime, c.Time.UnixMilli()+julianEpochMs, 0)
	libc.AtomicStoreNUint64(b+blkRand, uint64(c.Seed1)<<32|uint64(c.Seed2), 0)
}

// arm starts a statement's instruction count. The driver installs its own
// progress handler for calls whose context can be cancelled, so statements
// run with a context that cannot be (see exec) and the handler is set here.
func (s *sqliteSession) arm() {
	b := s.block()
	libc.AtomicStoreNInt64(b+blkCalls, 0, 0)
	libc.AtomicStoreNInt32(b+blkExceeded, 0, 0)
	libc.AtomicStoreNInt32(b+blkRowidMax, 0, 0)
	sqlite3.Xsqlite3_progress_handler(s.tls, s.db, progressEvery, cFunc(progressBudget), b)
}

// limitError is a statement stopped by the session: the same on every
// server, so the entry's deterministic result.
type limitError struct {
	code int
	msg  string
}

func (e *limitError) Error() string { return e.msg }

// verdict turns what a statement returned into what the entry returns.
// Shutdown wins: a statement interrupted by Close is a transient fault even
// if it was also over budget, and it runs again after restart.
func (s *sqliteSession) verdict(err error) error {
	b := s.block()
	switch {
	case libc.AtomicLoadNInt32(b+blkStop, 0) != 0:
		if err == nil {
			return nil
		}
		return fmt.Errorf("%w: statement interrupted by shutdown: %w", ErrClosed, err)
	case libc.AtomicLoadNInt32(b+blkRowidMax, 0) != 0:
		return &limitError{code: sqlite3.SQLITE_FULL, msg: fmt.Sprintf("rowid %d is refused: after it SQLite picks random rowids, which would differ between servers", int64(math.MaxInt64))}
	case err != nil && libc.AtomicLoadNInt32(b+blkExceeded, 0) != 0:
		return &limitError{code: sqlite3.SQLITE_INTERRUPT, msg: fmt.Sprintf("statement stopped after %d SQLite VM instructions (the statement budget)", s.budget)}
	}
	return err
}

// txLost reports that the apply connection is outside a transaction: SQLite
// rolls the whole transaction back when it interrupts a write, savepoints
// included.
func (s *sqliteSession) txLost() bool {
	return s.db != 0 && sqlite3.Xsqlite3_get_autocommit(s.tls, s.db) != 0
}

// exec runs one statement of an entry under the session's budget.
func (s *sqliteSession) exec(ctx context.Context, x execer, q string, args []any) (sql.Result, error) {
	s.arm()
	r, err := x.ExecContext(context.WithoutCancel(ctx), q, args...)
	return r, s.verdict(err)
}

// interrupt makes the running statement, and any later one, stop at the
// next progress check. Safe to call from any goroutine.
func (s *sqliteSession) interrupt() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.closed {
		libc.AtomicStoreNInt32(s.block()+blkStop, 1, 0)
	}
}

// close closes the apply pool (the caller closed its connection) and
// unregisters the VFS.
func (s *sqliteSession) close() error {
	s.interrupt()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	var err error
	if s.pool != nil {
		err = s.pool.Close()
	}
	sqlite3.Xsqlite3_vfs_unregister(s.tls, s.vfs)
	libc.Xfree(s.tls, s.name)
	libc.Xfree(s.tls, s.vfs)
	s.tls.Close()
	return err
}

// maxRowidTables lists the tables that already hold rowid MaxInt64 (written
// before the pre-update hook refused it): an insert without a key into one
// of them gets a random rowid, different on each server.
func maxRowidTables(ctx context.Context, x execer) ([]string, error) {
	rows, err := x.QueryContext(ctx, "SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")
	if err != nil {
		return nil, err
	}
	var names []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			rows.Close()
			return nil, err
		}
		names = append(names, n)
	}
	rows.Close()
	var out []string
	for _, n := range names {
		var hit bool
		// WITHOUT ROWID tables have no rowid: the query fails, skip them.
		q := `SELECT coalesce(max(rowid), 0) = 9223372036854775807 FROM "` + strings.ReplaceAll(n, `"`, `""`) + `"`
		if err := x.QueryRowContext(ctx, q).Scan(&hit); err == nil && hit {
			out = append(out, n)
		}
	}
	return out, nil
}

// sqliteParams are the connection settings of every OneHA SQLite connection
// (see OpenSQLite).
func sqliteParams() url.Values {
	q := url.Values{}
	for _, p := range []string{"journal_mode(WAL)", "busy_timeout(10000)", "foreign_keys(1)", "synchronous(NORMAL)"} {
		q.Add("_pragma", p)
	}
	q.Set("_txlock", "immediate")
	return q
}
