package xmlrpc

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/semaphore"
)

// Defaults of the in-flight body budget (see Server.Budget).
const (
	// DefaultInFlight is how many request-body bytes a Server reads and
	// decodes at once, over all requests of clients: 8 bodies of the
	// largest size.
	DefaultInFlight = 8 * DefaultMaxBody
	// DefaultBudgetWait is how long a request waits for budget before it
	// is answered 503 Service Unavailable.
	DefaultBudgetWait = 2 * time.Second
	// SourceShare is the part of the budget one source address may hold
	// by default: Total/SourceShare, but at least a body of DefaultMaxBody
	// (plus the byte that proves a body too large).
	SourceShare = 8
)

// ErrBusy marks a request refused because the server's in-flight body
// budget, or the requesting address's share of it, stayed exhausted for
// the whole wait.
var ErrBusy = errors.New("xmlrpc: server busy: too many request bytes in flight")

// BudgetLimits configures a Budget.
type BudgetLimits struct {
	// Total is the most body bytes held at once by all clients that are
	// not verified peers.
	Total int64
	// PerSource is the most of Total one source holds at once: an IPv4
	// address, or an IPv6 /64 (one host usually owns a whole /64).
	PerSource int64
	// PeerReserve is a separate pool for requests over TLS with a verified
	// client certificate (with zoneca.ServerConfig: authorized zone peers,
	// e.g. calls a follower forwards), so that a flood of clients cannot
	// stop forwarding. 0: such requests share Total like any client.
	PeerReserve int64
	// Wait is how long a read waits for room before the request is refused.
	Wait time.Duration
}

// Budget bounds the memory that request bodies take while they are read
// and decoded: every byte read from a body is charged before the decoder
// sees it and released when the call is decoded. Charging per byte read
// (not per request) means a slow client that has sent 10 bytes holds
// 10 bytes, so stalled connections cannot lock out the others, while the
// decoded values (proportional to the bytes) stay bounded in total. A
// source that sends large bodies fast and then stalls holds at most
// PerSource bytes, so one address cannot take the whole budget; verified
// peers draw on their own reserve. Memory is bounded by Total+PeerReserve
// bytes and one small record per source with a request being decoded.
type Budget struct {
	pool    *semaphore.Weighted // Total, for clients
	peers   *semaphore.Weighted // PeerReserve (nil: peers use pool)
	share   int64
	wait    time.Duration
	refused atomic.Uint64
	held    atomic.Int64 // bytes held now, over both pools

	mu      sync.Mutex
	sources map[netip.Prefix]*sourceShare // only sources with a request being decoded
}

// sourceShare is one source's part of the budget; it lives while readers
// of that source exist.
type sourceShare struct {
	sem     *semaphore.Weighted
	readers int
}

// Refused counts the requests refused for want of budget (0 for nil).
func (b *Budget) Refused() uint64 {
	if b == nil {
		return 0
	}
	return b.refused.Load()
}

// InFlight is the number of body bytes held now (0 for nil).
func (b *Budget) InFlight() int64 {
	if b == nil {
		return 0
	}
	return b.held.Load()
}

// NewBudget allows total bytes in flight from clients, at most
// max(total/SourceShare, DefaultMaxBody+1) of them (never more than total)
// from one source, plus a reserve of total/2 for verified peers; a read
// waits at most wait for room.
func NewBudget(total int64, wait time.Duration) *Budget {
	return NewBudgetLimits(BudgetLimits{
		Total:       total,
		PerSource:   min(total, max(total/SourceShare, DefaultMaxBody+1)),
		PeerReserve: total / 2,
		Wait:        wait,
	})
}

// NewBudgetLimits returns a Budget with limits l; a PerSource outside
// (0, Total] means Total (no share below the whole).
func NewBudgetLimits(l BudgetLimits) *Budget {
	b := &Budget{pool: semaphore.NewWeighted(l.Total), share: l.PerSource, wait: l.Wait, sources: map[netip.Prefix]*sourceShare{}}
	if b.share <= 0 || b.share > l.Total {
		b.share = l.Total
	}
	if l.PeerReserve > 0 {
		b.peers = semaphore.NewWeighted(l.PeerReserve)
	}
	return b
}

