package sqlfsm

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
)

// RequestTable remembers, per (scope, request id), the first result of an
// idempotent write (Exec with a Request). It is replicated state: written
// inside the entry's own transaction, together with the entry's effects and
// the applied index, so a request is recorded if and only if its first
// entry applied.
const RequestTable = "oneha_requests"

// Request id bounds.
const (
	// MaxRequestIDLen bounds a request id and a scope (bytes).
	MaxRequestIDLen = 128
	// DefaultRequestWindow is how long ids are kept by default (seconds).
	DefaultRequestWindow = 24 * 60 * 60
	// DefaultRequestKeep is how many log entries back ids are kept by
	// default: at most this many ids exist at once.
	DefaultRequestKeep = 100000
)

var (
	// ErrRequestID: a request id (or scope) is empty, too long or holds a
	// character outside [A-Za-z0-9._:@-]. Refused before appending.
	ErrRequestID = errors.New("invalid request id")
	// ErrRequestMismatch: a request id was reused with different
	// statements. The entry applied nothing (its result on every server).
	ErrRequestMismatch = errors.New("request id already used with different statements")
)

// Request makes an entry idempotent: the first entry applied with (Scope,
// ID) runs and records its result; every later entry with the same pair
// and the same statements applies nothing and answers that result, and one
// with other statements applies nothing and answers ErrRequestMismatch.
//
// Window and Keep are the leader's retention settings, carried in the entry
// so that pruning is the same on every server: before looking the id up,
// the FSM deletes the ids recorded by entries whose context time is more
// than Window seconds before this entry's, or whose log index is Keep or
// more entries before this one.
type Request struct {
	Scope  string // who may see the result (the authenticated user)
	ID     string // the client's request id
	Window uint64 // seconds
	Keep   uint64 // log entries
}

// ValidRequestID checks a request id or scope: 1..MaxRequestIDLen bytes of
// [A-Za-z0-9._:@-].
func ValidRequestID(s string) error {
	if s == "" || len(s) > MaxRequestIDLen {
		return fmt.Errorf("%w: length %d, want 1..%d", ErrRequestID, len(s), MaxRequestIDLen)
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9',
			c == '.', c == '_', c == ':', c == '@', c == '-':
		default:
			return fmt.Errorf("%w: byte %d (%#x) is not one of [A-Za-z0-9._:@-]", ErrRequestID, i, c)
		}
	}
	return nil
}

func (r *Request) validate() error {
	if err := ValidRequestID(r.ID); err != nil {
		return err
	}
	if err := ValidRequestID(r.Scope); err != nil {
		return fmt.Errorf("scope: %w", err)
	}
	if r.Window == 0 || r.Keep == 0 {
		return fmt.Errorf("%w: window %d s and keep %d entries must be > 0", ErrRequestID, r.Window, r.Keep)
	}
	return nil
}

// statementsHash is the SHA-256 (hex) of the statements' encoding: what a
// retry must repeat exactly. Statements are normalized.
func statementsHash(stmts []Statement) (string, error) {
	var b []byte
	for i, st := range stmts {
		b = appendBytes(b, []byte(st.SQL))
		b = binary.AppendUvarint(b, uint64(len(st.Params)))
		for j, p := range st.Params {
			var err error
			if b, err = appendParam(b, p); err != nil {
				return "", fmt.Errorf("statement %d, parameter %d: %w", i, j, err)
			}
		}
	}
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:]), nil
}

// storedResult is a Result as RequestTable keeps it. An SQL error keeps
// its code and statement, not its message: messages may name
// server-specific things (a database name), and the table must be the same
// on every server.
type storedResult struct {
	Rows [][2]int64 `json:"r,omitempty"` // per statement: rows affected, last insert id
	Err  *[2]int    `json:"e,omitempty"` // SQL error: code, statement
}

