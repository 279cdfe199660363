// Package vip holds and announces OneHA's floating IP: the addresses the Raft
// leader owns so clients reach whichever server leads (invariant I6 of
// DESIGN.md: only the leader holds the VIP, apart from at most the
// leader-lease window).
//
// It replaces OpenNebula's vip.sh (`ip address add` + `arping -U`/`-A`)
// with netlink and raw sockets; it never runs external commands.
//
// Invariants:
//   - Acquire adds every configured address (netlink AddrReplace; IPv6 with
//     IFA_F_NODAD, so the address is usable at once) and then announces it:
//     IPv4 by gratuitous ARP in both forms (request with sender = target =
//     VIP, reply with sender = target hardware address), IPv6 by an
//     unsolicited Neighbor Advertisement with the override flag to ff02::1.
//     It returns once the first round is sent; the rest of the schedule (a
//     burst of 5 rounds over 2 s, another ~5 s later) runs in the background.
//   - After Release returns, no announcement is sent any more (the background
//     sender has stopped and its sockets are closed) and no configured
//     address is left on its interface. Release is idempotent.
//   - Held reads the kernel every time; nothing is cached.
//   - Namespaces: every call acts in the network namespace of the calling OS
//     thread. Acquire opens the announcement sockets there and keeps them
//     until Release, so the background bursts and Announce keep sending in
//     Acquire's namespace whichever thread runs them. A caller using several
//     namespaces (tests) must lock its thread into the right one for each
//     call.
//   - No package-level mutable state; a VIP is safe for concurrent use.
package vip
