package sqlfsm

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

// AppliedTable is the one-row table that records, in the replicated database
// itself, the last log entry applied. It changes in the same DB transaction as
// the entry's statements, which is what makes applying exactly-once across
// crashes (I2). ddl_index/ddl_fingerprint mark a MySQL DDL entry in flight.
const AppliedTable = "oneha_applied"

// appliedState mirrors the row of AppliedTable.
type appliedState struct {
	Index, Term    uint64
	DDLIndex       uint64
	DDLFingerprint string
}

// ensureApplied creates AppliedTable and its row when missing. A database
// whose table vanished (a crash in the middle of a restore drops it first)
// comes back at index 0: behind any snapshot, so the restore runs again.
func ensureApplied(ctx context.Context, b backend, x execer) error {
	for _, q := range b.appliedDDL() {
		if _, err := x.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("create %s: %w", AppliedTable, err)
		}
	}
	return nil
}

func readApplied(ctx context.Context, x execer) (appliedState, error) {
	var s appliedState
	err := x.QueryRowContext(ctx, `SELECT applied_index, applied_term, ddl_index, ddl_fingerprint FROM `+AppliedTable+` WHERE id = 1`).
		Scan(&s.Index, &s.Term, &s.DDLIndex, &s.DDLFingerprint)
	if errors.Is(err, sql.ErrNoRows) {
		return s, fmt.Errorf("%w: %s has no row (deleted outside OneHA); restore it or resync this server", ErrAppliedMissing, AppliedTable)
	}
	if err != nil {
		return s, fmt.Errorf("read %s: %w", AppliedTable, err)
	}
	return s, nil
}

// writeApplied records index and term as applied. It fails (wrapping
// ErrAppliedMissing) when the row is gone, so the caller rolls back rather
// than commit entries the database would not remember.
func writeApplied(ctx context.Context, x execer, index, term uint64) error {
	r, err := x.ExecContext(ctx, `UPDATE `+AppliedTable+` SET applied_index = ?, applied_term = ?, ddl_index = 0, ddl_fingerprint = '' WHERE id = 1`, index, term)
	if err != nil {
		return fmt.Errorf("update %s: %w", AppliedTable, err)
	}
	return checkAppliedRow(ctx, x, r)
}

func writeDDLMarker(ctx context.Context, x execer, index uint64, fingerprint string) error {
	r, err := x.ExecContext(ctx, `UPDATE `+AppliedTable+` SET ddl_index = ?, ddl_fingerprint = ? WHERE id = 1`, index, fingerprint)
	if err != nil {
		return fmt.Errorf("mark DDL in %s: %w", AppliedTable, err)
	}
	return checkAppliedRow(ctx, x, r)
}

// checkAppliedRow returns nil when the UPDATE r of AppliedTable's row found
// the row. SQLite counts every row the WHERE matched; MySQL, without
// CLIENT_FOUND_ROWS, only rows whose value changed. Applied indexes only
// grow, so 0 means a missing row, but 0 is confirmed by reading the row so
// that an unchanged value is never mistaken for one.
func checkAppliedRow(ctx context.Context, x execer, r sql.Result) error {
	if n, err := r.RowsAffected(); err != nil || n > 0 {
		return err
	}
	return appliedRowPresent(ctx, x)
}

// appliedRowPresent returns an error wrapping ErrAppliedMissing unless
// AppliedTable holds its row.
func appliedRowPresent(ctx context.Context, x execer) error {
	_, err := readApplied(ctx, x)
	return err
}
