#!/usr/bin/env bash
# Creates a local consortium in DIR (default testnet/.net): an admin key, N node data dirs, a
# genesis naming the N nodes' peer ids, and one config per node on 127.0.0.1 ports.
#
#   testnet/create.sh [--nodes N] [--base-port P] [--dir DIR]
#
# Node i serves HTTP on P+i-1, peer-to-peer on P+100+i-1 and the PACT API (HTTPS) on
# P+200+i-1 (P defaults to 7170), and bootstraps to every other node. One PACT client,
# "testnet", may use every node: its secret is in DIR/pact-client.txt, and each node's CA in
# DIR/node<i>/pact-tls/ca.pem once the node has started. Logs go to DIR/logs/node<i>.log once started.
set -euo pipefail
source "$(dirname "$0")/common.sh"
parse_dir "$@"
set -- "${ARGS[@]+"${ARGS[@]}"}"
N=3
BASE="${GL_TESTNET_PORT:-7170}"
while [ $# -gt 0 ]; do
    case "$1" in
        --nodes | -n) N="$2"; shift 2 ;;
        --base-port) BASE="$2"; shift 2 ;;
        -h | --help) sed -n '2,11p' "$0"; exit 0 ;;
        *) die "unknown argument $1 (see --help)" ;;
    esac
done
[[ "$N" =~ ^[0-9]+$ ]] && [ "$N" -ge 1 ] && [ "$N" -le 50 ] || die "--nodes must be between 1 and 50"
[[ "$BASE" =~ ^[0-9]+$ ]] && [ "$BASE" -ge 1024 ] && [ "$BASE" -le 65000 ] || die "--base-port must be between 1024 and 65000"
find_binaries
[ -e "$DIR/genesis.json" ] && die "a testnet already exists in $DIR; remove it with testnet/clean.sh --dir $DIR"
mkdir -p "$DIR/logs"
DIR="$(cd "$DIR" && pwd)"

"$GL" key generate --out "$DIR/admin.key" >/dev/null
ADMIN="$("$GL" key show --key "$DIR/admin.key" | tail -n1)"
peers=()
for i in $(seq 1 "$N"); do
    peers+=("$("$GLN" init --data-dir "$DIR/node$i" 2>/dev/null | tail -n1)")
done
node_peer_args=()
for p in "${peers[@]}"; do node_peer_args+=(--node-peer "$p"); done
NETWORK_ID="$("$GL" genesis --network "testnet-$(date +%Y%m%d-%H%M%S)" --admin "$ADMIN" \
    "${node_peer_args[@]}" --out "$DIR/genesis.json" | tail -n1)"

"$GLN" pact-client --id testnet >"$DIR/pact-client.txt"
chmod 600 "$DIR/pact-client.txt"
pact_clients="$(sed -n '/^\[\[pact.clients\]\]/,$p' "$DIR/pact-client.txt")"

: >"$DIR/nodes"
for i in $(seq 1 "$N"); do
    http=$((BASE + i - 1))
    p2p=$((BASE + 100 + i - 1))
    echo "$i $http $p2p" >>"$DIR/nodes"
    {
        echo "# node $i of the testnet in $DIR (see node/config.dev.toml for every setting)"
        echo "http = \"127.0.0.1:$http\""
        echo "listen = \"/ip4/127.0.0.1/tcp/$p2p\""
        echo "bootstrap = ["
        for j in $(seq 1 "$N"); do
            [ "$j" = "$i" ] && continue
            echo "  \"/ip4/127.0.0.1/tcp/$((BASE + 100 + j - 1))/p2p/${peers[$((j - 1))]}\","
        done
        echo "]"
        echo
        echo "[p2p]"
        echo "sync_interval = \"1s\""
        echo "redial_interval = \"2s\""
        echo
        echo "[pact]"
        echo "listen = \"127.0.0.1:$((BASE + 200 + i - 1))\""
        echo
        echo "$pact_clients"
    } >"$DIR/node$i.toml"
done
say "testnet of $N nodes created in $DIR (network $NETWORK_ID)"
say "admin key: $DIR/admin.key; genesis: $DIR/genesis.json"
say "start it with: testnet/start.sh --dir $DIR"
echo "$NETWORK_ID"
