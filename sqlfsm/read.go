package sqlfsm

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/oneha/oneha/sqlcheck"
)

// Consistency is how fresh a read must be.
type Consistency string

// The read consistency levels.
const (
	// Stale reads the local database on any server: fast, possibly behind.
	Stale Consistency = "stale"
	// Default reads on the leader under its lease: current unless a
	// partition deposed it within the last lease period.
	Default Consistency = "default"
	// Strong reads on the leader after a read-index check (commit index →
	// VerifyLeader → wait until applied): linearizable.
	Strong Consistency = "strong"
)

// ParseConsistency maps "" to Default and rejects unknown names.
func ParseConsistency(s string) (Consistency, error) {
	switch c := Consistency(strings.ToLower(strings.TrimSpace(s))); c {
	case "":
		return Default, nil
	case Stale, Default, Strong:
		return c, nil
	}
	return "", fmt.Errorf("unknown consistency %q (want stale, default or strong)", s)
}

// Rows is a query's result. Values are nil (SQL NULL), int64, float64,
// string (text, DECIMAL, dates and times as the server prints them) or
// []byte (binary and blob columns).
type Rows struct {
	Columns []string
	Rows    [][]any
}

// Query runs one read-only statement at level c. Default and Strong reads on
// a follower return the node's not-leader error (carrying the leader).
func (d *DB) Query(ctx context.Context, c Consistency, query string, params ...any) (*Rows, error) {
	n, err := sqlcheck.CheckRead(d.fsm.Dialect(), query)
	if err != nil {
		return nil, err
	}
	if n != len(params) {
		return nil, fmt.Errorf("%w: query has %d placeholders, got %d parameters", ErrBadParam, n, len(params))
	}
	for i, p := range params {
		if params[i], err = Normalize(p); err != nil {
			return nil, fmt.Errorf("parameter %d: %w", i, err)
		}
	}
	switch c {
	case Stale:
	case Default, "":
		err = d.log.LeaseRead(ctx)
	case Strong:
		err = d.log.ReadIndex(ctx)
	default:
		err = fmt.Errorf("unknown consistency %q", c)
	}
	if err != nil {
		return nil, err
	}
	return queryLocal(ctx, d.fsm, query, params)
}

// queryLocal runs a read-only statement on the local database in a read-only
// transaction (MySQL), converting values to the documented Go types.
func queryLocal(ctx context.Context, f *FSM, query string, params []any) (*Rows, error) {
	var tx *sql.Tx
	var err error
	if f.Dialect() == sqlcheck.MySQL {
		tx, err = f.db.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	} else {
		tx, err = f.db.BeginTx(ctx, nil)
	}
	if err != nil {
		return nil, fmt.Errorf("begin read: %w", err)
	}
	defer tx.Rollback()
	if f.Dialect() == sqlcheck.SQLite {
		params = sqliteArgs(params)
	}
	rows, err := tx.QueryContext(ctx, query, params...)
	if err != nil {
		if f.b.classify(err) == deterministic {
			code, msg := sqlErrorCode(err)
			return nil, &SQLError{Code: code, Message: msg}
		}
		return nil, fmt.Errorf("query: %w", err)
	}
	defer rows.Close()
	cols, err := rows.ColumnTypes()
	if err != nil {
		return nil, fmt.Errorf("query columns: %w", err)
	}
	out := &Rows{Columns: make([]string, len(cols)), Rows: [][]any{}}
	for i, c := range cols {
		out.Columns[i] = c.Name()
	}
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			return nil, fmt.Errorf("query scan: %w", err)
		}
		for i, v := range vals {
			vals[i] = convertValue(f.Dialect(), cols[i].DatabaseTypeName(), v)
		}
		out.Rows = append(out.Rows, vals)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("query rows: %w", err)
	}
	return out, nil
}

// convertValue maps a driver value to nil, int64, float64, string or []byte.
// MySQL's text protocol returns bytes for everything, so the column type
// decides: integers and floats are parsed, binary types stay []byte, the rest
// becomes string.
func convertValue(d sqlcheck.Dialect, typ string, v any) any {
	switch x := v.(type) {
	case nil, int64, float64, string:
		return x
	case bool:
		if x {
			return int64(1)
		}
		return int64(0)
	case []byte:
		typ = strings.ToUpper(typ)
		if d == sqlcheck.SQLite && typ != "BLOB" && typ != "" {
			return string(x)
		}
		switch typ {
		case "BLOB", "TINYBLOB", "MEDIUMBLOB", "LONGBLOB", "BINARY", "VARBINARY", "BIT", "GEOMETRY", "":
			return append([]byte(nil), x...)
		case "TINYINT", "SMALLINT", "MEDIUMINT", "INT", "BIGINT", "YEAR":
			var n int64
			if _, err := fmt.Sscan(string(x), &n); err == nil {
				return n
			}
		case "UNSIGNED BIGINT", "UNSIGNED INT", "UNSIGNED MEDIUMINT", "UNSIGNED SMALLINT", "UNSIGNED TINYINT":
			var n int64
			if _, err := fmt.Sscan(string(x), &n); err == nil {
				return n
			}
		case "FLOAT", "DOUBLE":
			var f float64
			if _, err := fmt.Sscan(string(x), &f); err == nil {
				return f
			}
		case "DATETIME", "TIMESTAMP":
			// MySQL pads DATETIME(6) with zeros; print it as SQLite's
			// text and the parameters are (SQLDateTime), fraction only when
			// there is one. Zero dates and the like stay as printed.
			if t, err := time.Parse(SQLDateTime, string(x)); err == nil {
				return t.Format(SQLDateTime)
			}
		}
		return string(x)
	default:
		if t, ok := v.(interface{ Format(string) string }); ok {
			return t.Format(SQLDateTime)
		}
		return fmt.Sprint(v)
	}
}
