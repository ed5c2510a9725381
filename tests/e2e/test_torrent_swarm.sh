#!/usr/bin/env bash
# BitTorrent imaging on loopback with a real libtorrent swarm: one seed (also the tracker)
# and 4 receivers complete with verified, identical images and share among themselves; the
# same with a super-seed, which uploads about one pack in all; a
# torrent not signed by the receiver's key, one whose pack size differs from its manifest,
# and one whose piece hashes cover another pack are refused with a clear error; an SSL swarm
# (a CA in the torrent) completes for certified hosts and refuses the others.
set -euo pipefail
source "$PROVISIONER_SOURCE/tests/e2e/lib/torrent.sh" swarm
TRACKER=127.0.0.1:$PORT
image_make_signed "$WORK/img" 36
PACK=$(stat -c %s "$IMAGE_DIR/chunks.pack")

"$IMAGING" seed --image "$IMAGE_DIR" --listen 127.0.0.1:$((PORT + 1)) --tracker-listen $TRACKER \
    >"$WORK/seed.out" 2>"$WORK/seed.err" &
PIDS+=($!)
wait_stderr "$WORK/seed.err" "seeding" 30 || die "seed did not start"

# --- completion: 4 receivers, the torrent fetched from the seed's URL
start_receivers r "$TRACKER"
for i in 1 2 3 4; do wait_json "$WORK/r$i.out" 120 || die "receiver $i did not finish"; done
from_peers=0
for i in 1 2 3 4; do
    line=$(tail -1 "$WORK/r$i.out")
    [ "$(jq -r .ok <<<"$line")" = true ] || die "receiver $i: $line"
    [ "$(jq -r .transport <<<"$line")" = torrent ] || die "receiver $i transport: $line"
    [ "$(jq -r .sha256 <<<"$line")" = "$IMAGE_SHA256" ] || die "receiver $i sha256: $line"
    [ "$(jq -r '.bytes_from_seed + .bytes_from_peers == .bytes_received' <<<"$line")" = true ] ||
        die "receiver $i byte counts: $line"
    [ "$(jq -r '.bytes_received >= '"$PACK" <<<"$line")" = true ] || die "receiver $i got less than the pack: $line"
    image_check_output "$WORK/r$i.raw" || die "receiver $i wrote a different image"
    from_peers=$((from_peers + $(jq -r .bytes_from_peers <<<"$line")))
done
[ "$from_peers" -gt 0 ] || die "no receiver got anything from another host"
echo "completion: 4 receivers verified; $from_peers bytes moved between hosts"

# --- super-seeding (offers): 4 receivers complete, the seed uploads about one pack in all and
# leaves once the hosts hold every piece between them.
SPORT=$((PORT + 4))
"$IMAGING" seed --image "$IMAGE_DIR" --listen 127.0.0.1:$((SPORT + 1)) --tracker-listen 127.0.0.1:$SPORT \
    --piece-size 64 --super-seed --leave-when-distributed >"$WORK/sseed.out" 2>"$WORK/sseed.err" &
PIDS+=($!)
wait_stderr "$WORK/sseed.err" "seeding" 30 || die "super-seed did not start"
start_receivers s "127.0.0.1:$SPORT"
for i in 1 2 3 4; do
    wait_json "$WORK/s$i.out" 120 || die "receiver $i of the super-seed did not finish"
    line=$(tail -1 "$WORK/s$i.out")
    [ "$(jq -r .sha256 <<<"$line")" = "$IMAGE_SHA256" ] || die "receiver $i of the super-seed: $line"
    image_check_output "$WORK/s$i.raw" || die "receiver $i of the super-seed wrote a different image"
done
wait_json "$WORK/sseed.out" 30 || die "the super-seed did not leave once the hosts held every piece"
uploaded=$(jq -r .bytes_uploaded "$WORK/sseed.out")
[ "$(jq -r .reason "$WORK/sseed.out")" = distributed ] || die "super-seed: $(cat "$WORK/sseed.out")"
[ "$uploaded" -le $((PACK * 5 / 4)) ] || die "the super-seed uploaded $uploaded bytes for a pack of $PACK"
echo "super-seeding: 4 receivers verified; the seed uploaded $uploaded bytes for a pack of $PACK"

