#!/bin/bash
# The sender dies mid-session: receivers exit non-zero with a clear error within a bounded
# time (their --timeout) and never claim the image complete. A sender stopped by SIGTERM
# says so (END aborted) and receivers fail at once.
set -euo pipefail
source "$PROVISIONER_SOURCE/tests/e2e/lib/rack.sh"
source "$PROVISIONER_SOURCE/tests/e2e/lib/image.sh"
source "$PROVISIONER_SOURCE/tests/e2e/lib/multicast.sh"

rack_up 2
image_make_signed "$RACK_DIR/img" 32

expect_clear_failure() {
    local i=$1 limit=$2 pattern=$3 status=0
    rack_wait "recv$i" "$limit" || status=$?
    [ "$status" != 0 ] && [ "$status" != 124 ] ||
        rack_fail "receiver $i: exit $status (want a failure within ${limit}s)"
    [ "$(mc_json "recv$i" .ok)" = false ] || rack_fail "receiver $i: final line claims ok"
    grep -q "^imaging: error: .*$pattern" "$RACK_DIR/recv$i.err" ||
        rack_fail "receiver $i: unclear error: $(tail -n 1 "$RACK_DIR/recv$i.err")"
    echo "receiver $i: $(tail -n 1 "$RACK_DIR/recv$i.err")"
}

# SIGKILL: silence, detected after --timeout 3.
for i in 1 2; do mc_receive "$i" --timeout 3; done
mc_send --min-receivers 2 --max-wait 10 --max-rate 20M
sleep 1.5
rack_kill sender KILL
start=$SECONDS
for i in 1 2; do expect_clear_failure "$i" 15 "silent"; done
[ $((SECONDS - start)) -le 8 ] || rack_fail "receivers took $((SECONDS - start)) s to notice"

# SIGTERM: the sender ends the session as aborted; receivers stop at once.
for i in 1 2; do mc_receive "$i" --timeout 30; done
mc_send --min-receivers 2 --max-wait 10 --max-rate 20M
sleep 1.5
rack_kill sender TERM
start=$SECONDS
for i in 1 2; do expect_clear_failure "$i" 10 "aborted"; done
[ $((SECONDS - start)) -le 3 ] || rack_fail "receivers did not stop on END(aborted)"
echo PASS
