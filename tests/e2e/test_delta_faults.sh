#!/usr/bin/env bash
# Bad input and faults for the delta transport: each gives one clear error line, a non-zero
# exit, and nothing claimed complete; an interrupted receive resumes without refetching.
set -euo pipefail
source "$PROVISIONER_SOURCE/tests/e2e/lib/delta.sh"
delta_setup
d=$DELTA_DIR

# 48 MiB: random (incompressible, so a rate-limited transfer takes a while) and zeros.
head -c $((40 << 20)) /dev/urandom >"$d/v2.raw"
truncate -s 48M "$d/v2.raw"
"$IMAGING" pack "$d/v2.raw" "$d/img" --key "$d/k.key" --level 1 >/dev/null
want=$(sha256sum "$d/v2.raw" | cut -d' ' -f1)

# expect_error NAME PATTERN CMD...: CMD fails, prints one "imaging: error:" line matching PATTERN
# on stderr and no ok result on stdout.
expect_error() {
    local name=$1 pattern=$2 status=0
    shift 2
    "$@" >"$d/$name.out" 2>"$d/$name.err" || status=$?
    [ "$status" != 0 ] || delta_fail "$name: exited 0"
    grep -q '"ok":true' "$d/$name.out" && delta_fail "$name: claimed success"
    grep -c '^imaging: error: ' "$d/$name.err" | grep -qx 1 || delta_fail "$name: no single error line: $(cat "$d/$name.err")"
    grep -q -- "$pattern" "$d/$name.err" || delta_fail "$name: error does not say '$pattern': $(cat "$d/$name.err")"
    echo "ok  $name: $(cat "$d/$name.err")"
}

recv() { "$IMAGING" receive --transport delta --pubkey "$d/k.pub" "$@"; }

echo "== wrong port"
expect_error wrong-port "cannot connect to 127.0.0.1:1" recv --from 127.0.0.1:1 --output "$d/o1"

echo "== manifest signed by another key"
delta_serve "$d/img"
"$IMAGING" keygen --out "$d/other" >/dev/null
expect_error bad-signature "signature does not verify" \
    "$IMAGING" receive --transport delta --from "$DELTA_ADDR" --output "$d/o2" --pubkey "$d/other.pub"
[ ! -e "$d/o2" ] || delta_fail "bad-signature: output was created"

echo "== a basis of another size is used, not refused"
head -c $((20 << 20)) "$d/v2.raw" >"$d/short-basis"
recv --from "$DELTA_ADDR" --output "$d/o3" --basis "$d/short-basis" >"$d/o3.out"
[ "$(sha256sum <"$d/o3" | cut -d' ' -f1)" = "$want" ] || delta_fail "short basis: wrong output"
[ "$(delta_json "$d/o3.out" bytes_reused)" = $((20 << 20)) ] || delta_fail "short basis: expected 20 MiB reused"

echo "== a device smaller than the image"
truncate -s 8M "$d/small"
small=$(delta_loop "$d/small")
expect_error small-device "the image needs" recv --from "$DELTA_ADDR" --output "$small"

echo "== full disk"
mkdir -p "$d/tiny"
mount -t tmpfs -o size=12m tmpfs "$d/tiny"
DELTA_MOUNTS+=("$d/tiny")
expect_error full-disk "No space left on device" recv --from "$DELTA_ADDR" --output "$d/tiny/out"
kill "$DELTA_SERVER_PID"

echo "== corrupt pack on the server"
cp -r "$d/img" "$d/corrupt"
rm -f "$d/corrupt/delta.sig"
offset=$(jq '.chunks[3][1] + 100' "$d/corrupt/manifest.json")
printf '\x00\x01\x02\x03' | dd of="$d/corrupt/chunks.pack" bs=1 seek="$offset" conv=notrunc status=none
expect_error corrupt-serve "chunk 3" "$IMAGING" serve --image "$d/corrupt" --listen 127.0.0.1:0

echo "== pack corrupted after the server cached its signatures: the receiver refuses the chunk"
cp -r "$d/img" "$d/corrupt2"
[ -e "$d/corrupt2/delta.sig" ] || delta_fail "no signature cache was written"
printf '\x00\x01\x02\x03' | dd of="$d/corrupt2/chunks.pack" bs=1 seek="$offset" conv=notrunc status=none
delta_serve "$d/corrupt2"
expect_error corrupt-chunk "chunk 3 from the server" recv --from "$DELTA_ADDR" --output "$d/o4"
[ "$(head -c 1048576 "$d/o4" | sha256sum | cut -d' ' -f1)" != "$(head -c 1048576 "$d/v2.raw" | sha256sum | cut -d' ' -f1)" ] ||
    delta_fail "corrupt-chunk: the first chunk was written, the output looks complete"
kill "$DELTA_SERVER_PID"

echo "== truncated pack on the server"
cp -r "$d/img" "$d/truncated"
truncate -s -1000 "$d/truncated/chunks.pack"
expect_error truncated-serve "truncated" "$IMAGING" serve --image "$d/truncated" --listen 127.0.0.1:0

echo "== server killed mid-transfer, then resumed"
delta_serve "$d/img" --rate-limit 8000000
recv --from "$DELTA_ADDR" --output "$d/resume" >"$d/killed.out" 2>"$d/killed.err" &
receiver=$!
sleep 2.5
kill -9 "$DELTA_SERVER_PID"
status=0
wait "$receiver" || status=$?
[ "$status" != 0 ] || delta_fail "receiver exited 0 after its server was killed"
grep -q "lost\|timed out" "$d/killed.err" || delta_fail "killed server: unclear error: $(cat "$d/killed.err")"
grep -q '"ok":true' "$d/killed.out" && delta_fail "killed server: claimed success"
echo "ok  killed server: $(cat "$d/killed.err")"
[ "$(sha256sum <"$d/resume" | cut -d' ' -f1)" != "$want" ] || delta_fail "a half transfer holds the whole image?"
delta_serve "$d/img"
recv --from "$DELTA_ADDR" --output "$d/resume" >"$d/resumed.out"
cat "$d/resumed.out"
[ "$(sha256sum <"$d/resume" | cut -d' ' -f1)" = "$want" ] || delta_fail "resumed receive: wrong output"
reused=$(delta_json "$d/resumed.out" bytes_reused)
[ "$reused" -gt $((4 << 20)) ] || delta_fail "resume refetched what it had (reused only $reused bytes)"
echo PASS
