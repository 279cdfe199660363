package harness

// Network-namespace lab: a private layer-2 network for tests of the floating
// IP and of partitions between real hosts.
//
// Invariants (every Lab keeps them, on success and on failure):
//   - everything lives in namespaces the lab creates: the bridge in its own
//     namespace, each host in another; nothing is created or changed in the
//     namespace the test runs in, with one exception: AttachRoot (only when
//     a test calls it) creates one veth there, addressed from the lab subnet
//     and routed to that subnet only, which goes with the lab (deleting the
//     bridge namespace destroys the pair; a cleanup also deletes it); nothing
//     is routed off the machine;
//   - addresses come only from 198.18.0.0/15 (RFC 2544 benchmarking space)
//     for IPv4, and from fd00:198:18::/48 (ULA) for IPv6 added by tests;
//   - every namespace name carries the lab's random id, so parallel labs
//     never collide, and tb.Cleanup deletes every namespace (which destroys
//     the veths and bridge inside), even when the test fails half way.

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
)

// labCmdTimeout bounds each ip/nft command the lab runs.
const labCmdTimeout = 10 * time.Second

// Address space the lab may use (see the invariants above).
var (
	labIPv4Space = netip.MustParsePrefix("198.18.0.0/15")
	labIPv6Space = netip.MustParsePrefix("fd00:198:18::/48")
)

// hostNameRE limits host names: they become part of namespace names.
var hostNameRE = regexp.MustCompile(`^[a-z][a-z0-9]{0,11}$`)

// nftTable is the table Drop installs in a host namespace (families inet and
// arp, so IPv4, IPv6 and ARP are all cut).
const nftTable = "oneha_drop"

// Lab is a private L2 network: a bridge (br0) in its own namespace plus host
// namespaces attached to it by veth pairs. Names are unique per lab (a short
// random id). Cleanup removes everything.
type Lab struct {
	// ID is the lab's random id, part of every namespace name.
	ID string
	// Subnet is the IPv4 subnet hosts get their addresses from.
	Subnet netip.Prefix
	// BridgeNS is the namespace holding the bridge.
	BridgeNS string

	mu    sync.Mutex
	hosts []*Host
	next  netip.Addr // next address to hand out
	nsAll []string   // every namespace created, for cleanup
}

// Host is one namespace attached to the lab's bridge.
type Host struct {
	Name   string
	NS     string           // namespace name (ip netns)
	Iface  string           // interface inside NS, "eth0"
	IP     netip.Addr       // IPv4 address on Iface
	Prefix netip.Prefix     // IP with the subnet's length, e.g. 198.18.7.1/24
	MAC    net.HardwareAddr // Iface's hardware address

	lab  *Lab
	peer string // bridge-side veth in lab.BridgeNS
}

// parseLabSubnet checks that s is an IPv4 subnet inside 198.18.0.0/15 with
// room for hosts.
func parseLabSubnet(s string) (netip.Prefix, error) {
	p, err := netip.ParsePrefix(s)
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("lab subnet %q: %w", s, err)
	}
	if !p.Addr().Is4() {
		return netip.Prefix{}, fmt.Errorf("lab subnet %q: must be IPv4", s)
	}
	if p.Bits() < labIPv4Space.Bits() || !labIPv4Space.Contains(p.Addr()) {
		return netip.Prefix{}, fmt.Errorf("lab subnet %q: must lie inside %s", s, labIPv4Space)
	}
	if p.Bits() > 29 {
		return netip.Prefix{}, fmt.Errorf("lab subnet %q: too small (at most /29)", s)
	}
	return p.Masked(), nil
}

// requireNetnsLab ends the test (RequireOrSkip) unless labs can be built.
func requireNetnsLab(tb testing.TB) {
	tb.Helper()
	RequireOrSkip(tb, os.Geteuid() == 0,
		"netns lab needs root (CAP_NET_ADMIN, CAP_SYS_ADMIN): run the tests as root, e.g. in the dev container")
	_, err := exec.LookPath("ip")
	RequireOrSkip(tb, err == nil, "netns lab needs the ip command: apt-get install iproute2")
}

// NewLab creates the bridge namespace of a lab on subnet (IPv4, inside
// 198.18.0.0/15, e.g. "198.18.7.0/24") and registers its cleanup. It needs
// root; without it the test is skipped (failed in CI).
func NewLab(tb testing.TB, subnet string) *Lab {
	tb.Helper()
	p, err := parseLabSubnet(subnet)
	if err != nil {
		tb.Fatalf("harness: %v", err)
	}
	requireNetnsLab(tb)
	id := make([]byte, 3)
	if _, err := rand.Read(id); err != nil {
		tb.Fatalf("harness: lab id: %v", err)
	}
	l := &Lab{ID: hex.EncodeToString(id), Subnet: p, next: p.Addr().Next()}
	l.BridgeNS = l.nsName("br")
	tb.Cleanup(func() { l.cleanup(tb) })

	l.addNS(tb, l.BridgeNS)
	l.run(tb, "ip", "-n", l.BridgeNS, "link", "add", "br0", "type", "bridge",
		"forward_delay", "0", "stp_state", "0", "mcast_snooping", "0")
	l.run(tb, "ip", "-n", l.BridgeNS, "link", "set", "br0", "up")
	return l
}

