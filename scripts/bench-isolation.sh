#!/usr/bin/env bash
# Benchmark: warm runs with `isolation = "container"` against `"run"`, with
# the ratio. Prints a Markdown table.
#
#   bash scripts/bench-isolation.sh [ROUNDS]
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/engine.sh
IMAGE=${SBX_BENCH_IMAGE:-$(bash scripts/images.sh)}
cargo build --release --locked >&2
exec python3 scripts/bench-isolation.py "${1:-20}" "$IMAGE"
