package sqlcheck

import (
	"context"
	"fmt"
)

// insertRules applies the INSERT/REPLACE refusals.
func (w *writeCheck) insertRules(ctx context.Context, schema SchemaInfo) error {
	s := w.s
	fromSelect := w.selectSource()
	odku := -1
	conflict := -1
	for i := w.after; i < len(s.toks); i++ {
		if s.depth[i] != 0 || !s.kw(i, "ON") {
			continue
		}
		if s.kw(i+1, "DUPLICATE") {
			odku = i
		}
		if s.kw(i+1, "CONFLICT") {
			conflict = i
		}
	}
	ignore := w.ignore || w.orAction == "IGNORE"
	if fromSelect {
		switch {
		case ignore:
			if w.ignore {
				return unsafe("INSERT IGNORE ... SELECT", "which rows it skips depends on the SELECT's row order")
			}
			return unsafe("INSERT OR IGNORE ... SELECT", "which rows it skips depends on the SELECT's row order")
		case w.orAction == "REPLACE":
			return unsafe("REPLACE ... SELECT", "which rows it replaces depends on the SELECT's row order")
		case odku >= 0:
			return unsafe("INSERT ... SELECT ... ON DUPLICATE KEY UPDATE", "which rows it updates depends on the SELECT's row order")
		case conflict >= 0:
			return unsafe("INSERT ... SELECT ... ON CONFLICT", "which rows it updates or skips depends on the SELECT's row order")
		}
		if w.target < 0 {
			return unsafe(w.verb+" ... SELECT", "its target table was not recognised")
		}
		table := s.nameText(w.target)
		if schema == nil {
			return unsafe(w.verb+" ... SELECT", "no schema information to check "+table+" for an auto-increment column")
		}
		ai, err := schema.HasAutoIncrement(ctx, table)
		if err != nil {
			return fmt.Errorf("checking table %s for an auto-increment column: %w", table, err)
		}
		if ai {
			return unsafe(w.verb+" ... SELECT", "table "+table+" has an auto-increment column whose values would follow the SELECT's row order")
		}
	}
	if odku >= 0 && s.d == MySQL && w.target >= 0 {
		table := s.nameText(w.target)
		if schema == nil {
			return unsafe("INSERT ... ON DUPLICATE KEY UPDATE", "no schema information to count the unique keys of "+table)
		}
		n, err := schema.UniqueKeys(ctx, table)
		if err != nil {
			return fmt.Errorf("counting unique keys of table %s: %w", table, err)
		}
		if n >= 2 {
			return unsafe("INSERT ... ON DUPLICATE KEY UPDATE",
				fmt.Sprintf("table %s has %d unique keys; which row it updates depends on the order keys are checked", table, n))
		}
	}
	return nil
}

// selectSource reports whether an INSERT/REPLACE takes its rows from a
// query (SELECT, WITH, TABLE) rather than VALUES/SET/DEFAULT VALUES.
func (w *writeCheck) selectSource() bool {
	s := w.s
	if w.target < 0 {
		return false
	}
	i := w.after
	for i < len(s.toks) {
		switch {
		case s.kw(i, "PARTITION") && s.punct(i+1, "("):
			i = s.match[i+1] + 1
		case s.punct(i, "("):
			if s.kw(i+1, "SELECT", "WITH", "TABLE", "VALUES") || s.punct(i+1, "(") {
				return true
			}
			i = s.match[i] + 1 // column list
		case s.kw(i, "AS") && s.isName(i+1):
			i += 2 // SQLite target alias
		default:
			return s.kw(i, "SELECT", "WITH", "TABLE")
		}
	}
	return false
}