// sourcePrefix is the source a request is charged to: its IPv4 address or
// its IPv6 /64; ok false when RemoteAddr names no IP address.
func sourcePrefix(remote string) (netip.Prefix, bool) {
	host, _, err := net.SplitHostPort(remote)
	if err != nil {
		host = remote
	}
	ip, err := netip.ParseAddr(host)
	if err != nil {
		return netip.Prefix{}, false
	}
	ip = ip.Unmap().WithZone("")
	bits := 32
	if ip.Is6() {
		bits = 64
	}
	p, _ := ip.Prefix(bits)
	return p, true
}

// budgetReader charges every byte read from r to its pool and its
// source's share; release returns what it holds and is idempotent.
type budgetReader struct {
	ctx  context.Context
	b    *Budget
	r    io.Reader
	pool *semaphore.Weighted
	key  netip.Prefix
	src  *sourceShare // nil: not limited per source (a peer)
	who  string
	held int64
	done bool
}

// reader returns the budgetReader for req's body: a verified peer's (a
// TLS client certificate that crypto/tls verified) charges the peer
// reserve, anyone else's the client pool and its source's share.
func (b *Budget) reader(req *http.Request) *budgetReader {
	br := &budgetReader{ctx: req.Context(), b: b, r: req.Body, pool: b.pool}
	if b.peers != nil && req.TLS != nil && len(req.TLS.VerifiedChains) > 0 {
		br.pool = b.peers
		return br
	}
	key, ok := sourcePrefix(req.RemoteAddr) // no IP: all such requests share the zero key
	br.key, br.who = key, key.String()
	if !ok {
		br.who = "this address"
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	s := b.sources[key]
	if s == nil {
		s = &sourceShare{sem: semaphore.NewWeighted(b.share)}
		b.sources[key] = s
	}
	s.readers++
	br.src = s
	return br
}

// Read reads, then charges the bytes it got. The bytes sit in the caller's
// fixed-size buffer until charged, so a connection stalled in Read holds no
// budget; the decoded values built from charged bytes do.
func (br *budgetReader) Read(p []byte) (int, error) {
	n, err := br.r.Read(p)
	if n > 0 {
		if cerr := br.charge(int64(n)); cerr != nil {
			br.b.refused.Add(1)
			return 0, cerr
		}
	}
	return n, err
}

// charge takes n bytes from the source's share, then from the pool, both
// within one wait; on failure it holds nothing more than before.
func (br *budgetReader) charge(n int64) error {
	var ctx context.Context // one deadline for both, made only if needed
	cancel := context.CancelFunc(func() {})
	defer func() { cancel() }()
	acquire := func(s *semaphore.Weighted) bool {
		if s.TryAcquire(n) {
			return true
		}
		if ctx == nil {
			ctx, cancel = context.WithTimeout(br.ctx, br.b.wait)
		}
		return s.Acquire(ctx, n) == nil
	}
	if br.src != nil && !acquire(br.src.sem) {
		return fmt.Errorf("%w from %s: it already holds its share of %d bytes (waited %v)", ErrBusy, br.who, br.b.share, br.b.wait)
	}
	if !acquire(br.pool) {
		if br.src != nil {
			br.src.sem.Release(n)
		}
		return fmt.Errorf("%w (waited %v)", ErrBusy, br.b.wait)
	}
	br.held += n
	br.b.held.Add(n)
	return nil
}

func (br *budgetReader) release() {
	if br.held > 0 {
		br.pool.Release(br.held)
		if br.src != nil {
			br.src.sem.Release(br.held)
		}
		br.b.held.Add(-br.held)
		br.held = 0
	}
	if br.src != nil && !br.done {
		br.done = true
		br.b.mu.Lock()
		defer br.b.mu.Unlock()
		if br.src.readers--; br.src.readers == 0 {
			delete(br.b.sources, br.key)
		}
	}
}
