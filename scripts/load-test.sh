#!/usr/bin/env bash
# Intake load test: a release gateway on the embedded default (SQLite, durable commit),
# fresh data directory, driven by crt-loadgen at maximum rate and at a fixed rate, with
# two references measured in the same run: a bare hyper endpoint, and the same endpoint
# storing each body in SQLite with the gateway's durability (WAL, synchronous=FULL, group
# commit) on the same disk; `gateway / durable SQLite throughput` is the intake ratio.
#
#   scripts/load-test.sh [SECONDS] [RATE] [intake-only]
#
# `intake-only` starts the gateway with `engine.workers = 0`: it takes records in and
# stores their deliveries, and makes none, as an intake replica does. The run then
# measures intake alone, without the deliveries' signatures, TLS and fsyncs competing
# for the same two cores.
#
# `GW=/path/to/crt-gateway` runs another gateway binary (an older commit's release build)
# under the same load, to compare two versions in one session; with `LOADGEN=` too,
# nothing is built.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-15}
rate=${2:-1000}
mode=${3:-}
port=${PORT:-18080}
case "$mode" in
  "") ;;
  intake-only) export CRT_GATEWAY_ENGINE__WORKERS=0 ;;
  *) echo "unknown mode: $mode (expected intake-only)" >&2; exit 2 ;;
esac

if [ -z "${GW:-}" ] || [ -z "${LOADGEN:-}" ]; then
  cargo build --release -p crt-gateway -p crt-loadgen >&2
fi
loadgen=${LOADGEN:-./target/release/crt-loadgen}
data=$(mktemp -d)
reference=$(mktemp -d)
trap 'kill "$gateway" 2>/dev/null || true; wait "$gateway" 2>/dev/null || true; rm -rf "$data" "$reference"' EXIT

env -u CRT_GATEWAY_TOKEN CRT_GATEWAY_LOG=warn "${GW:-./target/release/crt-gateway}" serve --listen "127.0.0.1:$port" --data "$data" &
gateway=$!
for _ in $(seq 100); do
  curl -fsS "http://127.0.0.1:$port/healthz" >/dev/null 2>&1 && break
  sleep 0.1
done

export CRT_GATEWAY_TOKEN
CRT_GATEWAY_TOKEN=$(cat "$data/sandbox-api-token")
record=schemas/examples/home-volet2-pays-de-la-loire.json
echo "machine: $(nproc) cores, $(uname -m); record: $(wc -c <"$record") bytes; mode: ${mode:-delivering}"
echo "== maximum rate, 64 connections, ${seconds} s"
"$loadgen" --url "http://127.0.0.1:$port" --record "$record" \
  --duration "$seconds" --connections 64 --compare-bare --compare-durable "$reference"
echo "== fixed rate ${rate}/s, ${seconds} s"
rm -f "$reference"/*
"$loadgen" --url "http://127.0.0.1:$port" --record "$record" \
  --duration "$seconds" --rate "$rate" --connections 256 --compare-bare --compare-durable "$reference"
echo "== store after the run"
ls -l "$data"
curl -fsS -H "Authorization: Bearer $CRT_GATEWAY_TOKEN" "http://127.0.0.1:$port/metrics" | grep -E '^crt_gateway_deliveries\{state="(pending|delivered|dead)"\}'
