#!/usr/bin/env bash
# greenledger in five minutes (plus the first build): a 3-node consortium on this machine, six
# suppliers attesting a battery supply chain through different nodes, a wind farm's certificate
# body issuing hourly certificates that the cell maker retires and claims on its cells, a
# smelter shipping a low-carbon ingot batch to two buyers, and a buyer verifying the finished
# battery pack against the one node none of them used.
#
#   testnet/demo.sh [--keep]
#
# It installs what is missing (clang and libclang for RocksDB, when it can: as root or with
# sudo, on Debian/Ubuntu), builds the release binaries, runs, prints the provenance tree and
# the verdict, and removes the network when done. With --keep the network keeps running;
# the last lines say how to use and stop it, and give the explorer's address (every node
# serves it at / on its HTTP address).
set -euo pipefail
cd "$(dirname "$0")/.."
source testnet/common.sh
KEEP=0
for a in "$@"; do
    case "$a" in
        --keep) KEEP=1 ;;
        -h | --help) sed -n '2,14p' "$0"; exit 0 ;;
        *) die "unknown argument $a (see --help)" ;;
    esac
done

# 1. What the build needs.
if ! command -v cargo >/dev/null 2>&1; then
    [ -x "$HOME/.cargo/bin/cargo" ] && export PATH="$HOME/.cargo/bin:$PATH"
fi
command -v cargo >/dev/null 2>&1 ||
    die "Rust is not installed. Install it from https://rustup.rs (curl --proto '=https' --tlsv1.2 -sSf https://sh.rustup.rs | sh), then run this again"
if ! command -v clang >/dev/null 2>&1 || [ -z "$(ls /usr/lib/llvm-*/lib/libclang*.so* /usr/lib/*/libclang*.so* 2>/dev/null)" ]; then
    if command -v apt-get >/dev/null 2>&1; then
        SUDO=""
        [ "$(id -u)" = 0 ] || SUDO="sudo"
        say "installing clang and libclang-dev (RocksDB's bindings need them)"
        $SUDO apt-get update -qq && $SUDO apt-get install -y -qq clang libclang-dev >/dev/null ||
            die "could not install clang and libclang-dev; install them and run this again"
    else
        die "clang and libclang are needed to build RocksDB; install them (e.g. dnf install clang clang-devel) and run this again"
    fi
fi

# 2. Build (the first build compiles RocksDB's C++: about half an hour on two cores).
if [ -z "${GL_BIN_DIR:-}" ]; then
    say "building (cargo build --release --workspace --all-targets)"
    cargo build --release --workspace --all-targets --quiet
fi
find_binaries

# 3. A consortium of three nodes in a temporary directory.
DIR="$(mktemp -d "${TMPDIR:-/tmp}/greenledger-demo.XXXXXX")"
cleanup() {
    if [ "$KEEP" = 1 ]; then
        return
    fi
    testnet/clean.sh --dir "$DIR" >/dev/null 2>&1 || true
}
trap cleanup EXIT
BASE="${GL_TESTNET_PORT:-7170}"
testnet/create.sh --dir "$DIR" --nodes 3 --base-port "$BASE" >/dev/null
testnet/start.sh --dir "$DIR"
N1="http://127.0.0.1:$BASE"
N2="http://127.0.0.1:$((BASE + 1))"
N3="http://127.0.0.1:$((BASE + 2))"
G="$DIR/genesis.json"
K="$DIR/keys"
mkdir -p "$K"

# Waits until entry $1 is on the node at $2 (gossip takes milliseconds; anti-entropy a second).
wait_for() {
    local id="$1" url="$2"
    for _ in $(seq 1 200); do
        http_get "${url#http://}" "/v1/entries/$id" >/dev/null 2>&1 && return 0
        sleep 0.05
    done
    die "entry $id did not reach $url within 10 s; see the logs in $DIR/logs"
}
last() { tail -n1; }

# 4. The admin admits six suppliers, a second buyer of aluminium and a certificate body
# (through node 1).
say "the consortium admin admits six suppliers, a frame maker and a wind certificate body through node 1"
declare -A PUB
for s in miner smelter caster utility cells assembler frames registry; do
    "$GL" key generate --out "$K/$s.key" >/dev/null 2>&1
    PUB[$s]="$("$GL" key show --key "$K/$s.key" | last)"
done
admit() {
    "$GL" admit --node "$N1" --key "$DIR/admin.key" --member "${PUB[$1]}" --name "$2" --role supplier | last
}
A1=$(admit miner "Bauxite Mining Co")
A2=$(admit smelter "Nordic Aluminium Smelter")
A3=$(admit caster "Housing Castings GmbH")
A4=$(admit utility "Grid Power Utility")
A5=$(admit cells "Cell Manufacturing Ltd")
A6=$(admit assembler "Battery Pack Assembly")
A7=$(admit frames "Bike Frames AB")
A8=$("$GL" admit --node "$N1" --key "$DIR/admin.key" --member "${PUB[registry]}" --name "Nordic Wind Registry" \
    --role issuer | last)
for a in "$A1" "$A2" "$A3" "$A4" "$A5" "$A6" "$A7" "$A8"; do wait_for "$a" "$N2"; done

# 5. Each supplier attests through its own node; inputs come from other suppliers.
U=urn:greenledger:demo
say "the suppliers attest, tier by tier, through nodes 1 and 2"
BAUXITE=$("$GL" attest --node "$N1" --key "$K/miner.key" --part "$U:bauxite" --unit kilogram --own 0.25 | last)
wait_for "$BAUXITE" "$N2"
INGOT=$("$GL" attest --node "$N2" --key "$K/smelter.key" --part "$U:aluminium-ingot" --unit kilogram \
    --own 8.1 --input "$BAUXITE=4.2" --quantity 20000 | last)
