#!/usr/bin/env bash
# Benchmark: 20 warm `sbx run examples/hello.py` against 20 `docker run --rm`
# of the same image, with the ratio. Prints a Markdown table.
#
#   bash scripts/bench.sh [ROUNDS]
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/engine.sh
IMAGE=${SBX_BENCH_IMAGE:-$(bash scripts/images.sh)}
cargo build --release --locked >&2
exec python3 scripts/bench.py "${1:-20}" "$IMAGE"