func (l *Lab) nsName(suffix string) string { return "oneha-" + l.ID + "-" + suffix }

// addNS creates a namespace (recording it for cleanup first) with lo up.
func (l *Lab) addNS(tb testing.TB, ns string) {
	tb.Helper()
	l.mu.Lock()
	l.nsAll = append(l.nsAll, ns)
	l.mu.Unlock()
	l.run(tb, "ip", "netns", "add", ns)
	l.run(tb, "ip", "-n", ns, "link", "set", "lo", "up")
}

// Namespaces returns every namespace the lab created (bridge and hosts).
func (l *Lab) Namespaces() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.nsAll...)
}

// AddHost creates a host namespace named after name (lowercase letters and
// digits, at most 12), attaches it to the bridge by a veth ("eth0" inside),
// gives it the next free address of the subnet and brings lo and eth0 up.
func (l *Lab) AddHost(tb testing.TB, name string) *Host {
	tb.Helper()
	if !hostNameRE.MatchString(name) {
		tb.Fatalf("harness: host name %q: want %s", name, hostNameRE)
	}
	l.mu.Lock()
	for _, h := range l.hosts {
		if h.Name == name {
			l.mu.Unlock()
			tb.Fatalf("harness: host %q already in lab %s", name, l.ID)
		}
	}
	n := len(l.hosts)
	l.mu.Unlock()
	ip := l.nextAddr(tb)
	h := &Host{
		Name:   name,
		NS:     l.nsName(name),
		Iface:  "eth0",
		IP:     ip,
		Prefix: netip.PrefixFrom(ip, l.Subnet.Bits()),
		lab:    l,
		peer:   fmt.Sprintf("vh%d", n),
	}
	l.addNS(tb, h.NS)
	l.run(tb, "ip", "-n", l.BridgeNS, "link", "add", h.peer, "type", "veth",
		"peer", "name", h.Iface, "netns", h.NS)
	l.run(tb, "ip", "-n", l.BridgeNS, "link", "set", h.peer, "master", "br0", "up")
	l.run(tb, "ip", "-n", h.NS, "addr", "add", h.Prefix.String(), "dev", h.Iface)
	l.run(tb, "ip", "-n", h.NS, "link", "set", h.Iface, "up")
	h.withHandle(tb, func(nh *netlink.Handle) error {
		link, err := nh.LinkByName(h.Iface)
		if err != nil {
			return err
		}
		h.MAC = link.Attrs().HardwareAddr
		return nil
	})
	l.mu.Lock()
	l.hosts = append(l.hosts, h)
	l.mu.Unlock()
	return h
}

// nextAddr takes the next free address of the lab subnet for a host or the
// root attachment; the subnet is full when none is left below the broadcast
// address.
func (l *Lab) nextAddr(tb testing.TB) netip.Addr {
	tb.Helper()
	l.mu.Lock()
	ip := l.next
	l.next = ip.Next()
	l.mu.Unlock()
	if !l.Subnet.Contains(ip) || !l.Subnet.Contains(ip.Next()) { // keep the broadcast address free
		tb.Fatalf("harness: lab subnet %s is full", l.Subnet)
	}
	return ip
}

// cleanup deletes every namespace of the lab. Deleting a namespace destroys
// the interfaces in it (veth pairs go with either end), so nothing remains
// once processes started in the namespaces have exited.
func (l *Lab) cleanup(tb testing.TB) {
	var errs []error
	for _, ns := range l.Namespaces() {
		out, err := exec.Command("ip", "netns", "del", ns).CombinedOutput()
		if err != nil && !bytes.Contains(out, []byte("No such file")) {
			errs = append(errs, fmt.Errorf("ip netns del %s: %v: %s", ns, err, bytes.TrimSpace(out)))
		}
	}
	if err := errors.Join(errs...); err != nil {
		tb.Errorf("harness: lab %s cleanup: %v", l.ID, err)
	}
}

// run runs a lab command (ip, nft) and fails the test on error.
func (l *Lab) run(tb testing.TB, name string, args ...string) {
	tb.Helper()
	if err := runCmd(name, nil, args...); err != nil {
		tb.Fatalf("harness: lab %s: %v", l.ID, err)
	}
}

