#!/bin/bash
# A receiver killed mid-session does not stall the others: the sender drops it after
# --receiver-timeout and the rest complete.
set -euo pipefail
source "$PROVISIONER_SOURCE/tests/e2e/lib/rack.sh"
source "$PROVISIONER_SOURCE/tests/e2e/lib/image.sh"
source "$PROVISIONER_SOURCE/tests/e2e/lib/multicast.sh"

rack_up 4
image_make_signed "$RACK_DIR/img" 32
rack_loss_all 2

for i in 1 2 3 4; do mc_receive "$i" --timeout 20; done
mc_send --min-receivers 4 --max-wait 10 --max-rate 40M --receiver-timeout 2
sleep 1
rack_kill recv2
start=$SECONDS
mc_expect_sender_ok 60
echo "sender finished $((SECONDS - start)) s after the kill"
for i in 1 3 4; do mc_expect_ok "$i"; done
[ "$(jq .receivers_dropped <<<"$MC_SENDER")" = 1 ] || rack_fail "the sender did not drop the dead receiver"
[ "$(jq .receivers_completed <<<"$MC_SENDER")" = 3 ] || rack_fail "expected 3 completions"
[ $((SECONDS - start)) -le 20 ] || rack_fail "the dead receiver stalled the session"
grep -q "dropped" "$RACK_DIR/sender.err" || rack_fail "the sender did not say it dropped a receiver"
echo PASS
