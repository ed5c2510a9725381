# delta.sh: helpers for the delta transport's e2e tests (loopback, loop devices). Source it;
# needs root and PROVISIONER_BIN. Everything made here is removed by an EXIT trap.
#
#   delta_setup                  # scratch dir $DELTA_DIR, key pair $DELTA_DIR/k.{key,pub}
#   delta_ext4 FILE MIB SEED     # a real ext4 image with files in it
#   delta_serve IMAGEDIR [ARGS]  # imaging serve on a free port: $DELTA_ADDR, $DELTA_SERVER_PID
#   delta_loop FILE              # a loop device over FILE, echoed, detached at exit
#   delta_fail MESSAGE           # print and exit 1

: "${PROVISIONER_BIN:?set PROVISIONER_BIN to the bin directory of the build}"
IMAGING=${IMAGING:-$PROVISIONER_BIN/imaging}
DELTA_PIDS=()
DELTA_MOUNTS=()

delta_fail() {
    echo "FAIL: $*" >&2
    exit 1
}

delta_cleanup() {
    local m l p
    for m in "${DELTA_MOUNTS[@]}"; do umount "$m" 2>/dev/null || true; done
    for p in "${DELTA_PIDS[@]}"; do kill -9 "$p" 2>/dev/null || true; done
    # Every loop device over a file of ours (delta_loop runs in $(...), a subshell, so it cannot
    # keep a list here: six devices over deleted files were left attached by earlier runs).
    if [ -n "${DELTA_DIR:-}" ]; then
        for l in $(losetup -a | grep -F "($DELTA_DIR/" | cut -d: -f1); do
            losetup -d "$l" 2>/dev/null || true
        done
        rm -rf "$DELTA_DIR"
    fi
}

delta_setup() {
    trap delta_cleanup EXIT
    DELTA_DIR=$(mktemp -d /tmp/e2e-delta.XXXXXX)
    "$IMAGING" keygen --out "$DELTA_DIR/k" >/dev/null
}

# An ext4 filesystem image of MIB MiB holding copies of system files, different per SEED.
delta_ext4() {
    local file=$1 mib=$2 seed=$3 mnt
    truncate -s "${mib}M" "$file"
    mkfs.ext4 -q -F -E lazy_itable_init=0,lazy_journal_init=0 "$file"
    mnt=$(mktemp -d "$DELTA_DIR/mnt.XXXXXX")
    delta_in_own_mount "$file" "$mnt" '
        cp -r /usr/share/doc/bash /usr/include/linux "$2/" 2>/dev/null
        head -c $((3 << 20)) /dev/urandom >"$2/random-$3"' "$seed"
}

# delta_in_own_mount FILE MNT SCRIPT [ARG]: SCRIPT run with FILE mounted at MNT ($1 FILE, $2 MNT,
# $3 ARG), in a mount namespace of its own: / is private here, so a namespace made meanwhile (an
# `ip netns exec` of anything running beside) would keep a copy of the mount that umount does
# not reach, and write the superblock into FILE at its last unmount, after it was read.
delta_in_own_mount() {
    unshare --mount --propagation private sh -c "mount -o loop \"\$1\" \"\$2\" || exit 1
        $3
        umount \"\$2\"" sh "$1" "$2" "${4:-}" || delta_fail "could not mount $1 to change it"
}

# Adds and removes files in an ext4 image in place (what installing packages does).
delta_ext4_change() {
    local file=$1 mnt
    mnt=$(mktemp -d "$DELTA_DIR/mnt.XXXXXX")
    delta_in_own_mount "$file" "$mnt" '
        cp -r /usr/include/boost/asio "$2/asio" 2>/dev/null || cp -r /usr/include/c++ "$2/cxx"
        rm -rf "$2/bash"
        head -c $((1 << 20)) /dev/urandom >"$2/new-random"'
}

delta_serve() {
    local image=$1 port
    shift
    # Made before the server starts: the loop below may read it before the background shell
    # has opened it, and a sed that cannot read its file fails the test under set -e.
    : >"$DELTA_DIR/serve.err"
    "$IMAGING" serve --image "$image" --listen 127.0.0.1:0 "$@" 2>>"$DELTA_DIR/serve.err" &
    DELTA_SERVER_PID=$!
    DELTA_PIDS+=("$DELTA_SERVER_PID")
    for _ in $(seq 100); do
        port=$(sed -n 's/^serve: .* on port \([0-9]*\)$/\1/p' "$DELTA_DIR/serve.err")
        [ -n "$port" ] && break
        sleep 0.1
    done
    [ -n "$port" ] || delta_fail "imaging serve did not start: $(cat "$DELTA_DIR/serve.err")"
    DELTA_ADDR=127.0.0.1:$port
}

# delta_loop FILE: a loop device over FILE (under DELTA_DIR: delta_cleanup detaches it).
delta_loop() {
    losetup --find --show "$1"
}

# json FILE FIELD: a field of the last line of FILE (a receiver's result line).
delta_json() {
    tail -n 1 "$1" | jq -r ".$2"
}
