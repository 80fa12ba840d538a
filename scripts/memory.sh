#!/usr/bin/env bash
# Resident memory of a release gateway on the embedded default (SQLite, sandbox on):
#   1. with PENDING deliveries waiting (an intake-only instance, engine.workers = 0, takes
#      the records in, so nothing is delivered);
#   2. while a full instance on the same data drains them;
#   3. over a soak of SOAK_SECONDS at RATE records/s with every delivery running.
# Prints the resident set (VmRSS) of each phase and its high-water mark (VmHWM).
#
#   scripts/memory.sh [SOAK_SECONDS] [RATE] [PENDING]
#
# GW and LOADGEN name built binaries (another commit's) instead of building this tree.
set -euo pipefail
cd "$(dirname "$0")/.."
soak=${1:-600}
rate=${2:-1000}
pending_goal=${3:-100000}
port=${PORT:-18090}
url="http://127.0.0.1:$port"
record=schemas/examples/home-volet2-pays-de-la-loire.json

if [ -z "${GW:-}" ] || [ -z "${LOADGEN:-}" ]; then
  cargo build --release -p crt-gateway -p crt-loadgen >&2
fi
gw=${GW:-./target/release/crt-gateway}
loadgen=${LOADGEN:-./target/release/crt-loadgen}
data=$(mktemp -d)
# shellcheck source=lib/sandbox-gateway.sh
. scripts/lib/sandbox-gateway.sh
trap 'stop_gateway; rm -rf "$data"' EXIT

rss() { awk '/^VmRSS/ {printf "%d", $2 / 1024}' "/proc/$gateway/status"; }
hwm() { awk '/^VmHWM/ {printf "%d", $2 / 1024}' "/proc/$gateway/status"; }
load() {
  "$loadgen" --url "$url" --record "$record" "$@" >&2
}

echo "machine: $(nproc) cores, $(uname -m); record: $(wc -c <"$record") bytes"

echo "== 1. intake-only instance, until $pending_goal deliveries are pending"
start_gateway CRT_GATEWAY_ENGINE__WORKERS=0 CRT_GATEWAY_SERVER__MAX_BACKLOG=$((pending_goal * 2))
echo "after start: RSS $(rss) MB"
while [ "$(deliveries pending)" -lt "$pending_goal" ]; do
  load --duration 10 --connections 64
done
echo "pending: $(deliveries pending); RSS $(rss) MB, high-water $(hwm) MB"
stop_gateway

echo "== 2. a full instance drains them"
start_gateway CRT_GATEWAY_SERVER__MAX_BACKLOG=$((pending_goal * 2))
started=$(date +%s)
while true; do
  left=$(deliveries pending)
  echo "  +$(($(date +%s) - started)) s: pending $left, RSS $(rss) MB"
  [ "$left" -eq 0 ] && break
  sleep 10
done
echo "drained in $(($(date +%s) - started)) s; high-water $(hwm) MB; delivered $(deliveries delivered), dead $(deliveries dead)"
stop_gateway

echo "== 3. soak: ${rate}/s for ${soak} s, deliveries running"
rm -rf "${data:?}"/*
start_gateway
load --duration "$soak" --rate "$rate" --connections 256 &
loader=$!
started=$(date +%s)
while kill -0 "$loader" 2>/dev/null; do
  echo "  +$(($(date +%s) - started)) s: RSS $(rss) MB, pending $(deliveries pending)"
  sleep 30
done
wait "$loader" || true
echo "after the soak: RSS $(rss) MB, high-water $(hwm) MB; pending $(deliveries pending), delivered $(deliveries delivered)"
