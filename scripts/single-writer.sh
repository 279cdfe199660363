#!/usr/bin/env bash
# Where a single writer's time goes, SQLite backend (issue 11's table):
# the issue's load generator against a solo oned (no Raft), then the same
# server as a one-server zone (Raft log, fsync), then a three-server zone
# on 127.0.0.1 (grown as scripts/demo.sh grows it), then direct SQLite.
# 1 and 64 writers, 10 s each after 2 s of warm-up. Needs `make bin` and
# LOADGEN (default: built from /work/shared/tools/loadgen).
# loadgen takes the zone's password only as -auth, so other local users
# can read it in the process list while the script runs: the zone is a
# throwaway one on 127.0.0.1 with a fresh random password, but run this
# only on a machine whose local users you trust.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=$PWD/bin
LOADGEN=${LOADGEN:-}
LGDIR=
if [ -z "$LOADGEN" ]; then
  LGDIR=$(mktemp -d /tmp/oneha-loadgen.XXXXXX)
  LOADGEN=$LGDIR/loadgen
  (cd /work/shared/tools/loadgen && go build -o "$LOADGEN" .)
fi
WORK=$(mktemp -d /tmp/oneha-sg.XXXXXX)
BASE_PORT=${BASE_PORT:-27330}
declare -A PIDS=()
cleanup() { for id in "${!PIDS[@]}"; do kill "${PIDS[$id]}" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$WORK" $LGDIR; }
trap cleanup EXIT
echo "oneadmin:$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')" > "$WORK/one_auth"
export ONE_AUTH=$WORK/one_auth
AUTH=$(cat $WORK/one_auth)
. scripts/localzone.sh
load() { # label
  for w in 1 64; do "$LOADGEN" -target oned -dialect sqlite -addr "$(endpoint 0)" -auth "$AUTH" -writers $w -duration 10s -warmup 2s -table b$w$(echo $1 | tr -d -) -label "$1"; done
}
config 0 -1; start 0
export ONE_XMLRPC=$(endpoint 0)
load solo-no-raft
"$BIN/onezone" server-add 0 --name server-0 --rpc "$(endpoint 0)" >/dev/null
kill "${PIDS[0]}"; wait "${PIDS[0]}" 2>/dev/null || true; unset 'PIDS[0]'
config 0 0; start 0; wait_state 0 leader
load one-server-zone
for id in 1 2; do
  for try in $(seq 100); do if "$BIN/onezone" server-add 0 --name "server-$id" --rpc "$(endpoint "$id")" >/dev/null 2>&1; then break; fi; sleep 0.2; done
  config "$id" "$id"; start "$id"; wait_state "$id" follower
done
for _ in $(seq 150); do [ "$("$BIN/onezone" members | grep -c ' voter')" = 3 ] && break; sleep 0.1; done
load three-server-zone
cd $WORK && for w in 1 64; do "$LOADGEN" -target sqlite -path $WORK/direct.sqlite -writers $w -duration 10s -warmup 2s -label direct-sqlite; done
