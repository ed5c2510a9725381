#!/usr/bin/env bash
# BitTorrent imaging faults on loopback, real libtorrent swarms of 4 receivers each:
# - a corrupt peer: a host whose staging pack rots after it verified it serves bad pieces;
#   they fail their hash, are fetched again elsewhere, and nothing bad is written;
# - the seed leaving once every piece is somewhere in the swarm: the hosts finish from each other;
# - a host that cannot get from the other hosts what a super-seed no longer offers.
set -euo pipefail
source "$PROVISIONER_SOURCE/tests/e2e/lib/torrent.sh" faults
image_make_signed "$WORK/img" 36
PACK=$(stat -c %s "$IMAGE_DIR/chunks.pack")

# check_receivers PREFIX: 4 verified, identical images; prints the sum of FIELD over them.
check_receivers() {
    local prefix=$1 i line
    for i in 1 2 3 4; do
        line=$(tail -1 "$WORK/$prefix$i.out")
        [ "$(jq -r .ok <<<"$line")" = true ] || die "$prefix$i: $line"
        [ "$(jq -r .sha256 <<<"$line")" = "$IMAGE_SHA256" ] || die "$prefix$i sha256: $line"
        image_check_output "$WORK/$prefix$i.raw" || die "$prefix$i wrote a different image"
    done
}
sum_field() {
    local prefix=$1 field=$2
    cat "$WORK/$prefix"[1-4].out | grep '^{' | jq -s "map(.$field) | add"
}

# --- a corrupt peer
TRACKER=127.0.0.1:$PORT
# The seed is slow on purpose (1.5 MB/s), so the receivers ask the fast corrupt peer first.
"$IMAGING" seed --image "$IMAGE_DIR" --listen 127.0.0.1:$((PORT + 1)) --tracker-listen $TRACKER \
    --upload-limit 1500000 >"$WORK/seed.out" 2>"$WORK/seed.err" &
SEED=$!
PIDS+=($SEED)
wait_stderr "$WORK/seed.err" "seeding" 30 || die "seed did not start"
# The corrupt peer starts from a full staging pack (the resume path: hash-checked, nothing
# downloaded), verifies its image, then its pack is overwritten while it seeds.
mkdir -p "$WORK/bad-staging"
cp "$IMAGE_DIR/chunks.pack" "$WORK/bad-staging/"
"$IMAGING" receive --transport torrent --torrent "http://$TRACKER/image.torrent" \
    --output "$WORK/bad.raw" --pubkey "$IMAGE_PUB" --listen 127.0.0.1:0 --seed-for 300 \
    --staging "$WORK/bad-staging" --keep-staging >"$WORK/bad.out" 2>"$WORK/bad.err" &
PIDS+=($!)
wait_json "$WORK/bad.out" 30 || die "the corrupt peer did not resume its image"
[ "$(jq -r .bytes_received "$WORK/bad.out")" = 0 ] || die "resume downloaded again: $(cat "$WORK/bad.out")"
python3 - "$WORK/bad-staging/chunks.pack" <<'PY'
import os, sys
with open(sys.argv[1], 'r+b') as f:
    size = os.fstat(f.fileno()).st_size
    for off in range(0, size, 4096):
        f.seek(off); f.write(os.urandom(min(64, size - off)))
    f.flush(); os.fsync(f.fileno())
PY
sleep 1  # the corrupt peer's next announce is not needed: the tracker already lists it
start_receivers c "$TRACKER"
for i in 1 2 3 4; do wait_json "$WORK/c$i.out" 180 || die "receiver c$i did not finish"; done
check_receivers c
failures=$(sum_field c hash_failures)
[ "$failures" -gt 0 ] || die "no piece failed its hash: the corrupt peer was never used"
echo "corrupt peer: 4 receivers verified after $failures failed pieces"
for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
wait 2>/dev/null || true
PIDS=()

