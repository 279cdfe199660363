package raftlog

import (
	"errors"
	"log/slog"
	"net"
	"sync"
	"time"

	"github.com/hashicorp/raft"
)

// RaftByte is the first byte of every raft connection on the shared port.
// HTTP starts with an ASCII method letter and TLS with 0x16, so neither can
// be mistaken for it.
const RaftByte byte = 0x01

// MuxConfig configures a Mux. The zero value works.
type MuxConfig struct {
	// PeekTimeout bounds the wait for a new connection's first byte
	// (default 5s), so idle connections cannot hold resources forever.
	PeekTimeout time.Duration
	// HandoffTimeout bounds the wait for a child listener's Accept
	// (default 5s); the connection is closed if nobody accepts it.
	HandoffTimeout time.Duration
	// Advertise is the address raft peers use to reach this server
	// (default: the listener's address).
	Advertise net.Addr
	// Dial dials peers for raft (default: net.Dialer.DialContext).
	Dial DialFunc
	// RaftClient / RaftServer upgrade raft connections after the mux byte
	// (e.g. TLS). nil means plain TCP.
	RaftClient ConnWrapper
	RaftServer ConnWrapper
	// Logger; nil means slog.Default().
	Logger *slog.Logger
}

// Mux shares one listener between raft and HTTP (XML-RPC), dispatching each
// accepted connection by its first byte: RaftByte goes to RaftLayer(),
// anything else to HTTPListener() with the byte replayed. Each connection is
// dispatched in its own goroutine, so a slow client never blocks Accept.
// Closing the Mux closes the listener and both child listeners (their Accept
// returns net.ErrClosed).
type Mux struct {
	ln   net.Listener
	cfg  MuxConfig
	log  *slog.Logger
	raft *raftLayer
	http *childListener

	closeOnce sync.Once
	closed    chan struct{}
	done      chan struct{}
	conns     sync.WaitGroup

	mu      sync.Mutex
	peeking map[net.Conn]struct{} // conns whose first byte is awaited; closed by Close
}

// NewMux takes ownership of ln and starts accepting.
func NewMux(ln net.Listener, cfg MuxConfig) *Mux {
	if cfg.PeekTimeout <= 0 {
		cfg.PeekTimeout = 5 * time.Second
	}
	if cfg.HandoffTimeout <= 0 {
		cfg.HandoffTimeout = 5 * time.Second
	}
	if cfg.Advertise == nil {
		cfg.Advertise = ln.Addr()
	}
	if cfg.Dial == nil {
		d := &net.Dialer{}
		cfg.Dial = d.DialContext
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	m := &Mux{
		ln:      ln,
		cfg:     cfg,
		log:     cfg.Logger.With("component", "mux", "addr", ln.Addr().String()),
		closed:  make(chan struct{}),
		done:    make(chan struct{}),
		peeking: make(map[net.Conn]struct{}),
	}
	m.raft = &raftLayer{
		childListener: newChildListener(ln.Addr()),
		advertise:     cfg.Advertise,
		dial:          cfg.Dial,
		wrap:          cfg.RaftClient,
	}
	m.http = newChildListener(ln.Addr())
	go m.serve()
	return m
}

// RaftLayer returns the raft.StreamLayer for NewTransport.
func (m *Mux) RaftLayer() raft.StreamLayer { return m.raft }

// HTTPListener returns the listener for the HTTP (XML-RPC) server.
func (m *Mux) HTTPListener() net.Listener { return m.http }

// Addr returns the shared listener's address.
func (m *Mux) Addr() net.Addr { return m.ln.Addr() }

// Close stops accepting, closes both child listeners and waits for
// in-flight dispatches to finish.
func (m *Mux) Close() error {
	var err error
	m.closeOnce.Do(func() {
		close(m.closed)
		err = m.ln.Close()
		m.raft.Close()
		m.http.Close()
		<-m.done
		m.mu.Lock()
		for c := range m.peeking {
			_ = c.Close()
		}
		m.mu.Unlock()
		m.conns.Wait()
	})
	if errors.Is(err, net.ErrClosed) {
		err = nil
	}
	return err
}

func (m *Mux) serve() {
	defer close(m.done)
	var backoff time.Duration
	for {
		conn, err := m.ln.Accept()
		if err != nil {
			select {
			case <-m.closed:
				return
			default:
			}
			if errors.Is(err, net.ErrClosed) {
				m.log.Error("mux listener closed underneath", "error", err)
				m.raft.Close()
				m.http.Close()
				return
			}
			backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
			m.log.Warn("mux accept failed, retrying", "error", err, "backoff", backoff)
			select {
			case <-time.After(backoff):
			case <-m.closed:
				return
			}
			continue
		}
		backoff = 0
		m.conns.Add(1)
		go m.dispatch(conn)
	}
}

func (m *Mux) dispatch(conn net.Conn) {
	defer m.conns.Done()
	m.mu.Lock()
	select {
	case <-m.closed:
		m.mu.Unlock()
		_ = conn.Close()
		return
	default:
	}
	m.peeking[conn] = struct{}{}
	m.mu.Unlock()
	_ = conn.SetReadDeadline(time.Now().Add(m.cfg.PeekTimeout))
	var b [1]byte
	_, err := conn.Read(b[:])
	m.mu.Lock()
	delete(m.peeking, conn)
	m.mu.Unlock()
	if err != nil {
		m.log.Debug("mux: no first byte, closing", "remote", conn.RemoteAddr().String(), "error", err)
		_ = conn.Close()
		return
	}
	_ = conn.SetReadDeadline(time.Time{})
	if b[0] == RaftByte {
		if m.cfg.RaftServer != nil {
			wc, err := m.cfg.RaftServer(conn)
			if err != nil {
				m.log.Warn("mux: raft conn wrap failed", "remote", conn.RemoteAddr().String(), "error", err)
				_ = conn.Close()
				return
			}
			conn = wc
		}
		m.handoff(m.raft.childListener, conn, "raft")
		return
	}
	m.handoff(m.http, &peekedConn{Conn: conn, first: b[0], has: true}, "http")
}

func (m *Mux) handoff(l *childListener, conn net.Conn, kind string) {
	t := time.NewTimer(m.cfg.HandoffTimeout)
	defer t.Stop()
	select {
	case l.ch <- conn:
	case <-l.closed:
		_ = conn.Close()
	case <-t.C:
		m.log.Warn("mux: no Accept for connection, closing", "kind", kind, "remote", conn.RemoteAddr().String())
		_ = conn.Close()
	}
}

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
