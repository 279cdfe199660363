package sqlfsm

import (
	"context"
	"sync"
)

// maxCheckCache bounds the verdict cache (when full it starts over); texts
// longer than maxSpanCacheText are not cached.
const maxCheckCache = 512

type checkKey struct {
	d   DialectName
	sql string
}

type checkVerdict struct {
	c   Checked
	inf info
}

// checkCache remembers the verdict of DML texts that checkWrite accepted
// without consulting the schema, so that a leader checks each distinct text
// once rather than once per entry.
//
// Invariant: checkCache[{d, sql}] == checkWrite(ctx, d, sql, s) for every
// live ctx and every schema s. That holds because such a verdict depends on
// (d, sql) alone: checkWrite reads nothing but its arguments and constant
// tables, and a verdict that asked the schema (INSERT ... SELECT, ON
// DUPLICATE KEY UPDATE) is never stored. Refusals are not stored either.
var checkCache = struct {
	sync.RWMutex
	m map[checkKey]checkVerdict
}{m: map[checkKey]checkVerdict{}}

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

// checkWriteCached is checkWrite with the verdict cache in front.
func checkWriteCached(ctx context.Context, d DialectName, sql string, schema SchemaInfo) (Checked, info, error) {
	if len(sql) > maxSpanCacheText {
		return checkWrite(ctx, d, sql, schema)
	}
	if err := ctx.Err(); err != nil {
		return Checked{}, info{}, err
	}
	k := checkKey{d, sql}
	checkCache.RLock()
	v, ok := checkCache.m[k]
	checkCache.RUnlock()
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
	checkCache.Lock()
	if len(checkCache.m) >= maxCheckCache {
		clear(checkCache.m)
	}
	checkCache.m[k] = checkVerdict{c, inf}
	checkCache.Unlock()
	return c, inf, nil
}
