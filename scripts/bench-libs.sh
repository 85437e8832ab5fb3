#!/usr/bin/env bash
# Benchmark: a pool of 4 warm containers for a profile with libraries.
# First `pool up` (the derived image is built), second `pool up` from a new
# agent (the image is reused), against the reference design of installing
# the libraries in each of the 4 containers. Same run, same image, same
# package index (served on 127.0.0.1 by this script). Prints a table.
#
#   bash scripts/bench-libs.sh [ROUNDS]
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/engine.sh
IMAGE=${SBX_BENCH_IMAGE:-$(bash scripts/images.sh)}
cargo build --release --locked >&2
exec python3 scripts/bench_libs.py "${1:-1}" "$IMAGE"
