#!/usr/bin/env bash
# Starts a throwaway PostgreSQL server on loopback for the tests (Debian's packages) and
# prints its URL, for CRT_TEST_POSTGRES_URL. Trust authentication on 127.0.0.1 only: a
# test server, never a deployment.
#
#   export CRT_TEST_POSTGRES_URL=$(scripts/postgres-test-server.sh [DIR] [PORT])
#   scripts/postgres-test-server.sh DIR PORT stop     # stops it at once (a crash, for tests)
#   scripts/postgres-test-server.sh DIR PORT          # starts it again with its data
set -euo pipefail
dir=${1:-/tmp/crt-gateway-pg}
port=${2:-55432}
action=${3:-start}

find_bin() { ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1; }
bin=$(find_bin)
if [ -z "$bin" ]; then
  apt-get install -y -qq postgresql >/dev/null
  bin=$(find_bin)
fi
# The server refuses to run as root: as root, it runs as the postgres user.
as_owner() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}
start_server() {
  as_owner "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w \
    -o "-p $port -k $dir -c listen_addresses=127.0.0.1 -c max_connections=300" start >/dev/null
}
url="postgres://crt@127.0.0.1:$port/crt_gateway_test"
if [ "$action" = stop ]; then
  as_owner "$bin/pg_ctl" -D "$dir/data" -m immediate stop >/dev/null
  exit 0
fi
if as_owner "$bin/pg_ctl" -D "$dir/data" status >/dev/null 2>&1; then
  echo "$url"
  exit 0
fi
if [ -f "$dir/data/PG_VERSION" ]; then
  start_server
  echo "$url"
  exit 0
fi
rm -rf "$dir"
mkdir -p "$dir"
[ "$(id -u)" = 0 ] && chown postgres "$dir"
as_owner "$bin/initdb" -D "$dir/data" -U crt --auth=trust -E UTF8 >/dev/null
start_server
as_owner "$bin/createdb" -h 127.0.0.1 -p "$port" -U crt crt_gateway_test
echo "$url"
