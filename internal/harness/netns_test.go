package harness

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestNetnsSubnet(t *testing.T) {
	tests := []struct {
		subnet string
		want   string // masked prefix, "" for an error
	}{
		{"198.18.7.0/24", "198.18.7.0/24"},
		{"198.19.255.0/24", "198.19.255.0/24"},
		{"198.18.7.9/24", "198.18.7.0/24"},
		{"198.18.0.0/15", "198.18.0.0/15"},
		{"198.18.0.0/29", "198.18.0.0/29"},
		{"198.18.0.0/30", ""}, // too small
		{"198.16.0.0/14", ""}, // wider than the allowed space
		{"10.0.0.0/24", ""},
		{"198.20.0.0/24", ""},
		{"fd00:198:18::/64", ""},
		{"198.18.7.0", ""},
		{"", ""},
	}
	for _, tt := range tests {
		t.Run(tt.subnet, func(t *testing.T) {
			got, err := parseLabSubnet(tt.subnet)
			if tt.want == "" {
				if err == nil {
					t.Fatalf("parseLabSubnet(%q) = %v, want an error", tt.subnet, got)
				}
				return
			}
			if err != nil || got.String() != tt.want {
				t.Fatalf("parseLabSubnet(%q) = %v, %v; want %s", tt.subnet, got, err, tt.want)
			}
		})
	}
}

// listen opens a TCP listener on h's address inside h's namespace and
// accepts (and closes) connections until the test ends.
func listen(t *testing.T, h *Host) string {
	t.Helper()
	var ln net.Listener
	if err := h.Do(t, func() (err error) {
		ln, err = net.Listen("tcp", netip.AddrPortFrom(h.IP, 0).String())
		return err
	}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	return ln.Addr().String()
}

// dial reports whether from can open a TCP connection to addr.
func dial(t *testing.T, from *Host, addr string) error {
	t.Helper()
	return from.Do(t, func() error {
		c, err := net.DialTimeout("tcp", addr, 300*time.Millisecond)
		if err == nil {
			c.Close()
		}
		return err
	})
}

// eventually polls cond until it holds or the timeout passes.
func eventually(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func netnsList(t *testing.T) string {
	t.Helper()
	out, err := exec.Command("ip", "netns", "list").CombinedOutput()
	if err != nil {
		t.Fatalf("ip netns list: %v: %s", err, out)
	}
	return string(out)
}

func TestNetnsLab(t *testing.T) {
	var names []string
	t.Run("lab", func(t *testing.T) {
		l := NewLab(t, "198.18.7.0/24")
		a, b := l.AddHost(t, "a"), l.AddHost(t, "b")
		names = l.Namespaces()

		// Addresses, MACs and namespaces as documented.
		for i, h := range []*Host{a, b} {
			want := netip.MustParsePrefix("198.18.7." + strconv.Itoa(i+1) + "/24")
			if h.Prefix != want || h.IP != want.Addr() || h.Iface != "eth0" || len(h.MAC) != 6 {
				t.Fatalf("host %s: prefix %v ip %v iface %q mac %v", h.Name, h.Prefix, h.IP, h.Iface, h.MAC)
			}
			if !slices.Contains(h.Addrs(t), want) {
				t.Fatalf("host %s: Addrs %v lack %v", h.Name, h.Addrs(t), want)
			}
			if len(h.NS) > 0 && !strings.Contains(netnsList(t), h.NS) {
				t.Fatalf("namespace %s missing from ip netns list", h.NS)
			}
		}

		// Command runs inside the namespace: it sees b's address, not ours.
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		out, err := b.Command(ctx, "ip", "-o", "addr", "show", "dev", "eth0").CombinedOutput()
		if err != nil || !strings.Contains(string(out), b.Prefix.String()) {
			t.Fatalf("Command in b: %v: %s", err, out)
		}

		addr := listen(t, b)
		if err := dial(t, a, addr); err != nil {
			t.Fatalf("a→b before faults: %v", err)
		}
		if mac, ok := a.Neighbor(t, b.IP); !ok || mac.String() != b.MAC.String() {
			t.Fatalf("a's neighbour entry for b = %v, %v; want %v", mac, ok, b.MAC)
		}

		faults := []struct {
			name        string
			break_, fix func(testing.TB)
		}{
			{"link", b.LinkDown, b.LinkUp},
			{"drop", b.Drop, b.Undrop},
		}
		for _, f := range faults {
			f.break_(t)
			if err := dial(t, a, addr); err == nil {
				t.Fatalf("%s: a→b connected while b is cut off", f.name)
			}
			f.fix(t)
			eventually(t, 5*time.Second, f.name+": a→b after healing", func() bool {
				return dial(t, a, addr) == nil
			})
		}

		// Do restores the thread: fn's error comes back unchanged, and the
		// test's own namespace is untouched afterwards.
		sentinel := errors.New("sentinel")
		if err := a.Do(t, func() error { return sentinel }); !errors.Is(err, sentinel) {
			t.Fatalf("Do returned %v, want the sentinel", err)
		}
	})
	if len(names) == 0 {
		return // skipped (not root)
	}
	list := netnsList(t)
	for _, ns := range names {
		if strings.Contains(list, ns) {
			t.Errorf("namespace %s left behind after cleanup:\n%s", ns, list)
		}
	}
}
