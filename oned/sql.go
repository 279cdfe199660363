package oned

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/oneha/oneha/federation"
	"github.com/oneha/oneha/internal/stagetime"
	"github.com/oneha/oneha/raftlog"
	"github.com/oneha/oneha/sqlfsm"
	"github.com/oneha/oneha/xmlrpc"
)

// one.sql.exec(session, statements[, request_id]): statements is an array
// whose items are a SQL string or an array [sql, param, …]; all items are
// one transaction. Result: [ {ROWS_AFFECTED, LAST_INSERT_ID}, … ].
//
// request_id (optional string, "" = none; 1..128 bytes of [A-Za-z0-9._:@-])
// makes the call idempotent: the entry carries it, scoped to the
// authenticated user, and every server applies it at most once within
// REQUEST_ID's retention. A retry with the same id, to any server, after a
// failover or a timeout, applies nothing and answers the first result
// (an SQL error included); a retry with other statements is refused
// (ACTION, sqlfsm.ErrRequestMismatch). Callers: authenticated clients only
// (wrap), who hold oneadmin's credentials and so could read every result
// anyway; the scope keeps ids of different users apart should more users
// ever authenticate.
//
// Parameter types: <i4>/<i8> → integer, <double>, <string>, <boolean>,
// <base64> → binary, <dateTime.iso8601> → DATETIME; an empty <struct/>
// stands for SQL NULL (XML-RPC has no nil that every client accepts).
func (s *Server) sqlExec(ctx context.Context, p []any) (any, error) {
	items, err := xmlrpc.ParamArray(p, 0)
	if err != nil {
		return nil, err
	}
	if len(items) == 0 {
		return nil, badParam("statements: empty array")
	}
	stmts := make([]sqlfsm.Statement, len(items))
	for i, it := range items {
		switch v := it.(type) {
		case string:
			stmts[i] = sqlfsm.Statement{SQL: v}
		case []any:
			if len(v) == 0 {
				return nil, badParam("statement %d: empty array", i)
			}
			q, ok := v[0].(string)
			if !ok {
				return nil, badParam("statement %d: first item must be the SQL string", i)
			}
			params, err := sqlParams(v[1:])
			if err != nil {
				return nil, fmt.Errorf("statement %d: %w", i, err)
			}
			stmts[i] = sqlfsm.Statement{SQL: q, Params: params}
		default:
			return nil, badParam("statement %d: want a string or [sql, params…], got %T", i, it)
		}
	}
	tr := stagetime.From(ctx)
	t := tr.Now()
	if err := s.reserved.refuse(s.fsm.Dialect(), stmts); err != nil {
		return nil, err
	}
	if err := s.refuseIfDisabled(ctx); err != nil {
		return nil, err
	}
	req, err := s.requestParam(p)
	if err != nil {
		return nil, err
	}
	class, err := s.classifyWrite(ctx, stmts)
	if err != nil {
		return nil, err
	}
	tr.Since(stagetime.Check, t)
	start := time.Now()
	var res *sqlfsm.Result
	if class == federation.Federated {
		res, err = s.execFederated(ctx, p, stmts, req)
		if _, ok := errors.AsType[*rawAnswer](err); ok {
			return nil, err // the master zone's answer, as it is
		}
	} else {
		res, err = s.sql.ExecRequest(ctx, stmts, req)
	}
	outcome := "ok"
	if err != nil {
		outcome = "error"
		err = markNotApplied(err)
	}
	if res != nil && res.Replayed {
		outcome = "replayed"
		s.log.Info("one.sql.exec: request id seen before; answered its first result, applied nothing", "request_id", req.ID)
	}
	s.metrics.writeLatency.WithLabelValues(outcome).Observe(time.Since(start).Seconds())
	if err != nil {
		return nil, err
	}
	out := make([]any, len(res.Statements))
	for i, r := range res.Statements {
		out[i] = map[string]any{"ROWS_AFFECTED": r.RowsAffected, "LAST_INSERT_ID": r.LastInsertID}
	}
	return out, nil
}

// ErrZoneDisabled: the zone is disabled (onezone disable, maintenance
// mode); one.sql.exec is refused until onezone enable.
var ErrZoneDisabled = errors.New("Cannot process request, zone is disabled")

