package vip

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/oneha/oneha/internal/harness"
)

// testLogger logs to stderr with ONEHA_TEST_LOG=1, else discards.
func testLogger() *slog.Logger {
	if os.Getenv("ONEHA_TEST_LOG") == "1" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return nil
}

// do runs fn inside h's namespace and fails the test on error.
func do(t *testing.T, h *harness.Host, what string, fn func() error) {
	t.Helper()
	if err := h.Do(t, fn); err != nil {
		t.Fatalf("%s on %s: %v", what, h.Name, err)
	}
}

// newVIP builds a VIP for cfgs and releases it (in h's namespace) when the
// test ends, before the lab is torn down.
func newVIP(t *testing.T, h *harness.Host, cfgs ...Config) *VIP {
	t.Helper()
	v, err := New(cfgs, testLogger())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = h.Do(t, func() error { return v.Release(context.Background()) })
	})
	return v
}

// held runs Held inside h's namespace.
func held(t *testing.T, h *harness.Host, v *VIP) bool {
	t.Helper()
	var ok bool
	do(t, h, "Held", func() (err error) { ok, err = v.Held(); return err })
	return ok
}

// learn makes from resolve ip: a TCP connect to a closed port needs the
// neighbour entry; the refusal is expected.
func learn(t *testing.T, from *harness.Host, ip netip.Addr) {
	t.Helper()
	_ = from.Do(t, func() error {
		c, err := net.DialTimeout("tcp", netip.AddrPortFrom(ip, 9).String(), time.Second)
		if err == nil {
			c.Close()
		}
		return nil
	})
}

