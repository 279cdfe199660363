package backup

import (
	"bufio"
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/oneha/oneha/sqlcheck"
)

// The SQLite dump holds, in order: each table's CREATE text (from
// sqlite_master) and rows; the sqlite_sequence rows (AUTOINCREMENT
// counters); indexes, views and triggers in creation order (triggers after
// the rows, so they do not fire on load); then the Last table with its
// indexes and triggers. Values are typed literals by storage class, so
// typeof() is preserved: integers in decimal, reals with the shortest text
// that round-trips, text as '…' ('' doubled; CAST(X'…' AS TEXT) if not
// UTF-8 or holding NUL), blobs as X'…'. Rowid tables without an INTEGER
// PRIMARY KEY keep their rowids.

func (s *Snapshot) beginSQLite(ctx context.Context) error {
	if _, err := s.conn.ExecContext(ctx, "BEGIN"); err != nil {
		return fmt.Errorf("BEGIN: %w", err)
	}
	// The first read starts the WAL read transaction: the view is fixed now.
	cat, err := sqliteCatalog(ctx, s.conn, s.opt.Last)
	if err != nil {
		return err
	}
	cat.keepOnly(s.opt.Only)
	s.cat = cat
	if cat.last != nil {
		return s.readApplied(ctx)
	}
	return nil
}

