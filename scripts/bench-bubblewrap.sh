#!/usr/bin/env bash
# Benchmark: the bubblewrap backend against Docker on one machine, same
# image, same binary, interleaved: warm run, `pool up --warm 8`, and a
# fresh sandbox per run (`--no-pool`), with the ratios. Prints a Markdown
# table.
#
#   bash scripts/bench-bubblewrap.sh [ROUNDS]
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/engine.sh
IMAGE=${SBX_BENCH_IMAGE:-$(bash scripts/images.sh)}
cargo build --release --locked >&2
SBX="${CARGO_TARGET_DIR:-target}/x86_64-unknown-linux-gnu/release/sbx"
# Installs bwrap when missing and unpacks the image, so that no round
# pays for the first unpacking.
bash scripts/bubblewrap.sh "$SBX" "$IMAGE"
exec python3 scripts/bench-bubblewrap.py "${1:-20}" "$IMAGE" "$SBX"
