#!/usr/bin/env bash
# Installs what `make test` needs and is missing: MariaDB server binaries
# (tests start their own mariadbd; no service is used), iproute2, nftables,
# iputils-arping, python3, haproxy, linux-perf.
# Uses apt-get when run as root; otherwise says what is missing.
set -euo pipefail

need=()
command -v mariadbd >/dev/null 2>&1 || [ -x /usr/sbin/mariadbd ] || need+=(mariadb-server)
command -v mariadb-install-db >/dev/null 2>&1 || need+=(mariadb-server)
command -v mariadb >/dev/null 2>&1 || need+=(mariadb-client)
command -v ip >/dev/null 2>&1 || [ -x /usr/sbin/ip ] || [ -x /sbin/ip ] || need+=(iproute2)
command -v nft >/dev/null 2>&1 || [ -x /usr/sbin/nft ] || need+=(nftables)
# arping: the vip.sh-style external hook announces the VIP with it.
command -v arping >/dev/null 2>&1 || [ -x /usr/sbin/arping ] || need+=(iputils-arping)
# python3: the XML-RPC interoperability tests run Python's xmlrpc.client.
command -v python3 >/dev/null 2>&1 || need+=(python3)
# haproxy: TestHAProxyExample runs deploy/examples/haproxy.cfg (its own
# process on loopback ports; the policy below keeps the service from starting).
command -v haproxy >/dev/null 2>&1 || [ -x /usr/sbin/haproxy ] || need+=(haproxy)
# perf: BenchmarkAPISideBySide (make bench) counts system calls per write
# with perf stat; without it those columns are n/a.
command -v perf >/dev/null 2>&1 || [ -x /usr/bin/perf ] || need+=(linux-perf)

if [ ${#need[@]} -eq 0 ]; then
  exit 0
fi
mapfile -t need < <(printf '%s\n' "${need[@]}" | sort -u)
if [ "$(id -u)" -ne 0 ]; then
  echo "install-deps: missing ${need[*]}; run as root or: sudo apt-get install ${need[*]}" >&2
  echo "install-deps: tests that need them skip (and fail under CI=true)" >&2
  exit 0
fi
echo "install-deps: installing ${need[*]}"
# Do not let package scripts start a system mariadbd or haproxy: tests run
# their own.
policy=/usr/sbin/policy-rc.d
created_policy=0
if [ ! -e "$policy" ]; then
  printf '#!/bin/sh\nexit 101\n' >"$policy" && chmod +x "$policy" && created_policy=1
fi
trap '[ "$created_policy" = 1 ] && rm -f "$policy"' EXIT
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${need[@]}"
