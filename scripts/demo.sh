#!/usr/bin/env bash
# make demo: a 3-server OneHA zone on 127.0.0.1 (SQLite), built by seed 003's
# procedure, then a leader failure. No root; everything runs in a temp dir and
# is stopped on exit.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=$PWD/bin
WORK=$(mktemp -d /tmp/oneha-demo.XXXXXX)
BASE_PORT=${DEMO_BASE_PORT:-26330}
declare -A PIDS=()

cleanup() {
  for id in "${!PIDS[@]}"; do kill "${PIDS[$id]}" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
echo "oneadmin:$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')" > "$WORK/one_auth"
export ONE_AUTH=$WORK/one_auth

. scripts/localzone.sh

leader_id() {
  for id in 0 1 2; do
    [ -n "${PIDS[$id]:-}" ] || continue
    [ "$(state_of "$id")" = leader ] && { echo "$id"; return 0; }
  done
  return 1
}

say "Step 1: first server solo (SERVER_ID -1), record it in zone 0"
config 0 -1; start 0
export ONE_XMLRPC=$(endpoint 0)
"$BIN/onezone" server-add 0 --name server-0 --rpc "$(endpoint 0)"
"$BIN/onezone" show 0

say "Restart it with SERVER_ID 0: it leads a one-server zone"
kill "${PIDS[0]}"; wait "${PIDS[0]}" 2>/dev/null || true; unset 'PIDS[0]'
config 0 0; start 0
wait_state 0 leader
"$BIN/onezone" show 0

for id in 1 2; do
  say "Step 2: add server $id on the leader, start it with an EMPTY database: it catches up by itself"
  # One join at a time: the zone refuses a second server-add while the
  # previous server is still a non-voter catching up; retry until promoted.
  for try in $(seq 100); do
    if out=$("$BIN/onezone" server-add 0 --name "server-$id" --rpc "$(endpoint "$id")" 2>&1); then break; fi
    case $out in *"still joining"*) [ "$try" = 1 ] && echo "(waiting: $out)"; sleep 0.2 ;; *) echo "$out"; exit 1 ;; esac
  done
  config "$id" "$id"; start "$id"
  wait_state "$id" follower
done

say "Every server is a voter once caught up (onezone members)"
for _ in $(seq 150); do
  [ "$("$BIN/onezone" members | grep -c ' voter')" = 3 ] && break
  sleep 0.1
done
"$BIN/onezone" members

say "Write through the zone"
"$BIN/onesql" exec "CREATE TABLE vm (id INTEGER PRIMARY KEY, name VARCHAR(64) NOT NULL, created DATETIME)"
for i in $(seq 1 10); do
  "$BIN/onesql" exec "INSERT INTO vm (id, name, created) VALUES (?, ?, CURRENT_TIMESTAMP)" "int:$i" "vm-$i" >/dev/null
done
"$BIN/onesql" query --consistency strong "SELECT COUNT(*) AS acknowledged_rows FROM vm"
"$BIN/onezone" show 0

OLD=$(leader_id)
say "SIGKILL the leader (server $OLD)"
kill -9 "${PIDS[$OLD]}"; wait "${PIDS[$OLD]}" 2>/dev/null || true; unset "PIDS[$OLD]"
T0=$(date +%s%N)
NEW=""
for _ in $(seq 100); do NEW=$(leader_id || true); [ -n "$NEW" ] && break; sleep 0.05; done
[ -n "$NEW" ] || { echo "no new leader"; exit 1; }
echo "new leader: server $NEW after $(( ($(date +%s%N) - T0) / 1000000 )) ms"
export ONE_XMLRPC=$(endpoint "$NEW")
"$BIN/onezone" show 0
"$BIN/onesql" query --consistency strong "SELECT COUNT(*) AS rows_after_failover, MAX(name) AS last FROM vm"
"$BIN/onesql" exec "INSERT INTO vm (id, name, created) VALUES (11, 'after-failover', CURRENT_TIMESTAMP)"

say "Restart the old leader (server $OLD): it rejoins as a follower and catches up"
start "$OLD"
wait_state "$OLD" follower
for _ in $(seq 50); do
  n=$(ONE_XMLRPC=$(endpoint "$OLD") "$BIN/onesql" query --json --consistency stale "SELECT COUNT(*) AS n FROM vm" | tr -dc '0-9' | tail -c 3)
  [ "$n" = "11" ] && break; sleep 0.1
done
ONE_XMLRPC=$(endpoint "$OLD") "$BIN/onesql" query --consistency stale "SELECT COUNT(*) AS rows_on_restarted_server FROM vm"
"$BIN/onezone" show 0

say "Stopping every server"
