package sqlcheck

import (
	"errors"
	"fmt"
)

// Sentinel errors callers branch on.
var (
	// ErrUnsafe: a statement was refused before it was appended to the log
	// because its result would differ between servers. Wrapped by *UnsafeError.
	ErrUnsafe = errors.New("unsafe statement")
	// ErrNotReadOnly: a statement given to CheckRead would change data.
	ErrNotReadOnly = errors.New("statement is not read-only")
	// ErrEmpty: an entry without statements, or an SQL text without a statement.
	ErrEmpty = errors.New("empty statement or transaction")
)

// UnsafeError names the construct that made a statement unsafe.
type UnsafeError struct {
	Construct string // e.g. "UUID()", "UPDATE ... LIMIT", "@@hostname"
	Reason    string // why it is refused, one short sentence
}

func (e *UnsafeError) Error() string {
	if e.Reason == "" {
		return fmt.Sprintf("unsafe statement: %s is not allowed", e.Construct)
	}
	return fmt.Sprintf("unsafe statement: %s is not allowed: %s", e.Construct, e.Reason)
}

// Unwrap makes errors.Is(err, ErrUnsafe) true.
func (e *UnsafeError) Unwrap() error { return ErrUnsafe }

// unsafe builds the refusal for construct.
func unsafe(construct, reason string) error {
	return &UnsafeError{Construct: construct, Reason: reason}
}
