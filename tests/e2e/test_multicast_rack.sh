#!/bin/bash
# Multicast imaging to 8 hosts with packet loss (10% on four, 3% on four): every host ends
# with exactly the image, and the sender repairs the union of losses once (losses of a block at
# different receivers with repair symbols that serve them all) rather than once per request.
set -euo pipefail
source "$PROVISIONER_SOURCE/tests/e2e/lib/rack.sh"
source "$PROVISIONER_SOURCE/tests/e2e/lib/image.sh"
source "$PROVISIONER_SOURCE/tests/e2e/lib/multicast.sh"

N=8
rack_up $N
image_make_signed "$RACK_DIR/img" 32
for i in 1 2 3 4; do rack_loss "$i" 10; done
for i in 5 6 7 8; do rack_loss "$i" 3; done

for ((i = 1; i <= N; i++)); do mc_receive "$i" --timeout 20; done
mc_send --min-receivers $N --max-wait 10
mc_expect_sender_ok 120
asked=0
for ((i = 1; i <= N; i++)); do
    mc_expect_ok "$i"
    echo "receiver $i: $(tail -n 1 "$RACK_DIR/recv$i.out")"
    asked=$((asked + $(mc_json "recv$i" .repairs_asked)))
    [ "$(mc_json "recv$i" .repairs_asked)" -gt 0 ] || rack_fail "receiver $i lost nothing under 3-10% loss?"
done
[ "$(jq .receivers_completed <<<"$MC_SENDER")" = $N ] || rack_fail "sender counts fewer than $N completions"
# Proactive repair symbols (sent unasked once the loss is steady) are not answers to requests.
repairs=$(jq '.repair_fragments + .parity_packets - .proactive_parity' <<<"$MC_SENDER")
echo "fragments asked by all receivers: $asked; repaired by the sender on request: $repairs" \
  "(and $(jq .proactive_parity <<<"$MC_SENDER") proactive symbols)"
[ "$repairs" -lt "$asked" ] || rack_fail "the sender repaired once per request, not the union"
echo PASS
