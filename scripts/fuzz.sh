#!/usr/bin/env bash
# Runs every fuzz target (fuzz/fuzz_targets/) for SECONDS each (default 300), from the
# seeds in fuzz/seeds/ and the regression inputs in fuzz/regressions/, and prints one line
# per target: runs, executions per second, corpus size, crashes. A crash leaves its input
# under fuzz/artifacts/<target>/; fix it, then keep the input in fuzz/regressions/<target>/.
#
#   scripts/fuzz.sh [SECONDS] [TARGET...]
set -euo pipefail
cd "$(dirname "$0")/../fuzz"
seconds=${1:-300}
shift || true

if ! command -v cargo-fuzz >/dev/null 2>&1; then
  cargo install cargo-fuzz --locked --quiet
fi
# cargo fuzz passes -Z flags (sanitizer, coverage); the machine's one toolchain is stable.
export RUSTC_BOOTSTRAP=1

targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  mapfile -t targets < <(cargo fuzz list)
fi
cargo fuzz build --release

status=0
for target in "${targets[@]}"; do
  mkdir -p "corpus/$target" "regressions/$target" "artifacts/$target"
  cp -n seeds/"$target"/* "corpus/$target/" 2>/dev/null || true
  log="artifacts/$target/last-run.log"
  if cargo fuzz run --release "$target" "corpus/$target" "regressions/$target" -- \
      -max_total_time="$seconds" -max_len=262144 -rss_limit_mb=2048 -timeout=10 \
      -print_final_stats=1 >"$log" 2>&1; then
    outcome="clean"
  else
    outcome="CRASH (see $log and artifacts/$target/)"
    status=1
  fi
  runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' || echo "?")
  speed=$(grep -o 'stat::average_exec_per_sec: *[0-9]*' "$log" | grep -o '[0-9]*$' || echo "?")
  corpus=$(find "corpus/$target" -type f | wc -l)
  printf '%-14s %10s runs %8s exec/s %6s inputs  %s\n' "$target" "$runs" "$speed" "$corpus" "$outcome"
done
exit $status