func runCmd(name string, stdin []byte, args ...string) error {
	ctx, cancel := context.WithTimeout(context.Background(), labCmdTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if stdin != nil {
		cmd.Stdin = bytes.NewReader(stdin)
	}
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s %s: %w: %s", name, strings.Join(args, " "), err, bytes.TrimSpace(out))
	}
	return nil
}

// Command returns a command that runs name inside the host's namespace
// (`ip netns exec NS name args...`). It dies with the test process
// (Pdeathsig); the caller must let it finish (or cancel ctx) before the test
// ends.
func (h *Host) Command(ctx context.Context, name string, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, "ip", append([]string{"netns", "exec", h.NS, name}, args...)...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	return cmd
}

// Do runs fn with the calling OS thread switched into the host's namespace
// and returns fn's error. Sockets and netlink handles fn creates belong to
// the namespace for their whole life, whichever thread uses them later; but
// goroutines fn starts run on other threads and do not inherit the
// namespace. Failing to enter or leave the namespace fails the test (a
// thread that cannot be restored is left locked, so the runtime discards it).
func (h *Host) Do(tb testing.TB, fn func() error) error {
	tb.Helper()
	target, err := netns.GetFromName(h.NS)
	if err != nil {
		tb.Fatalf("harness: namespace %s: %v", h.NS, err)
	}
	defer target.Close()

	runtime.LockOSThread()
	orig, err := netns.Get()
	if err != nil {
		runtime.UnlockOSThread()
		tb.Fatalf("harness: current namespace: %v", err)
	}
	defer orig.Close()
	if err := netns.Set(target); err != nil {
		runtime.UnlockOSThread()
		tb.Fatalf("harness: enter %s: %v", h.NS, err)
	}
	defer func() {
		if err := netns.Set(orig); err != nil {
			tb.Errorf("harness: leave %s: %v (thread discarded)", h.NS, err)
			return // stay locked: the thread dies with this goroutine
		}
		runtime.UnlockOSThread()
	}()
	return fn()
}

// withHandle runs fn with a netlink handle opened in the host's namespace
// (no thread switching needed); errors fail the test.
func (h *Host) withHandle(tb testing.TB, fn func(*netlink.Handle) error) {
	tb.Helper()
	ns, err := netns.GetFromName(h.NS)
	if err != nil {
		tb.Fatalf("harness: namespace %s: %v", h.NS, err)
	}
	defer ns.Close()
	nh, err := netlink.NewHandleAt(ns)
	if err != nil {
		tb.Fatalf("harness: netlink in %s: %v", h.NS, err)
	}
	defer nh.Close()
	if err := fn(nh); err != nil {
		tb.Fatalf("harness: %s: %v", h.Name, err)
	}
}

// LinkDown isolates the host: its veth is set down on the bridge side (the
// host's own interface keeps its addresses but loses carrier).
func (h *Host) LinkDown(tb testing.TB) {
	tb.Helper()
	h.lab.run(tb, "ip", "-n", h.lab.BridgeNS, "link", "set", h.peer, "down")
}

// LinkUp heals LinkDown.
func (h *Host) LinkUp(tb testing.TB) {
	tb.Helper()
	h.lab.run(tb, "ip", "-n", h.lab.BridgeNS, "link", "set", h.peer, "up")
}

// Drop partitions the host without touching links: nftables in the host's
// namespace drop all IPv4, IPv6 and ARP traffic in and out except on lo.
// Idempotent.
func (h *Host) Drop(tb testing.TB) {
	tb.Helper()
	_, err := exec.LookPath("nft")
	RequireOrSkip(tb, err == nil, "Host.Drop needs the nft command: apt-get install nftables")
	script := fmt.Sprintf(`add table inet %[1]s
delete table inet %[1]s
add table arp %[1]s
delete table arp %[1]s
table inet %[1]s {
	chain in { type filter hook input priority filter; policy drop; iifname "lo" accept; }
	chain out { type filter hook output priority filter; policy drop; oifname "lo" accept; }
}
table arp %[1]s {
	chain in { type filter hook input priority filter; policy drop; }
	chain out { type filter hook output priority filter; policy drop; }
}
`, nftTable)
	if err := runCmd("ip", []byte(script), "netns", "exec", h.NS, "nft", "-f", "-"); err != nil {
		tb.Fatalf("harness: drop %s: %v", h.Name, err)
	}
}

// Undrop removes Drop's rules. Idempotent.
func (h *Host) Undrop(tb testing.TB) {
	tb.Helper()
	script := fmt.Sprintf(`add table inet %[1]s
delete table inet %[1]s
add table arp %[1]s
delete table arp %[1]s
`, nftTable)
	if err := runCmd("ip", []byte(script), "netns", "exec", h.NS, "nft", "-f", "-"); err != nil {
		tb.Fatalf("harness: undrop %s: %v", h.Name, err)
	}
}