# The smelter ships its 20 t low-carbon batch to two buyers: nobody can sell more than it weighed.
say "the smelter ships its 20 t ingot batch: 12.5 t to the caster, 7.5 t to the frame maker"
SHIP=$("$GL" ship --node "$N2" --key "$K/smelter.key" --from "$INGOT:0=20000" \
    --to "${PUB[caster]}=12500" --to "${PUB[frames]}=7500" | last)
POWER=$("$GL" attest --node "$N2" --key "$K/utility.key" --part "$U:grid-electricity" --unit "kilowatt hour" \
    --own 0.38 | last)
wait_for "$SHIP" "$N1"
HOUSING=$("$GL" attest --node "$N1" --key "$K/caster.key" --part "$U:pack-housing" --unit piece \
    --own 3.4 --quantity 1000 --input "$SHIP:0=12.5" | last)
# The wind farm's certificate body issues two hourly certificates (1 MWh each) to the cell
# maker, who retires them for its March production and claims them on its batch of cells.
say "a wind certificate body issues two hourly certificates to the cell maker, who retires and claims them"
C1=$("$GL" cert issue --node "$N1" --key "$K/registry.key" --scheme EECS-GO --serial NO-2026-000101 \
    --device eecs:NO-WIND-HAVOYGAVLEN --technology wind --region NO \
    --from 2026-03-02T10:00:00Z --to 2026-03-02T11:00:00Z --wh 1000000 --holder "${PUB[cells]}" | last)
C2=$("$GL" cert issue --node "$N1" --key "$K/registry.key" --scheme EECS-GO --serial NO-2026-000102 \
    --device eecs:NO-WIND-HAVOYGAVLEN --technology wind --region NO \
    --from 2026-03-02T11:00:00Z --to 2026-03-02T12:00:00Z --wh 1000000 --holder "${PUB[cells]}" | last)
RET=$("$GL" cert retire --node "$N1" --key "$K/cells.key" --from "$C1:0=1000000" --from "$C2:0=1000000" \
    --beneficiary "Cell Manufacturing Ltd" --period 2026-03-01T00:00:00Z/2026-04-01T00:00:00Z --region NO | last)
wait_for "$POWER" "$N1"
CELL=$("$GL" attest --node "$N1" --key "$K/cells.key" --part "$U:cell" --unit piece \
    --own 1.9 --input "$POWER=0.8" --quantity 10000 --electricity 0.15 --claim "$RET:0=1500000" \
    --country NO --period-start 2026-03-01T00:00:00Z --period-end 2026-03-31T00:00:00Z | last)
wait_for "$HOUSING" "$N2"
wait_for "$CELL" "$N2"
PACK=$("$GL" attest --node "$N2" --key "$K/assembler.key" --part "$U:battery-pack" --unit piece \
    --own 25 --input "$HOUSING=1" --input "$CELL=96" --input "$POWER=40" | last)

# 6. A buyer verifies the pack against node 3, which no supplier used.
wait_for "$PACK" "$N3"
say "a buyer verifies the battery pack against node 3 ($N3), which no supplier used"
echo
"$GL" verify "$U:battery-pack" --node "$N3" --genesis "$G"
echo
say "what the frame maker holds of the smelter's batch (node 3)"
wait_for "$SHIP" "$N3"
"$GL" lots --node "$N3" --holder "${PUB[frames]}"
echo

# 7. A PACT client reads the pack's footprint from node 3, over HTTPS, with OAuth2.
if command -v curl >/dev/null 2>&1; then
    P3="https://127.0.0.1:$((BASE + 202))"
    CA="$DIR/node3/pact-tls/ca.pem"
    SECRET="$(awk '/^client_secret:/ {print $2}' "$DIR/pact-client.txt")"
    say "a PACT client reads the battery pack's footprint from node 3's PACT API ($P3)"
    TOKEN="$(curl -sS --fail --cacert "$CA" -u "testnet:$SECRET" -d grant_type=client_credentials "$P3/auth/token" |
        sed 's/.*"access_token":"\([^"]*\)".*/\1/')"
    [ -n "$TOKEN" ] || die "no PACT token from $P3"
    PF="$(curl -sS --fail --cacert "$CA" -H "Authorization: Bearer $TOKEN" "$P3/3/footprints?productId=$U:battery-pack")"
    grep -q "\"entry\":\"$PACK\"" <<<"$PF" || die "the PACT API of node 3 did not list the pack's footprint: $PF"
    grep -o '"pcfExcludingBiogenicUptake":"[^"]*"' <<<"$PF" | head -n1
    echo
else
    say "(curl is not installed: the PACT API step is skipped)"
fi
testnet/status.sh --dir "$DIR"
if [ "$KEEP" = 1 ]; then
    echo
    say "the network keeps running in $DIR"
    say "  explorer: $N3/     # open it in a browser: the pack's page is $N3/entry/$PACK"
    say "  export GREENLEDGER_NODE=$N3     # then e.g.: greenledger show $PACK"
    say "  greenledger lots --node $N3 --holder ${PUB[frames]}   # the frame maker's 7.5 t"
    say "  testnet/status.sh --dir $DIR"
    say "  testnet/clean.sh --dir $DIR     # stop and delete it"
else
    say "done; the network is stopped and removed (run with --keep to keep it running)"
fi
