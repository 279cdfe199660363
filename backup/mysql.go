package backup

import (
	"bufio"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"regexp"
	"strings"

	"github.com/go-sql-driver/mysql"

	"github.com/oneha/oneha/sqlcheck"
)

// The MySQL dump is mysqldump-like and loads with the stock client:
//
//	SET NAMES utf8mb4; SET TIME_ZONE='+00:00'; SET SQL_MODE='NO_AUTO_VALUE_ON_ZERO';
//	SET FOREIGN_KEY_CHECKS=0; SET UNIQUE_CHECKS=0;
//	per table: DROP TABLE IF EXISTS; SHOW CREATE TABLE text; multi-row INSERTs
//	per view:  DROP VIEW IF EXISTS; SHOW CREATE VIEW text without DEFINER
//	the Last table
//	SET UNIQUE_CHECKS=1; SET FOREIGN_KEY_CHECKS=1;
//
// TIMESTAMPs are read and written in UTC, so they round-trip whatever the
// server's time zone. CREATE TABLE texts are captured at Begin, so their
// AUTO_INCREMENT counters are those of the dumped state.
const mysqlPrologue = "SET NAMES utf8mb4;\n" +
	"SET TIME_ZONE='+00:00';\n" +
	"SET SQL_MODE='NO_AUTO_VALUE_ON_ZERO';\n" +
	"SET FOREIGN_KEY_CHECKS=0;\n" +
	"SET UNIQUE_CHECKS=0;\n"

const mysqlEpilogue = "SET UNIQUE_CHECKS=1;\nSET FOREIGN_KEY_CHECKS=1;\n"

// MySQL error numbers the package branches on.
const (
	erTableDefChanged = 1412 // Table definition has changed, please retry transaction
	erNoSuchTable     = 1146
	erBadField        = 1054
)

var definerRE = regexp.MustCompile("DEFINER=(`(?:[^`]|``)*`|'(?:[^']|'')*'|[^ @]+)@(`(?:[^`]|``)*`|'(?:[^']|'')*'|[^ ]+) ")

func (s *Snapshot) beginMySQL(ctx context.Context) error {
	for _, q := range []string{
		// Session settings die with the connection (Close discards it).
		"SET SESSION time_zone='+00:00', sql_mode='', sql_quote_show_create=1",
		"SET TRANSACTION ISOLATION LEVEL REPEATABLE READ",
		"START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY",
	} {
		if _, err := s.conn.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("%s: %w", q, err)
		}
	}
	cat, err := mysqlCatalog(ctx, s.conn, s.opt.Last, true)
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

