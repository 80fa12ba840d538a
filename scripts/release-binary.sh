#!/usr/bin/env bash
# The binary a user downloads: a release build, its debug information split off into
# `crt-gateway.debug` (kept for symbolising a crash report, linked by .gnu_debuglink), the
# shipped file stripped of it. Prints the sizes BENCHMARKS.md tracks.
#
# Usage: scripts/release-binary.sh [OUT_DIR]   (default: target/dist)
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-target/dist}
target=${CARGO_TARGET_DIR:-target}
cargo build --release --locked -p crt-gateway
mkdir -p "$out"
cp "$target/release/crt-gateway" "$out/crt-gateway.full"
objcopy --only-keep-debug "$out/crt-gateway.full" "$out/crt-gateway.debug"
objcopy --strip-all --add-gnu-debuglink="$out/crt-gateway.debug" \
  "$out/crt-gateway.full" "$out/crt-gateway"
rm "$out/crt-gateway.full"
size_of() { stat -c %s "$1"; }
printf 'built:    %12s bytes  %s\n' "$(size_of "$target/release/crt-gateway")" "$target/release/crt-gateway"
printf 'shipped:  %12s bytes  %s\n' "$(size_of "$out/crt-gateway")" "$out/crt-gateway"
printf 'debug:    %12s bytes  %s\n' "$(size_of "$out/crt-gateway.debug")" "$out/crt-gateway.debug"
