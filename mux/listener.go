package mux

import (
	"net"
	"sync"
)

// childListener is a net.Listener fed by the Mux.
type childListener struct {
	addr   net.Addr
	ch     chan net.Conn
	closed chan struct{}
	once   sync.Once
}

func newChildListener(addr net.Addr) *childListener {
	return &childListener{addr: addr, ch: make(chan net.Conn), closed: make(chan struct{})}
}

func (l *childListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.ch:
		return c, nil
	case <-l.closed:
		return nil, net.ErrClosed
	}
}

// Close closes this child only; the Mux keeps serving the other one and
// closes connections for this one.
func (l *childListener) Close() error {
	l.once.Do(func() { close(l.closed) })
	return nil
}

func (l *childListener) Addr() net.Addr { return l.addr }

// peekedConn replays the first byte read by the Mux.
type peekedConn struct {
	net.Conn
	mu    sync.Mutex
	first byte
	has   bool
}

func (c *peekedConn) Read(p []byte) (int, error) {
	c.mu.Lock()
	if c.has && len(p) > 0 {
		p[0] = c.first
		c.has = false
		c.mu.Unlock()
		return 1, nil // never block behind a byte we already have
	}
	c.mu.Unlock()
	return c.Conn.Read(p)
}