// sqliteCatalog lists tables (with columns, primary key, rowid handling),
// indexes, views and triggers of the main schema in creation order.
func sqliteCatalog(ctx context.Context, q querier, last string) (*catalog, error) {
	rows, err := q.QueryContext(ctx, "SELECT type, name, tbl_name, COALESCE(sql, '') FROM sqlite_master ORDER BY rowid")
	if err != nil {
		return nil, fmt.Errorf("read sqlite_master: %w", err)
	}
	cat := &catalog{}
	var all []*table
	err = scanAll(rows, func() error {
		var typ, name, tbl, ddl string
		if err := rows.Scan(&typ, &name, &tbl, &ddl); err != nil {
			return err
		}
		if name == "sqlite_sequence" {
			cat.seq = true
			return nil
		}
		if strings.HasPrefix(strings.ToLower(name), "sqlite_") || ddl == "" {
			return nil // internal tables, automatic indexes
		}
		switch typ {
		case "table":
			if strings.HasPrefix(strings.ToUpper(ddl), "CREATE VIRTUAL") {
				return fmt.Errorf("%w: virtual table %s", ErrUnsupported, name)
			}
			t := &table{name: name, create: ddl}
			all = append(all, t)
			if name == last && last != "" {
				cat.last = t
			} else {
				cat.tables = append(cat.tables, t)
			}
		case "view":
			cat.views = append(cat.views, &object{name: name, table: tbl, create: ddl})
		case "index", "trigger":
			cat.extras = append(cat.extras, &object{name: name, table: tbl, create: ddl})
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	for _, t := range all {
		if err := sqliteColumns(ctx, q, t); err != nil {
			return nil, err
		}
	}
	return cat, nil
}

// sqliteColumns fills t's stored columns, primary key and rowid handling.
func sqliteColumns(ctx context.Context, q querier, t *table) error {
	rows, err := q.QueryContext(ctx, "SELECT name, type, pk, hidden FROM pragma_table_xinfo(?)", t.name)
	if err != nil {
		return fmt.Errorf("columns of %s: %w", t.name, err)
	}
	type pkCol struct {
		name, typ string
		pos       int
	}
	var pks []pkCol
	names := map[string]bool{}
	err = scanAll(rows, func() error {
		var name, typ string
		var pk, hidden int
		if err := rows.Scan(&name, &typ, &pk, &hidden); err != nil {
			return err
		}
		names[strings.ToLower(name)] = true
		if hidden != 0 { // generated columns
			return nil
		}
		t.cols = append(t.cols, column{name: name})
		if pk > 0 {
			pks = append(pks, pkCol{name, typ, pk})
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("columns of %s: %w", t.name, err)
	}
	t.pk = make([]string, len(pks))
	for _, p := range pks {
		t.pk[p.pos-1] = p.name
	}
	var withoutRowid int
	if err := q.QueryRowContext(ctx, "SELECT wr FROM pragma_table_list WHERE schema = 'main' AND name = ?", t.name).Scan(&withoutRowid); err != nil {
		return fmt.Errorf("table_list %s: %w", t.name, err)
	}
	aliased := len(pks) == 1 && strings.EqualFold(pks[0].typ, "INTEGER")
	if withoutRowid == 0 && !aliased {
		for _, n := range []string{"rowid", "_rowid_", "oid"} {
			if !names[n] {
				t.rowid = n
				break
			}
		}
	}
	return nil
}

// sqliteSelect reads t's rowid (if kept) and columns as (typeof, value)
// pairs, text as bytes so no driver conversion applies.
func sqliteSelect(t *table) string {
	var b strings.Builder
	b.WriteString("SELECT ")
	exprs := make([]string, 0, len(t.cols)+1)
	if t.rowid != "" {
		exprs = append(exprs, t.rowid)
	}
	for _, c := range t.cols {
		exprs = append(exprs, quoteIdent(sqlcheck.SQLite, c.name))
	}
	for i, e := range exprs {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, "typeof(%s),CASE typeof(%s) WHEN 'text' THEN CAST(%s AS BLOB) ELSE %s END", e, e, e, e)
	}
	b.WriteString(" FROM " + quoteIdent(sqlcheck.SQLite, t.name))
	return b.String()
}

// sqliteValue is one (typeof, value) pair read by sqliteSelect.
type sqliteValue struct {
	typ string
	v   any
}

// appendLiteral appends v as a literal of its storage class.
func (v *sqliteValue) appendLiteral(dst []byte) ([]byte, error) {
	switch x := v.v.(type) {
	case nil:
		if v.typ == "text" {
			return append(dst, '\'', '\''), nil
		}
		if v.typ == "blob" {
			return append(dst, 'X', '\'', '\''), nil
		}
		return append(dst, "NULL"...), nil
	case int64:
		return strconv.AppendInt(dst, x, 10), nil
	case float64:
		return appendSQLiteReal(dst, x), nil
	case []byte:
		if v.typ == "text" {
			return appendSQLiteText(dst, x), nil
		}
		return appendSQLiteBlob(dst, x), nil
	case string:
		if v.typ == "text" {
			return appendSQLiteText(dst, []byte(x)), nil
		}
		return appendSQLiteBlob(dst, []byte(x)), nil
	}
	return dst, fmt.Errorf("unexpected SQLite value %T (%s)", v.v, v.typ)
}

func (s *Snapshot) writeSQLite(ctx context.Context, w *bufio.Writer) error {
	for _, t := range s.cat.tables {
		if err := s.writeSQLiteTable(ctx, w, t); err != nil {
			return err
		}
	}
	if s.cat.seq {
		if err := s.writeSQLiteSequence(ctx, w); err != nil {
			return err
		}
	}
	objs := append(append([]*object{}, s.cat.views...), s.cat.extras...)
	// Creation order across kinds: views and extras interleave in
	// sqlite_master; indexes first, then views, then triggers is safe
	// because indexes need only their table and triggers may use views.
	for _, kind := range []string{"INDEX", "VIEW", "TRIGGER"} {
		for _, o := range objs {
			if s.cat.last != nil && o.table == s.cat.last.name && kind != "VIEW" {
				continue
			}
			if sqliteKind(o.create) == kind {
				if err := writeDDL(w, o.create); err != nil {
					return err
				}
			}
		}
	}
	if s.cat.last != nil {
		if err := s.writeSQLiteTable(ctx, w, s.cat.last); err != nil {
			return err
		}
		for _, o := range s.cat.extras {
			if o.table == s.cat.last.name {
				if err := writeDDL(w, o.create); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// sqliteKind classifies a CREATE statement: INDEX, VIEW or TRIGGER.
func sqliteKind(ddl string) string {
	f := strings.Fields(strings.ToUpper(ddl))
	for _, w := range f[1:min(len(f), 4)] {
		switch w {
		case "INDEX", "VIEW", "TRIGGER":
			return w
		}
	}
	return ""
}

// writeDDL writes a sqlite_master text as a statement. A newline before the
// ';' keeps it out of a trailing -- comment.
func writeDDL(w *bufio.Writer, ddl string) error {
	sep := ";\n"
	if strings.Contains(ddl, "--") {
		sep = "\n;\n"
	}
	_, err := w.WriteString(ddl + sep)
	return err
}

func (s *Snapshot) writeSQLiteTable(ctx context.Context, w *bufio.Writer, t *table) error {
	if _, err := fmt.Fprintf(w, "\n-- Table %s\n", quoteIdent(sqlcheck.SQLite, t.name)); err != nil {
		return err
	}
	if err := writeDDL(w, t.create); err != nil {
		return err
	}
	rows, err := s.conn.QueryContext(ctx, sqliteSelect(t))
	if err != nil {
		return fmt.Errorf("read %s: %w", t.name, err)
	}
	n := len(t.cols)
	if t.rowid != "" {
		n++
	}
	vals := make([]sqliteValue, n)
	dest := make([]any, 2*n)
	for i := range vals {
		dest[2*i], dest[2*i+1] = &vals[i].typ, &vals[i].v
	}
	in := newInserter(w, sqlcheck.SQLite, t)
	var row []byte
	err = scanAll(rows, func() error {
		if err := rows.Scan(dest...); err != nil {
			return err
		}
		row = append(row[:0], '(')
		for i := range vals {
			if i > 0 {
				row = append(row, ',')
			}
			var err error
			if row, err = vals[i].appendLiteral(row); err != nil {
				return err
			}
		}
		row = append(row, ')')
		return in.add(row)
	})
	if err != nil {
		return fmt.Errorf("read %s: %w", t.name, err)
	}
	return in.flush()
}

func (s *Snapshot) writeSQLiteSequence(ctx context.Context, w *bufio.Writer) error {
	rows, err := s.conn.QueryContext(ctx, "SELECT name, seq FROM sqlite_sequence ORDER BY name")
	if err != nil {
		return fmt.Errorf("read sqlite_sequence: %w", err)
	}
	var b []byte
	err = scanAll(rows, func() error {
		var name string
		var seq int64
		if err := rows.Scan(&name, &seq); err != nil {
			return err
		}
		if s.cat.last != nil && name == s.cat.last.name {
			return nil
		}
		if len(b) == 0 {
			b = append(b, "DELETE FROM sqlite_sequence;\nINSERT INTO sqlite_sequence (name,seq) VALUES "...)
		} else {
			b = append(b, ',')
		}
		b = append(b, '(')
		b = appendSQLiteText(b, []byte(name))
		b = fmt.Appendf(b, ",%d)", seq)
		return nil
	})
	if err != nil {
		return fmt.Errorf("read sqlite_sequence: %w", err)
	}
	if len(b) > 0 {
		_, err = w.Write(append(b, ";\n"...))
	}
	return err
}
