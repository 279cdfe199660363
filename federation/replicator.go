package federation

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/oneha/oneha/sqlfsm"
)

// Source is the master zone's federation log (sqlfsm.FSM).
type Source interface {
	// FedRecords returns up to max records from index from on, and the
	// oldest index the log holds (0: empty).
	FedRecords(ctx context.Context, from uint64, max int) ([]sqlfsm.FedRecord, uint64, error)
	FedLast(ctx context.Context) (uint64, error)
}

// Zone is a slave zone as the master's zone table names it.
type Zone struct {
	ID       int
	Endpoint string
}

// Sender delivers one record to a slave zone (one.zone.fedreplicate).
// It returns nil once the slave zone applied it, a *GapError when the
// slave holds another last index, or another error to retry.
type Sender interface {
	Replicate(ctx context.Context, z Zone, rec sqlfsm.FedRecord, prev uint64) error
	// Snapshot sends the master's federated tables as they are now; it
	// returns the index they hold once the slave zone applied them, or a
	// *GapError when the slave zone already holds that index or more.
	Snapshot(ctx context.Context, z Zone) (uint64, error)
}

// GapError: the slave zone's last federation index is Last.
type GapError struct{ Last uint64 }

func (e *GapError) Error() string {
	return fmt.Sprintf("slave zone's federation log ends at %d", e.Last)
}

// ErrRefused (wrapped by a Sender): the slave zone answered, with a
// failure (not a gap). After a refused snapshot the stream waits
// SnapshotRetry: each attempt reloads every federated table there.
var ErrRefused = errors.New("the slave zone refused")

// ErrAhead: a slave zone holds a federation index the master has not
// reached (the master's database went back, e.g. restored from a backup).
// The stream retries, and says so, until an operator repairs one side.
var ErrAhead = errors.New("slave zone is ahead of the master")

// ErrBehindLog: a slave zone needs records the master's log no longer holds.
var ErrBehindLog = errors.New("slave zone is behind the master's federation log")

// ZoneStatus is how far one slave zone is, as its stream last saw it.
type ZoneStatus struct {
	Zone  int
	Acked uint64 // the slave zone's last index, as its last answer said (0: unknown)
	Err   string // the last failure, "" after a success
}

// Replicator is the master zone leader's stream to every slave zone: one
// goroutine per zone sends the records in order, each after its
// predecessor, and rewinds to the slave's last index on a gap. It runs
// only while its context lives (the leader cancels it on losing
// leadership); a new leader starts from its own log and learns each
// slave's position from the first answer.
type Replicator struct {
	Src   Source
	Send  Sender
	Zones func(ctx context.Context) ([]Zone, error)
	Log   *slog.Logger
	// Poll is how often an idle stream looks for new records and the
	// zone list is re-read (default 200 ms); Notify wakes them sooner.
	Poll time.Duration
	// Batch bounds the records read at a time (default 64).
	Batch int
	// SnapshotRetry is the wait after a snapshot the slave zone refused
	// (default 1 minute).
	SnapshotRetry time.Duration

	mu     sync.Mutex
	status map[int]ZoneStatus
	wake   chan struct{}
}

// Notify wakes the streams: a federated entry was applied.
func (r *Replicator) Notify() {
	r.mu.Lock()
	w := r.wake
	r.mu.Unlock()
	if w != nil {
		select {
		case w <- struct{}{}:
		default:
		}
	}
}

// Status is each slave zone's stream position.
func (r *Replicator) Status() []ZoneStatus {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]ZoneStatus, 0, len(r.status))
	for _, s := range r.status {
		out = append(out, s)
	}
	return out
}

