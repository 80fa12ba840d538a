# Starting and stopping a release gateway on a sandbox data directory, for the
# measurement scripts (sourced, not run). The caller sets `gw` (the binary), `port`,
# `url` (http://127.0.0.1:$port) and `data` (the data directory), and traps EXIT with
# `stop_gateway`.

gateway=""

stop_gateway() {
  if [ -n "$gateway" ]; then
    kill "$gateway" 2>/dev/null || true
    wait "$gateway" 2>/dev/null || true
    gateway=""
  fi
}

# Starts the gateway with the environment assignments given as arguments, waits for its
# health check, and exports the sandbox's API token for the load client.
start_gateway() {
  # The load client's token is not the gateway's configuration.
  env -u CRT_GATEWAY_TOKEN CRT_GATEWAY_LOG=warn "$@" "$gw" serve --listen "127.0.0.1:$port" --data "$data" &
  gateway=$!
  for _ in $(seq 600); do
    curl -fsS "$url/healthz" >/dev/null 2>&1 && break
    sleep 0.05
  done
  CRT_GATEWAY_TOKEN=$(cat "$data/sandbox-api-token")
  export CRT_GATEWAY_TOKEN
}

# The number of deliveries in state $1, from /metrics (0 when none is in it).
deliveries() {
  curl -fsS -H "Authorization: Bearer $CRT_GATEWAY_TOKEN" "$url/metrics" |
    awk -v state="$1" '$1 == "crt_gateway_deliveries{state=\"" state "\"}" {n = $2} END {print n + 0}'
}
