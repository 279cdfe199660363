package oned

import (
	"fmt"
	"sync"

	"github.com/oneha/oneha/sqlcheck"
	"github.com/oneha/oneha/sqlfsm"
)

// Bounds of a reservedCache: at most maxReservedCache texts (when full it
// starts over, as sqlfsm's text cache does) of at most maxReservedCacheLen
// bytes, so at most 2 MiB of SQL plus the map's own overhead. A client
// sending ever new texts (OpenNebula inlines its values) only keeps the
// cache from helping: every miss is checked as before the cache existed.
const (
	maxReservedCache    = 512
	maxReservedCacheLen = 4 << 10
)

// reservedCache remembers the client SQL texts that name none of OneHA's
// own tables, so a write path that sends the same texts again and again
// (prepared-statement style, with parameters) lexes each text once
// rather than on every call: it was 4.6% of the leader's CPU at 64
// writers. The zero value is ready to use.
//
// Invariant: (d, sql) is in pass only if sqlcheck.RefuseReserved(d, sql,
// sqlcheck.ReservedPrefix) returned nil, a verdict that depends on d and
// sql alone (RefuseReserved and Lex read nothing else; MySQL's quoting is
// the pinned sql_mode's). Refusals are never stored, so a text that is
// refused is lexed, and refused, every time.
type reservedCache struct {
	mu   sync.RWMutex
	pass map[reservedKey]struct{}
}

type reservedKey struct {
	d   sqlcheck.Dialect
	sql string
}

// refuse refuses client statements, and the federation records a slave
// zone receives from its master, that name any of OneHA's own tables
// (sqlcheck.ReservedPrefix: the applied index, the zone tables, reset
// tokens) before they reach the log. Writing them would let a client
// holding oneadmin's password wedge or replay every server's apply, switch
// off peer authorization, or authorise a wipe. OneHA's own writers (zone
// manager, server-reset) call sqlfsm directly and are not affected.
func (c *reservedCache) refuse(d sqlcheck.Dialect, stmts []sqlfsm.Statement) error {
	for i, st := range stmts {
		if err := c.refuseOne(d, st.SQL); err != nil {
			return fmt.Errorf("statement %d: %w", i, err)
		}
	}
	return nil
}

// refuseOne is sqlcheck.RefuseReserved with the cache in front.
func (c *reservedCache) refuseOne(d sqlcheck.Dialect, sql string) error {
	k := reservedKey{d, sql}
	cacheable := len(sql) <= maxReservedCacheLen
	if cacheable {
		c.mu.RLock()
		_, ok := c.pass[k]
		c.mu.RUnlock()
		if ok {
			return nil
		}
	}
	if err := sqlcheck.RefuseReserved(d, sql, sqlcheck.ReservedPrefix); err != nil {
		return err
	}
	if cacheable {
		c.mu.Lock()
		if c.pass == nil || len(c.pass) >= maxReservedCache {
			c.pass = make(map[reservedKey]struct{})
		}
		c.pass[k] = struct{}{}
		c.mu.Unlock()
	}
	return nil
}
