package backup

import (
	"bufio"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/oneha/oneha/sqlcheck"
)

// Load replaces the database's entire contents with the dump read from r:
// it checks the header (ErrNotDump, ErrVersion, ErrDialectMismatch: nothing
// is changed), drops every table and view (Options.Last first), then runs
// the dump's statements one by one; the Last table's rows are written last.
// It returns the dump's header.
//
// On MySQL it uses one dedicated connection with foreign-key and unique
// checks off; DDL is not transactional there, so a Load that fails part way
// leaves a partial database without the Last table (that is: behind every
// snapshot). On SQLite the whole Load is one transaction and a failure
// changes nothing. A dump that ends early or does not match its end line
// fails with ErrTruncated or ErrCorrupt, and the Last table is dropped
// again (MySQL) or everything rolled back (SQLite).
func Load(ctx context.Context, db *sql.DB, d sqlcheck.Dialect, r io.Reader, opt Options) (Header, error) {
	if err := validDialect(d); err != nil {
		return Header{}, err
	}
	vr := newVerifyReader(r)
	br := bufio.NewReaderSize(vr, 256<<10)
	h, err := readHeaderBuffered(br)
	if err != nil {
		return Header{}, err
	}
	if h.Dialect != d {
		return h, fmt.Errorf("%w: dump is %s, database is %s", ErrDialectMismatch, h.Dialect, d)
	}
	if err := checkOnly(h, opt.Only); err != nil {
		return h, err
	}
	conn, err := db.Conn(ctx)
	if err != nil {
		return h, fmt.Errorf("backup: load: %w", err)
	}
	l := &loader{d: d, opt: opt, conn: conn, sp: newSplitter(br, d), vr: vr}
	switch d {
	case sqlcheck.MySQL:
		// The dump's SET statements change the session: discard the
		// connection afterwards rather than return it to the pool.
		defer discard(conn)
		err = l.loadMySQL(ctx)
	case sqlcheck.SQLite:
		defer conn.Close()
		err = l.loadSQLite(ctx)
	}
	if err != nil {
		return h, fmt.Errorf("backup: load: %w", err)
	}
	return h, nil
}

// checkOnly refuses a load that would replace other tables than the dump
// holds: a dump of some tables loaded as a whole database (it would drop
// the rest), a whole-database dump loaded as some tables, or a dump listing
// a table that only does not name (Load would not drop it first).
func checkOnly(h Header, only []string) error {
	switch {
	case only == nil && h.Only == "":
		return nil
	case only == nil:
		return fmt.Errorf("%w: the dump holds only the tables %s; loading it as a whole database would drop every other table", ErrTables, h.Only)
	case h.Only == "":
		return fmt.Errorf("%w: the dump is of a whole database, not of the tables to replace", ErrTables)
	}
	want, err := onlyList(only)
	if err != nil {
		return err
	}
	in := map[string]bool{}
	for _, n := range strings.Split(want, ",") {
		in[n] = true
	}
	var extra []string
	for _, n := range h.OnlyTables() {
		if !in[n] {
			extra = append(extra, n)
		}
	}
	if len(extra) > 0 {
		return fmt.Errorf("%w: the dump holds tables the load does not replace: %s", ErrTables, strings.Join(extra, ","))
	}
	return nil
}

type loader struct {
	d    sqlcheck.Dialect
	opt  Options
	conn *sql.Conn
	sp   *splitter
	vr   *verifyReader
	n    int // statements executed
}

// run executes every statement of the dump, then checks its end line.
func (l *loader) run(ctx context.Context) error {
	for {
		stmt, content, err := l.sp.next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return fmt.Errorf("after statement %d: %w", l.n, err)
		}
		if !content {
			continue
		}
		l.n++
		if _, err := l.conn.ExecContext(ctx, string(stmt)); err != nil {
			return fmt.Errorf("statement %d (%s): %w", l.n, clip(firstLine(stmt), 80), err)
		}
	}
	// Drain whatever follows the last statement (comments) so the reader
	// sees EOF, then check the end line.
	if _, err := io.Copy(io.Discard, l.sp.r); err != nil {
		return err
	}
	return l.vr.check()
}

func firstLine(b []byte) string {
	s := string(b)
	for len(s) > 0 && (s[0] == '\n' || s[0] == ' ') {
		s = s[1:]
	}
	for i := 0; i < len(s); i++ {
		if s[i] == '\n' {
			return s[:i]
		}
	}
	return s
}

