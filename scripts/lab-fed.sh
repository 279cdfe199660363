#!/usr/bin/env bash
# make lab-fed: a federation of two 3-host OneHA zones in network
# namespaces, built by OpenNebula's procedure, for trying by hand.
#   scripts/lab-fed.sh up     build, create namespaces oneha-fed-{br,m0..m2,s0..s2},
#                             attach this host, form the master zone 0, create
#                             the slave zone on the master (onezone create),
#                             form it, write a federated row and read it back
#   scripts/lab-fed.sh down   stop everything and remove the namespaces
# Addresses: 198.18.31.0/24 (master hosts .1-.3, VIP .100; slave hosts
# .11-.13, VIP .200; this host .250); nothing is routed off the machine.
# Both zones share ONE_AUTH (the same oneadmin). Needs root.
set -euo pipefail
cd "$(dirname "$0")/.."
[ "$(id -u)" = 0 ] || { echo "lab-fed: needs root (network namespaces)"; exit 1; }
NET=198.18.31 DIR=/tmp/oneha-lab-fed BIN=$PWD/bin
MVIP=$NET.100 SVIP=$NET.200
MASTER=http://$MVIP:2633/RPC2 SLAVE=http://$SVIP:2633/RPC2
HOSTS="m0 m1 m2 s0 s1 s2"

ip_of() { # host -> address
  case $1 in m*) echo "$NET.$((${1#m} + 1))" ;; s*) echo "$NET.$((${1#s} + 11))" ;; esac
}

down() {
  for h in $HOSTS; do
    [ -f "$DIR/$h/pid" ] && kill "$(cat "$DIR/$h/pid")" 2>/dev/null || true
  done
  for h in $HOSTS; do # wait for each to exit (it removes its VIP on the way)
    [ -f "$DIR/$h/pid" ] || continue
    for _ in $(seq 50); do kill -0 "$(cat "$DIR/$h/pid")" 2>/dev/null || break; sleep 0.1; done
  done
  for h in $HOSTS br; do ip netns del "oneha-fed-$h" 2>/dev/null || true; done
  ip link del ohfed0 2>/dev/null || true
  rm -rf "$DIR"
  echo "lab-fed: down"
}

# wait_for DESC CMD...: run CMD until it succeeds (60 s at most).
wait_for() {
  local desc=$1; shift
  for _ in $(seq 600); do "$@" >/dev/null 2>&1 && return; sleep 0.1; done
  echo "lab-fed: timed out waiting for $desc"; exit 1
}