func encodeResult(r *Result) (string, error) {
	var s storedResult
	if r.Err != nil {
		se := asSQLError(r.Err)
		if se == nil {
			return "", fmt.Errorf("sqlfsm: cannot record result error %v", r.Err)
		}
		s.Err = &[2]int{se.Code, se.Statement}
	} else {
		s.Rows = make([][2]int64, len(r.Statements))
		for i, st := range r.Statements {
			s.Rows[i] = [2]int64{st.RowsAffected, st.LastInsertID}
		}
	}
	b, err := json.Marshal(s)
	return string(b), err
}

func decodeResult(text string) (*Result, error) {
	var s storedResult
	if err := json.Unmarshal([]byte(text), &s); err != nil {
		return nil, fmt.Errorf("decode %s result: %w", RequestTable, err)
	}
	r := &Result{Replayed: true}
	if s.Err != nil {
		r.Err = &SQLError{Code: s.Err[0], Statement: s.Err[1],
			Message: fmt.Sprintf("the first attempt of this request failed with code %d (replayed; message not kept)", s.Err[0])}
		return r, nil
	}
	r.Statements = make([]StmtResult, len(s.Rows))
	for i, row := range s.Rows {
		r.Statements[i] = StmtResult{RowsAffected: row[0], LastInsertID: row[1]}
	}
	return r, nil
}

// requestPrior prunes RequestTable (see Request) and looks up e's request
// id. It returns the response for an entry that must apply nothing (the
// stored result, or ErrRequestMismatch), or nil when the entry must run.
// Everything it reads and writes is replicated state and entry data, so
// it answers the same on every server. An error is a transient fault.
func requestPrior(ctx context.Context, x execer, index uint64, e *Entry) (*Result, error) {
	rq := e.Request
	cutoff := e.Context.Time.UnixMicro() - int64(min(rq.Window, 1<<40))*1_000_000
	if _, err := x.ExecContext(ctx, `DELETE FROM `+RequestTable+` WHERE micros < ?`, cutoff); err != nil {
		return nil, fmt.Errorf("prune %s: %w", RequestTable, err)
	}
	if index > rq.Keep {
		if _, err := x.ExecContext(ctx, `DELETE FROM `+RequestTable+` WHERE log_index <= ?`, int64(index-rq.Keep)); err != nil {
			return nil, fmt.Errorf("prune %s: %w", RequestTable, err)
		}
	}
	var hash, text string
	err := x.QueryRowContext(ctx, `SELECT stmt_hash, result FROM `+RequestTable+` WHERE scope = ? AND request_id = ?`, rq.Scope, rq.ID).Scan(&hash, &text)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", RequestTable, err)
	}
	want, err := statementsHash(e.Statements)
	if err != nil {
		return &Result{Err: err}, nil
	}
	if hash != want {
		return &Result{Err: fmt.Errorf("%w: request id %q (first applied with statements of hash %.12s…, this request's is %.12s…)",
			ErrRequestMismatch, rq.ID, hash, want)}, nil
	}
	r, err := decodeResult(text)
	if err != nil {
		return &Result{Err: err}, nil
	}
	return r, nil
}

// recordRequest stores e's request id with res, in the entry's transaction.
func recordRequest(ctx context.Context, x execer, index uint64, e *Entry, res *Result) error {
	hash, err := statementsHash(e.Statements)
	if err != nil {
		return nil // cannot happen for a decoded entry; nothing to dedup against
	}
	text, err := encodeResult(res)
	if err != nil {
		return nil // not a *SQLError: not an outcome worth replaying
	}
	if _, err := x.ExecContext(ctx, `INSERT INTO `+RequestTable+` (scope, request_id, log_index, micros, stmt_hash, result) VALUES (?, ?, ?, ?, ?, ?)`,
		e.Request.Scope, e.Request.ID, int64(index), e.Context.Time.UnixMicro(), hash, text); err != nil {
		return fmt.Errorf("record request in %s: %w", RequestTable, err)
	}
	return nil
}
