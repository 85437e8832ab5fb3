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
SBX_TEST_IMAGE=$(bash scripts/images.sh)
export SBX_TEST_IMAGE
echo "test.sh: testing against $SBX_TEST_IMAGE" >&2

# Each integration test runs its own agent and containers; two at a time
# suits these two-core machines.
cargo test --locked "$@" -- --test-threads=2
