#!/usr/bin/env bash
# Scripts read sbx's JSON with jq: here, how warm each pool is.
set -euo pipefail

sbx exec -n --lang python 'print("warming")' >/dev/null
sbx pool stats --json |
    jq -r '.pools[] | "\(.name): \(.idle) idle of \(.total_size) (max \(.max_size)), \(.runs) runs"'
