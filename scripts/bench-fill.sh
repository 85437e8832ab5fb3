#!/usr/bin/env bash
# Benchmark: bring a pool from 0 to min_size = 8 idle containers (parallel
# creation) against 8 sequential single creations, same agent, same image,
# same run. Prints a Markdown table and the ratio.
#
#   bash scripts/bench-fill.sh [ROUNDS]
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/engine.sh
IMAGE=${SBX_BENCH_IMAGE:-$(bash scripts/images.sh)}
cargo build --release --locked >&2
exec python3 scripts/bench_fill.py "${1:-3}" "$IMAGE"
