package chaos

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/oneha/oneha/xmlrpc"
)

// client sends one operation per fresh connection (no keep-alive): after
// any error the next operation dials again, and a dial failure proves the
// request was never sent.
type client struct {
	session string
	timeout time.Duration
}

// call invokes method on endpoint, bounded by ctx and the client's timeout,
// and reports whether a connection was ever established (false: the
// request never left). A cancelled ctx after the connection was made is an
// error after sending: classifyWrite counts such a write as unknown.
func (c *client) call(ctx context.Context, endpoint, method string, params ...any) (v any, sent bool, err error) {
	var dialed atomic.Bool
	d := &net.Dialer{Timeout: c.timeout}
	tr := &http.Transport{
		DisableKeepAlives: true,
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			conn, err := d.DialContext(ctx, network, addr)
			if err == nil {
				dialed.Store(true)
			}
			return conn, err
		},
	}
	defer tr.CloseIdleConnections()
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	cl := &xmlrpc.Client{URL: endpoint, HTTP: &http.Client{Transport: tr}, MaxBody: xmlrpc.DefaultMaxBody}
	v, err = cl.CallONE(ctx, method, append([]any{c.session}, params...)...)
	return v, dialed.Load(), err
}

// classifyWrite decides whether a failed write definitely did not happen
// (stFail) or may have happened (stUnknown), from the answer's code and
// retry-safety prefix alone (oned/api.go: describe, forward; README "Error
// codes and retries"), as a client without request ids would.
func classifyWrite(sent bool, err error) status {
	if !sent {
		return stFail // never reached a server
	}
	var oe *xmlrpc.Error
	if errors.As(err, &oe) {
		switch oe.Code {
		case xmlrpc.ActionError, xmlrpc.AuthenticationError, xmlrpc.AuthorizationError, xmlrpc.XMLRPCAPIError:
			return stFail // refused before it was appended (unsafe SQL, SQL error, bad params)
		}
		if xmlrpc.RetrySafe(err) {
			return stFail // NOT APPLIED: no leader, leader unreachable, given up before appending
		}
		return stUnknown // OUTCOME_UNKNOWN, or an unclassified failure
	}
	return stUnknown // timeout, reset, EOF after sending
}

// rowsAffected returns ROWS_AFFECTED of statement i of an exec answer.
func rowsAffected(v any, i int) (int64, error) {
	a, ok := v.([]any)
	if !ok || len(a) <= i {
		return 0, fmt.Errorf("exec answer %#v: want %d results", v, i+1)
	}
	m, ok := a[i].(map[string]any)
	if !ok {
		return 0, fmt.Errorf("exec answer item %#v: want struct", a[i])
	}
	n, ok := m["ROWS_AFFECTED"].(int64)
	if !ok {
		return 0, fmt.Errorf("ROWS_AFFECTED %#v: want int", m["ROWS_AFFECTED"])
	}
	return n, nil
}

// queryRows returns the ROWS of a query answer.
func queryRows(v any) ([][]any, error) {
	m, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("query answer %#v: want struct", v)
	}
	raw, ok := m["ROWS"].([]any)
	if !ok {
		return nil, fmt.Errorf("query ROWS %#v: want array", m["ROWS"])
	}
	out := make([][]any, len(raw))
	for i, r := range raw {
		row, ok := r.([]any)
		if !ok {
			return nil, fmt.Errorf("query row %#v: want array", r)
		}
		out[i] = row
	}
	return out, nil
}

// read runs a strong read of key k on endpoint.
func (c *client) read(ctx context.Context, endpoint string, k int) (int64, error) {
	v, _, err := c.call(ctx, endpoint, "one.sql.query", "SELECT v FROM reg WHERE k = ?", []any{int64(k)}, "strong")
	if err != nil {
		return 0, err
	}
	rows, err := queryRows(v)
	if err != nil {
		return 0, err
	}
	if len(rows) != 1 || len(rows[0]) != 1 {
		return 0, fmt.Errorf("read k%d: %d rows", k, len(rows))
	}
	n, ok := rows[0][0].(int64)
	if !ok {
		return 0, fmt.Errorf("read k%d: value %#v", k, rows[0][0])
	}
	return n, nil
}

// write sets k to val (cas: only if it holds old) and records id in audit,
// in one transaction. It returns whether the update changed the row and the
// LAST_INSERT_ID of the audit row. reqID, when not "", is sent as
// one.sql.exec's request id.
func (c *client) write(ctx context.Context, endpoint string, id int64, k int, val int64, cas bool, old int64, reqID string) (swapped bool, seq int64, st status, err error) {
	upd := []any{"UPDATE reg SET v = ? WHERE k = ?", val, int64(k)}
	if cas {
		upd = []any{"UPDATE reg SET v = ? WHERE k = ? AND v = ?", val, int64(k), old}
	}
	params := []any{[]any{upd, []any{"INSERT INTO audit (id, k) VALUES (?, ?)", id, int64(k)}}}
	if reqID != "" {
		params = append(params, reqID)
	}
	v, sent, err := c.call(ctx, endpoint, "one.sql.exec", params...)
	if err != nil {
		return false, 0, classifyWrite(sent, err), err
	}
	n, err := rowsAffected(v, 0)
	if err != nil {
		return false, 0, stUnknown, err
	}
	seq, err = lastInsertID(v, 1)
	if err != nil {
		return false, 0, stUnknown, err
	}
	return n == 1, seq, stOK, nil
}

// lastInsertID returns LAST_INSERT_ID of statement i of an exec answer.
func lastInsertID(v any, i int) (int64, error) {
	a, ok := v.([]any)
	if !ok || len(a) <= i {
		return 0, fmt.Errorf("exec answer %#v: want %d results", v, i+1)
	}
	m, _ := a[i].(map[string]any)
	n, ok := m["LAST_INSERT_ID"].(int64)
	if !ok {
		return 0, fmt.Errorf("LAST_INSERT_ID %#v: want int", m["LAST_INSERT_ID"])
	}
	return n, nil
}

// stale returns rows of q answered by endpoint's local copy.
func (c *client) stale(ctx context.Context, endpoint, q string) ([][]any, error) {
	v, _, err := c.call(ctx, endpoint, "one.sql.query", q, []any{}, "stale")
	if err != nil {
		return nil, err
	}
	return queryRows(v)
}