# --- refusals
# An upload limit so low that libtorrent would starve the host's own requests.
if "$IMAGING" receive --transport torrent --torrent "http://$TRACKER/image.torrent" \
    --output "$WORK/x.raw" --pubkey "$IMAGE_PUB" --upload-limit 20000 >/dev/null 2>"$WORK/lowlimit.err"; then
    die "an upload limit of 20000 bytes/s was accepted"
fi
grep -q "too low" "$WORK/lowlimit.err" || die "unclear error: $(cat "$WORK/lowlimit.err")"
"$IMAGING" keygen --out "$WORK/other" >/dev/null
if "$IMAGING" receive --transport torrent --torrent "http://$TRACKER/image.torrent" \
    --output "$WORK/x.raw" --pubkey "$WORK/other.pub" >/dev/null 2>"$WORK/wrongkey.err"; then
    die "a torrent signed by another key was accepted"
fi
grep -q "^imaging: error: .*not signed by the given key" "$WORK/wrongkey.err" || die "unclear error: $(cat "$WORK/wrongkey.err")"
[ ! -e "$WORK/x.raw" ] || [ ! -s "$WORK/x.raw" ] || die "something was written for a refused torrent"

# A torrent whose info dictionary carries this image's genuine manifest but another pack.
image_make_raw "$WORK/raw2" 8
"$IMAGING" pack "$WORK/raw2" "$WORK/img2" --key "$IMAGE_KEY" >/dev/null
"$IMAGING" torrent "$WORK/img2" --tracker "http://$TRACKER/announce" --out "$WORK/img2.torrent" >/dev/null
python3 - "$WORK/img2.torrent" "$IMAGE_DIR/manifest.json" "$WORK/swapped.torrent" <<'PY'
import sys
data = open(sys.argv[1], 'rb').read()
key = b'20:provisioner manifest'
at = data.index(key) + len(key)
colon = data.index(b':', at)
length = int(data[at:colon])
manifest = open(sys.argv[2], 'rb').read().strip()
out = data[:at] + str(len(manifest)).encode() + b':' + manifest + data[colon + 1 + length:]
open(sys.argv[3], 'wb').write(out)
PY
if "$IMAGING" receive --transport torrent --torrent "$WORK/swapped.torrent" --output "$WORK/y.raw" \
    --pubkey "$IMAGE_PUB" >/dev/null 2>"$WORK/swapped.err"; then
    die "a torrent whose pack is not its manifest's was accepted"
fi
grep -q "^imaging: error: the torrent does not match its signed manifest" "$WORK/swapped.err" ||
    die "unclear error: $(cat "$WORK/swapped.err")"

# Same size, same genuine manifest, but piece hashes over a tampered pack: caught when the
# first chunk is decoded, before anything of it is written.
cp -r "$IMAGE_DIR" "$WORK/tampered"
python3 -c "
import sys
f = open('$WORK/tampered/chunks.pack', 'r+b'); f.seek(100); f.write(b'tampered' * 64)"
"$IMAGING" seed --image "$WORK/tampered" --listen 127.0.0.1:$((PORT + 2)) \
    --tracker-listen 127.0.0.1:$((PORT + 3)) >/dev/null 2>"$WORK/tseed.err" &
PIDS+=($!)
wait_stderr "$WORK/tseed.err" "seeding" 30 || die "tampered seed did not start"
if "$IMAGING" receive --transport torrent --torrent "http://127.0.0.1:$((PORT + 3))/image.torrent" \
    --output "$WORK/z.raw" --pubkey "$IMAGE_PUB" --listen 127.0.0.1:0 --stall-timeout 30 \
    >/dev/null 2>"$WORK/tampered.err"; then
    die "a tampered pack was accepted"
