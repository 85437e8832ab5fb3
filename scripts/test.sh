#!/usr/bin/env bash
# Run the whole test suite: engine and test image first (installed or built
# when missing, once per machine), then unit and integration tests.
#
#   bash scripts/test.sh [extra cargo test arguments]
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/engine.sh

# Tools the CLI tests drive: shells for completions, groff for man pages,
# tmux for a real terminal, jq for the JSON example.
missing=()
for tool in groff zsh fish tmux jq; do
    command -v "$tool" >/dev/null 2>&1 || missing+=("$tool")
done
if [ ${#missing[@]} -gt 0 ]; then
    echo "test.sh: installing ${missing[*]}" >&2
    SUDO=""
    [ "$(id -u)" -eq 0 ] || SUDO="sudo"
    $SUDO apt-get update -q >&2
    $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}" >&2
fi
# The Prometheus project's Python client parses `pool stats --format
# prometheus` in tests/stats.rs.
if ! python3 -c 'import prometheus_client' 2>/dev/null; then
    echo "test.sh: installing prometheus_client" >&2
    python3 -m pip install --quiet prometheus_client >&2
fi

# SBX_TEST_IMAGE (python, javascript) for most tests; SBX_TEST_IMAGE_FULL
# (every toolchain, derived from it) for the per-language tests.
SBX_TEST_IMAGE=$(bash scripts/images.sh)
SBX_TEST_IMAGE_FULL=$(bash scripts/images.sh full)
export SBX_TEST_IMAGE SBX_TEST_IMAGE_FULL
echo "test.sh: testing against $SBX_TEST_IMAGE and $SBX_TEST_IMAGE_FULL" >&2

# Each integration test runs its own agent and containers; two at a time
# suits these two-core machines.
cargo test --locked "$@" -- --test-threads=2

# The same integration suites against Podman (one matrix, not a copy of the
# tests): the harness takes the engine from SBX_TEST_BACKEND.
if [ "${SBX_TEST_PODMAN:-1}" = 1 ] && [ $# -eq 0 ]; then
    bash scripts/podman.sh "$SBX_TEST_IMAGE" "$SBX_TEST_IMAGE_FULL"
    echo "test.sh: running the integration suites against Podman" >&2
    SBX_TEST_BACKEND=podman cargo test --locked --test run --test languages --test options \
        --test fallback --test bench --test isolation -- --test-threads=2
fi
