#!/bin/bash
# A receiver that starts after the data began, and one that is killed and restarted mid-way,
# both complete: the sender keeps serving what any receiver still misses.
set -euo pipefail
source "$PROVISIONER_SOURCE/tests/e2e/lib/rack.sh"
source "$PROVISIONER_SOURCE/tests/e2e/lib/image.sh"
source "$PROVISIONER_SOURCE/tests/e2e/lib/multicast.sh"

rack_up 4
image_make_signed "$RACK_DIR/img" 32
rack_loss_all 2

for i in 1 2 3; do mc_receive "$i" --timeout 20; done
# ~12 MiB compressed at 30 Mbit/s: about 3.5 s of first pass.
mc_send --min-receivers 3 --max-wait 10 --max-rate 30M
sleep 1.2
mc_receive 4 --timeout 20                          # the late joiner
rack_kill recv3                                    # killed mid-way ...
sleep 0.3
mc_receive 3 --timeout 20                          # ... and restarted
mc_expect_sender_ok 120
for i in 1 2 3 4; do
    mc_expect_ok "$i"
    echo "receiver $i: $(tail -n 1 "$RACK_DIR/recv$i.out")"
done
# The late joiner got the first part by repair: it must have asked for a lot.
late_asked=$(mc_json recv4 .repairs_asked)
[ "$late_asked" -gt 1000 ] || rack_fail "late joiner asked only $late_asked repairs: did it join late?"
[ "$(jq .receivers_completed <<<"$MC_SENDER")" -ge 4 ] || rack_fail "sender saw fewer than 4 completions"
echo PASS
