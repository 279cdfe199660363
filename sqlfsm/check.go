package sqlfsm

import (
	"context"
	"fmt"
	"strings"

	"github.com/oneha/oneha/sqlcheck"
)

// CheckEntry checks a whole transaction before it is appended: it is not
// empty; each statement's SQL holds exactly one statement (a trailing ';' is
// fine) that passes sqlcheck.CheckWrite; each has exactly as many parameters as
// placeholders (ErrBadParam); a DDL statement is alone in its entry
// (ErrUnsafe). Statement indexes in errors are 0-based, as in SQLError.
//
// On success every stmts[i].Params[j] has been replaced, in place, by its
// Normalize form, and ddl reports whether the single statement is DDL.
// SQLite: a string parameter equal to 'now' in a statement that calls a date
// function is refused, since the function would read the server clock.
func CheckEntry(ctx context.Context, d sqlcheck.Dialect, stmts []Statement, schema sqlcheck.SchemaInfo) (ddl bool, err error) {
	return checkEntry(ctx, nil, d, stmts, schema)
}

// checkEntry is CheckEntry with tc's verdict cache (nil: none).
func checkEntry(ctx context.Context, tc *textCache, d sqlcheck.Dialect, stmts []Statement, schema sqlcheck.SchemaInfo) (ddl bool, err error) {
	if len(stmts) == 0 {
		return false, fmt.Errorf("%w: entry has no statements", ErrEmpty)
	}
	for i := range stmts {
		st := &stmts[i]
		c, err := tc.checkWrite(ctx, d, st.SQL, schema)
		if err != nil {
			return false, fmt.Errorf("statement %d: %w", i, err)
		}
		if c.Class == sqlcheck.ClassDDL {
			if len(stmts) > 1 {
				return false, fmt.Errorf("%w: DDL must be alone in its transaction: statement %d", ErrUnsafe, i)
			}
			ddl = true
		}
		if len(st.Params) != c.Params {
			return false, fmt.Errorf("%w: statement %d has %d placeholders but %d parameters", ErrBadParam, i, c.Params, len(st.Params))
		}
		for j, p := range st.Params {
			v, err := Normalize(p)
			if err != nil {
				return false, fmt.Errorf("statement %d parameter %d: %w", i, j, err)
			}
			if str, ok := v.(string); ok && c.DateFuncs && strings.EqualFold(str, "now") {
				return false, fmt.Errorf("statement %d parameter %d: %w", i, j,
					&sqlcheck.UnsafeError{Construct: "'now' parameter", Reason: "a date function would read each server's clock; pass the time itself"})
			}
			st.Params[j] = v
		}
	}
	return ddl, nil
}
