# Helpers for scripts that run OneHA servers on 127.0.0.1 (sourced by
# demo.sh and single-writer.sh). The caller sets BIN (the built binaries),
# WORK (a temp dir), BASE_PORT, ONE_AUTH, and declares PIDS as an
# associative array (server id -> oned's pid).

port() { echo $((BASE_PORT + $1)); }
endpoint() { echo "http://127.0.0.1:$(port "$1")/RPC2"; }

config() { # id server_id
  mkdir -p "$WORK/server-$1"
  cat > "$WORK/server-$1/oned.yaml" <<CONF
LISTEN_ADDRESS: 127.0.0.1
PORT: $(port "$1")
DATA_DIR: $WORK/server-$1/data
ONE_AUTH: $WORK/one_auth
LOG_LEVEL: warn
FEDERATION: {SERVER_ID: $2}
CONF
}

start() { # id
  "$BIN/oned" --config "$WORK/server-$1/oned.yaml" 2>>"$WORK/server-$1/oned.log" &
  PIDS[$1]=$!
  for _ in $(seq 100); do
    ONE_XMLRPC=$(endpoint "$1") "$BIN/onezone" list >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  echo "server $1 did not start:"; cat "$WORK/server-$1/oned.log"; exit 1
}

state_of() { # id → leader|follower|...
  ONE_XMLRPC=$(endpoint "$1") "$BIN/onezone" show 0 2>/dev/null | awk -v id="$1" '/HA & FEDERATION/ {s=1; next} s && $1==id {print $3; exit}'
}

wait_state() { # id state
  for _ in $(seq 150); do
    [ "$(state_of "$1")" = "$2" ] && return 0
    sleep 0.1
  done
  echo "server $1 never became $2; its log and view:"; tail -20 "$WORK/server-$1/oned.log"
  ONE_XMLRPC=$(endpoint "$1") "$BIN/onezone" show 0 || true
  exit 1
}

