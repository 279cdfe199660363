package sqlfsm

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/go-sql-driver/mysql"

	"github.com/oneha/oneha/sqlcheck"
)

// defaultTrialBudget bounds a leader-side trial (Config.TrialBudget).
const defaultTrialBudget = 2 * time.Second

// mariaDBStatementTimeout is ER_STATEMENT_TIMEOUT (max_statement_time hit).
const mariaDBStatementTimeout = 1969

// needsTrial reports whether the checker cannot bound the cost of e: a write
// that contains a query (subquery, INSERT … SELECT, WITH) or reads more than
// one table (JOIN, USING, or a comma-separated table list in a multi-table
// UPDATE or DELETE). Single-table key writes never pay for a trial. The
// scan is textual: a keyword inside a string literal only costs an unneeded
// trial.
func needsTrial(e *Entry) bool {
	if e.DDL {
		return false
	}
	for _, st := range e.Statements {
		q := st.SQL
		if indexFold(q, "SELECT") >= 0 || indexFold(q, "JOIN") >= 0 || indexFold(q, "USING") >= 0 {
			return true
		}
		// The table list: up to SET (UPDATE) or WHERE (DELETE).
		end := len(q)
		if i := indexFold(q, "UPDATE"); i >= 0 && i < 16 {
			if j := indexFold(q, " SET "); j >= 0 {
				end = j
			}
		} else if i := indexFold(q, "DELETE"); i >= 0 && i < 16 {
			if j := indexFold(q, "WHERE"); j >= 0 {
				end = j
			}
		} else {
			continue
		}
		if strings.IndexByte(q[:end], ',') >= 0 {
			return true
		}
	}
	return false
}

// indexFold is the index of upper (an upper-case ASCII word) in s in any
// case, or -1; it does not allocate.
func indexFold(s, upper string) int {
	for i := 0; i+len(upper) <= len(s); i++ {
		j := 0
		for ; j < len(upper); j++ {
			c := s[i+j]
			if 'a' <= c && c <= 'z' {
				c -= 'a' - 'A'
			}
			if c != upper[j] {
				break
			}
		}
		if j == len(upper) {
			return i
		}
	}
	return -1
}

// trial runs e on the leader, before it is logged, in a transaction that is
// rolled back, with each statement under max_statement_time = budget
// (MariaDB only; never while a table has an AUTO_INCREMENT column). A statement that runs past the budget refuses the entry
// with an *UnsafeError: nothing was logged, so every server agrees. Any
// other outcome lets the entry through (its errors are decided by the real
// apply). The trial is a heuristic against runaway statements, not a bound:
// it sees the state before entries still in flight. See DESIGN.md.
func (d *DB) trial(ctx context.Context, e *Entry) error {
	f := d.fsm
	budget := f.cfg.TrialBudget
	if budget < 0 || f.Dialect() != sqlcheck.MySQL || !needsTrial(e) || !strings.Contains(f.Settings()["version"], "MariaDB") {
		return nil
	}
	if budget == 0 {
		budget = defaultTrialBudget
	}
	// Only the leader runs trials, and a rolled-back write can still have
	// taken AUTO_INCREMENT values (InnoDB never gives them back: an INSERT
	// or REPLACE, or a trigger doing one). The leader's next id would then
	// run ahead of the followers'. So no trial runs while any table has
	// such a column (TestTrialLeavesTheLeadersAutoIncrementAsTheFollowers).
	auto, err := f.autoInc.get(ctx, f.db)
	if err != nil {
		return fmt.Errorf("trial: %w", err)
	}
	if auto {
		return nil
	}
	conn, err := f.db.Conn(ctx)
	if err != nil {
		return fmt.Errorf("trial: %w", err)
	}
	defer conn.Close()
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("trial: %w", err)
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, mysqlBindSQL(e.Context)); err != nil {
		return fmt.Errorf("trial: %w", err)
	}
	for j, st := range e.Statements {
		q, _, err := f.b.prepare(st, e.Context, j)
		if err != nil {
			return nil // the apply reports it, the same on every server
		}
		_, err = tx.ExecContext(ctx, fmt.Sprintf("SET STATEMENT max_statement_time = %.3f FOR %s", budget.Seconds(), q))
		var me *mysql.MySQLError
		switch {
		case err == nil:
		case errors.As(err, &me) && me.Number == mariaDBStatementTimeout:
			return fmt.Errorf("statement %d: %w", j, &sqlcheck.UnsafeError{
				Construct: fmt.Sprintf("a write that runs longer than %s", budget),
				Reason:    "a statement that runs away runs away on every server; its trial on the leader was stopped",
			})
		case ctx.Err() != nil:
			return ctx.Err()
		default:
			return nil
		}
	}
	return nil
}

// autoIncCache remembers whether any table has an AUTO_INCREMENT column
// (an information_schema.COLUMNS scan: about 4 ms on a 40-table MariaDB
// schema here) until the schema may have changed: the FSM invalidates it
// after every DDL entry, federation snapshot and restore. An answer read
// while an invalidation happened is used once, not kept.
type autoIncCache struct {
	mu    sync.Mutex
	gen   uint64 // counts invalidations
	valid bool
	any   bool
}

func (c *autoIncCache) invalidate() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	c.valid = false
}

func (c *autoIncCache) get(ctx context.Context, db *sql.DB) (bool, error) {
	c.mu.Lock()
	if c.valid {
		defer c.mu.Unlock()
		return c.any, nil
	}
	gen := c.gen
	c.mu.Unlock()
	var n int
	if err := db.QueryRowContext(ctx, `SELECT COUNT(*) FROM information_schema.COLUMNS
WHERE TABLE_SCHEMA = DATABASE() AND EXTRA LIKE '%auto_increment%'`).Scan(&n); err != nil {
		return false, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.gen == gen {
		c.valid, c.any = true, n > 0
	}
	return n > 0, nil
}
