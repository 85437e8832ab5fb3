#!/usr/bin/env bash
# The benchmark suite: `sbx bench` for python and javascript at concurrency
# 1 and 4, and a sustained-throughput run (500 runs at concurrency 8 against
# a pool of 4), with runs per second and the agent's peak resident memory.
# Prints a Markdown report (see scripts/bench-suite.py for the options).
#
#   bash scripts/bench-suite.sh [--runs N] [--sustained-runs N] [--json FILE]
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/engine.sh
IMAGE=${SBX_BENCH_IMAGE:-$(bash scripts/images.sh)}
cargo build --release --locked >&2
exec python3 scripts/bench-suite.py --image "$IMAGE" "$@"
