package sqlfsm

import (
	"context"
	"strings"
	"sync"

	"github.com/oneha/oneha/sqlcheck"
)

// Bounds of a textCache: each map holds at most maxTextCache texts (when
// full it starts over) of at most maxTextCacheLen bytes, so at most 2 MiB
// of SQL each.
const (
	maxTextCache    = 512
	maxTextCacheLen = 4 << 10
)

// textCache remembers what the lexer and the safety check found in SQL
// texts, so the write path handles each distinct text once per FSM rather
// than once per entry. One FSM owns one cache (its leader-side check and its
// apply path share it); a nil *textCache caches nothing.
//
// Invariants:
//   - spans[sql] == the TokParam spans of Lex(MySQL, sql), which depend on
//     sql alone; the slices are never modified after they are stored; texts
//     that fail to lex are not stored.
//   - checks[{d, sql}] == sqlcheck.CheckWrite(ctx, d, sql, s) for every live ctx and
//     every schema s. That holds because such a verdict depends on (d, sql)
//     alone: CheckWrite reads nothing but its arguments and constant tables,
//     and a verdict that asked the schema (INSERT ... SELECT, ON DUPLICATE
//     KEY UPDATE, a LIMIT with ORDER BY) is never stored. Refusals and non-DML are not stored.
type textCache struct {
	mu     sync.RWMutex
	spans  map[string][]span
	checks map[checkKey]sqlcheck.Checked
	joins  map[string]bool // sql -> joinable(sql)
}

func newTextCache() *textCache {
	return &textCache{spans: map[string][]span{}, checks: map[checkKey]sqlcheck.Checked{}, joins: map[string]bool{}}
}

// joinable reports whether the MySQL text sql can be joined to others in
// one multi-statement script as "a;\nb": it lexes, holds no semicolon (a
// trailing one is allowed by the check) and ends with its last token, not
// with a comment, which would swallow the separator and the next
// statement. It depends on sql alone.
func (tc *textCache) joinable(sql string) bool {
	if tc != nil && len(sql) <= maxTextCacheLen {
		tc.mu.RLock()
		ok, hit := tc.joins[sql]
		tc.mu.RUnlock()
		if hit {
			return ok
		}
	}
	ok := false
	if toks, err := sqlcheck.Lex(sqlcheck.MySQL, sql); err == nil && len(toks) > 0 {
		ok = strings.TrimSpace(sql[toks[len(toks)-1].End:]) == ""
		for _, t := range toks {
			ok = ok && t.Kind != sqlcheck.TokSemicolon
		}
	}
	if tc != nil && len(sql) <= maxTextCacheLen {
		tc.mu.Lock()
		if len(tc.joins) >= maxTextCache {
			clear(tc.joins)
		}
		tc.joins[sql] = ok
		tc.mu.Unlock()
	}
	return ok
}

type checkKey struct {
	d   sqlcheck.Dialect
	sql string
}

// placeholderSpans returns the placeholder spans of sql as Lex(MySQL, sql)
// finds them.
func (tc *textCache) placeholderSpans(sql string) ([]span, error) {
	if tc == nil || len(sql) > maxTextCacheLen {
		return lexSpans(sql)
	}
	tc.mu.RLock()
	spans, ok := tc.spans[sql]
	tc.mu.RUnlock()
	if ok {
		return spans, nil
	}
	spans, err := lexSpans(sql)
	if err != nil {
		return spans, err
	}
	tc.mu.Lock()
	if len(tc.spans) >= maxTextCache {
		clear(tc.spans)
	}
	tc.spans[sql] = spans
	tc.mu.Unlock()
	return spans, nil
}

// checkWrite is sqlcheck.CheckWrite with the verdict cache in front.
func (tc *textCache) checkWrite(ctx context.Context, d sqlcheck.Dialect, sql string, schema sqlcheck.SchemaInfo) (sqlcheck.Checked, error) {
	if tc == nil || len(sql) > maxTextCacheLen {
		return sqlcheck.CheckWrite(ctx, d, sql, schema)
	}
	if err := ctx.Err(); err != nil {
		return sqlcheck.Checked{}, err
	}
	k := checkKey{d, sql}
	tc.mu.RLock()
	v, ok := tc.checks[k]
	tc.mu.RUnlock()
	if ok {
		return v, nil
	}
	probe := &schemaProbe{s: schema}
	si := sqlcheck.SchemaInfo(probe)
	if schema == nil {
		si = nil // a nil schema refuses what needs one: keep it nil
	}
	c, err := sqlcheck.CheckWrite(ctx, d, sql, si)
	if err != nil || probe.used || c.Class != sqlcheck.ClassDML {
		return c, err
	}
	tc.mu.Lock()
	if len(tc.checks) >= maxTextCache {
		clear(tc.checks)
	}
	tc.checks[k] = c
	tc.mu.Unlock()
	return c, nil
}

// schemaProbe records whether a check asked the schema anything.
type schemaProbe struct {
	s    sqlcheck.SchemaInfo
	used bool
}

func (p *schemaProbe) HasAutoIncrement(ctx context.Context, table string) (bool, error) {
	p.used = true
	return p.s.HasAutoIncrement(ctx, table)
}

func (p *schemaProbe) UniqueKeys(ctx context.Context, table string) (int, error) {
	p.used = true
	return p.s.UniqueKeys(ctx, table)
}

func (p *schemaProbe) UniqueKeyColumns(ctx context.Context, table string) ([][]string, error) {
	p.used = true
	return p.s.UniqueKeyColumns(ctx, table)
}
