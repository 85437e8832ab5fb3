#!/usr/bin/env bash
# A CI step: run every snippet in a directory in the sandbox and fail on the
# first one that exits non-zero, naming it.
#
#   bash examples/ci-snippets.sh [DIR]      (default: examples/snippets)
set -euo pipefail

dir=${1:-"$(dirname "$0")/snippets"}
for snippet in "$dir"/*; do
    [ -f "$snippet" ] || continue
    echo "--- $snippet"
    # -n: the loop's stdin is not the snippet's.
    if ! sbx run -n --timeout 30s "$snippet"; then
        echo "FAILED: $snippet" >&2
        exit 1
    fi
done
echo "all snippets passed"
