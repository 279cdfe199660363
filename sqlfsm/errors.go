package sqlfsm

import (
	"errors"
	"fmt"

	"github.com/oneha/oneha/sqlcheck"
)

// Sentinel errors callers branch on.
var (
	// ErrUnsafe: a statement was refused before it was appended to the log
	// because its result would differ between servers. Wrapped by
	// *sqlcheck.UnsafeError. It is sqlcheck.ErrUnsafe.
	ErrUnsafe = sqlcheck.ErrUnsafe
	// ErrBadParam: a parameter has a type the entry codec cannot carry.
	ErrBadParam = errors.New("bad parameter")
	// ErrBadEntry: a log entry could not be decoded.
	ErrBadEntry = errors.New("bad log entry")
	// ErrSQL: a deterministic SQL error; the entry was rolled back identically
	// on every server and counts as applied. Wrapped by *SQLError.
	ErrSQL = errors.New("sql error")
	// ErrNotReadOnly: a statement given to Query would change data. It is
	// sqlcheck.ErrNotReadOnly.
	ErrNotReadOnly = sqlcheck.ErrNotReadOnly
	// ErrEmpty: an entry without statements, or an SQL text without a
	// statement. It is sqlcheck.ErrEmpty.
	ErrEmpty = sqlcheck.ErrEmpty
	// ErrClosed: the FSM or DB has been closed.
	ErrClosed = errors.New("closed")
	// ErrSettingsMismatch: the database server's settings make replicated
	// results differ (e.g. secure_timestamp forbids SET TIMESTAMP).
	ErrSettingsMismatch = errors.New("database settings unsafe for replication")
	// ErrAppliedMissing: the applied-index row (AppliedTable, id 1) is gone,
	// deleted or dropped outside OneHA. Applying stops (a transient fault,
	// retried and reported by Degraded) instead of committing entries the
	// database would not remember, which would apply them again later.
	ErrAppliedMissing = errors.New("applied-index row missing")
	// ErrStalled: a batch has been applying for longer than
	// Config.StallAfter (Stalled reports it; the batch is not stopped).
	ErrStalled = errors.New("apply stalled")
)

// SQLError is a deterministic SQL error: the same on every server.
type SQLError struct {
	Code      int    // backend error number (MySQL) or extended result code (SQLite)
	Message   string // backend message
	Statement int    // index of the failing statement in the entry
}

func (e *SQLError) Error() string {
	return fmt.Sprintf("statement %d: %s (code %d)", e.Statement, e.Message, e.Code)
}

// Unwrap makes errors.Is(err, ErrSQL) true.
func (e *SQLError) Unwrap() error { return ErrSQL }
