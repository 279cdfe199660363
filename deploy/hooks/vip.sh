#!/bin/sh
# OpenNebula-compatible raft/vip.sh: "vip.sh leader|follower IFACE IP/CIDR [IFACE IP/CIDR ...]".
# Use it as RAFT_LEADER_HOOK / RAFT_FOLLOWER_HOOK when you prefer a script to
# OneHA's built-in VIP (config key VIP). Needs iproute2 (and arping for GARP).
set -u
role=${1:?usage: vip.sh leader|follower IFACE IP/CIDR ...}
shift
while [ $# -ge 2 ]; do
  iface=$1 addr=$2
  shift 2
  case $role in
    leader)
      ip address replace "$addr" dev "$iface" || exit 1
      if command -v arping >/dev/null 2>&1; then
        ip=${addr%/*}
        # In its own session with no pipes of ours, so the hook returns at
        # once and leaves nothing in the process group the runner watches.
        setsid sh -c 'for _ in 1 2 3 4 5; do
            arping -q -c 1 -U -I "$1" "$2"; arping -c 1 -A -I "$1" "$2"; sleep 1
          done' vip-garp "$iface" "$ip" </dev/null >/dev/null 2>&1 &
      fi
      ;;
    follower)
      if ip -o address show dev "$iface" | grep -q " ${addr%/*}/"; then
        ip address del "$addr" dev "$iface" || exit 1
      fi
      ;;
    *) echo "vip.sh: unknown role $role" >&2; exit 2 ;;
  esac
done