func (l *loader) loadMySQL(ctx context.Context) error {
	for _, q := range []string{
		"SET NAMES utf8mb4",
		"SET SESSION time_zone='+00:00', sql_mode='NO_AUTO_VALUE_ON_ZERO', foreign_key_checks=0, unique_checks=0",
	} {
		if _, err := l.conn.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("%s: %w", q, err)
		}
	}
	if err := dropAll(ctx, l.conn, sqlcheck.MySQL, l.opt); err != nil {
		return err
	}
	if err := l.run(ctx); err != nil {
		if l.opt.Last != "" {
			// Whatever got loaded, the database must look behind.
			cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
			defer cancel()
			if _, derr := l.conn.ExecContext(cctx, "DROP TABLE IF EXISTS "+quoteIdent(sqlcheck.MySQL, l.opt.Last)); derr != nil {
				err = errors.Join(err, fmt.Errorf("drop %s after failed load: %w", l.opt.Last, derr))
			}
		}
		return err
	}
	_, err := l.conn.ExecContext(ctx, "SET SESSION foreign_key_checks=1, unique_checks=1")
	return err
}

func (l *loader) loadSQLite(ctx context.Context) (err error) {
	var fk int
	if err := l.conn.QueryRowContext(ctx, "PRAGMA foreign_keys").Scan(&fk); err != nil {
		return fmt.Errorf("read foreign_keys: %w", err)
	}
	if _, err := l.conn.ExecContext(ctx, "PRAGMA foreign_keys=OFF"); err != nil {
		return err
	}
	defer func() {
		// Restore even if ctx is done: the connection goes back to the pool.
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		if _, rerr := l.conn.ExecContext(cctx, fmt.Sprintf("PRAGMA foreign_keys=%d", fk)); rerr != nil {
			err = errors.Join(err, rerr)
		}
	}()
	if _, err := l.conn.ExecContext(ctx, "BEGIN IMMEDIATE"); err != nil {
		return fmt.Errorf("BEGIN IMMEDIATE: %w", err)
	}
	committed := false
	defer func() {
		if !committed {
			cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
			defer cancel()
			_, _ = l.conn.ExecContext(cctx, "ROLLBACK")
		}
	}()
	if err := dropAll(ctx, l.conn, sqlcheck.SQLite, l.opt); err != nil {
		return err
	}
	if err := l.run(ctx); err != nil {
		return err
	}
	if _, err := l.conn.ExecContext(ctx, "COMMIT"); err != nil {
		return fmt.Errorf("COMMIT: %w", err)
	}
	committed = true
	return nil
}

// dropAll drops Last, then every view, then every table (foreign-key checks
// must be off); with Only, just the tables it names.
func dropAll(ctx context.Context, conn *sql.Conn, d sqlcheck.Dialect, opt Options) error {
	last := opt.Last
	var cat *catalog
	var err error
	if d == sqlcheck.MySQL {
		cat, err = mysqlCatalog(ctx, conn, last, false)
	} else {
		cat, err = sqliteCatalog(ctx, conn, last)
	}
	if err != nil {
		return fmt.Errorf("list existing objects: %w", err)
	}
	cat.keepOnly(opt.Only)
	var stmts []string
	if cat.last != nil {
		stmts = append(stmts, "DROP TABLE IF EXISTS "+quoteIdent(d, cat.last.name))
	}
	for _, v := range cat.views {
		stmts = append(stmts, "DROP VIEW IF EXISTS "+quoteIdent(d, v.name))
	}
	for _, t := range cat.tables {
		stmts = append(stmts, "DROP TABLE IF EXISTS "+quoteIdent(d, t.name))
	}
	for _, q := range stmts {
		if _, err := conn.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("%s: %w", q, err)
		}
	}
	return nil
}

// Empty reports whether the database has no tables and no views (SQLite's
// internal sqlite_* tables do not count).
func Empty(ctx context.Context, db *sql.DB, d sqlcheck.Dialect) (bool, error) {
	var q string
	switch d {
	case sqlcheck.MySQL:
		q = "SELECT IF(DATABASE() IS NULL, -1, (SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE()))"
	case sqlcheck.SQLite:
		q = "SELECT COUNT(*) FROM sqlite_master WHERE type IN ('table','view') AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\'"
	default:
		return false, validDialect(d)
	}
	var n int
	if err := db.QueryRowContext(ctx, q).Scan(&n); err != nil {
		return false, fmt.Errorf("backup: empty: %w", err)
	}
	if n < 0 {
		return false, fmt.Errorf("backup: empty: %w", ErrNoDatabase)
	}
	return n == 0, nil
}

// Wipe drops every table and view of the database (a server that resyncs
// from scratch). It is the first half of Load, without a dump.
func Wipe(ctx context.Context, db *sql.DB, d sqlcheck.Dialect) error {
	conn, err := db.Conn(ctx)
	if err != nil {
		return fmt.Errorf("backup: wipe: %w", err)
	}
	defer discard(conn) // the session's FK setting must not leak back into the pool
	fkOff := "SET FOREIGN_KEY_CHECKS = 0"
	if d == sqlcheck.SQLite {
		fkOff = "PRAGMA foreign_keys = OFF"
	}
	if _, err := conn.ExecContext(ctx, fkOff); err != nil {
		return fmt.Errorf("backup: wipe: %w", err)
	}
	if err := dropAll(ctx, conn, d, Options{}); err != nil {
		return fmt.Errorf("backup: wipe: %w", err)
	}
	return nil
}
