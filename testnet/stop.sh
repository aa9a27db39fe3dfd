#!/usr/bin/env bash
# Stops nodes of the testnet in DIR (SIGTERM: in-flight work finishes, the store is flushed).
#
#   testnet/stop.sh [--dir DIR] [NODE…]       (default: all nodes)
set -euo pipefail
source "$(dirname "$0")/common.sh"
parse_dir "$@"
want=("${ARGS[@]+"${ARGS[@]}"}")
[ -f "$DIR/nodes" ] || exit 0
while read -r i _ _; do
    if [ ${#want[@]} -gt 0 ] && [[ ! " ${want[*]} " =~ " $i " ]]; then continue; fi
    pidf="$DIR/node$i.pid"
    [ -f "$pidf" ] || continue
    pid="$(cat "$pidf")"
    if kill -TERM "$pid" 2>/dev/null; then
        for _ in $(seq 1 300); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.1
        done
        if kill -0 "$pid" 2>/dev/null; then
            say "node $i did not stop within 30 s; killing it"
            kill -KILL "$pid" 2>/dev/null || true
        fi
        say "node $i stopped"
    fi
    rm -f "$pidf"
done < <(nodes)
