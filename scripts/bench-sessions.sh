#!/usr/bin/env bash
# Benchmark: a warm run inside a session (files kept; interpreter state
# kept) beside a plain warm run, interleaved. Prints a Markdown table.
#
#   bash scripts/bench-sessions.sh [ROUNDS]
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/engine.sh
IMAGE=${SBX_BENCH_IMAGE:-$(bash scripts/images.sh)}
cargo build --release --locked >&2
exec python3 scripts/bench-sessions.py "${1:-30}" "$IMAGE"
