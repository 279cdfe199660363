package oned

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"strings"
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
//
// Rotating sources: checked failures over all sources draw on a token
// bucket (guardFailRate a second, burst guardFailBurst). While it is
// empty, every source that has failed before is refused unchecked, so an
// attacker cycling through addresses gets at most one guess per fresh
// address plus guardFailRate a second; an address without failures is
// always checked at once, so a correct login from it is never delayed.
// An IPv6 /48 in which guardWideAfter /64s started a run of failures is
// backed off as a whole, like one source.
const (
	guardBase    = 100 * time.Millisecond
	guardCap     = 30 * time.Second
	guardSources = 16384
	// guardLogsPerSecond bounds failed-login log lines over all sources;
	// the lines that are skipped are counted in the next one.
	guardLogsPerSecond = 20
	guardFailRate      = 20  // checked failures a second, sustained
	guardFailBurst     = 100 // checked failures at once
	guardWideAfter     = 4   // /64s of a /48 failing before the /48 is slowed
)

// authGuard slows password guessing per source address and logs failures
// without letting a flood fill the disk. Safe for concurrent use.
type authGuard struct {
	log *slog.Logger

	mu       sync.Mutex
	sources  *simplelru.LRU // source key (IPv4, IPv6 /64 or /48) → *failState
	logSec   time.Time      // the second logged counts
	logged   int            // lines written in logSec
	unlogged int            // failures not logged since the last line
	tokens   float64        // the failure bucket: checks of failed sources left
	tokensAt time.Time      // when tokens was last refilled

	failures, refusals atomic.Uint64 // totals, for /metrics
}

// failState is one source's run of consecutive failures. For a /48 it
// counts the /64 runs started inside it (nets); its window opens from
// guardWideAfter of them on.
type failState struct {
	fails   int       // consecutive failures (of a /48: once slowed)
	nets    int       // of a /48: /64s that started a run of failures
	until   time.Time // attempts before this are refused unchecked
	refused int       // attempts refused since the last failure
	probing bool      // an attempt after the window is being checked
}

func newAuthGuard(log *slog.Logger) *authGuard {
	c, err := simplelru.NewLRU(guardSources, nil)
	if err != nil {
		panic(err) // only for a size ≤ 0
	}
	return &authGuard{log: log, sources: c, tokens: guardFailBurst, tokensAt: time.Now()}
}

// sourceKey is the address backoff is kept for: the IP of a host:port,
// IPv6 addresses by their /64 (one host usually owns a whole /64).
func sourceKey(remote string) string {
	return sourcePrefix(remote, 64)
}

// wideKey is the IPv6 /48 of remote, "" for anything else.
func wideKey(remote string) string {
	if k := sourcePrefix(remote, 48); strings.Contains(k, "/48") {
		return k
	}
	return ""
}

func sourcePrefix(remote string, bits6 int) string {
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
		p, _ := ip.WithZone("").Prefix(bits6)
		return p.String()
	}
	return ip.String()
}

// errTooManyFailures is the refusal of an attempt inside a backoff window,
// or (overall) of a source that failed before while the server-wide
// failure bucket is empty.
type errTooManyFailures struct {
	source  string
	retry   time.Duration
	overall bool
}

func (e *errTooManyFailures) Error() string {
	if e.overall {
		return fmt.Sprintf("too many failed logins on this server, %s among them; retry in %s", e.source, e.retry.Round(100*time.Millisecond))
	}
	return fmt.Sprintf("too many failed logins from %s; retry in %s", e.source, e.retry.Round(100*time.Millisecond))
}

// refill adds the tokens earned since tokensAt, up to the burst.
func (g *authGuard) refill(now time.Time) {
	if el := now.Sub(g.tokensAt); el > 0 {
		g.tokens = min(guardFailBurst, g.tokens+el.Seconds()*guardFailRate)
		g.tokensAt = now
	}
}

// takeToken takes a check of a failed source from the bucket, or says how
// long until one is there.
func (g *authGuard) takeToken(now time.Time) (time.Duration, bool) {
	g.refill(now)
	if g.tokens < 1 {
		return time.Duration((1 - g.tokens) / guardFailRate * float64(time.Second)), false
	}
	g.tokens--
	return 0, true
}