fi
grep -q "^imaging: error: the torrent does not match its signed manifest: chunk 0" "$WORK/tampered.err" ||
    die "unclear error: $(cat "$WORK/tampered.err")"
echo "refusals: an upload limit too low, wrong key, foreign pack, tampered pieces"

# --- an SSL swarm: the torrent carries a CA, the seed and 2 hosts hold certificates it signed
# and complete over TLS; a host without one, or with another swarm's, is refused before it
# writes a byte (a hostile client that skips that check gets no piece: test_torrent_ssl.cc).
"$IMAGING" swarm-ca "$WORK/swarm" seed t1 t2 >/dev/null
"$IMAGING" swarm-ca "$WORK/other" t1 >/dev/null
[ "$(stat -c %a "$WORK/swarm/t1.pem")" = 600 ] || die "a peer's key file is not 0600"
TPORT=$((PORT + 20))
"$IMAGING" seed --image "$IMAGE_DIR" --listen 127.0.0.1:$((TPORT + 1)) --tracker-listen 127.0.0.1:$TPORT \
    --ca-cert "$WORK/swarm/ca.pem" --peer-cert "$WORK/swarm/seed.pem" >"$WORK/tlsseed.out" 2>"$WORK/tlsseed.err" &
PIDS+=($!)
wait_stderr "$WORK/tlsseed.err" "seeding" 30 || die "SSL seed did not start"
grep -q "certified peers only" "$WORK/tlsseed.err" || die "the seed does not say it is an SSL swarm"
for i in 1 2; do
    "$IMAGING" receive --transport torrent --torrent "http://127.0.0.1:$TPORT/image.torrent" \
        --output "$WORK/t$i.raw" --pubkey "$IMAGE_PUB" --listen 127.0.0.1:0 --stall-timeout 60 \
        --peer-cert "$WORK/swarm/t$i.pem" >"$WORK/t$i.out" 2>"$WORK/t$i.err" &
    PIDS+=($!)
done
for i in 1 2; do
    wait_json "$WORK/t$i.out" 90 || die "certified receiver $i did not finish"
    [ "$(jq -r .sha256 "$WORK/t$i.out")" = "$IMAGE_SHA256" ] || die "certified receiver $i: $(cat "$WORK/t$i.out")"
    image_check_output "$WORK/t$i.raw" || die "certified receiver $i wrote a different image"
done
for who in none other; do
    cert=()
    [ "$who" = other ] && cert=(--peer-cert "$WORK/other/t1.pem")
    if "$IMAGING" receive --transport torrent --torrent "http://127.0.0.1:$TPORT/image.torrent" \
        --output "$WORK/u-$who.raw" --pubkey "$IMAGE_PUB" --listen 127.0.0.1:0 --stall-timeout 10 \
        "${cert[@]}" >/dev/null 2>"$WORK/u-$who.err"; then
        die "a receiver with $who certificate was accepted"
    fi
    [ ! -s "$WORK/u-$who.raw" ] || die "something was written by a receiver with $who certificate"
done
grep -q "admits only peers with a certificate signed by its CA" "$WORK/u-none.err" || die "unclear error: $(cat "$WORK/u-none.err")"
grep -q "not one of this swarm's" "$WORK/u-other.err" || die "unclear error: $(cat "$WORK/u-other.err")"
if "$IMAGING" receive --transport torrent --torrent "http://$TRACKER/image.torrent" --output "$WORK/u-open.raw" \
    --pubkey "$IMAGE_PUB" --peer-cert "$WORK/swarm/t1.pem" >/dev/null 2>"$WORK/u-open.err"; then
    die "a certificate for an open swarm was accepted"
fi
grep -q "open swarm" "$WORK/u-open.err" || die "unclear error: $(cat "$WORK/u-open.err")"
echo "SSL swarm: 2 certified receivers verified over TLS; no certificate, another swarm's, and a certificate for an open swarm refused"
echo PASS