up() {
  make -s bin
  down >/dev/null
  mkdir -p "$DIR"
  echo "oneadmin:fedlab-$(date +%s)" > "$DIR/one_auth"
  export ONE_AUTH=$DIR/one_auth
  ip netns add oneha-fed-br
  ip -n oneha-fed-br link add br0 type bridge
  ip -n oneha-fed-br link set br0 up
  i=0
  for h in $HOSTS; do
    ns=oneha-fed-$h
    ip netns add $ns
    ip -n oneha-fed-br link add vh$i type veth peer name eth0 netns $ns
    ip -n oneha-fed-br link set vh$i master br0 up
    ip -n $ns addr add "$(ip_of $h)/24" dev eth0
    ip -n $ns link set eth0 up
    ip -n $ns link set lo up
    i=$((i + 1))
  done
  ip link add ohfed0 type veth peer name vhroot netns oneha-fed-br
  ip -n oneha-fed-br link set vhroot master br0 up
  ip addr add $NET.250/24 dev ohfed0
  ip link set ohfed0 up

  # start HOST ZONE_ID SERVER_ID [FEDERATION extras]: write its config, start it.
  start() {
    local h=$1 zone=$2 id=$3 fed=${4:-} vip=$MVIP name=master
    [ "${h#s}" != "$h" ] && vip=$SVIP name=slave
    mkdir -p "$DIR/$h"
    cat > "$DIR/$h/oned.yaml" <<CONF
LISTEN_ADDRESS: 0.0.0.0
PORT: 2633
DATA_DIR: $DIR/$h/data
ONE_AUTH: $DIR/one_auth
ZONE_NAME: $name
FEDERATION: {ZONE_ID: $zone, SERVER_ID: $id$fed}
VIP: [{INTERFACE: eth0, ADDRESS: $vip/24}]
CONF
    ip netns exec oneha-fed-$h "$BIN/oned" --config "$DIR/$h/oned.yaml" >>"$DIR/$h/oned.log" 2>&1 &
    echo $! > "$DIR/$h/pid"
    for _ in $(seq 100); do
      "$BIN/onezone" --endpoint "http://$(ip_of $h):2633/RPC2" list >/dev/null 2>&1 && return
      sleep 0.1
    done
    echo "lab-fed: $h did not start"; tail "$DIR/$h/oned.log"; exit 1
  }
  stop() { kill "$(cat "$DIR/$1/pid")"; wait "$(cat "$DIR/$1/pid")" || true; }
  leads() { # endpoint zone: the endpoint answers as the zone's leader
    "$BIN/onezone" --endpoint "$1" show "$2" | grep -w leader
  }

  # form ZONE PREFIX FED: seed 003's procedure, then FEDERATION extras FED.
  form() {
    local zone=$1 p=$2 fed=$3 ep
    start ${p}0 "$zone" -1
    "$BIN/onezone" --endpoint "http://$(ip_of ${p}0):2633/RPC2" server-add "$zone" --name ${p}0 --rpc "http://$(ip_of ${p}0):2633/RPC2" >/dev/null
    stop ${p}0
    start ${p}0 "$zone" 0 "$fed"
    ep=http://$(ip_of ${p}0):2633/RPC2
    wait_for "${p}0 to lead zone $zone" leads "$ep" "$zone"
    for n in 1 2; do
      wait_for "server-add ${p}$n" "$BIN/onezone" --endpoint "$ep" server-add "$zone" --name ${p}$n --rpc "http://$(ip_of ${p}$n):2633/RPC2"
      start ${p}$n "$zone" $n "$fed"
    done
    wait_for "zone $zone's 3 voters" voters3 "$ep"
  }
  voters3() { # endpoint: the zone has 3 voters (joiners promoted once caught up)
    [ "$("$BIN/onezone" --endpoint "$1" members | grep -c ' voter')" = 3 ]
  }

  echo "== master zone 0 (MODE: MASTER), VIP $MVIP"
  form 0 m ", MODE: MASTER"
  wait_for "the master's VIP" "$BIN/onezone" --endpoint $MASTER list
  echo "== onezone update 0: the master zone's ENDPOINT is its VIP"
  printf 'ENDPOINT = "%s"\n' "$MASTER" > "$DIR/master.tmpl"
  "$BIN/onezone" --endpoint $MASTER update 0 "$DIR/master.tmpl" --append

  echo "== onezone create on the master: the slave zone, ENDPOINT = its VIP"
  printf 'NAME = "slave"\nENDPOINT = "%s"\n' "$SLAVE" > "$DIR/slave.tmpl"
  out=$("$BIN/onezone" --endpoint $MASTER create "$DIR/slave.tmpl")
  echo "$out"
  SZ=$(echo "$out" | sed -n 's/^ID: *//p')

  echo "== a federated table written on the master (user_pool), before the slave zone runs"
  "$BIN/onesql" --endpoint $MASTER exec "CREATE TABLE user_pool (oid INTEGER PRIMARY KEY, name VARCHAR(128) NOT NULL, created TEXT NOT NULL)"
  "$BIN/onesql" --endpoint $MASTER exec "INSERT INTO user_pool (oid, name, created) VALUES (0, 'oneadmin', CURRENT_TIMESTAMP)"

  echo "== slave zone $SZ (MODE: SLAVE, MASTER_ONED: $MASTER), VIP $SVIP, empty databases"
  form "$SZ" s ", MODE: SLAVE, MASTER_ONED: $MASTER"
  wait_for "the slave's VIP" "$BIN/onezone" --endpoint $SLAVE list
  # The zone table is local to each zone: give the slave zone's own row
  # its ENDPOINT too (its NAME came from ZONE_NAME).
  printf 'ENDPOINT = "%s"\n' "$SLAVE" > "$DIR/slave-self.tmpl"
  "$BIN/onezone" --endpoint $SLAVE update "$SZ" "$DIR/slave-self.tmpl" --append
  echo "== a federated write sent to the slave zone (it forwards it to the master)"
  "$BIN/onesql" --endpoint $SLAVE exec "INSERT INTO user_pool (oid, name, created) VALUES (1, 'from-slave', CURRENT_TIMESTAMP)"
  echo "== a local table in the slave zone, and a transaction mixing both (refused)"
  "$BIN/onesql" --endpoint $SLAVE exec "CREATE TABLE host_pool (oid INTEGER PRIMARY KEY, body TEXT)"
  "$BIN/onesql" --endpoint $SLAVE exec -e "INSERT INTO user_pool (oid, name, created) VALUES (9, 'mixed', 'x')" \
    -e "DELETE FROM host_pool" 2>&1 || true

  has_rows() { # server: holds both user_pool rows
    "$BIN/onesql" --endpoint "http://$(ip_of $1):2633/RPC2" query -c stale "SELECT COUNT(*) FROM user_pool" | grep -w 2
  }
  for h in $HOSTS; do wait_for "user_pool on $h" has_rows $h; done
  echo "== user_pool on the master (VIP $MVIP)"
  "$BIN/onesql" --endpoint $MASTER query "SELECT oid, name, created FROM user_pool ORDER BY oid"
  echo "== user_pool on the slave (VIP $SVIP)"
  "$BIN/onesql" --endpoint $SLAVE query "SELECT oid, name, created FROM user_pool ORDER BY oid"
  echo "== host_pool is local: the master has none"
  "$BIN/onesql" --endpoint $MASTER query "SELECT oid FROM host_pool" 2>&1 || true

  echo "== onezone list (on the master; FED_INDEX is each zone's leader's)"
  "$BIN/onezone" --endpoint $MASTER list
  echo "== onezone show 0 (master zone)"
  "$BIN/onezone" --endpoint $MASTER show 0
  echo "== onezone show $SZ (slave zone)"
  "$BIN/onezone" --endpoint $SLAVE show "$SZ"
  cat <<MSG

lab-fed: up. Try (as root):
  export ONE_AUTH=$DIR/one_auth
  bin/onesql --endpoint $SLAVE exec "INSERT INTO user_pool (oid, name, created) VALUES (2, 'x', 'y')"
  bin/onezone --endpoint $MASTER list              # FED_INDEX of each zone
  kill \$(cat $DIR/s0/pid)                          # pids in $DIR/{m,s}*/pid; logs next to them
  scripts/lab-fed.sh down                          # or: make lab-fed-down
MSG
}

case "${1:-up}" in
  up) up ;;
  down) down ;;
  *) echo "usage: $0 up|down"; exit 2 ;;
esac