// admit returns an *errTooManyFailures while source (or its /48) is inside
// its window, or has failed before and the failure bucket is empty (the
// credentials are then not checked), nil otherwise. After a window a
// source with failures gets one attempt checked at a time, so concurrent
// connections do not multiply its guesses; the caller reports the outcome
// with failed or succeeded. A source without failures is always admitted.
func (g *authGuard) admit(source string) error {
	key, wide := sourceKey(source), wideKey(source)
	now := time.Now()
	g.mu.Lock()
	defer g.mu.Unlock()
	var ws *failState // the /48, when slowed
	if v, ok := g.sources.Get(wide); ok && wide != "" && v.(*failState).nets >= guardWideAfter {
		ws = v.(*failState)
		if wait := ws.until.Sub(now); wait > 0 || ws.probing {
			return g.refuse(ws, wide, wait, false)
		}
	}
	var st *failState
	if v, ok := g.sources.Get(key); ok {
		st = v.(*failState)
		if wait := st.until.Sub(now); wait > 0 || st.probing {
			return g.refuse(st, key, wait, false)
		}
	}
	if st == nil && ws == nil {
		return nil
	}
	if wait, ok := g.takeToken(now); !ok {
		if st == nil {
			st, key = ws, wide
		}
		return g.refuse(st, key, wait, true)
	}
	if st != nil {
		st.probing = true
	}
	if ws != nil {
		ws.probing = true
	}
	return nil
}

func (g *authGuard) refuse(st *failState, key string, wait time.Duration, overall bool) error {
	st.refused++
	g.refusals.Add(1)
	return &errTooManyFailures{source: key, retry: max(wait, guardBase), overall: overall}
}

// failed records a failed login by method from source, opens the next
// window (of the /48 too once guardWideAfter of its /64s failed), takes
// the check from the failure bucket if admit did not, and logs at Warn
// (never the credentials), at most guardLogsPerSecond lines over all
// sources.
func (g *authGuard) failed(source, method string) {
	key, wide := sourceKey(source), wideKey(source)
	now := time.Now()
	g.failures.Add(1)
	g.mu.Lock()
	defer g.mu.Unlock()
	st, charged := g.state(key, now)
	newRun := st.fails == 0
	st.fails++
	st.probing = false
	window := backoff(st.fails)
	st.until = now.Add(window)
	refused := st.refused
	st.refused = 0
	g.sources.Add(key, st)
	if wide != "" {
		ws, wcharged := g.state(wide, now)
		charged = charged || wcharged
		if newRun || ws.nets >= guardWideAfter {
			ws.nets++
		}
		ws.probing = false
		if ws.nets >= guardWideAfter {
			ws.fails++
			ws.until = now.Add(backoff(ws.fails))
		} else {
			ws.until = now
		}
		g.sources.Add(wide, ws)
	}
	if !charged {
		g.takeToken(now) // a fresh source's failure: the bucket may run dry
	}

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

// state is key's run of failures (a new one when unknown or quiet for
// guardCap after its window) and whether admit charged the attempt being
// reported (it was probing).
func (g *authGuard) state(key string, now time.Time) (*failState, bool) {
	v, ok := g.sources.Get(key)
	if !ok {
		return &failState{}, false
	}
	st := v.(*failState)
	charged := st.probing
	if now.Sub(st.until) > guardCap {
		*st = failState{}
	}
	return st, charged
}

// backoff is the window after the n-th consecutive failure.
func backoff(n int) time.Duration {
	if n >= 20 {
		return guardCap
	}
	return min(guardBase<<(n-1), guardCap)
}

// succeeded forgets source's failures, and its /48's.
func (g *authGuard) succeeded(source string) {
	key, wide := sourceKey(source), wideKey(source)
	g.mu.Lock()
	defer g.mu.Unlock()
	g.sources.Remove(key)
	if wide != "" {
		g.sources.Remove(wide)
	}
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
