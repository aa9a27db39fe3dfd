#!/usr/bin/env bash
# Stops the testnet in DIR and deletes it (keys, data, logs).
#
#   testnet/clean.sh [--dir DIR]
set -euo pipefail
source "$(dirname "$0")/common.sh"
parse_dir "$@"
[ -d "$DIR" ] || exit 0
"$TESTNET_HOME/stop.sh" --dir "$DIR"
[ -f "$DIR/nodes" ] || [ -f "$DIR/genesis.json" ] || die "$DIR does not look like a testnet; not deleting it"
rm -rf "$DIR"
say "removed $DIR"
