#!/usr/bin/env bash
# Benchmark: warm `sbx run examples/hello.py` on root's Podman against an
# ordinary user's rootless Podman, interleaved, with the ratio. Prints a
# Markdown table. Needs root (it sets up the user with scripts/rootless.sh).
#
#   bash scripts/bench-rootless.sh [ROUNDS]
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/engine.sh
IMAGE=${SBX_BENCH_IMAGE:-$(bash scripts/images.sh)}
bash scripts/podman.sh "$IMAGE" "$IMAGE" >&2
uid=$(bash scripts/rootless.sh "$IMAGE")
cargo build --release --locked >&2
exec python3 scripts/bench-rootless.py "${1:-20}" "$IMAGE" "$uid"
