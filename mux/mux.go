package mux

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/raft"
)

// RaftByte is the first byte of a plaintext Raft connection (INSECURE_RAFT
// only). HTTP starts with an ASCII method letter and TLS with 0x16, so
// neither can be mistaken for it.
const RaftByte byte = 0x01

// tlsHandshakeByte is the first byte of a TLS record carrying a ClientHello.
const tlsHandshakeByte byte = 0x16

// ALPNRaft is the ALPN protocol of a Raft connection over TLS (equal to
// zoneca.ALPNRaft; repeated here so the mux does not depend on the PKI).
const ALPNRaft = "oneha-raft"

// DialFunc dials a peer (net.Dialer.DialContext fits).
type DialFunc func(ctx context.Context, network, addr string) (net.Conn, error)

// Config configures a Mux. The zero value refuses every connection: set
// TLS, AllowPlainRaft or AllowPlainHTTP for what the port serves.
type Config struct {
	// TLS is the server configuration for connections starting with a TLS
	// ClientHello (nil: they are closed). Its NextProtos decide the
	// dispatch: ALPNRaft goes to RaftLayer, anything else to HTTPListener.
	TLS *tls.Config
	// RaftClientTLS returns the client configuration for a Raft dial to
	// addr (it must offer ALPNRaft and verify the peer). nil: Raft dials
	// plaintext, writing RaftByte (INSECURE_RAFT).
	RaftClientTLS func(addr string) *tls.Config
	// AllowPlainRaft accepts plaintext Raft (first byte RaftByte); without
	// it such connections are closed at once and logged (rate-limited).
	AllowPlainRaft bool
	// AllowPlainHTTP accepts plain HTTP (first byte an ASCII letter).
	AllowPlainHTTP bool
	// PeekTimeout bounds the wait for a new connection's first byte
	// (default 5s), so idle connections cannot hold resources forever.
	PeekTimeout time.Duration
	// HandshakeTimeout bounds a TLS handshake (default 5s).
	HandshakeTimeout time.Duration
	// HandoffTimeout bounds the wait for a child listener's Accept
	// (default 5s); the connection is closed if nobody accepts it.
	HandoffTimeout time.Duration
	// MaxPending caps connections in the first-byte/handshake stage
	// (default 1024); a connection over it is closed at once.
	MaxPending int
	// MaxPendingPerSource caps the connections of one source (an IPv4
	// address or an IPv6 /64) in that stage (default 128, MaxPending/8),
	// so one source cannot take all MaxPending slots. 32 refused the
	// connect burst of one legitimate client host (64 writers opening
	// their connections at once, as loadgen and a proxy do).
	MaxPendingPerSource int
	// MaxRaftConns caps accepted Raft connections open at once (default
	// 128); a Raft connection over it is closed.
	MaxRaftConns int
	// MaxHTTPConns caps HTTP connections (plain and TLS) open at once after
	// dispatch (default 4096), and MaxHTTPConnsPerSource those of one
	// source (default 256); a connection over either is closed. Raft
	// connections count only against MaxRaftConns.
	MaxHTTPConns          int
	MaxHTTPConnsPerSource int
	// MaxPeerConnLifetime is how long an authenticated peer connection
	// (Raft in or out, TLS HTTP with a client certificate) may stay open
	// (default 1h): it is then closed and the peer re-dials, handshaking
	// and being authorized afresh. It is closed earlier when its
	// certificate expires.
	MaxPeerConnLifetime time.Duration
	// Advertise is the address raft peers use to reach this server
	// (default: the listener's address).
	Advertise net.Addr
	// Dial dials peers for raft (default: net.Dialer.DialContext).
	Dial DialFunc
	// Logger; nil means slog.Default().
	Logger *slog.Logger
}

