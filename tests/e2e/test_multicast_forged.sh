#!/bin/bash
# Forged and malformed datagrams (corrupted chunk data spoofed from the sender's address,
# another session, bad lengths, truncated, NACK/POLL/END from a stranger) are discarded and
# never written: every receiver still ends with exactly the image. A receiver holding the
# wrong public key refuses the session's manifest with a clear error.
set -euo pipefail
source "$PROVISIONER_SOURCE/tests/e2e/lib/rack.sh"
source "$PROVISIONER_SOURCE/tests/e2e/lib/image.sh"
source "$PROVISIONER_SOURCE/tests/e2e/lib/multicast.sh"
rack_require python3

rack_up 5
image_make_signed "$RACK_DIR/img" 24
"$IMAGING" keygen --out "$RACK_DIR/other" >/dev/null
rack_loss 1 5
rack_loss 2 5

rack_bg 5 forger python3 "$PROVISIONER_SOURCE/tests/e2e/lib/mc_forger.py" "$MC_GROUP" "$MC_PORT" "$RACK_SERVER_IP"
sleep 0.3
for i in 1 2 3; do mc_receive "$i" --timeout 20; done
rack_bg 4 wrongkey "$IMAGING" receive --transport multicast --interface "$RACK_IF" \
    --output "$RACK_DIR/out4" --pubkey "$RACK_DIR/other.pub" --timeout 20
mc_send --min-receivers 4 --max-wait 10 --max-rate 60M --receiver-timeout 2
mc_expect_sender_ok ${SENDER_LIMIT:-120}
rejected=0 failed=0
for i in 1 2 3; do
    mc_expect_ok "$i"
    echo "receiver $i: $(tail -n 1 "$RACK_DIR/recv$i.out")"
    rejected=$((rejected + $(mc_json "recv$i" .rejected_packets)))
    failed=$((failed + $(mc_json "recv$i" .chunks_failed)))
done
[ "$rejected" -gt 0 ] || rack_fail "no forged datagram was rejected: did the forger run?"
[ "$failed" -gt 0 ] || rack_fail "no corrupted chunk was caught by verification: did spoofing work?"
status=0
rack_wait wrongkey 30 || status=$?
[ "$status" != 0 ] || rack_fail "a receiver with the wrong key claimed success"
grep -q "^imaging: error: .*manifest.*" "$RACK_DIR/wrongkey.err" ||
    rack_fail "wrong key: unclear error: $(cat "$RACK_DIR/wrongkey.err")"
[ "$(mc_json wrongkey .ok)" = false ] || rack_fail "wrong key: final line claims ok"
echo "wrong key: $(tail -n 1 "$RACK_DIR/wrongkey.err")"
echo PASS
