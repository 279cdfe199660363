package vip

import (
	"errors"
	"fmt"
	"net"
	"net/netip"

	"github.com/mdlayher/arp"
	"github.com/mdlayher/packet"
	"golang.org/x/net/bpf"
	"golang.org/x/sys/unix"
)

// garp sends gratuitous ARP for one IPv4 address, in the two forms arping
// -U and -A use, both to the Ethernet broadcast address:
//   - request: sender = target = VIP, target hardware address broadcast;
//   - reply: sender = target = VIP, target hardware = sender hardware
//     address (Linux only treats a reply as gratuitous when they match).
type garp struct {
	ifname string
	ip     netip.Addr
	client *arp.Client
	bcast  net.HardwareAddr
	// packets are sent in order each round: the request, then the reply.
	packets []*arp.Packet
}

// openGARP opens a raw packet socket on ifi. It never reads: a BPF filter
// drops every incoming frame before it is queued.
func openGARP(ifi *net.Interface, ip netip.Addr) (*garp, error) {
	mac := ifi.HardwareAddr
	if len(mac) != 6 {
		return nil, fmt.Errorf("interface %s has no Ethernet address", ifi.Name)
	}
	broadcast := net.HardwareAddr{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}
	req, err := arp.NewPacket(arp.OperationRequest, mac, ip, broadcast, ip)
	if err != nil {
		return nil, err
	}
	reply, err := arp.NewPacket(arp.OperationReply, mac, ip, mac, ip)
	if err != nil {
		return nil, err
	}
	dropAll, err := bpf.Assemble([]bpf.Instruction{bpf.RetConstant{Val: 0}})
	if err != nil {
		return nil, err
	}
	conn, err := packet.Listen(ifi, packet.Raw, unix.ETH_P_ARP, &packet.Config{Filter: dropAll})
	if err != nil {
		return nil, err
	}
	client, err := arp.New(ifi, conn)
	if err != nil {
		_ = conn.Close()
		return nil, err
	}
	return &garp{ifname: ifi.Name, ip: ip, client: client, bcast: broadcast, packets: []*arp.Packet{req, reply}}, nil
}

func (g *garp) send() error {
	var errs []error
	for _, p := range g.packets {
		errs = append(errs, g.client.WriteTo(p, g.bcast))
	}
	return errors.Join(errs...)
}

func (g *garp) String() string { return g.ip.String() + " on " + g.ifname }

func (g *garp) Close() error { return g.client.Close() }
