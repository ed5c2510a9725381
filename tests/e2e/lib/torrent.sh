# torrent.sh: shared setup of the BitTorrent e2e tests (loopback). Source it with a name:
#
#   source "$PROVISIONER_SOURCE/tests/e2e/lib/torrent.sh" swarm
#
# It sources image.sh and sets WORK (a scratch dir /tmp/e2e-torrent-NAME.XXXXXX), PIDS
# (background processes killed at exit, with WORK removed), and PORT (a random base port).
#   die MESSAGE                 # fail, showing the tail of every $WORK/*.err
#   wait_json FILE SECONDS      # until FILE has a line of JSON
#   wait_stderr FILE PATTERN SECONDS
#   start_receivers PREFIX TRACKER [EXTRA...]   # 4 receivers in the background, from
#                               # http://TRACKER/image.torrent to $WORK/PREFIX{1..4}.raw
#                               # (.out: the JSON line, .err)

: "${PROVISIONER_BIN:?}" "${PROVISIONER_SOURCE:?}"
source "$PROVISIONER_SOURCE/tests/e2e/lib/image.sh"

WORK=$(mktemp -d "/tmp/e2e-torrent-${1:-test}.XXXXXX")
PIDS=()
cleanup() {
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$WORK"
}
trap cleanup EXIT
die() { echo "FAIL: $*" >&2; for f in "$WORK"/*.err; do echo "--- $f" >&2; tail -5 "$f" >&2; done; exit 1; }

wait_json() {
    local i
    for ((i = 0; i < $2 * 10; i++)); do
        grep -q '^{' "$1" 2>/dev/null && return 0
        sleep 0.1
    done
    return 1
}

wait_stderr() {
    local i
    for ((i = 0; i < $3 * 10; i++)); do
        grep -q "$2" "$1" 2>/dev/null && return 0
        sleep 0.1
    done
    return 1
}

start_receivers() {
    local prefix=$1 tracker=$2 i
    shift 2
    for i in 1 2 3 4; do
        "$IMAGING" receive --transport torrent --torrent "http://$tracker/image.torrent" \
            --output "$WORK/$prefix$i.raw" --pubkey "$IMAGE_PUB" --listen 127.0.0.1:0 \
            --seed-for 120 --stall-timeout 90 "$@" >"$WORK/$prefix$i.out" 2>"$WORK/$prefix$i.err" &
        PIDS+=($!)
    done
}

PORT=$((20000 + RANDOM % 20000))