// AddAddr adds an extra address to the host's Iface: IPv4 inside
// 198.18.0.0/15 or IPv6 inside fd00:198:18::/48 (added with nodad, usable at
// once).
func (h *Host) AddAddr(tb testing.TB, p netip.Prefix) {
	tb.Helper()
	if !labIPv4Space.Contains(p.Addr()) && !labIPv6Space.Contains(p.Addr()) {
		tb.Fatalf("harness: address %s outside the lab's space (%s, %s)", p, labIPv4Space, labIPv6Space)
	}
	args := []string{"-n", h.NS, "addr", "add", p.String(), "dev", h.Iface}
	if p.Addr().Is6() {
		args = append(args, "nodad")
	}
	h.lab.run(tb, "ip", args...)
}

// Addrs returns the addresses on the host's Iface (read from the kernel).
func (h *Host) Addrs(tb testing.TB) []netip.Prefix {
	tb.Helper()
	var out []netip.Prefix
	h.withHandle(tb, func(nh *netlink.Handle) error {
		link, err := nh.LinkByName(h.Iface)
		if err != nil {
			return err
		}
		addrs, err := nh.AddrList(link, netlink.FAMILY_ALL)
		if err != nil {
			return err
		}
		for _, a := range addrs {
			ip, ok := netip.AddrFromSlice(a.IP)
			if !ok {
				continue
			}
			ones, _ := a.Mask.Size()
			out = append(out, netip.PrefixFrom(ip.Unmap(), ones))
		}
		return nil
	})
	return out
}

// usableNeigh are the neighbour states with a valid link-layer address.
const usableNeigh = netlink.NUD_REACHABLE | netlink.NUD_STALE | netlink.NUD_DELAY |
	netlink.NUD_PROBE | netlink.NUD_PERMANENT | netlink.NUD_NOARP

// Neighbor returns the host's neighbour-table entry for ip on Iface (ARP or
// NDP), if there is one with a usable link-layer address.
func (h *Host) Neighbor(tb testing.TB, ip netip.Addr) (net.HardwareAddr, bool) {
	tb.Helper()
	var mac net.HardwareAddr
	h.withHandle(tb, func(nh *netlink.Handle) error {
		link, err := nh.LinkByName(h.Iface)
		if err != nil {
			return err
		}
		family := netlink.FAMILY_V4
		if ip.Is6() {
			family = netlink.FAMILY_V6
		}
		neighs, err := nh.NeighList(link.Attrs().Index, family)
		if err != nil {
			return err
		}
		for _, n := range neighs {
			got, ok := netip.AddrFromSlice(n.IP)
			if ok && got.Unmap() == ip && n.State&usableNeigh != 0 && len(n.HardwareAddr) > 0 {
				mac = n.HardwareAddr
			}
		}
		return nil
	})
	return mac, mac != nil
}

// AttachRoot connects the test process's own namespace to the lab bridge
// (one veth, an address from the lab subnet; the route covers the lab subnet
// only, nothing leaves the machine), so tests can act as the lab's client
// without switching namespaces. It returns the root side's interface name
// and address. Removed with the lab (deleting the bridge namespace destroys
// the pair).
func (l *Lab) AttachRoot(tb testing.TB) (string, netip.Addr) {
	tb.Helper()
	ip := l.nextAddr(tb)
	ifname := "oh" + l.ID
	if len(ifname) > 15 {
		ifname = ifname[:15]
	}
	l.run(tb, "ip", "link", "add", ifname, "type", "veth", "peer", "name", "vhroot", "netns", l.BridgeNS)
	tb.Cleanup(func() { exec.Command("ip", "link", "del", ifname).Run() })
	l.run(tb, "ip", "-n", l.BridgeNS, "link", "set", "vhroot", "master", "br0", "up")
	l.run(tb, "ip", "addr", "add", netip.PrefixFrom(ip, l.Subnet.Bits()).String(), "dev", ifname)
	l.run(tb, "ip", "link", "set", ifname, "up")
	return ifname, ip
}

// RootNeighbor is the root namespace's neighbour entry for ip on ifname
// (the client's view of which MAC holds an address).
func RootNeighbor(tb testing.TB, ifname string, ip netip.Addr) (net.HardwareAddr, bool) {
	tb.Helper()
	link, err := netlink.LinkByName(ifname)
	if err != nil {
		tb.Fatalf("harness: %v", err)
	}
	neighs, err := netlink.NeighList(link.Attrs().Index, netlink.FAMILY_V4)
	if err != nil {
		tb.Fatalf("harness: %v", err)
	}
	for _, n := range neighs {
		if n.IP.Equal(ip.AsSlice()) && len(n.HardwareAddr) > 0 && n.State&(netlink.NUD_FAILED|netlink.NUD_INCOMPLETE) == 0 {
			return n.HardwareAddr, true
		}
	}
	return nil, false
}
