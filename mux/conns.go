package mux

import (
	"net"
	"net/netip"
	"sync"
)

// slotConn is the bottom of every connection the Mux accepts or Raft
// dials: whatever the connection holds (a count slot, a registry entry, a
// lifetime timer) is given back exactly once, when it is first closed —
// also through a *tls.Conn on top of it, whose Close closes this one. A
// release added after the close runs at once.
type slotConn struct {
	net.Conn
	mu      sync.Mutex
	closed  bool
	release []func()
}

// onClose adds f to run when the connection is closed (now, if it is).
func (c *slotConn) onClose(f func()) {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		f()
		return
	}
	c.release = append(c.release, f)
	c.mu.Unlock()
}

func (c *slotConn) Close() error {
	c.mu.Lock()
	rel := c.release
	c.release, c.closed = nil, true
	c.mu.Unlock()
	err := c.Conn.Close()
	for _, f := range rel {
		f()
	}
	return err
}

// sourceKey is the address a per-source cap counts a connection against:
// the IPv4 address, or the /64 of an IPv6 one (one host usually owns a
// whole /64). Unknown addresses share the zero key.
func sourceKey(a net.Addr) netip.Addr {
	var ip netip.Addr
	switch t := a.(type) {
	case *net.TCPAddr:
		ip = t.AddrPort().Addr()
	default:
		if a != nil {
			if ap, err := netip.ParseAddrPort(a.String()); err == nil {
				ip = ap.Addr()
			}
		}
	}
	ip = ip.Unmap()
	if ip.Is6() {
		if p, err := ip.Prefix(64); err == nil {
			return p.Addr()
		}
	}
	return ip
}

// sourceCounts counts open connections per source key; a key's entry
// exists only while its count is positive (memory bounded by the open
// connections).
type sourceCounts struct {
	mu sync.Mutex
	n  map[netip.Addr]int
}

func newSourceCounts() *sourceCounts { return &sourceCounts{n: make(map[netip.Addr]int)} }

// acquire counts one more connection from key unless key already has max.
func (s *sourceCounts) acquire(key netip.Addr, max int) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.n[key] >= max {
		return false
	}
	s.n[key]++
	return true
}

// release gives back one connection of key.
func (s *sourceCounts) release(key netip.Addr) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.n[key] <= 1 {
		delete(s.n, key)
		return
	}
	s.n[key]--
}

// acquireHTTP admits one more HTTP connection from key under MaxHTTPConns
// and MaxHTTPConnsPerSource; false (and counted) if either is reached. An
// admitted connection is given back by releaseHTTP.
func (m *Mux) acquireHTTP(key netip.Addr, remote string) bool {
	if !m.httpBySource.acquire(key, m.cfg.MaxHTTPConnsPerSource) {
		m.stats.refusedHTTPSource.Add(1)
		if m.warn.allow("httpsource " + key.String()) {
			m.log.Warn("mux: too many open HTTP connections from one source; closing new ones",
				"max_http_conns_per_source", m.cfg.MaxHTTPConnsPerSource, "remote", remote)
		}
		return false
	}
	if m.httpConns.Add(1) > int64(m.cfg.MaxHTTPConns) {
		m.httpConns.Add(-1)
		m.httpBySource.release(key)
		m.stats.refusedHTTPConns.Add(1)
		if m.warn.allow("httpconns") {
			m.log.Warn("mux: too many open HTTP connections; closing new ones",
				"max_http_conns", m.cfg.MaxHTTPConns, "remote", remote)
		}
		return false
	}
	return true
}

func (m *Mux) releaseHTTP(key netip.Addr) {
	m.httpConns.Add(-1)
	m.httpBySource.release(key)
}
