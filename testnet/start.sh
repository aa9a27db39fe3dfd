#!/usr/bin/env bash
# Starts every node of the testnet in DIR in the background and waits until each answers.
#
#   testnet/start.sh [--dir DIR] [NODE…]      (default: all nodes)
#
# Each node logs to DIR/logs/node<i>.log; its pid is in DIR/node<i>.pid.
set -euo pipefail
source "$(dirname "$0")/common.sh"
parse_dir "$@"
find_binaries
want=("${ARGS[@]+"${ARGS[@]}"}")
started=()
while read -r i http p2p; do
    if [ ${#want[@]} -gt 0 ] && [[ ! " ${want[*]} " =~ " $i " ]]; then continue; fi
    pidf="$DIR/node$i.pid"
    if [ -f "$pidf" ] && kill -0 "$(cat "$pidf")" 2>/dev/null; then
        say "node $i is already running (pid $(cat "$pidf"))"
        continue
    fi
    port_busy "$http" && die "port $http (node $i's HTTP API) is taken by another program; stop it or create the testnet with another --base-port"
    port_busy "$p2p" && die "port $p2p (node $i's peer-to-peer port) is taken by another program; stop it or create the testnet with another --base-port"
    RUST_LOG="${RUST_LOG:-info}" nohup "$GLN" run --data-dir "$DIR/node$i" --genesis "$DIR/genesis.json" \
        --config "$DIR/node$i.toml" >>"$DIR/logs/node$i.log" 2>&1 &
    echo $! >"$pidf"
    started+=("$i $http")
done < <(nodes)
for s in "${started[@]+"${started[@]}"}"; do
    read -r i http <<<"$s"
    for _ in $(seq 1 300); do
        if http_get "127.0.0.1:$http" /v1/health >/dev/null 2>&1; then
            say "node $i: http://127.0.0.1:$http (log: $DIR/logs/node$i.log)"
            continue 2
        fi
        if ! kill -0 "$(cat "$DIR/node$i.pid")" 2>/dev/null; then
            tail -n 20 "$DIR/logs/node$i.log" >&2
            die "node $i exited at start; its log is above"
        fi
        sleep 0.1
    done
    die "node $i did not answer on port $http within 30 s; see $DIR/logs/node$i.log"
done
