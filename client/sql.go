package client

import (
	"context"
	"crypto/rand"
	"database/sql/driver"
	"encoding/hex"
	"fmt"
	"time"
)

// Consistency is a read's consistency level (one.sql.query's fourth
// parameter).
type Consistency string

const (
	// Stale reads the answering server's own database: fastest, may lag.
	Stale Consistency = "stale"
	// Default reads on the leader under its lease.
	Default Consistency = "default"
	// Strong reads on the leader after a read-index round: sees every write
	// acknowledged before the read started.
	Strong Consistency = "strong"
)

// Valid reports whether c is one of the three levels.
func (c Consistency) Valid() bool { return c == Stale || c == Default || c == Strong }

// Statement is one SQL statement with its ? parameters. Parameter values:
// nil (NULL), integers, floats, string, bool, []byte, time.Time, or a
// driver.Valuer yielding one of those.
type Statement struct {
	SQL    string
	Params []any
}

// Stmt builds a Statement.
func Stmt(sql string, params ...any) Statement { return Statement{SQL: sql, Params: params} }

// Result is one statement's outcome.
type Result struct {
	RowsAffected int64 `json:"rows_affected"`
	LastInsertID int64 `json:"last_insert_id"`
}

// Rows is a query's answer. Values are nil (NULL), int64, float64,
// string, bool, []byte or time.Time.
type Rows struct {
	Columns []string `json:"columns"`
	Rows    [][]any  `json:"rows"`
}

// Exec runs stmts as one replicated transaction (one.sql.exec). Without a
// request id it is resent only after an answer proving nothing was logged;
// when the outcome is unknown it fails with ErrOutcomeUnknown.
func (c *Client) Exec(ctx context.Context, stmts ...Statement) ([]Result, error) {
	return c.ExecRequest(ctx, "", stmts...)
}

// ExecRequest is Exec under a request id (1-128 bytes of [A-Za-z0-9._:@-],
// e.g. NewRequestID()): the zone applies it at most once, so the Client
// resends it after unknown outcomes too (a leader crash, a lost answer);
// every answer after the first is the first result. "" is Exec.
func (c *Client) ExecRequest(ctx context.Context, requestID string, stmts ...Statement) ([]Result, error) {
	if len(stmts) == 0 {
		return nil, fmt.Errorf("client: one.sql.exec: no statements")
	}
	items := make([]any, len(stmts))
	for i, s := range stmts {
		if len(s.Params) == 0 {
			items[i] = s.SQL
			continue
		}
		ps, err := params(s.Params)
		if err != nil {
			return nil, fmt.Errorf("client: one.sql.exec: statement %d: %w", i, err)
		}
		items[i] = append([]any{s.SQL}, ps...)
	}
	call := []any{items}
	k := write
	if requestID != "" {
		call, k = append(call, requestID), idempotent
	}
	v, err := c.do(ctx, routeLeader, k, "one.sql.exec", call)
	if err != nil {
		return nil, err
	}
	return parseExec(v)
}

// Query runs a read-only statement (one.sql.query) at consistency c ("":
// Default). Stale reads go to the home server (the first endpoint, then the
// next ones); the others to the leader. Reads are resent after any
// failure that is not final.
func (c *Client) Query(ctx context.Context, cons Consistency, sql string, args ...any) (*Rows, error) {
	if cons == "" {
		cons = Default
	}
	if !cons.Valid() {
		return nil, fmt.Errorf("client: consistency %q: want stale, default or strong", cons)
	}
	ps, err := params(args)
	if err != nil {
		return nil, fmt.Errorf("client: one.sql.query: %w", err)
	}
	r := routeLeader
	if cons == Stale {
		r = routeHome
	}
	v, err := c.do(ctx, r, read, "one.sql.query", []any{sql, ps, string(cons)})
	if err != nil {
		return nil, err
	}
	return parseQuery(v)
}

// NewRequestID returns a fresh random request id (32 hex digits).
func NewRequestID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails (Go ≥ 1.24)
	return hex.EncodeToString(b[:])
}