// waitNeighbor polls h's neighbour entry for ip until it is want.
func waitNeighbor(t *testing.T, h *harness.Host, ip netip.Addr, want net.HardwareAddr, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		got, ok := h.Neighbor(t, ip)
		if ok && got.String() == want.String() {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s's neighbour entry for %s = %v (present %v), want %v after %v", h.Name, ip, got, ok, want, timeout)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// failoverLab builds hosts a, b, c with the VIP on b and c's neighbour
// entry for it pointing to b, then moves the address off b (Release).
func failoverLab(t *testing.T, subnet, v6net string, cfg Config) (a, b, c *harness.Host, va *VIP) {
	t.Helper()
	lab := harness.NewLab(t, subnet)
	a, b, c = lab.AddHost(t, "a"), lab.AddHost(t, "b"), lab.AddHost(t, "c")
	if v6net != "" {
		for i, h := range []*harness.Host{a, b, c} {
			h.AddAddr(t, netip.MustParsePrefix(fmt.Sprintf(v6net, i+1)))
		}
	}
	vip := netip.MustParsePrefix(cfg.Address)
	va, vb := newVIP(t, a, cfg), newVIP(t, b, cfg)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	do(t, b, "Acquire", func() error { return vb.Acquire(ctx) })
	learn(t, c, vip.Addr())
	waitNeighbor(t, c, vip.Addr(), b.MAC, 3*time.Second)
	do(t, b, "Release", func() error { return vb.Release(ctx) })
	if slices.Contains(b.Addrs(t), vip) || held(t, b, vb) {
		t.Fatalf("b still holds %s after Release: %v", vip, b.Addrs(t))
	}
	return a, b, c, va
}

// TestFailover moves the VIP from b to a and checks that c, which had
// learnt b's MAC for it, switches to a's MAC by the announcement alone
// (gratuitous ARP for IPv4, unsolicited NA for IPv6). The control cases
// move the address without announcing it: c must keep b's stale MAC, which
// shows the announcement (not a re-resolution) made the difference.
func TestFailover(t *testing.T) {
	tests := []struct {
		name     string
		vip      string
		label    string
		v6net    string // gives each host an address in the VIP's ULA subnet
		announce bool
	}{
		{name: "ipv4", vip: "198.18.7.100/24", label: "eth0:vip", announce: true},
		{name: "ipv6", vip: "fd00:198:18::100/64", v6net: "fd00:198:18::%d/64", announce: true},
		{name: "ipv4 control", vip: "198.18.7.100/24"},
		{name: "ipv6 control", vip: "fd00:198:18::100/64", v6net: "fd00:198:18::%d/64"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cfg := Config{Interface: "eth0", Address: tt.vip, Label: tt.label}
			vip := netip.MustParsePrefix(tt.vip)
			a, b, c, va := failoverLab(t, "198.18.7.0/24", tt.v6net, cfg)
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()

			if !tt.announce {
				a.AddAddr(t, vip) // what a bare `ip address add` does
				time.Sleep(2500 * time.Millisecond)
				if got, ok := c.Neighbor(t, vip.Addr()); !ok || got.String() != b.MAC.String() {
					t.Fatalf("control: c's entry for %s = %v, %v; want b's %v (nothing announced)", vip, got, ok, b.MAC)
				}
				return
			}

			began := time.Now()
			do(t, a, "Acquire", func() error { return va.Acquire(ctx) })
			if d := time.Since(began); d > time.Second {
				t.Errorf("Acquire took %v; it must return after the first announcement", d)
			}
			if !slices.Contains(a.Addrs(t), vip) || !held(t, a, va) {
				t.Fatalf("a lacks %s after Acquire: %v", vip, a.Addrs(t))
			}
			out, err := a.Command(ctx, "ip", "-o", "addr", "show", "dev", "eth0").CombinedOutput()
			if err != nil {
				t.Fatalf("ip addr: %v: %s", err, out)
			}
			for _, line := range strings.Split(string(out), "\n") {
				if !strings.Contains(line, " "+vip.String()+" ") {
					continue
				}
				if strings.Contains(line, "tentative") || strings.Contains(line, "dadfailed") {
					t.Errorf("VIP not usable at once: %s", line)
				}
				if tt.label != "" && !strings.Contains(line, tt.label) {
					t.Errorf("VIP lacks label %q: %s", tt.label, line)
				}
			}

			// c now sends to a without having asked: the announcement moved it.
			waitNeighbor(t, c, vip.Addr(), a.MAC, 5*time.Second)
			do(t, a, "Announce", func() error { return va.Announce(ctx) })

			// Release is complete and idempotent.
			for i := range 2 {
				do(t, a, fmt.Sprintf("Release #%d", i+1), func() error { return va.Release(ctx) })
				if slices.Contains(a.Addrs(t), vip) || held(t, a, va) {
					t.Fatalf("a still holds %s after Release #%d", vip, i+1)
				}
			}
			if err := a.Do(t, func() error { return va.Announce(ctx) }); !errors.Is(err, ErrNotAcquired) {
				t.Fatalf("Announce after Release = %v, want ErrNotAcquired", err)
			}
		})
	}
}

// TestGratuitousARPForms checks that each form alone (request, reply)
// updates an existing neighbour entry at once.
func TestGratuitousARPForms(t *testing.T) {
	for i, form := range []string{"request", "reply"} {
		t.Run(form, func(t *testing.T) {
			t.Parallel()
			cfg := Config{Interface: "eth0", Address: "198.18.10.100/24"}
			vip := netip.MustParsePrefix(cfg.Address)
			a, _, c, _ := failoverLab(t, "198.18.10.0/24", "", cfg)
			a.AddAddr(t, vip)
			do(t, a, "send "+form, func() error {
				ifi, err := net.InterfaceByName("eth0")
				if err != nil {
					return err
				}
				g, err := openGARP(ifi, vip.Addr())
				if err != nil {
					return err
				}
				defer g.Close()
				g.packets = g.packets[i : i+1]
				return g.send()
			})
			waitNeighbor(t, c, vip.Addr(), a.MAC, 2*time.Second)
		})
	}
}

// TestAcquireDualStack holds an IPv4 and an IPv6 address together.
func TestAcquireDualStack(t *testing.T) {
	lab := harness.NewLab(t, "198.18.8.0/24")
	a := lab.AddHost(t, "a")
	v4, v6 := netip.MustParsePrefix("198.18.8.100/32"), netip.MustParsePrefix("fd00:198:18:8::100/64")
	v := newVIP(t, a,
		Config{Interface: "eth0", Address: v4.String()},
		Config{Interface: "eth0", Address: v6.String()})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	do(t, a, "Acquire", func() error { return v.Acquire(ctx) })
	do(t, a, "Acquire again", func() error { return v.Acquire(ctx) }) // restarts the announcements
	addrs := a.Addrs(t)
	if !slices.Contains(addrs, v4) || !slices.Contains(addrs, v6) || !held(t, a, v) {
		t.Fatalf("after Acquire: %v", addrs)
	}
	// Losing one address means the VIP is no longer held.
	out, err := a.Command(ctx, "ip", "addr", "del", v6.String(), "dev", "eth0").CombinedOutput()
	if err != nil {
		t.Fatalf("ip addr del: %v: %s", err, out)
	}
	if held(t, a, v) {
		t.Fatal("Held with the IPv6 address gone")
	}
	// A copy added by hand with another prefix length goes too.
	a.AddAddr(t, netip.PrefixFrom(v4.Addr(), 24))
	do(t, a, "Release", func() error { return v.Release(ctx) })
	for _, p := range a.Addrs(t) {
		if p.Addr() == v4.Addr() || p.Addr() == v6.Addr() {
			t.Fatalf("after Release: %v still there (%v)", p, a.Addrs(t))
		}
	}
}

// TestMissingInterface: Acquire and Held report ErrInterface; Release has
// nothing to do.
func TestMissingInterface(t *testing.T) {
	lab := harness.NewLab(t, "198.18.9.0/24")
	a := lab.AddHost(t, "a")
	v := newVIP(t, a, Config{Interface: "nosuch0", Address: "198.18.9.100/24"})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	tests := []struct {
		name string
		call func() error
		want error
	}{
		{"Acquire", func() error { return v.Acquire(ctx) }, ErrInterface},
		{"Held", func() error { _, err := v.Held(); return err }, ErrInterface},
		{"Announce", func() error { return v.Announce(ctx) }, ErrNotAcquired},
		{"Release", func() error { return v.Release(ctx) }, nil},
	}
	for _, tt := range tests {
		err := a.Do(t, tt.call)
		if tt.want == nil && err != nil || tt.want != nil && !errors.Is(err, tt.want) {
			t.Errorf("%s = %v, want %v", tt.name, err, tt.want)
		}
	}
}

// TestStopAnnouncing: the background bursts outlive Acquire's ctx (callers
// cancel it when Acquire returns) and stop at Release. A short schedule
// keeps it fast.
func TestStopAnnouncing(t *testing.T) {
	short := schedule{rounds: 3, spacing: 100 * time.Millisecond, bursts: 2, gap: 600 * time.Millisecond}
	tests := []struct {
		name string
		stop func(ctx context.Context, cancel context.CancelFunc, v *VIP) error
	}{
		{"release", func(ctx context.Context, _ context.CancelFunc, v *VIP) error { return v.Release(ctx) }},
		{"acquire ctx cancelled, then release", func(ctx context.Context, cancel context.CancelFunc, v *VIP) error {
			cancel() // as callers do when Acquire returns: the bursts must go on
			time.Sleep(2 * short.spacing)
			v.mu.Lock()
			ann := v.ann
			v.mu.Unlock()
			if ann == nil {
				return errors.New("no background announcer after Acquire")
			}
			select {
			case <-ann.done:
				return errors.New("background bursts stopped when Acquire's ctx was cancelled")
			default:
			}
			return v.Release(ctx)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			lab := harness.NewLab(t, "198.18.11.0/24")
			a, b, c := lab.AddHost(t, "a"), lab.AddHost(t, "b"), lab.AddHost(t, "c")
			vip := netip.MustParsePrefix("198.18.11.100/24")
			va := newVIP(t, a, Config{Interface: "eth0", Address: vip.String()})
			va.sched = short
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			actx, acancel := context.WithCancel(ctx)
			defer acancel()

			do(t, a, "Acquire", func() error { return va.Acquire(actx) })
			do(t, a, "stop", func() error { return tt.stop(ctx, acancel, va) })
			va.mu.Lock()
			ann := va.ann
			va.mu.Unlock()
			if ann != nil {
				select {
				case <-ann.done:
				case <-time.After(time.Second):
					t.Fatal("background announcer still running after Release")
				}
			}

			// b takes the address over silently; c learns b. Had a kept
			// announcing, c would flip back to a's MAC.
			b.AddAddr(t, vip)
			learn(t, c, vip.Addr())
			waitNeighbor(t, c, vip.Addr(), b.MAC, 3*time.Second)
			time.Sleep(short.gap + time.Duration(short.rounds)*short.spacing + 300*time.Millisecond)
			if got, ok := c.Neighbor(t, vip.Addr()); !ok || got.String() != b.MAC.String() {
				t.Fatalf("c's entry for %s = %v, %v after a stopped announcing; want b's %v", vip, got, ok, b.MAC)
			}
		})
	}
}
