package oned

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/golang-lru/simplelru"
)

// Failed-login backoff: after a failure from a source, its next attempts
// are refused unchecked for a window that starts at guardBase and doubles
// per consecutive failure up to guardCap. At most guardSources sources are
// tracked (least recently seen forgotten first), so memory is bounded
// whatever the number of attacking addresses. A source quiet for guardCap
// after its window ended starts again from guardBase.
const (
	guardBase    = 100 * time.Millisecond
	guardCap     = 30 * time.Second
	guardSources = 16384
	// guardLogsPerSecond bounds failed-login log lines over all sources;
	// the lines that are skipped are counted in the next one.
	guardLogsPerSecond = 20
)

// authGuard slows password guessing per source address and logs failures
// without letting a flood fill the disk. Safe for concurrent use.
type authGuard struct {
	log *slog.Logger

	mu       sync.Mutex
	sources  *simplelru.LRU // source key → *failState
	logSec   time.Time      // the second logged counts
	logged   int            // lines written in logSec
	unlogged int            // failures not logged since the last line

	failures, refusals atomic.Uint64 // totals, for /metrics
}

// failState is one source's run of consecutive failures.
type failState struct {
	fails   int       // consecutive failures
	until   time.Time // attempts before this are refused unchecked
	refused int       // attempts refused since the last failure
	probing bool      // an attempt after the window is being checked
}

func newAuthGuard(log *slog.Logger) *authGuard {
	c, err := simplelru.NewLRU(guardSources, nil)
	if err != nil {
		panic(err) // only for a size ≤ 0
	}
	return &authGuard{log: log, sources: c}
}

// sourceKey is the address backoff is kept for: the IP of a host:port,
// IPv6 addresses by their /64 (one host usually owns a whole /64).
func sourceKey(remote string) string {
	host, _, err := net.SplitHostPort(remote)
	if err != nil {
		host = remote
	}
	ip, err := netip.ParseAddr(host)
	if err != nil {
		return host
	}
	ip = ip.Unmap()
	if ip.Is6() {
		p, _ := ip.Prefix(64)
		return p.String()
	}
	return ip.String()
}

// errTooManyFailures is the refusal of an attempt inside a backoff window.
type errTooManyFailures struct {
	source string
	retry  time.Duration
}

func (e *errTooManyFailures) Error() string {
	return fmt.Sprintf("too many failed logins from %s; retry in %s", e.source, e.retry.Round(100*time.Millisecond))
}

// admit returns an *errTooManyFailures while source is inside its window
// (the credentials are then not checked), nil otherwise. After a window a
// source with failures gets one attempt checked at a time, so concurrent
// connections do not multiply its guesses; the caller reports the outcome
// with failed or succeeded.
func (g *authGuard) admit(source string) error {
	key := sourceKey(source)
	g.mu.Lock()
	defer g.mu.Unlock()
	v, ok := g.sources.Get(key)
	if !ok {
		return nil
	}
	st := v.(*failState)
	wait := time.Until(st.until)
	if wait <= 0 && !st.probing {
		st.probing = true
		return nil
	}
	st.refused++
	g.refusals.Add(1)
	return &errTooManyFailures{key, max(wait, guardBase)}
}

// failed records a failed login by method from source, opens the next
// window and logs at Warn (never the credentials), at most once per
// window per source and guardLogsPerSecond lines over all sources.
func (g *authGuard) failed(source, method string) {
	key := sourceKey(source)
	now := time.Now()
	g.failures.Add(1)
	g.mu.Lock()
	defer g.mu.Unlock()
	st := &failState{}
	if v, ok := g.sources.Get(key); ok {
		st = v.(*failState)
		if now.Sub(st.until) > guardCap {
			*st = failState{}
		}
	}
	st.fails++
	st.probing = false
	window := guardCap
	if st.fails < 20 {
		window = min(guardBase<<(st.fails-1), guardCap)
	}
	st.until = now.Add(window)
	refused := st.refused
	st.refused = 0
	g.sources.Add(key, st)

	if sec := now.Truncate(time.Second); !sec.Equal(g.logSec) {
		g.logSec, g.logged = sec, 0
	}
	if g.logged >= guardLogsPerSecond {
		g.unlogged++
		return
	}
	g.logged++
	g.log.Warn("failed login", "method", method, "remote", source, "consecutive_failures", st.fails,
		"refused_in_window", refused, "next_attempt_in", window, "unlogged_other_failures", g.unlogged)
	g.unlogged = 0
}

// succeeded forgets source's failures.
func (g *authGuard) succeeded(source string) {
	key := sourceKey(source)
	g.mu.Lock()
	defer g.mu.Unlock()
	g.sources.Remove(key)
}

// remoteKey carries the client's address (http.Request.RemoteAddr) in the
// context handed to XML-RPC handlers.
type remoteKey struct{}

// withRemote puts r.RemoteAddr in the request's context for the handlers
// behind h (the xmlrpc.Server passes r.Context() on).
func withRemote(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), remoteKey{}, r.RemoteAddr)))
	})
}

// remoteAddr is the client address withRemote stored ("" when none).
func remoteAddr(ctx context.Context) string {
	a, _ := ctx.Value(remoteKey{}).(string)
	return a
}

// authenticate checks a session string from the client at source: refused
// unchecked inside a backoff window, a failure logged and slowed, a
// success clearing the source's failures.
func (s *Server) authenticate(source, method, session string) error {
	if err := s.guard.admit(source); err != nil {
		return err
	}
	if err := s.auth.check(session); err != nil {
		s.guard.failed(source, method)
		return err
	}
	s.guard.succeeded(source)
	return nil
}