// params converts parameters to their XML-RPC form: NULL is an empty struct.
func params(in []any) ([]any, error) {
	out := make([]any, len(in))
	for i, p := range in {
		if v, ok := p.(driver.Valuer); ok {
			x, err := v.Value()
			if err != nil {
				return nil, fmt.Errorf("parameter %d: %w", i, err)
			}
			p = x
		}
		switch x := p.(type) {
		case nil:
			out[i] = map[string]any{}
		case map[string]any: // NULL in its XML-RPC form
			if len(x) != 0 {
				return nil, fmt.Errorf("parameter %d: a struct parameter must be empty (NULL)", i)
			}
			out[i] = map[string]any{}
		case int, int8, int16, int32, int64, uint8, uint16, uint32, float32, float64, string, bool, []byte, time.Time:
			out[i] = x
		case uint:
			out[i] = uint64(x)
		case uint64:
			out[i] = x // the encoder refuses values above MaxInt64
		default:
			return nil, fmt.Errorf("parameter %d: unsupported type %T", i, p)
		}
	}
	return out, nil
}

// parseExec decodes [{ROWS_AFFECTED, LAST_INSERT_ID}, …].
func parseExec(v any) ([]Result, error) {
	a, ok := v.([]any)
	if !ok {
		return nil, fmt.Errorf("%w: one.sql.exec returned %T, want an array", ErrMalformed, v)
	}
	out := make([]Result, 0, len(a))
	for i, e := range a {
		m, ok := e.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("%w: one.sql.exec result %d is %T, want a struct", ErrMalformed, i, e)
		}
		ra, ok1 := m["ROWS_AFFECTED"].(int64)
		id, ok2 := m["LAST_INSERT_ID"].(int64)
		if !ok1 || !ok2 {
			return nil, fmt.Errorf("%w: one.sql.exec result %d lacks integer ROWS_AFFECTED/LAST_INSERT_ID", ErrMalformed, i)
		}
		out = append(out, Result{RowsAffected: ra, LastInsertID: id})
	}
	return out, nil
}

// parseQuery decodes {COLUMNS: [...], ROWS: [[...]]}; an empty struct is NULL.
func parseQuery(v any) (*Rows, error) {
	m, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("%w: one.sql.query returned %T, want a struct", ErrMalformed, v)
	}
	cols, ok := m["COLUMNS"].([]any)
	if !ok {
		return nil, fmt.Errorf("%w: one.sql.query: COLUMNS is %T, want an array", ErrMalformed, m["COLUMNS"])
	}
	q := &Rows{Columns: make([]string, len(cols)), Rows: [][]any{}}
	for i, c := range cols {
		if q.Columns[i], ok = c.(string); !ok {
			return nil, fmt.Errorf("%w: one.sql.query: column %d name is %T", ErrMalformed, i, c)
		}
	}
	rows, ok := m["ROWS"].([]any)
	if !ok && m["ROWS"] != nil {
		return nil, fmt.Errorf("%w: one.sql.query: ROWS is %T, want an array", ErrMalformed, m["ROWS"])
	}
	for i, r := range rows {
		vals, ok := r.([]any)
		if !ok || len(vals) != len(cols) {
			return nil, fmt.Errorf("%w: one.sql.query: row %d is not an array of %d values", ErrMalformed, i, len(cols))
		}
		row := make([]any, len(vals))
		for j, x := range vals {
			switch x := x.(type) {
			case map[string]any:
				if len(x) != 0 {
					return nil, fmt.Errorf("%w: one.sql.query: row %d column %d is a non-empty struct", ErrMalformed, i, j)
				}
				row[j] = nil
			case int64, float64, string, bool, []byte, time.Time:
				row[j] = x
			default:
				return nil, fmt.Errorf("%w: one.sql.query: row %d column %d has type %T", ErrMalformed, i, j, x)
			}
		}
		q.Rows = append(q.Rows, row)
	}
	return q, nil
}
