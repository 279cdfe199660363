package sqlfsm

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
)

// UniqueKeyColumns returns the column lists of table's PRIMARY KEY and of
// its UNIQUE keys whose parts are whole NOT NULL columns (no prefix, no
// expression): the keys that give every row a distinct, totally ordered
// value. A missing table yields no keys.
func (s mysqlSchema) UniqueKeyColumns(ctx context.Context, table string) ([][]string, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT s.INDEX_NAME, s.COLUMN_NAME, s.SUB_PART, c.IS_NULLABLE
FROM information_schema.STATISTICS s
LEFT JOIN information_schema.COLUMNS c
  ON c.TABLE_SCHEMA = s.TABLE_SCHEMA AND c.TABLE_NAME = s.TABLE_NAME AND c.COLUMN_NAME = s.COLUMN_NAME
WHERE s.TABLE_SCHEMA = DATABASE() AND s.TABLE_NAME = ? AND s.NON_UNIQUE = 0
ORDER BY s.INDEX_NAME, s.SEQ_IN_INDEX`, table)
	if err != nil {
		return nil, fmt.Errorf("unique keys of %s: %w", table, err)
	}
	defer rows.Close()
	var keys [][]string
	var cur []string
	curName, ok := "", false
	flush := func() {
		if ok && len(cur) > 0 {
			keys = append(keys, cur)
		}
	}
	for rows.Next() {
		var index string
		var col, nullable sql.NullString
		var sub sql.NullInt64
		if err := rows.Scan(&index, &col, &sub, &nullable); err != nil {
			return nil, fmt.Errorf("unique keys of %s: %w", table, err)
		}
		if index != curName || cur == nil {
			flush()
			curName, cur, ok = index, []string{}, true
		}
		if !col.Valid || sub.Valid || nullable.String != "NO" {
			ok = false
			continue
		}
		cur = append(cur, col.String)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("unique keys of %s: %w", table, err)
	}
	flush()
	return keys, nil
}

// UniqueKeyColumns returns the column lists of table's rowid alias (INTEGER
// PRIMARY KEY) and of its unique, non-partial indexes (PRIMARY KEY and
// UNIQUE constraints included) whose parts are NOT NULL columns. An index
// declared with its own COLLATE is left out: ORDER BY sorts by the column's
// collation, which may then tell apart values the index takes for equal.
func (s sqliteSchema) UniqueKeyColumns(ctx context.Context, table string) ([][]string, error) {
	cols, err := s.db.QueryContext(ctx, `SELECT name, type, "notnull", pk FROM pragma_table_info(?)`, table)
	if err != nil {
		return nil, fmt.Errorf("unique keys of %s: %w", table, err)
	}
	notNull := map[string]bool{}
	var pkCols []string
	var pkInt bool
	for cols.Next() {
		var name, typ string
		var nn, pk int
		if err := cols.Scan(&name, &typ, &nn, &pk); err != nil {
			cols.Close()
			return nil, fmt.Errorf("unique keys of %s: %w", table, err)
		}
		notNull[name] = nn != 0
		if pk > 0 {
			pkCols = append(pkCols, name)
			pkInt = strings.EqualFold(strings.TrimSpace(typ), "INTEGER")
		}
	}
	cols.Close()
	if err := cols.Err(); err != nil {
		return nil, fmt.Errorf("unique keys of %s: %w", table, err)
	}
	var keys [][]string
	if len(pkCols) == 1 && pkInt {
		keys = append(keys, pkCols) // the rowid alias: never NULL
		notNull[pkCols[0]] = true
	}
	idx, err := s.db.QueryContext(ctx, `SELECT l.name, COALESCE(m.sql, '') FROM pragma_index_list(?) l
LEFT JOIN sqlite_schema m ON m.type = 'index' AND m.name = l.name
WHERE l."unique" = 1 AND l.partial = 0 ORDER BY l.name`, table)
	if err != nil {
		return nil, fmt.Errorf("unique keys of %s: %w", table, err)
	}
	var names []string
	for idx.Next() {
		var name, def string
		if err := idx.Scan(&name, &def); err != nil {
			idx.Close()
			return nil, fmt.Errorf("unique keys of %s: %w", table, err)
		}
		if !strings.Contains(strings.ToUpper(def), "COLLATE") {
			names = append(names, name)
		}
	}
	idx.Close()
	if err := idx.Err(); err != nil {
		return nil, fmt.Errorf("unique keys of %s: %w", table, err)
	}
	for _, name := range names {
		key, err := s.indexColumns(ctx, name, notNull)
		if err != nil {
			return nil, fmt.Errorf("unique keys of %s: %w", table, err)
		}
		if key != nil {
			keys = append(keys, key)
		}
	}
	return keys, nil
}

// indexColumns returns the columns of index name, or nil if a part is an
// expression or a column that may be NULL.
func (s sqliteSchema) indexColumns(ctx context.Context, name string, notNull map[string]bool) ([]string, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT name FROM pragma_index_info(?) ORDER BY seqno`, name)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var key []string
	ok := true
	for rows.Next() {
		var col sql.NullString
		if err := rows.Scan(&col); err != nil {
			return nil, err
		}
		if !col.Valid || !notNull[col.String] {
			ok = false
			continue
		}
		key = append(key, col.String)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if !ok || len(key) == 0 {
		return nil, nil
	}
	return key, nil
}
