package vip

import (
	"fmt"
	"net"
	"net/netip"
	"strings"
)

// ifNameMax is the longest interface name or address label the kernel
// accepts (IFNAMSIZ - 1).
const ifNameMax = 15

// Config is one floating address.
type Config struct {
	// Interface the address goes on, e.g. "eth0".
	Interface string
	// Address in CIDR form: "198.18.7.100/24" or "fd00:198:18::100/64".
	Address string
	// Label is an optional IPv4 address label, e.g. "eth0:vip". The kernel
	// requires it to start with the interface name. IPv6 has no labels.
	Label string
}

// entry is a validated Config.
type entry struct {
	Config
	prefix netip.Prefix // address with its prefix length (not masked)
}

// ipNet is the address in the form netlink wants.
func (e entry) ipNet() *net.IPNet {
	a := e.prefix.Addr()
	return &net.IPNet{IP: a.AsSlice(), Mask: net.CIDRMask(e.prefix.Bits(), a.BitLen())}
}

// validIfName applies the kernel's rule for interface names (dev_valid_name).
func validIfName(name string) error {
	switch {
	case name == "":
		return fmt.Errorf("empty")
	case len(name) > ifNameMax:
		return fmt.Errorf("%q longer than %d bytes", name, ifNameMax)
	case name == "." || name == "..":
		return fmt.Errorf("%q is reserved", name)
	case strings.ContainsAny(name, "/: \t\n\r\v\f\x00"):
		return fmt.Errorf("%q contains '/', ':' or white space", name)
	}
	return nil
}

// validate checks one Config.
func (c Config) validate() (entry, error) {
	if err := validIfName(c.Interface); err != nil {
		return entry{}, fmt.Errorf("interface name: %v", err)
	}
	p, err := netip.ParsePrefix(strings.TrimSpace(c.Address))
	if err != nil {
		return entry{}, fmt.Errorf("address %q: want IP/prefix-length: %v", c.Address, err)
	}
	a := p.Addr()
	switch {
	case a.Is4In6():
		return entry{}, fmt.Errorf("address %q: IPv4-mapped IPv6; write the IPv4 form", c.Address)
	case a.IsUnspecified(), a.IsLoopback(), a.IsMulticast(), a.IsLinkLocalUnicast():
		return entry{}, fmt.Errorf("address %q: not a usable unicast address", c.Address)
	case a.Is4() && a == p.Masked().Addr() && p.Bits() < 31:
		return entry{}, fmt.Errorf("address %q: is the network address of its subnet", c.Address)
	}
	if c.Label != "" {
		switch {
		case a.Is6():
			return entry{}, fmt.Errorf("label %q: IPv6 addresses have no labels", c.Label)
		case len(c.Label) > ifNameMax:
			return entry{}, fmt.Errorf("label %q: longer than %d bytes", c.Label, ifNameMax)
		case !strings.HasPrefix(c.Label, c.Interface):
			return entry{}, fmt.Errorf("label %q: must start with the interface name %q (e.g. %q)",
				c.Label, c.Interface, c.Interface+":vip")
		case strings.ContainsAny(c.Label, " \t\n\r\v\f\x00"):
			return entry{}, fmt.Errorf("label %q: contains white space", c.Label)
		}
	}
	return entry{Config: c, prefix: p}, nil
}

// validateAll checks every Config and that no address appears twice.
func validateAll(cfgs []Config) ([]entry, error) {
	if len(cfgs) == 0 {
		return nil, fmt.Errorf("%w: no addresses", ErrInvalidConfig)
	}
	seen := make(map[netip.Addr]int, len(cfgs))
	out := make([]entry, 0, len(cfgs))
	for i, c := range cfgs {
		e, err := c.validate()
		if err != nil {
			return nil, fmt.Errorf("%w: entry %d: %v", ErrInvalidConfig, i, err)
		}
		if j, dup := seen[e.prefix.Addr()]; dup {
			return nil, fmt.Errorf("%w: entry %d: address %s already in entry %d", ErrInvalidConfig, i, e.prefix.Addr(), j)
		}
		seen[e.prefix.Addr()] = i
		out = append(out, e)
	}
	return out, nil
}
