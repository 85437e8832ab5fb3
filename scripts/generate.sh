#!/usr/bin/env bash
# Regenerate completions/ and man/ from the CLI definition. A test fails
# when the committed files differ from what this produces.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo run --quiet --locked -- generate --completions completions --man man
