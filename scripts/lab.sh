#!/usr/bin/env bash
# make lab: a 3-host OneHA zone in network namespaces, for trying by hand.
#   scripts/lab.sh up     build, create namespaces oneha-lab-{br,s0,s1,s2},
#                         attach this host to the lab bridge, form the zone
#   scripts/lab.sh down   stop everything and remove the namespaces
# Addresses: 198.18.30.0/24 (hosts .1-.3, this host .10, floating IP .100);
# nothing is routed off the machine. Needs root.
set -euo pipefail
cd "$(dirname "$0")/.."
[ "$(id -u)" = 0 ] || { echo "lab: needs root (network namespaces)"; exit 1; }
NET=198.18.30 VIP=198.18.30.100 DIR=/tmp/oneha-lab BIN=$PWD/bin

down() {
  for i in 0 1 2; do
    [ -f "$DIR/s$i/pid" ] && kill "$(cat "$DIR/s$i/pid")" 2>/dev/null || true
  done
  sleep 1
  for ns in oneha-lab-s0 oneha-lab-s1 oneha-lab-s2 oneha-lab-br; do ip netns del "$ns" 2>/dev/null || true; done
  ip link del ohlab0 2>/dev/null || true
  rm -rf "$DIR"
  echo "lab: down"
}

up() {
  make -s bin
  down >/dev/null
  mkdir -p "$DIR"
  echo "oneadmin:lab-$(date +%s)" > "$DIR/one_auth"
  ip netns add oneha-lab-br
  ip -n oneha-lab-br link add br0 type bridge
  ip -n oneha-lab-br link set br0 up
  for i in 0 1 2; do
    ns=oneha-lab-s$i
    ip netns add $ns
    ip -n oneha-lab-br link add vh$i type veth peer name eth0 netns $ns
    ip -n oneha-lab-br link set vh$i master br0 up
    ip -n $ns addr add $NET.$((i + 1))/24 dev eth0
    ip -n $ns link set eth0 up
    ip -n $ns link set lo up
  done
  ip link add ohlab0 type veth peer name vhroot netns oneha-lab-br
  ip -n oneha-lab-br link set vhroot master br0 up
  ip addr add $NET.10/24 dev ohlab0
  ip link set ohlab0 up

  start() { # i server_id
    mkdir -p "$DIR/s$1"
    cat > "$DIR/s$1/oned.yaml" <<CONF
LISTEN_ADDRESS: 0.0.0.0
PORT: 2633
DATA_DIR: $DIR/s$1/data
ONE_AUTH: $DIR/one_auth
FEDERATION: {SERVER_ID: $2}
VIP: [{INTERFACE: eth0, ADDRESS: $VIP/24}]
CONF
    ip netns exec oneha-lab-s$1 "$BIN/oned" --config "$DIR/s$1/oned.yaml" >>"$DIR/s$1/oned.log" 2>&1 &
    echo $! > "$DIR/s$1/pid"
    for _ in $(seq 100); do
      ONE_AUTH=$DIR/one_auth ONE_XMLRPC=http://$NET.$(($1 + 1)):2633/RPC2 "$BIN/onezone" list >/dev/null 2>&1 && return
      sleep 0.1
    done
    echo "lab: server $1 did not start"; tail "$DIR/s$1/oned.log"; exit 1
  }
  export ONE_AUTH=$DIR/one_auth ONE_XMLRPC=http://$NET.1:2633/RPC2
  start 0 -1
  "$BIN/onezone" server-add 0 --name s0 --rpc http://$NET.1:2633/RPC2 >/dev/null
  kill "$(cat "$DIR/s0/pid")"; sleep 1
  start 0 0
  sleep 2
  for i in 1 2; do
    until "$BIN/onezone" server-add 0 --name s$i --rpc http://$NET.$((i + 1)):2633/RPC2 >/dev/null 2>&1; do sleep 0.5; done
    start $i $i
  done
  sleep 3
  "$BIN/onezone" show 0
  cat <<MSG

lab: up. Try (as root):
  export ONE_AUTH=$DIR/one_auth ONE_XMLRPC=http://$VIP:2633/RPC2
  bin/onesql exec "CREATE TABLE t (id INT PRIMARY KEY)"; bin/onezone show 0; bin/onezone members
  kill -9 \$(cat $DIR/s0/pid)      # kill a server (pids in $DIR/s*/pid), watch the VIP move:
  for i in 0 1 2; do ip -n oneha-lab-s\$i -o addr show dev eth0 | grep -q $VIP && echo "s\$i holds the VIP"; done
  scripts/lab.sh down             # or: make lab-down
MSG
}

case "${1:-up}" in
  up) up ;;
  down) down ;;
  *) echo "usage: $0 up|down"; exit 2 ;;
esac
