#!/usr/bin/env bash
# Prints each node of the testnet in DIR: running or not, log size, connected peers.
#
#   testnet/status.sh [--dir DIR]
set -euo pipefail
source "$(dirname "$0")/common.sh"
parse_dir "$@"
while read -r i http _; do
    if body="$(http_get "127.0.0.1:$http" /v1/health 2>/dev/null)"; then
        size="$(grep -o '"log_size":[0-9]*' <<<"$body" | cut -d: -f2)"
        peers="$(grep -o '"peers":[0-9]*' <<<"$body" | cut -d: -f2)"
        echo "node $i  http://127.0.0.1:$http  up    log_size=$size peers=$peers"
    else
        echo "node $i  http://127.0.0.1:$http  down"
    fi
done < <(nodes)
