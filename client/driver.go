package client

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"

	"github.com/jmoiron/sqlx"
)

// ErrNoTx: one.sql.exec is itself one transaction; database/sql's Begin is
// not supported (pass every statement to Client.Exec instead).
var ErrNoTx = errors.New("client: transactions span one call: pass all statements to Client.Exec")

// requestIDKey carries a request id through database/sql's ExecContext.
type requestIDKey struct{}

// WithRequestID makes the database/sql ExecContext calls made with ctx
// carry id (see ExecRequest). One id names one transaction: use a fresh
// context per statement.
func WithRequestID(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, requestIDKey{}, id)
}

// DB returns a *sql.DB over c whose queries run at consistency cons and
// whose Exec calls are one-statement transactions (with the request id of
// WithRequestID, if any). It opens no connection of its own: every
// database/sql "connection" is c. Closing it leaves c open.
func (c *Client) DB(cons Consistency) *sql.DB {
	return sql.OpenDB(&connector{c: c, cons: cons})
}

// DBX is DB wrapped by sqlx (driver name "oneha", ? placeholders), for
// struct scanning with `db` tags: Select, Get, StructScan.
func (c *Client) DBX(cons Consistency) *sqlx.DB {
	return sqlx.NewDb(c.DB(cons), "oneha")
}

// Select runs a query at cons and scans every row into dest, a pointer to a
// slice of structs (columns matched to `db` tags, else lower-cased field
// names) or of scalars, with sqlx.
func (c *Client) Select(ctx context.Context, cons Consistency, dest any, query string, args ...any) error {
	db := c.DBX(cons)
	defer db.Close()
	return db.SelectContext(ctx, dest, query, args...)
}

// Get is Select for exactly one row (sql.ErrNoRows when there is none).
func (c *Client) Get(ctx context.Context, cons Consistency, dest any, query string, args ...any) error {
	db := c.DBX(cons)
	defer db.Close()
	return db.GetContext(ctx, dest, query, args...)
}

type connector struct {
	c    *Client
	cons Consistency
}

func (k *connector) Connect(context.Context) (driver.Conn, error) { return &conn{k}, nil }
func (k *connector) Driver() driver.Driver                        { return drv{} }

// drv exists because driver.Connector must name a Driver; opening by name
// is not supported (no package-level registration).
type drv struct{}

func (drv) Open(string) (driver.Conn, error) {
	return nil, errors.New("client: open a DB with Client.DB")
}

type conn struct{ k *connector }

var (
	_ driver.QueryerContext = (*conn)(nil)
	_ driver.ExecerContext  = (*conn)(nil)
)

func (c *conn) Prepare(query string) (driver.Stmt, error) { return &stmt{c: c, query: query}, nil }
func (c *conn) Close() error                              { return nil }
func (c *conn) Begin() (driver.Tx, error)                 { return nil, ErrNoTx }

func (c *conn) QueryContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	vals, err := positional(args)
	if err != nil {
		return nil, err
	}
	r, err := c.k.c.Query(ctx, c.k.cons, query, vals...)
	if err != nil {
		return nil, err
	}
	return &rows{r: r}, nil
}

func (c *conn) ExecContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Result, error) {
	vals, err := positional(args)
	if err != nil {
		return nil, err
	}
	id, _ := ctx.Value(requestIDKey{}).(string)
	res, err := c.k.c.ExecRequest(ctx, id, Stmt(query, vals...))
	if err != nil {
		return nil, err
	}
	return driverResult{res[0]}, nil
}

func positional(args []driver.NamedValue) ([]any, error) {
	out := make([]any, len(args))
	for i, a := range args {
		if a.Name != "" {
			return nil, fmt.Errorf("client: named parameter %q: use ? placeholders", a.Name)
		}
		out[i] = a.Value
	}
	return out, nil
}

type driverResult struct{ r Result }

func (r driverResult) LastInsertId() (int64, error) { return r.r.LastInsertID, nil }
func (r driverResult) RowsAffected() (int64, error) { return r.r.RowsAffected, nil }

type stmt struct {
	c     *conn
	query string
}

func (s *stmt) Close() error  { return nil }
func (s *stmt) NumInput() int { return -1 }
func (s *stmt) Exec(args []driver.Value) (driver.Result, error) {
	return s.c.ExecContext(context.Background(), s.query, named(args))
}
func (s *stmt) Query(args []driver.Value) (driver.Rows, error) {
	return s.c.QueryContext(context.Background(), s.query, named(args))
}

func named(args []driver.Value) []driver.NamedValue {
	out := make([]driver.NamedValue, len(args))
	for i, a := range args {
		out[i] = driver.NamedValue{Ordinal: i + 1, Value: a}
	}
	return out
}

// rows serves an already fetched answer (one.sql.query is not streamed).
type rows struct {
	r *Rows
	i int
}

func (r *rows) Columns() []string { return r.r.Columns }
func (r *rows) Close() error      { return nil }
func (r *rows) Next(dest []driver.Value) error {
	if r.i >= len(r.r.Rows) {
		return io.EOF
	}
	for j, v := range r.r.Rows[r.i] {
		dest[j] = v
	}
	r.i++
	return nil
}