# --- the seed leaves once every piece is in the swarm
# The tracker runs on its own, as provisionerd hosts it: the seed leaving does not take the
# hosts' rendezvous with it.
PORT=$((PORT + 10))
TRACKER=127.0.0.1:$PORT
"$IMAGING" torrent "$IMAGE_DIR" --tracker "http://$TRACKER/announce" --out "$WORK/image.torrent" >/dev/null \
    || die "imaging torrent failed"
"$IMAGING" tracker --listen "$TRACKER" --torrent "$WORK/image.torrent" >"$WORK/tracker.out" 2>"$WORK/tracker.err" &
PIDS+=($!)
wait_stderr "$WORK/tracker.err" "tracker on" 30 || die "tracker did not start"
"$IMAGING" seed --image "$IMAGE_DIR" --listen 127.0.0.1:$((PORT + 1)) --torrent "$WORK/image.torrent" \
    --upload-limit 6000000 --leave-when-distributed >"$WORK/lseed.out" 2>"$WORK/lseed.err" &
SEED=$!
PIDS+=($SEED)
wait_stderr "$WORK/lseed.err" "seeding" 30 || die "seed did not start"
# The hosts are much slower among themselves (0.5 MB/s each) than the seed (6 MB/s), so the
# seed's one copy or so is out in a few seconds while they still need most of the image
# from each other: the seed leaves with every host busy, even on a loaded machine.
start_receivers l "$TRACKER" --upload-limit 500000
wait "$SEED" || die "the seed failed: $(cat "$WORK/lseed.err")"
seed_line=$(tail -1 "$WORK/lseed.out")
[ "$(jq -r .reason <<<"$seed_line")" = distributed ] || die "seed: $seed_line"
left_at=$(jq -r .unix_time <<<"$seed_line")
for i in 1 2 3 4; do wait_json "$WORK/l$i.out" 180 || die "receiver l$i did not finish without the seed"; done
check_receivers l
# Verified after the seed had left: by their own clocks' JSON lines, not by when we looked.
after=$(cat "$WORK"/l[1-4].out | grep '^{' | jq -s "map(select(.unix_time > $left_at)) | length")
[ "$after" -gt 0 ] || die "every receiver was done before the seed left: nothing tested"
uploaded=$(jq -r .bytes_uploaded <<<"$seed_line")
echo "seed left after uploading $uploaded bytes (pack $PACK); $after receivers finished from each other"

# --- a stranded host: a super-seed offers only pieces no host holds, so a host that joins after
# another holds the whole image gets no offers; that host uploads 100 kB/s (the lowest limit
# a receiver takes), so the newcomer would need two minutes from it, until the seed sees it
# starved and offers it pieces others hold.
PORT=$((PORT + 10))
"$IMAGING" seed --image "$IMAGE_DIR" --listen 127.0.0.1:$((PORT + 1)) --tracker-listen 127.0.0.1:$PORT \
    --piece-size 64 --super-seed >"$WORK/sseed.out" 2>"$WORK/sseed.err" &
PIDS+=($!)
wait_stderr "$WORK/sseed.err" "seeding" 30 || die "super-seed did not start"
for who in first late; do
    limit=0
    [ "$who" = first ] && limit=100000
    "$IMAGING" receive --transport torrent --torrent "http://127.0.0.1:$PORT/image.torrent" \
        --output "$WORK/$who.raw" --pubkey "$IMAGE_PUB" --listen 127.0.0.1:0 --seed-for 120 \
        --upload-limit "$limit" --stall-timeout 60 >"$WORK/$who.out" 2>"$WORK/$who.err" &
    PIDS+=($!)
    wait_json "$WORK/$who.out" 60 || die "the $who receiver of the super-seed did not finish"
    [ "$(jq -r .sha256 "$WORK/$who.out")" = "$IMAGE_SHA256" ] || die "$who: $(cat "$WORK/$who.out")"
    image_check_output "$WORK/$who.raw" || die "the $who receiver wrote a different image"
done
from_seed=$(jq -r .bytes_from_seed "$WORK/late.out")
[ "$from_seed" -ge $((PACK * 9 / 10)) ] || die "the late receiver got only $from_seed bytes from the seed"
echo "stranded host: offered pieces another host held; $from_seed bytes from the seed"
echo PASS