func (c Config) withDefaults(ln net.Listener) Config {
	if c.PeekTimeout <= 0 {
		c.PeekTimeout = 5 * time.Second
	}
	if c.HandshakeTimeout <= 0 {
		c.HandshakeTimeout = 5 * time.Second
	}
	if c.HandoffTimeout <= 0 {
		c.HandoffTimeout = 5 * time.Second
	}
	if c.MaxPending <= 0 {
		c.MaxPending = 1024
	}
	if c.MaxRaftConns <= 0 {
		c.MaxRaftConns = 128
	}
	if c.MaxPendingPerSource <= 0 {
		c.MaxPendingPerSource = 128
	}
	if c.MaxHTTPConns <= 0 {
		c.MaxHTTPConns = 4096
	}
	if c.MaxHTTPConnsPerSource <= 0 {
		c.MaxHTTPConnsPerSource = 256
	}
	if c.MaxPeerConnLifetime <= 0 {
		c.MaxPeerConnLifetime = time.Hour
	}
	if c.Advertise == nil {
		c.Advertise = ln.Addr()
	}
	if c.Dial == nil {
		d := &net.Dialer{}
		c.Dial = d.DialContext
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	return c
}

// Mux shares one listener between Raft and HTTP (XML-RPC). Each accepted
// connection is dispatched in its own goroutine on its first byte, read
// under PeekTimeout:
//
//   - 0x16 (TLS): handshake under HandshakeTimeout with Config.TLS, then by
//     the negotiated ALPN: ALPNRaft → RaftLayer (only with a client
//     certificate, which Config.TLS verified), HTTP/1.x or none →
//     HTTPListener as the *tls.Conn itself (net/http then fills
//     Request.TLS), another protocol (oneha-rpc) → HTTPListener as an
//     ALPNConn;
//   - RaftByte → RaftLayer only with AllowPlainRaft, else closed;
//   - an ASCII letter → HTTPListener (byte replayed) only with
//     AllowPlainHTTP, else closed;
//   - anything else → closed.
//
// At most MaxPending connections (MaxPendingPerSource per source) are in
// the first-byte/handshake stage, at most MaxRaftConns accepted Raft
// connections and MaxHTTPConns HTTP connections (MaxHTTPConnsPerSource per
// source) are open; excess ones are closed. Authenticated peer connections
// are registered with their verified certificate: Reauthorize closes those
// no longer authorized, and each is closed after MaxPeerConnLifetime. Closing the Mux closes the listener, both child listeners (their
// Accept returns net.ErrClosed) and connections still being dispatched.
type Mux struct {
	ln   net.Listener
	cfg  Config
	log  *slog.Logger
	raft *raftLayer
	http *childListener
	warn *warnLimiter

	closeOnce sync.Once
	closed    chan struct{}
	done      chan struct{}
	conns     sync.WaitGroup

	mu      sync.Mutex
	peeking map[net.Conn]struct{} // conns in the first-byte/handshake stage; closed by Close

	pending         atomic.Int64 // len(peeking), plus accepted ones not yet registered
	pendingBySource *sourceCounts
	raftConns       atomic.Int64
	httpConns       atomic.Int64
	httpBySource    *sourceCounts
	peers           peerSet
	stats           counters
}

// New takes ownership of ln and starts accepting.
func New(ln net.Listener, cfg Config) *Mux {
	cfg = cfg.withDefaults(ln)
	m := &Mux{
		ln:      ln,
		cfg:     cfg,
		log:     cfg.Logger.With("component", "mux", "addr", ln.Addr().String()),
		warn:    newWarnLimiter(time.Minute, 256),
		closed:  make(chan struct{}),
		done:    make(chan struct{}),
		peeking: make(map[net.Conn]struct{}),

		pendingBySource: newSourceCounts(),
		httpBySource:    newSourceCounts(),
		peers:           peerSet{m: make(map[*slotConn]Peer)},
	}
	m.raft = &raftLayer{
		childListener: newChildListener(ln.Addr()),
		advertise:     cfg.Advertise,
		dial:          cfg.Dial,
		clientTLS:     cfg.RaftClientTLS,
		addPeer:       m.addPeer,
	}
	m.http = newChildListener(ln.Addr())
	go m.serve()
	return m
}

// RaftLayer returns the raft.StreamLayer for raftlog.NewTransport.
func (m *Mux) RaftLayer() raft.StreamLayer { return m.raft }

// HTTPListener returns the listener for the HTTP (XML-RPC) server.
func (m *Mux) HTTPListener() net.Listener { return m.http }

// Addr returns the shared listener's address.
func (m *Mux) Addr() net.Addr { return m.ln.Addr() }

// Close stops accepting, closes both child listeners and the connections
// still being dispatched, and waits for the dispatches to finish.
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
		key := sourceKey(conn.RemoteAddr())
		if !m.pendingBySource.acquire(key, m.cfg.MaxPendingPerSource) {
			m.stats.refusedPendingSource.Add(1)
			if m.warn.allow("pendingsource " + key.String()) {
				m.log.Warn("mux: too many connections from one source awaiting their first byte or TLS handshake; closing new ones",
					"max_pending_per_source", m.cfg.MaxPendingPerSource, "remote", conn.RemoteAddr().String())
			}
			_ = conn.Close()
			continue
		}
		if m.pending.Add(1) > int64(m.cfg.MaxPending) {
			m.pending.Add(-1)
			m.pendingBySource.release(key)
			m.stats.refusedPending.Add(1)
			if m.warn.allow("pending") {
				m.log.Warn("mux: too many connections awaiting their first byte or TLS handshake; closing new ones",
					"max_pending", m.cfg.MaxPending, "remote", conn.RemoteAddr().String())
			}
			_ = conn.Close()
			continue
		}
		m.conns.Add(1)
		go m.dispatch(&slotConn{Conn: conn}, key)
	}
}

