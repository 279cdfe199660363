package sqlfsm

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/oneha/oneha/sqlcheck"
)

// AUTO_INCREMENT counters on MySQL's one-round-trip path.
//
// InnoDB never gives back the auto-increment values a rolled-back INSERT
// took. When a fast batch fails on a deterministic error it is rolled back
// and run again entry by entry, so the entries before the failing one took
// values twice on this server, and how many depends on how this server cut
// its batches, which differs between servers. Left alone, the next rows
// would get different ids on different servers
// (TestAutoIncrementIdsDoNotDependOnBatches). So a fast batch that can
// take such values first records the counters of the database's
// AUTO_INCREMENT tables (in the same round trip), and after a
// deterministic failure the FSM puts them back (ALTER TABLE …
// AUTO_INCREMENT = n sets the counter exactly when n is above the
// column's largest value, as it is after the rollback) before it runs the
// batch again.

// maxAutoIncTexts bounds the per-text cache of autoIncState.
const maxAutoIncTexts = 512

// autoIncState is what the fast path knows of the schema's auto-increment
// tables. Guarded by FSM.mu; reloaded after any DDL, restore or fault.
type autoIncState struct {
	loaded   bool
	tables   map[string]bool // lowercased names of tables with an AUTO_INCREMENT column
	names    []string        // the same, as the server spells them
	indirect bool            // triggers or views exist: any statement may insert anywhere
	texts    map[string]bool // SQL text -> names an auto-increment table
}

// invalidateAutoInc makes the next fast batch read the schema again.
func (f *FSM) invalidateAutoInc() { f.autoInc = autoIncState{} }

// loadAutoInc reads which tables have an AUTO_INCREMENT column and whether
// triggers or views exist.
func (f *FSM) loadAutoInc(ctx context.Context, x execer) error {
	st := autoIncState{loaded: true, tables: map[string]bool{}, texts: map[string]bool{}}
	rows, err := x.QueryContext(ctx, `SELECT DISTINCT TABLE_NAME FROM information_schema.COLUMNS
WHERE TABLE_SCHEMA = DATABASE() AND EXTRA LIKE '%auto_increment%' ORDER BY TABLE_NAME`)
	if err != nil {
		return fmt.Errorf("auto-increment tables: %w", err)
	}
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			rows.Close()
			return fmt.Errorf("auto-increment tables: %w", err)
		}
		st.tables[strings.ToLower(name)] = true
		st.names = append(st.names, name)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("auto-increment tables: %w", err)
	}
	var n int
	if err := x.QueryRowContext(ctx, `SELECT (SELECT COUNT(*) FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = DATABASE())
+ (SELECT COUNT(*) FROM information_schema.VIEWS WHERE TABLE_SCHEMA = DATABASE())`).Scan(&n); err != nil {
		return fmt.Errorf("triggers and views: %w", err)
	}
	st.indirect = n > 0
	f.autoInc = st
	return nil
}

// takesAutoInc reports whether e may take auto-increment values: one of
// its statements names a table with an AUTO_INCREMENT column (Names
// over-approximates), or triggers or views exist. The schema must be
// loaded.
func (f *FSM) takesAutoInc(e *Entry) bool {
	st := &f.autoInc
	if len(st.tables) == 0 {
		return false
	}
	if st.indirect {
		return true
	}
	for _, s := range e.Statements {
		hit, ok := st.texts[s.SQL]
		if !ok {
			names, err := sqlcheck.Names(sqlcheck.MySQL, s.SQL)
			hit = err != nil // unparsable: assume it may
			for _, n := range names {
				hit = hit || st.tables[n]
			}
			if len(st.texts) >= maxAutoIncTexts {
				clear(st.texts)
			}
			st.texts[s.SQL] = hit
		}
		if hit {
			return true
		}
	}
	return false
}

// autoIncCapture is the statement, run right after START TRANSACTION, that
// records the counters under token in @oneha_autoinc (a JSON object of
// table name to next value, after the token and a space).
func (f *FSM) autoIncCapture(token string) string {
	var in strings.Builder
	for i, n := range f.autoInc.names {
		if i > 0 {
			in.WriteString(", ")
		}
		in.WriteString(quoteMySQLString(n))
	}
	return "SET @oneha_autoinc = CONCAT(" + quoteMySQLString(token+" ") +
		", (SELECT JSON_OBJECTAGG(TABLE_NAME, AUTO_INCREMENT) FROM information_schema.TABLES" +
		" WHERE TABLE_SCHEMA = DATABASE() AND AUTO_INCREMENT IS NOT NULL AND TABLE_NAME IN (" + in.String() + ")))"
}

// readAutoIncCapture reads, after a rolled-back fast batch, the counters
// its capture recorded; nil when the capture did not run (the batch failed
// before it: nothing was taken) or recorded nothing.
func readAutoIncCapture(ctx context.Context, conn *sql.Conn, token string) (map[string]uint64, error) {
	var v sql.NullString
	if err := conn.QueryRowContext(ctx, "SELECT @oneha_autoinc").Scan(&v); err != nil {
		return nil, fmt.Errorf("read auto-increment counters: %w", err)
	}
	rest, ok := strings.CutPrefix(v.String, token+" ")
	if !v.Valid || !ok {
		return nil, nil
	}
	var out map[string]uint64
	if err := json.Unmarshal([]byte(rest), &out); err != nil {
		return nil, fmt.Errorf("read auto-increment counters %q: %w", rest, err)
	}
	return out, nil
}

// restoreAutoInc puts back the counters f.autoIncPending holds (see the
// top of this file). Each ALTER commits implicitly, so it runs only with no
// transaction open; a failure is a transient fault and the restore runs
// again before the next attempt.
func (f *FSM) restoreAutoInc(ctx context.Context) error {
	for t, n := range f.autoIncPending {
		if _, err := f.conn.ExecContext(ctx, fmt.Sprintf("ALTER TABLE %s AUTO_INCREMENT = %d", quoteMySQLIdent(t), n)); err != nil {
			return fmt.Errorf("restore the auto-increment counter of %s to %d: %w", t, n, err)
		}
		delete(f.autoIncPending, t)
	}
	f.autoIncPending = nil
	return nil
}

// quoteMySQLString quotes s as a MySQL string literal (escapeMySQL; the
// pinned sql_mode keeps backslash escapes).
func quoteMySQLString(s string) string {
	var b strings.Builder
	b.WriteByte('\'')
	escapeMySQL(&b, s)
	b.WriteByte('\'')
	return b.String()
}
