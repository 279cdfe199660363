package xmlrpc

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync/atomic"
	"time"

	"golang.org/x/sync/semaphore"
)

// Defaults of the in-flight body budget (see Server.Budget).
const (
	// DefaultInFlight is how many request-body bytes a Server reads and
	// decodes at once, over all requests: 8 bodies of the largest size.
	DefaultInFlight = 8 * DefaultMaxBody
	// DefaultBudgetWait is how long a request waits for budget before it
	// is answered 503 Service Unavailable.
	DefaultBudgetWait = 2 * time.Second
)

// ErrBusy marks a request refused because the server's in-flight body
// budget stayed exhausted for the whole wait.
var ErrBusy = errors.New("xmlrpc: server busy: too many request bytes in flight")

// Budget bounds the memory that request bodies take while they are read
// and decoded: every byte read from a body is charged before the decoder
// sees it and released when the call is decoded. Charging per byte read
// (not per request) means a slow client that has sent 10 bytes holds
// 10 bytes, so stalled connections cannot lock out the others, while the
// decoded values (proportional to the bytes) stay bounded in total.
type Budget struct {
	sem     *semaphore.Weighted
	wait    time.Duration
	refused atomic.Uint64
}

// Refused counts the requests refused for want of budget (0 for nil).
func (b *Budget) Refused() uint64 {
	if b == nil {
		return 0
	}
	return b.refused.Load()
}

// NewBudget allows total bytes in flight; a read waits at most wait for
// room.
func NewBudget(total int64, wait time.Duration) *Budget {
	return &Budget{sem: semaphore.NewWeighted(total), wait: wait}
}

// budgetReader charges every byte read from r to b; release returns what
// it holds and is idempotent.
type budgetReader struct {
	ctx  context.Context
	b    *Budget
	r    io.Reader
	held int64
}

func (b *Budget) reader(ctx context.Context, r io.Reader) *budgetReader {
	return &budgetReader{ctx: ctx, b: b, r: r}
}

// Read reads, then charges the bytes it got. The bytes sit in the caller's
// fixed-size buffer until charged, so a connection stalled in Read holds no
// budget; the decoded values built from charged bytes do.
func (br *budgetReader) Read(p []byte) (int, error) {
	n, err := br.r.Read(p)
	if n > 0 {
		if !br.b.sem.TryAcquire(int64(n)) {
			ctx, cancel := context.WithTimeout(br.ctx, br.b.wait)
			aerr := br.b.sem.Acquire(ctx, int64(n))
			cancel()
			if aerr != nil {
				br.b.refused.Add(1)
				return 0, fmt.Errorf("%w (waited %v)", ErrBusy, br.b.wait)
			}
		}
		br.held += int64(n)
	}
	return n, err
}

func (br *budgetReader) release() {
	if br.held > 0 {
		br.b.sem.Release(br.held)
		br.held = 0
	}
}