// querier is what *sql.Conn, *sql.DB and *sql.Tx share.
type querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// mysqlCatalog lists the current database's tables (with columns, primary
// key and, if withDDL, CREATE text) and views, Last apart.
func mysqlCatalog(ctx context.Context, q querier, last string, withDDL bool) (*catalog, error) {
	var dbName sql.NullString
	if err := q.QueryRowContext(ctx, "SELECT DATABASE()").Scan(&dbName); err != nil {
		return nil, err
	}
	if !dbName.Valid {
		return nil, ErrNoDatabase
	}
	rows, err := q.QueryContext(ctx, "SELECT TABLE_NAME, TABLE_TYPE FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() ORDER BY TABLE_NAME")
	if err != nil {
		return nil, fmt.Errorf("list tables: %w", err)
	}
	cat := &catalog{}
	byName := map[string]*table{}
	err = scanAll(rows, func() error {
		var name, typ string
		if err := rows.Scan(&name, &typ); err != nil {
			return err
		}
		switch typ {
		case "BASE TABLE", "SYSTEM VERSIONED":
			t := &table{name: name}
			byName[name] = t
			if name == last && last != "" {
				cat.last = t
			} else {
				cat.tables = append(cat.tables, t)
			}
		case "VIEW":
			cat.views = append(cat.views, &object{name: name})
		default:
			return fmt.Errorf("%w: %s is a %s", ErrUnsupported, name, typ)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list tables: %w", err)
	}
	rows, err = q.QueryContext(ctx, "SELECT TABLE_NAME, COLUMN_NAME, DATA_TYPE, IS_GENERATED, COLUMN_KEY FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() ORDER BY TABLE_NAME, ORDINAL_POSITION")
	if err != nil {
		return nil, fmt.Errorf("list columns: %w", err)
	}
	err = scanAll(rows, func() error {
		var tname, cname, typ, gen, key string
		if err := rows.Scan(&tname, &cname, &typ, &gen, &key); err != nil {
			return err
		}
		t := byName[tname]
		if t == nil || gen != "NEVER" { // a view's column, or a generated one
			return nil
		}
		t.cols = append(t.cols, column{name: cname, kind: mysqlKind(typ)})
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list columns: %w", err)
	}
	rows, err = q.QueryContext(ctx, "SELECT TABLE_NAME, COLUMN_NAME FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = DATABASE() AND INDEX_NAME = 'PRIMARY' ORDER BY TABLE_NAME, SEQ_IN_INDEX")
	if err != nil {
		return nil, fmt.Errorf("list primary keys: %w", err)
	}
	err = scanAll(rows, func() error {
		var tname, cname string
		if err := rows.Scan(&tname, &cname); err != nil {
			return err
		}
		if t := byName[tname]; t != nil {
			t.pk = append(t.pk, cname)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list primary keys: %w", err)
	}
	if !withDDL {
		return cat, nil
	}
	for _, t := range byName {
		var name string
		if err := q.QueryRowContext(ctx, "SHOW CREATE TABLE "+quoteIdent(sqlcheck.MySQL, t.name)).Scan(&name, &t.create); err != nil {
			return nil, fmt.Errorf("show create table %s: %w", t.name, err)
		}
	}
	for _, v := range cat.views {
		var name, cs, coll string
		if err := q.QueryRowContext(ctx, "SHOW CREATE VIEW "+quoteIdent(sqlcheck.MySQL, v.name)).Scan(&name, &v.create, &cs, &coll); err != nil {
			return nil, fmt.Errorf("show create view %s: %w", v.name, err)
		}
		v.create = definerRE.ReplaceAllString(v.create, "")
	}
	cat.views = orderViews(cat.views)
	return cat, nil
}

// mysqlKind maps information_schema DATA_TYPE to how values are written.
func mysqlKind(dataType string) colKind {
	switch strings.ToLower(dataType) {
	case "binary", "varbinary", "tinyblob", "blob", "mediumblob", "longblob", "bit",
		"geometry", "point", "linestring", "polygon", "multipoint", "multilinestring", "multipolygon", "geometrycollection":
		return kindHex
	case "float":
		return kindFloat
	case "tinyint", "smallint", "mediumint", "int", "bigint", "decimal", "double":
		return kindNumber
	}
	return kindText
}

// orderViews puts every view after the views its definition names (a
// textual `name` match: a false match only adds an edge). On a cycle the
// remaining views keep name order.
func orderViews(views []*object) []*object {
	out := make([]*object, 0, len(views))
	done := map[string]bool{}
	for len(out) < len(views) {
		progressed := false
		for _, v := range views {
			if done[v.name] {
				continue
			}
			ready := true
			for _, u := range views {
				if u != v && !done[u.name] && strings.Contains(body(v.create), quoteIdent(sqlcheck.MySQL, u.name)) {
					ready = false
					break
				}
			}
			if ready {
				out, done[v.name], progressed = append(out, v), true, true
			}
		}
		if !progressed {
			for _, v := range views {
				if !done[v.name] {
					out, done[v.name] = append(out, v), true
				}
			}
		}
	}
	return out
}

// body is a view definition after its "VIEW `name` AS ".
func body(create string) string {
	if i := strings.Index(create, " AS "); i >= 0 {
		return create[i:]
	}
	return create
}

// mysqlSelect is the SELECT that reads t's columns (FLOAT as exact DOUBLE).
func mysqlSelect(t *table) string {
	var b strings.Builder
	b.WriteString("SELECT ")
	for i, c := range t.cols {
		if i > 0 {
			b.WriteByte(',')
		}
		if c.kind == kindFloat {
			b.WriteString("CAST(" + quoteIdent(sqlcheck.MySQL, c.name) + " AS DOUBLE)")
		} else {
			b.WriteString(quoteIdent(sqlcheck.MySQL, c.name))
		}
	}
	b.WriteString(" FROM " + quoteIdent(sqlcheck.MySQL, t.name))
	return b.String()
}

func (s *Snapshot) writeMySQL(ctx context.Context, w *bufio.Writer) error {
	if _, err := w.WriteString(mysqlPrologue); err != nil {
		return err
	}
	for _, t := range s.cat.tables {
		if err := s.writeMySQLTable(ctx, w, t); err != nil {
			return err
		}
	}
	for _, v := range s.cat.views {
		if _, err := fmt.Fprintf(w, "\n-- View %s\nDROP VIEW IF EXISTS %s;\n%s;\n", quoteIdent(sqlcheck.MySQL, v.name), quoteIdent(sqlcheck.MySQL, v.name), v.create); err != nil {
			return err
		}
	}
	if s.cat.last != nil {
		if err := s.writeMySQLTable(ctx, w, s.cat.last); err != nil {
			return err
		}
	}
	_, err := w.WriteString("\n" + mysqlEpilogue)
	return err
}

func (s *Snapshot) writeMySQLTable(ctx context.Context, w *bufio.Writer, t *table) error {
	q := quoteIdent(sqlcheck.MySQL, t.name)
	if _, err := fmt.Fprintf(w, "\n-- Table %s\nDROP TABLE IF EXISTS %s;\n%s;\n", q, q, t.create); err != nil {
		return err
	}
	if len(t.cols) == 0 {
		return nil
	}
	rows, err := s.conn.QueryContext(ctx, mysqlSelect(t))
	if err != nil {
		return fmt.Errorf("read %s: %w", t.name, schemaChanged(err))
	}
	vals := make([]rawValue, len(t.cols))
	dest := make([]any, len(t.cols))
	for i := range vals {
		dest[i] = &vals[i]
	}
	in := newInserter(w, sqlcheck.MySQL, t)
	var row []byte
	err = scanAll(rows, func() error {
		if err := rows.Scan(dest...); err != nil {
			return err
		}
		row = append(row[:0], '(')
		for i, v := range vals {
			if i > 0 {
				row = append(row, ',')
			}
			switch {
			case v.null:
				row = append(row, "NULL"...)
			case t.cols[i].kind == kindHex:
				row = appendMySQLHex(row, v.b)
			case t.cols[i].kind != kindText && isNumberText(v.b):
				row = append(row, v.b...)
			default:
				row = appendMySQLString(row, v.b)
			}
		}
		row = append(row, ')')
		return in.add(row)
	})
	if err != nil {
		return fmt.Errorf("read %s: %w", t.name, schemaChanged(err))
	}
	return in.flush()
}

// schemaChanged marks the MySQL errors a DDL after Begin causes.
func schemaChanged(err error) error {
	var me *mysql.MySQLError
	if errors.As(err, &me) {
		switch me.Number {
		case erTableDefChanged, erNoSuchTable, erBadField:
			return fmt.Errorf("%w: %w", ErrSchemaChanged, err)
		}
	}
	return err
}

// scanAll calls each for every row, then closes rows and returns the first
// error.
func scanAll(rows *sql.Rows, each func() error) error {
	defer rows.Close()
	for rows.Next() {
		if err := each(); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return err
	}
	return rows.Close()
}