// track registers conn as pending (closed by Close); false if the Mux is
// closing (conn is then closed).
func (m *Mux) track(conn net.Conn) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	select {
	case <-m.closed:
		_ = conn.Close()
		return false
	default:
	}
	m.peeking[conn] = struct{}{}
	return true
}

func (m *Mux) untrack(conn net.Conn) {
	m.mu.Lock()
	delete(m.peeking, conn)
	m.mu.Unlock()
}

// dispatch peeks (and for TLS, handshakes) under deadlines while the
// connection counts as pending, then hands it to a child listener.
func (m *Mux) dispatch(conn *slotConn, key netip.Addr) {
	defer m.conns.Done()
	c, kind, certs := m.classify(conn)
	m.pending.Add(-1)
	m.pendingBySource.release(key)
	if c == nil {
		return
	}
	remote := conn.RemoteAddr().String()
	if kind == "raft" {
		if m.raftConns.Add(1) > int64(m.cfg.MaxRaftConns) {
			m.raftConns.Add(-1)
			m.stats.refusedRaftConns.Add(1)
			if m.warn.allow("raftconns") {
				m.log.Warn("mux: too many open Raft connections; closing new ones", "max_raft_conns", m.cfg.MaxRaftConns,
					"remote", conn.RemoteAddr().String())
			}
			_ = c.Close()
			return
		}
		conn.onClose(func() { m.raftConns.Add(-1) })
		m.addPeer(conn, peerOf(certs, "", remote, kind))
		m.handoff(m.raft.childListener, c, kind)
		return
	}
	if !m.acquireHTTP(key, remote) {
		_ = c.Close()
		return
	}
	conn.onClose(func() { m.releaseHTTP(key) })
	if len(certs) > 0 {
		m.addPeer(conn, peerOf(certs, "", remote, kind))
	}
	m.handoff(m.http, c, kind)
}

