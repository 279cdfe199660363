package vip

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"sync"
	"time"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// VIP is a set of floating addresses acquired and released together.
type VIP struct {
	entries []entry
	log     *slog.Logger
	sched   schedule

	mu  sync.Mutex
	ann *announcer // non-nil between Acquire and Release
}

// New validates cfgs (interface names, CIDR addresses, the IPv4 label rule,
// no duplicates) and returns a VIP that holds nothing yet. Errors wrap
// ErrInvalidConfig. A nil logger discards logs.
func New(cfgs []Config, logger *slog.Logger) (*VIP, error) {
	entries, err := validateAll(cfgs)
	if err != nil {
		return nil, err
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &VIP{entries: entries, log: logger, sched: defaultSchedule()}, nil
}

// Addresses returns the configured addresses.
func (v *VIP) Addresses() []netip.Prefix {
	out := make([]netip.Prefix, len(v.entries))
	for i, e := range v.entries {
		out[i] = e.prefix
	}
	return out
}

// link finds an entry's interface in the calling thread's namespace.
func (e entry) link() (netlink.Link, error) {
	l, err := netlink.LinkByName(e.Interface)
	if err != nil {
		return nil, fmt.Errorf("%w %s: %w", ErrInterface, e.Interface, err)
	}
	return l, nil
}

// nlAddr is the netlink form of an entry (IPv6 without DAD).
func (e entry) nlAddr() *netlink.Addr {
	a := &netlink.Addr{IPNet: e.ipNet(), Label: e.Label}
	if e.prefix.Addr().Is6() {
		a.Flags = unix.IFA_F_NODAD
	}
	return a
}

// Acquire adds every address, then sends the first round of announcements
// and returns; the remaining rounds run in the background until the
// schedule ends, Release, or ctx is done. Calling it again restarts the
// announcements. On an error wrapping ErrInterface or ErrAddress some
// addresses may be held: the caller should Release. An error wrapping only
// ErrAnnounce means every address is held but announcing failed.
func (v *VIP) Acquire(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	if err := v.stopLocked(ctx); err != nil {
		v.log.Warn("vip: stop previous announcements", "err", err)
	}
	for _, e := range v.entries {
		l, err := e.link()
		if err != nil {
			return err
		}
		if err := netlink.AddrReplace(l, e.nlAddr()); err != nil {
			return fmt.Errorf("%w: add %s to %s: %w", ErrAddress, e.prefix, e.Interface, err)
		}
	}
	begun := time.Now()
	v.log.Info("vip: acquired", "addresses", v.Addresses())

	senders, err := openSenders(v.entries)
	if err != nil {
		return err
	}
	first := round(ctx, senders)
	if first != nil {
		v.log.Warn("vip: announcement failed", "err", first)
	}
	// The bursts outlive this call (callers cancel ctx when Acquire
	// returns); Release or the next Acquire stops them.
	v.ann = start(context.WithoutCancel(ctx), senders, v.sched, begun, v.log)
	return first
}

// Announce sends one round of announcements on the sockets Acquire opened
// (the leader calls it periodically). It returns ErrNotAcquired outside
// Acquire…Release.
func (v *VIP) Announce(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.ann == nil {
		return ErrNotAcquired
	}
	return round(ctx, v.ann.senders)
}

// Release stops the announcements, then deletes every configured address
// from its interface (any prefix length or label). A missing address or
// interface is not an error, so Release is idempotent. The
// addresses are deleted even when ctx is already done (dropping the VIP is
// what keeps I6); ctx only bounds waiting for the background sender, whose
// sockets are closed in any case before the deletion.
func (v *VIP) Release(ctx context.Context) error {
	v.mu.Lock()
	defer v.mu.Unlock()
	if err := v.stopLocked(ctx); err != nil {
		v.log.Warn("vip: stop announcements", "err", err)
	}
	var errs []error
	for _, e := range v.entries {
		l, err := e.link()
		if err != nil {
			var nf netlink.LinkNotFoundError
			if errors.As(err, &nf) {
				v.log.Warn("vip: interface gone, nothing to release", "interface", e.Interface, "address", e.prefix)
				continue
			}
			errs = append(errs, err)
			continue
		}
		if err := releaseEntry(l, e); err != nil {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return err
	}
	v.log.Info("vip: released", "addresses", v.Addresses())
	return nil
}

// releaseEntry deletes every address on l with e's IP, whatever its prefix
// length or label (one added by hand counts too: I6 forbids a follower to
// hold it). Addresses already gone are not an error.
func releaseEntry(l netlink.Link, e entry) error {
	family := netlink.FAMILY_V4
	if e.prefix.Addr().Is6() {
		family = netlink.FAMILY_V6
	}
	addrs, err := netlink.AddrList(l, family)
	if err != nil {
		return fmt.Errorf("%w: list %s: %w", ErrAddress, e.Interface, err)
	}
	var errs []error
	for _, a := range addrs {
		if ip, ok := netip.AddrFromSlice(a.IP); !ok || ip.Unmap() != e.prefix.Addr() {
			continue
		}
		err := netlink.AddrDel(l, &netlink.Addr{IPNet: a.IPNet})
		if err != nil && !errors.Is(err, unix.EADDRNOTAVAIL) {
			errs = append(errs, fmt.Errorf("%w: delete %s from %s: %w", ErrAddress, a.IPNet, e.Interface, err))
		}
	}
	return errors.Join(errs...)
}

// stopLocked stops the announcer, if any. v.mu is held.
func (v *VIP) stopLocked(ctx context.Context) error {
	if v.ann == nil {
		return nil
	}
	err := v.ann.stop(ctx)
	v.ann = nil
	return err
}

// Held reports whether every configured address is on its interface now,
// usable (not tentative or DAD-failed), read from the kernel.
func (v *VIP) Held() (bool, error) {
	for _, e := range v.entries {
		l, err := e.link()
		if err != nil {
			return false, err
		}
		family := netlink.FAMILY_V4
		if e.prefix.Addr().Is6() {
			family = netlink.FAMILY_V6
		}
		addrs, err := netlink.AddrList(l, family)
		if err != nil {
			return false, fmt.Errorf("%w: list %s: %w", ErrAddress, e.Interface, err)
		}
		if !hasAddr(addrs, e.prefix) {
			return false, nil
		}
	}
	return true, nil
}

// hasAddr reports whether addrs holds p (same address and length), usable.
func hasAddr(addrs []netlink.Addr, p netip.Prefix) bool {
	for _, a := range addrs {
		ip, ok := netip.AddrFromSlice(a.IP)
		if !ok || ip.Unmap() != p.Addr() {
			continue
		}
		if ones, _ := a.Mask.Size(); ones != p.Bits() {
			continue
		}
		return a.Flags&(unix.IFA_F_TENTATIVE|unix.IFA_F_DADFAILED) == 0
	}
	return false
}
