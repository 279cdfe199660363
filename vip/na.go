package vip

import (
	"net"
	"net/netip"

	"github.com/mdlayher/ndp"
	"golang.org/x/net/ipv6"
)

// na sends unsolicited Neighbor Advertisements (RFC 4861 §7.2.6) for one
// IPv6 address: override flag set, target = VIP, target link-layer address
// option = the interface's MAC, from the VIP to all-nodes (ff02::1).
type na struct {
	ifname string
	ip     netip.Addr
	conn   *ndp.Conn
	msg    *ndp.NeighborAdvertisement
}

// openNA opens an ICMPv6 socket bound to the VIP itself (usable at once:
// Acquire adds it without DAD; the link-local address may still be
// tentative). It never reads: an ICMPv6 filter blocks every type.
func openNA(ifi *net.Interface, ip netip.Addr) (*na, error) {
	conn, _, err := ndp.Listen(ifi, ndp.Addr(ip.String()))
	if err != nil {
		return nil, err
	}
	var f ipv6.ICMPFilter
	f.SetAll(true)
	if err := conn.SetICMPFilter(&f); err != nil {
		_ = conn.Close()
		return nil, err
	}
	msg := &ndp.NeighborAdvertisement{
		Override:      true,
		TargetAddress: ip,
		Options: []ndp.Option{&ndp.LinkLayerAddress{
			Direction: ndp.Target,
			Addr:      ifi.HardwareAddr,
		}},
	}
	return &na{ifname: ifi.Name, ip: ip, conn: conn, msg: msg}, nil
}

func (n *na) send() error {
	return n.conn.WriteTo(n.msg, nil, netip.IPv6LinkLocalAllNodes())
}

func (n *na) String() string { return n.ip.String() + " on " + n.ifname }

func (n *na) Close() error { return n.conn.Close() }
