# multicast.sh: helpers for the multicast imaging e2e tests. Source after rack.sh and image.sh.
#
#   mc_receive I [ARGS...]     # background receiver on host I -> $RACK_DIR/out$I, named recv$I
#   mc_send [ARGS...]          # background sender in the server namespace, named sender
#   mc_expect_ok I             # receiver I exited 0, said ok, and wrote exactly the image
#   mc_json NAME FILTER        # jq FILTER over NAME's final JSON line
#   mc_expect_sender_ok [SECS] # the sender exited 0; its final JSON line in $MC_SENDER

MC_GROUP=${MC_GROUP:-239.192.77.1}
MC_PORT=${MC_PORT:-7700}

mc_receive() {
    local i=$1
    shift
    rack_bg "$i" "recv$i" "$IMAGING" receive --transport multicast --interface "$RACK_IF" \
        --group "$MC_GROUP" --port "$MC_PORT" --output "$RACK_DIR/out$i" --pubkey "$IMAGE_PUB" \
        --verbose "$@"
}

mc_send() {
    rack_bg server sender "$IMAGING" send --transport multicast --image "$IMAGE_DIR" \
        --interface "$RACK_IF" --group "$MC_GROUP" --port "$MC_PORT" "$@"
}

mc_json() {
    tail -n 1 "$RACK_DIR/$1.out" | jq -r "$2"
}

mc_expect_ok() {
    local i=$1 status=0
    rack_wait "recv$i" 120 || status=$?
    [ "$status" = 0 ] || rack_fail "receiver $i exited $status: $(tail -n 1 "$RACK_DIR/recv$i.err")"
    [ "$(mc_json "recv$i" .ok)" = true ] || rack_fail "receiver $i: final line not ok"
    [ "$(mc_json "recv$i" .sha256)" = "$IMAGE_SHA256" ] || rack_fail "receiver $i: reported sha256 differs"
    image_check_output "$RACK_DIR/out$i" || rack_fail "receiver $i: output differs from the image"
}

# mc_expect_sender_ok [SECONDS]: the sender exited 0; its final JSON line goes to $MC_SENDER.
# (Not in $(...): a subshell cannot wait for the test's background commands.)
mc_expect_sender_ok() {
    local status=0
    rack_wait sender "${1:-120}" || status=$?
    [ "$status" = 0 ] || rack_fail "sender exited $status: $(tail -n 1 "$RACK_DIR/sender.err")"
    MC_SENDER=$(tail -n 1 "$RACK_DIR/sender.out")
    echo "sender: $MC_SENDER"
}
