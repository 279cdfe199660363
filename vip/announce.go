package vip

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"time"
)

// sender announces one address on its interface; its socket was opened in
// the namespace where Acquire ran.
type sender interface {
	// send transmits one round of announcements for the address.
	send() error
	// String names the address and interface, for logs and errors.
	String() string
	Close() error
}

// schedule is when announcement rounds go out after Acquire: bursts of
// rounds spaced by spacing, the bursts starting gap apart. The first round
// of the first burst is sent by Acquire itself.
type schedule struct {
	rounds  int
	spacing time.Duration
	bursts  int
	gap     time.Duration
}

// defaultSchedule follows vip.sh (5 rounds over about 2 s) and adds a second
// burst ~5 s later for switches and hosts that missed the first.
func defaultSchedule() schedule {
	return schedule{rounds: 5, spacing: 500 * time.Millisecond, bursts: 2, gap: 5 * time.Second}
}

// offsets returns the times, relative to Acquire, of every round after the
// first.
func (s schedule) offsets() []time.Duration {
	var out []time.Duration
	for b := range s.bursts {
		for r := range s.rounds {
			if b == 0 && r == 0 {
				continue
			}
			out = append(out, time.Duration(b)*s.gap+time.Duration(r)*s.spacing)
		}
	}
	return out
}

// round sends one announcement per sender; it tries them all and joins the
// failures.
func round(ctx context.Context, senders []sender) error {
	var errs []error
	for _, s := range senders {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := s.send(); err != nil {
			errs = append(errs, fmt.Errorf("%w: %s: %w", ErrAnnounce, s, err))
		}
	}
	return errors.Join(errs...)
}

// announcer is the state of an acquired VIP: open sockets and the
// background bursts.
type announcer struct {
	senders []sender
	cancel  context.CancelFunc
	done    chan struct{}
}

// start runs the rest of sched in the background until it ends or ctx is
// cancelled (Release, or the caller's context).
func start(ctx context.Context, senders []sender, sched schedule, begun time.Time, log *slog.Logger) *announcer {
	ctx, cancel := context.WithCancel(ctx)
	a := &announcer{senders: senders, cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(a.done)
		for _, off := range sched.offsets() {
			t := time.NewTimer(time.Until(begun.Add(off)))
			select {
			case <-ctx.Done():
				t.Stop()
				return
			case <-t.C:
			}
			if err := round(ctx, senders); err != nil && ctx.Err() == nil {
				log.Warn("vip: announcement failed", "err", err)
			}
		}
		log.Debug("vip: announcement bursts done")
	}()
	return a
}

// stop cancels the background bursts, waits for them to end (or ctx), then
// closes the sockets, so nothing is sent after stop returns.
func (a *announcer) stop(ctx context.Context) error {
	a.cancel()
	select {
	case <-a.done:
	case <-ctx.Done():
		// Closing the sockets below makes any late write fail.
	}
	var errs []error
	for _, s := range a.senders {
		if err := s.Close(); err != nil {
			errs = append(errs, fmt.Errorf("close %s: %w", s, err))
		}
	}
	return errors.Join(errs...)
}

// openSenders opens one sender per entry, in the calling thread's namespace.
func openSenders(entries []entry) ([]sender, error) {
	var out []sender
	for _, e := range entries {
		ifi, err := net.InterfaceByName(e.Interface)
		if err != nil {
			closeAll(out)
			return nil, fmt.Errorf("%w %s: %w", ErrInterface, e.Interface, err)
		}
		var s sender
		if e.prefix.Addr().Is4() {
			s, err = openGARP(ifi, e.prefix.Addr())
		} else {
			s, err = openNA(ifi, e.prefix.Addr())
		}
		if err != nil {
			closeAll(out)
			return nil, fmt.Errorf("%w: open %s on %s: %w", ErrAnnounce, e.prefix.Addr(), e.Interface, err)
		}
		out = append(out, s)
	}
	return out, nil
}

func closeAll(senders []sender) {
	for _, s := range senders {
		_ = s.Close()
	}
}
