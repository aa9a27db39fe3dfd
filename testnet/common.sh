# Shared by the testnet scripts: where the binaries and the network live, and small helpers.
# Not meant to be run on its own.

TESTNET_HOME="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd "$TESTNET_HOME/.." && pwd)"
# The network's directory: --dir DIR, else $GL_TESTNET_DIR, else testnet/.net in the clone.
DIR="${GL_TESTNET_DIR:-$TESTNET_HOME/.net}"

die() {
    echo "error: $*" >&2
    exit 2
}

say() {
    echo "==> $*" >&2
}

# The binaries: $GL_BIN_DIR, else the release build of this clone (CARGO_TARGET_DIR honoured).
find_binaries() {
    local bin="${GL_BIN_DIR:-${CARGO_TARGET_DIR:-$REPO_ROOT/target}/release}"
    GL="$bin/greenledger"
    GLN="$bin/greenledger-node"
    [ -x "$GL" ] && [ -x "$GLN" ] ||
        die "greenledger binaries not found in $bin; build them first: cargo build --release --workspace --all-targets (or set GL_BIN_DIR)"
}

# http_get HOST:PORT PATH -> prints the body; fails if nothing answers. Uses bash's /dev/tcp
# so that the scripts need no curl.
http_get() {
    local hostport="$1" path="$2" host="${1%:*}" port="${1##*:}"
    exec 3<>"/dev/tcp/$host/$port" || return 1
    printf 'GET %s HTTP/1.0\r\nHost: %s\r\n\r\n' "$path" "$hostport" >&3
    local status
    IFS= read -r status <&3 || { exec 3<&-; return 1; }
    # skip headers
    local line
    while IFS= read -r line <&3; do
        [ "$line" = $'\r' ] || [ -z "$line" ] && break
    done
    cat <&3
    exec 3<&-
    case "$status" in *" 200 "*) return 0 ;; *) return 1 ;; esac
}

# Whether something listens on 127.0.0.1:PORT.
port_busy() {
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# The nodes of the network in $DIR: "i http_port p2p_port" per line.
nodes() {
    [ -f "$DIR/nodes" ] || die "no testnet in $DIR; create one with testnet/create.sh"
    cat "$DIR/nodes"
}

# Parses --dir DIR (the only option every script shares); leaves the rest in ARGS.
parse_dir() {
    ARGS=()
    while [ $# -gt 0 ]; do
        case "$1" in
            --dir) [ $# -ge 2 ] || die "--dir needs a directory"; DIR="$2"; shift 2 ;;
            --dir=*) DIR="${1#--dir=}"; shift ;;
            *) ARGS+=("$1"); shift ;;
        esac
    done
}
