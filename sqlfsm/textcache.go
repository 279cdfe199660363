package sqlfsm

import (
	"context"
	"sync"
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
//   - checks[{d, sql}] == checkWrite(ctx, d, sql, s) for every live ctx and
//     every schema s. That holds because such a verdict depends on (d, sql)
//     alone: checkWrite reads nothing but its arguments and constant tables,
//     and a verdict that asked the schema (INSERT ... SELECT, ON DUPLICATE
//     KEY UPDATE) is never stored. Refusals and non-DML are not stored.
type textCache struct {
	mu     sync.RWMutex
	spans  map[string][]span
	checks map[checkKey]checkVerdict
}

func newTextCache() *textCache {
	return &textCache{spans: map[string][]span{}, checks: map[checkKey]checkVerdict{}}
}

type checkKey struct {
	d   DialectName
	sql string
}

type checkVerdict struct {
	c   Checked
	inf info
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

// checkWrite is the package's checkWrite with the verdict cache in front.
func (tc *textCache) checkWrite(ctx context.Context, d DialectName, sql string, schema SchemaInfo) (Checked, info, error) {
	if tc == nil || len(sql) > maxTextCacheLen {
		return checkWrite(ctx, d, sql, schema)
	}
	if err := ctx.Err(); err != nil {
		return Checked{}, info{}, err
	}
	k := checkKey{d, sql}
	tc.mu.RLock()
	v, ok := tc.checks[k]
	tc.mu.RUnlock()
	if ok {
		return v.c, v.inf, nil
	}
	probe := &schemaProbe{s: schema}
	si := SchemaInfo(probe)
	if schema == nil {
		si = nil // a nil schema refuses what needs one: keep it nil
	}
	c, inf, err := checkWrite(ctx, d, sql, si)
	if err != nil || probe.used || c.Class != ClassDML {
		return c, inf, err
	}
	tc.mu.Lock()
	if len(tc.checks) >= maxTextCache {
		clear(tc.checks)
	}
	tc.checks[k] = checkVerdict{c, inf}
	tc.mu.Unlock()
	return c, inf, nil
}

// schemaProbe records whether a check asked the schema anything.
type schemaProbe struct {
	s    SchemaInfo
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
