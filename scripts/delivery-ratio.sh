#!/usr/bin/env bash
# Delivery throughput as a ratio, in one run: the deliveries per second a release gateway
# on the embedded default makes while draining a backlog with every target on its sandbox
# simulator (in the same process, as `serve` runs it), against the RSA-2048 signatures
# per second one core of this machine makes (`openssl speed rsa2048`). A delivery costs a
# few signatures at most (a DMP submission signs its VIHF and its XAdES; a TLS handshake
# signs on each side), so the ratio says how much else a delivery costs.
#
#   scripts/delivery-ratio.sh [RATE] [SECONDS]
#
# An intake-only instance (engine.workers = 0) takes RATE records/s for SECONDS seconds
# (schemas/examples/home-volet2-pays-de-la-loire.json, five deliveries each), then a full
# instance on the same data drains them; its deliveries per second run from its health
# check answering to the last delivery settled. GW and LOADGEN name other binaries (a
# build of another commit) instead of building this tree; RECORD another record (one an
# older binary accepts). BENEFICIARIES spreads the records over that many beneficiaries
# (4096 by default), each record then the first of its beneficiary, its DLU and plan at
# version 1, as a back-fill sends them; 0 sends every record for the example's
# beneficiary as it is (the plan at version 2: each delivery of it first looks up, with
# ITI-18, the version it replaces among all of the patient's documents).
set -euo pipefail
cd "$(dirname "$0")/.."
rate=${1:-200}
seconds=${2:-10}
port=${PORT:-18091}
url="http://127.0.0.1:$port"
record=${RECORD:-schemas/examples/home-volet2-pays-de-la-loire.json}
beneficiaries=${BENEFICIARIES:-4096}
if [ -z "${GW:-}" ] || [ -z "${LOADGEN:-}" ]; then
  cargo build --release -p crt-gateway -p crt-loadgen >&2
fi
gw=${GW:-target/release/crt-gateway}
loadgen=${LOADGEN:-target/release/crt-loadgen}

data=$(mktemp -d)
if [ "$beneficiaries" -gt 0 ]; then
  python3 - "$record" "$data/record.json" <<'PY'
import json, sys
record = json.load(open(sys.argv[1]))
for part in ("dlu", "plan"):
    if part in record:
        record[part]["version"] = 1
json.dump(record, open(sys.argv[2], "w"))
PY
  record="$data/record.json"
fi
# shellcheck source=lib/sandbox-gateway.sh
. scripts/lib/sandbox-gateway.sh
trap 'stop_gateway; rm -rf "$data"' EXIT

unsettled() {
  echo $(( $(deliveries waiting) + $(deliveries pending) + $(deliveries leased) ))
}
now_ms() { date +%s%3N; }

echo "machine: $(nproc) cores, $(uname -m); gateway: $gw"
signatures=$(openssl speed -seconds 10 rsa2048 2>/dev/null | awk '$1 == "rsa" && $2 == "2048" {print $6}')
echo "RSA-2048 signatures per second, one core (openssl speed): $signatures"

start_gateway CRT_GATEWAY_ENGINE__WORKERS=0 CRT_GATEWAY_SERVER__MAX_BACKLOG=1000000
"$loadgen" --url "$url" --record "$record" --duration "$seconds" --rate "$rate" --connections 64 \
  --beneficiaries "$beneficiaries" >&2
backlog=$(unsettled)
echo "backlog: $backlog deliveries of $(( rate * seconds )) records, spread over ${beneficiaries} beneficiaries (0: one)"
stop_gateway

start_gateway CRT_GATEWAY_SERVER__MAX_BACKLOG=1000000
started=$(now_ms)
while [ "$(unsettled)" -gt 0 ]; do
  sleep 0.2
done
elapsed=$(( $(now_ms) - started ))
delivered=$(deliveries delivered)
dead=$(deliveries dead)
stop_gateway
python3 - "$backlog" "$elapsed" "$signatures" "$delivered" "$dead" <<'PY'
import sys
backlog, elapsed_ms, signatures, delivered, dead = sys.argv[1:]
per_second = int(backlog) / (int(elapsed_ms) / 1000)
print(f"drained {backlog} deliveries in {int(elapsed_ms) / 1000:.1f} s: {per_second:.0f} deliveries/s "
      f"(delivered {delivered}, dead {dead})")
print(f"ratio to one core's RSA-2048 signatures: {per_second / float(signatures):.3f}")
PY