// classify reads the first byte and applies the dispatch rules; it returns
// the connection to hand off, "raft" or "http" and the client certificates
// verified at a TLS handshake (leaf first; nil: none), or nil when it
// closed the connection.
func (m *Mux) classify(conn net.Conn) (net.Conn, string, []*x509.Certificate) {
	if !m.track(conn) {
		return nil, "", nil
	}
	defer m.untrack(conn)
	remote := conn.RemoteAddr().String()
	_ = conn.SetReadDeadline(time.Now().Add(m.cfg.PeekTimeout))
	var b [1]byte
	if _, err := conn.Read(b[:]); err != nil {
		if isTimeout(err) {
			m.stats.timedOut.Add(1)
		}
		m.log.Debug("mux: no first byte, closing", "remote", remote, "error", err)
		_ = conn.Close()
		return nil, "", nil
	}
	_ = conn.SetReadDeadline(time.Time{})
	first := &peekedConn{Conn: conn, first: b[0], has: true}
	switch {
	case b[0] == tlsHandshakeByte:
		if m.cfg.TLS == nil {
			m.stats.refusedTLS.Add(1)
			_ = conn.Close()
			return nil, "", nil
		}
		return m.handshake(conn, first)
	case b[0] == RaftByte:
		if !m.cfg.AllowPlainRaft {
			m.stats.refusedPlainRaft.Add(1)
			if m.warn.allow("plainraft " + hostOf(remote)) {
				m.log.Warn("mux: refused a plaintext Raft connection: Raft requires mutual TLS (INSECURE_RAFT is off)", "remote", remote)
			}
			_ = conn.Close()
			return nil, "", nil
		}
		return conn, "raft", nil
	case isASCIILetter(b[0]):
		if !m.cfg.AllowPlainHTTP {
			m.stats.refusedPlainHTTP.Add(1)
			_ = conn.Close()
			return nil, "", nil
		}
		return first, "http", nil
	}
	m.stats.refusedUnknown.Add(1)
	_ = conn.Close()
	return nil, "", nil
}

// handshake runs the TLS server handshake under HandshakeTimeout and
// dispatches by ALPN. A Raft connection must carry a client certificate
// (Config.TLS verifies and authorizes it; this is a second check).
func (m *Mux) handshake(raw net.Conn, first net.Conn) (net.Conn, string, []*x509.Certificate) {
	tc := tls.Server(first, m.cfg.TLS)
	ctx, cancel := context.WithTimeout(context.Background(), m.cfg.HandshakeTimeout)
	defer cancel()
	_ = raw.SetDeadline(time.Now().Add(m.cfg.HandshakeTimeout))
	if err := tc.HandshakeContext(ctx); err != nil {
		if isTimeout(err) || ctx.Err() != nil {
			m.stats.timedOut.Add(1)
		} else {
			m.stats.refusedTLS.Add(1)
		}
		m.log.Debug("mux: TLS handshake failed", "remote", raw.RemoteAddr().String(), "error", err)
		_ = raw.Close()
		return nil, "", nil
	}
	_ = raw.SetDeadline(time.Time{})
	cs := tc.ConnectionState()
	var peer []*x509.Certificate // leaf first, then intermediates
	if len(cs.VerifiedChains) > 0 {
		peer = cs.PeerCertificates
	}
	if cs.NegotiatedProtocol == ALPNRaft {
		if len(cs.PeerCertificates) == 0 {
			m.stats.refusedTLS.Add(1)
			_ = tc.Close()
			return nil, "", nil
		}
		return tc, "raft", cs.PeerCertificates
	}
	switch cs.NegotiatedProtocol {
	case "", "http/1.1", "http/1.0":
		return tc, "http", peer
	}
	// net/http closes a *tls.Conn whose ALPN it has no TLSNextProto for:
	// hand such connections (oneha-rpc) over as HTTP/1.1 in an ALPNConn.
	return ALPNConn{tc}, "http", peer
}

// ALPNConn is a TLS connection that negotiated an ALPN protocol other than
// HTTP/1.x (zoneca.ALPNPeer: server-to-server HTTP/1.1). It is deliberately
// not a *tls.Conn, so net/http serves HTTP/1.1 on it instead of closing it;
// net/http still fills Request.TLS from its ConnectionState.
type ALPNConn struct{ *tls.Conn }

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

func isASCIILetter(b byte) bool { return (b >= 'A' && b <= 'Z') || (b >= 'a' && b <= 'z') }

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout() || errors.Is(err, context.DeadlineExceeded)
}

func hostOf(addr string) string {
	if h, _, err := net.SplitHostPort(addr); err == nil {
		return h
	}
	return addr
}
