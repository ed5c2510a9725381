#!/usr/bin/env bash
# Delta receive into a loop device that holds the previous image (re-imaging a host), and into
# an empty loop device from a separate basis file; both verified byte for byte.
set -euo pipefail
source "$PROVISIONER_SOURCE/tests/e2e/lib/delta.sh"
delta_setup
d=$DELTA_DIR

delta_ext4 "$d/v1.raw" 96 1
cp --sparse=always "$d/v1.raw" "$d/v2.raw"
delta_ext4_change "$d/v2.raw"
"$IMAGING" pack "$d/v2.raw" "$d/v2" --key "$d/k.key" --name dom0 --version 2 >/dev/null
delta_serve "$d/v2"
want=$(sha256sum "$d/v2.raw" | cut -d' ' -f1)

echo "== re-image: the loop device holds v1"
cp --sparse=always "$d/v1.raw" "$d/disk1"
dev=$(delta_loop "$d/disk1")
"$IMAGING" receive --transport delta --from "$DELTA_ADDR" --output "$dev" --pubkey "$d/k.pub" >"$d/r1.out"
cat "$d/r1.out"
[ "$(delta_json "$d/r1.out" ok)" = true ] || delta_fail "receive did not say ok"
[ "$(delta_json "$d/r1.out" sha256)" = "$want" ] || delta_fail "reported sha256 is not v2's"
got=$(head -c "$(stat -c %s "$d/v2.raw")" "$dev" | sha256sum | cut -d' ' -f1)
[ "$got" = "$want" ] || delta_fail "loop device does not hold v2"
reused=$(delta_json "$d/r1.out" bytes_reused)
received=$(delta_json "$d/r1.out" bytes_received)
packed=$(stat -c %s "$d/v2/chunks.pack")
[ "$reused" -gt 0 ] || delta_fail "nothing reused from the old image"
[ "$received" -lt "$packed" ] || delta_fail "received $received bytes, no less than a fresh copy ($packed)"
fsck.ext4 -n "$dev" >/dev/null || delta_fail "fsck of the re-imaged device failed"

echo "== fresh loop device, basis in a separate file"
truncate -s 96M "$d/disk2"
dev2=$(delta_loop "$d/disk2")
"$IMAGING" receive --transport delta --from "$DELTA_ADDR" --output "$dev2" --basis "$d/v1.raw" --pubkey "$d/k.pub" >"$d/r2.out"
cat "$d/r2.out"
got=$(head -c "$(stat -c %s "$d/v2.raw")" "$dev2" | sha256sum | cut -d' ' -f1)
[ "$got" = "$want" ] || delta_fail "second loop device does not hold v2"
[ "$(delta_json "$d/r2.out" bytes_reused)" -gt 0 ] || delta_fail "nothing reused from the basis"

echo "== again: nothing to fetch"
"$IMAGING" receive --transport delta --from "$DELTA_ADDR" --output "$dev" --pubkey "$d/k.pub" >"$d/r3.out"
[ "$(delta_json "$d/r3.out" chunks_fetched)" = 0 ] || delta_fail "an up-to-date device fetched chunks"
[ "$(delta_json "$d/r3.out" bytes_written)" = 0 ] || delta_fail "an up-to-date device was written"
echo PASS