// Run streams until ctx ends. Zones added later get a stream at the next
// poll; a zone that left the list has its stream stopped.
func (r *Replicator) Run(ctx context.Context) {
	poll := r.Poll
	if poll <= 0 {
		poll = 200 * time.Millisecond
	}
	r.mu.Lock()
	r.status = map[int]ZoneStatus{}
	wake := make(chan struct{}, 1)
	r.wake = wake
	r.mu.Unlock()
	type stream struct {
		cancel   context.CancelFunc
		endpoint string
		kick     chan struct{}
	}
	streams := map[int]*stream{}
	var wg sync.WaitGroup
	defer func() {
		for _, s := range streams {
			s.cancel()
		}
		wg.Wait()
	}()
	t := time.NewTicker(poll)
	defer t.Stop()
	for {
		zones, err := r.Zones(ctx)
		if err != nil && ctx.Err() == nil {
			r.Log.Warn("federation: cannot list slave zones", "err", err)
		}
		seen := map[int]bool{}
		for _, z := range zones {
			seen[z.ID] = true
			if s, ok := streams[z.ID]; ok && s.endpoint == z.Endpoint {
				continue
			} else if ok {
				s.cancel() // endpoint changed: restart
			}
			sctx, cancel := context.WithCancel(ctx)
			s := &stream{cancel: cancel, endpoint: z.Endpoint, kick: make(chan struct{}, 1)}
			streams[z.ID] = s
			wg.Go(func() { r.stream(sctx, z, s.kick, poll) })
		}
		for id, s := range streams {
			if !seen[id] {
				s.cancel()
				delete(streams, id)
				r.mu.Lock()
				delete(r.status, id)
				r.mu.Unlock()
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-wake:
			for _, s := range streams {
				select {
				case s.kick <- struct{}{}:
				default:
				}
			}
		}
	}
}

// stream sends z every record after the position z last acknowledged.
// Invariant: a record is sent only with its predecessor's index as prev,
// and next advances only on the slave's own answer (applied, or its last
// index on a gap), so the slave never applies out of order or twice.
func (r *Replicator) stream(ctx context.Context, z Zone, kick <-chan struct{}, poll time.Duration) {
	batch := r.Batch
	if batch <= 0 {
		batch = 64
	}
	var next uint64 // 0: unknown; the first send learns it
	backoff := poll
	fail := func(err error) {
		r.setStatus(z.ID, 0, err.Error())
		if ctx.Err() == nil {
			r.Log.Warn("federation: slave zone stream", "zone", z.ID, "endpoint", z.Endpoint, "err", err)
		}
		select {
		case <-ctx.Done():
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, 5*time.Second)
	}
	for ctx.Err() == nil {
		if next == 0 {
			last, err := r.Src.FedLast(ctx)
			if err != nil {
				fail(err)
				continue
			}
			if last == 0 {
				r.wait(ctx, kick, poll)
				continue
			}
			next = last // probe with the newest record: a gap answer tells the slave's position
		}
		recs, oldest, err := r.Src.FedRecords(ctx, next, batch)
		if err != nil {
			fail(err)
			continue
		}
		if oldest > next {
			// The record it needs was purged: send the tables instead.
			r.Log.Info("federation: slave zone is behind the log; sending a snapshot of the federated tables",
				"zone", z.ID, "needs", next, "log_starts", oldest)
			idx, err := r.Send.Snapshot(ctx, z)
			var gap *GapError
			switch {
			case errors.As(err, &gap):
				idx = gap.Last
			case err != nil:
				fail(fmt.Errorf("%w (needs record %d, the log starts at %d): snapshot: %w", ErrBehindLog, next, oldest, err))
				if errors.Is(err, ErrRefused) {
					select {
					case <-ctx.Done():
					case <-time.After(cmp.Or(r.SnapshotRetry, time.Minute)):
					}
				}
				continue
			}
			next = idx + 1
			r.setStatus(z.ID, idx, "")
			continue
		}
		if len(recs) == 0 {
			r.wait(ctx, kick, poll)
			continue
		}
		for _, rec := range recs {
			err := r.Send.Replicate(ctx, z, rec, rec.Index-1)
			var gap *GapError
			if errors.As(err, &gap) {
				next = gap.Last + 1
				if last, lerr := r.Src.FedLast(ctx); lerr == nil && gap.Last > last {
					// Nothing to send until the master passes it, and
					// then records that do not follow the slave's.
					fail(fmt.Errorf("%w: the slave zone holds federation index %d, the master only %d (was the master restored from an older backup?)", ErrAhead, gap.Last, last))
					next = 0
					break
				}
				r.setStatus(z.ID, gap.Last, "")
				break
			}
			if err != nil {
				fail(fmt.Errorf("record %d: %w", rec.Index, err))
				break
			}
			backoff = poll
			next = rec.Index + 1
			r.setStatus(z.ID, rec.Index, "")
		}
	}
}

func (r *Replicator) wait(ctx context.Context, kick <-chan struct{}, poll time.Duration) {
	select {
	case <-ctx.Done():
	case <-kick:
	case <-time.After(poll):
	}
}

func (r *Replicator) setStatus(zone int, acked uint64, err string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	s := r.status[zone]
	s.Zone = zone
	if acked > 0 || err == "" {
		s.Acked = acked
	}
	s.Err = err
	r.status[zone] = s
}