// refuseIfDisabled refuses a write while the zone is disabled. It runs on
// the leader (or solo server), which serves one.sql.exec, before the entry
// is appended, against the leader's own applied state: a one.zone.enable
// call returns only once applied there, so every exec that starts after
// `onezone disable` returned is refused. An exec that passed this check
// just before the disable entry was applied is still appended after it
// (the window is one in-flight write per client), as in OpenNebula. A new
// leader applies every earlier entry before it serves (raftlog readiness),
// so a leadership change does not reopen the zone.
func (s *Server) refuseIfDisabled(ctx context.Context) error {
	disabled, err := s.zone.Disabled(ctx)
	if err != nil {
		return err
	}
	if disabled {
		return fmt.Errorf("%w (onezone enable %d allows writes again)", ErrZoneDisabled, s.cfg.Federation.ZoneID)
	}
	return nil
}

// requestParam reads one.sql.exec's optional request_id (p[1]).
func (s *Server) requestParam(p []any) (*sqlfsm.Request, error) {
	if len(p) < 2 {
		return nil, nil
	}
	id, err := xmlrpc.ParamString(p, 1)
	if err != nil {
		return nil, err
	}
	if id == "" {
		return nil, nil
	}
	if err := sqlfsm.ValidRequestID(id); err != nil {
		return nil, badParam("request_id: %v", err)
	}
	return &sqlfsm.Request{Scope: s.auth.user, ID: id,
		Window: uint64(s.cfg.RequestID.WindowS), Keep: uint64(s.cfg.RequestID.Max)}, nil
}

// markNotApplied wraps errNotApplied around a write's error that is known
// to have come before its entry was appended: the caller's deadline or
// cancellation, or a shutdown, without raftlog.ErrUnknownOutcome (which
// raftlog.Node.Apply adds once the entry is enqueued).
func markNotApplied(err error) error {
	if errors.Is(err, raftlog.ErrUnknownOutcome) || errors.Is(err, sqlfsm.ErrClosed) {
		return err
	}
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) || errors.Is(err, raftlog.ErrShutdown) {
		return fmt.Errorf("%w: %w", errNotApplied, err)
	}
	return err
}

// sqlParams converts XML-RPC values to statement parameters.
func sqlParams(vs []any) ([]any, error) {
	out := make([]any, len(vs))
	for i, v := range vs {
		switch x := v.(type) {
		case int64, float64, string, bool, []byte, time.Time:
			out[i] = x
		case map[string]any:
			if len(x) != 0 {
				return nil, badParam("parameter %d: a struct parameter must be empty (NULL)", i)
			}
			out[i] = nil
		default:
			return nil, badParam("parameter %d: unsupported type %T", i, v)
		}
	}
	return out, nil
}

// queryRoute: stale reads are answered locally, others by the leader.
func queryRoute(p []any) route {
	if len(p) >= 3 {
		if c, ok := p[2].(string); ok {
			if lvl, err := sqlfsm.ParseConsistency(c); err == nil && lvl == sqlfsm.Stale {
				return local
			}
		}
	}
	return leader
}

// one.sql.query(session, sql, params, consistency) → {COLUMNS: [names],
// ROWS: [[values]]}. Values: <i8>/<i4> integers, <double>, <string> (text,
// DECIMAL, dates), <base64> (binary columns), and an empty <struct/> for
// NULL.
func (s *Server) sqlQuery(ctx context.Context, p []any) (any, error) {
	q, err := xmlrpc.ParamString(p, 0)
	if err != nil {
		return nil, err
	}
	var params []any
	if len(p) > 1 {
		raw, err := xmlrpc.ParamArray(p, 1)
		if err != nil {
			return nil, err
		}
		if params, err = sqlParams(raw); err != nil {
			return nil, err
		}
	}
	lvl := sqlfsm.Default
	if len(p) > 2 {
		c, err := xmlrpc.ParamString(p, 2)
		if err != nil {
			return nil, err
		}
		if lvl, err = sqlfsm.ParseConsistency(c); err != nil {
			return nil, badParam("%v", err)
		}
	}
	rows, err := s.sql.Query(ctx, lvl, q, params...)
	if err != nil {
		return nil, err
	}
	cols := make([]any, len(rows.Columns))
	for i, c := range rows.Columns {
		cols[i] = c
	}
	out := make([]any, len(rows.Rows))
	for i, r := range rows.Rows {
		vals := make([]any, len(r))
		for j, v := range r {
			if v == nil {
				vals[j] = map[string]any{}
			} else {
				vals[j] = v
			}
		}
		out[i] = vals
	}
	return map[string]any{"COLUMNS": cols, "ROWS": out}, nil
}
