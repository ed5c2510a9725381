#!/usr/bin/env bash
# BMC power control, end to end: provisionerd powers a rack's hosts through real BMCs and they
# PXE-boot and are imaged with nobody pressing a button; hosts whose BMC fails fail alone.
#   h1: OpenIPMI's ipmi_sim (IPMI over LAN, ipmitool -I lanplus), chassis_control on a machine
#       that PXE-boots the namespace host and runs its netboot agent (lib/bmc.sh)
#   h2: a Redfish BMC over HTTPS (lib/redfish_bmc.py) on the same kind of machine
#   h3: an IPMI address where no BMC answers           -> fails "BMC unreachable"
#   h4: ipmi_sim that refuses the password we were given -> fails "BMC authentication"
# Checked: host power on/off/cycle/status and their typed errors; the power state polled and
# shown in host list/show with an event per change; deploy sets each BMC host's next boot to PXE
# (once) and powers it on, h1 and h2 are imaged, their next boot is set to disk before their
# agents are told to reboot, and that reboot is their one restart: into their disks, with no
# power cycle after (the machines' logs); h3 and h4 fail with their BMC's error while the
# others finish; the BMC password appears in no API answer, CLI output, event, log or the
# inventory file.
set -euo pipefail
export PROVISIONER_SOURCE=${PROVISIONER_SOURCE:-$(cd "$(dirname "$0")/../.." && pwd)}
source "$(dirname "$0")/lib/rack.sh"
rack_require ipmi_sim ipmitool python3 openssl
SECONDS=0
rack_up 4
source "$(dirname "$0")/lib/provisioner.sh"
source "$(dirname "$0")/lib/bmc.sh"
rack_on_exit bmc_stop_all
PASS1='ipmi-Secret-1x' PASS2='redfish-Secret-2y' PASS4='ipmi-Secret-4z'
SRV="ip netns exec $RACK_SERVER_NS"

echo "== provisionerd, an image, 4 hosts"
pv_make_image
pv_start_server --power-poll-interval 2 --bmc-timeout 3
pv_pack_image >/dev/null
pv_cli image import "$RACK_DIR/dom0-v1" >/dev/null
pv_enrol >/dev/null

echo "== BMCs: h1 ipmi_sim, h2 Redfish, h3 none answering, h4 refusing our password"
for i in 1 2 3 4; do bmc_rack_machine "$i"; done
bmc_ipmi_start h1 127.0.0.1 6231 admin "$PASS1" "$SRV"
bmc_redfish_start h2 127.0.0.1 8441 root "$PASS2" "$SRV"
bmc_ipmi_start h4 127.0.0.1 6234 admin "$PASS4" "$SRV"
sleep 1
printf '%s\n' "$PASS1" >"$RACK_DIR/p1"
printf '%s\n' "$PASS2" >"$RACK_DIR/p2"
printf '%s\n' "not-$PASS4" >"$RACK_DIR/p4"
pv_cli host bmc set h1 --driver ipmi --address 127.0.0.1:6231 --user admin --password-file "$RACK_DIR/p1"
pv_cli host bmc set h2 --driver redfish --address https://127.0.0.1:8441 --user root \
    --password-file - --ca-file "$BMC_DIR/ca.crt" <"$RACK_DIR/p2"
pv_cli host bmc set h3 --driver ipmi --address 127.0.0.1:6299 --user admin --password-file "$RACK_DIR/p1"
pv_cli host bmc set h4 --driver ipmi --address 127.0.0.1:6234 --user admin --password-file "$RACK_DIR/p4"

echo "== host power"
out=$(pv_cli host power status 'h*' 2>&1) && rack_fail "power status of h3 and h4 succeeded: $out"
echo "$out"
grep -Eq '^h1 +off +ok' <<<"$out" || rack_fail "h1's power status: $out"
grep -Eq '^h2 +off +ok' <<<"$out" || rack_fail "h2's power status: $out"
grep -Eq '^h3 .*unreachable: ' <<<"$out" || rack_fail "h3 is not unreachable: $out"
grep -Eq '^h4 .*authentication: .*RAKP' <<<"$out" || rack_fail "h4's password was not refused: $out"
pv_cli host power on h2 >/dev/null
[ "$(bmc_power h2)" = 1 ] || rack_fail "h2 is not on after host power on"
pv_cli host power off rack=r1,name=h2 >/dev/null
[ "$(bmc_power h2)" = 0 ] || rack_fail "h2 is not off after host power off"
pv_cli host power on h1 >/dev/null
[ "$(bmc_power h1)" = 1 ] || rack_fail "h1 is not on after host power on"
pv_cli host power off h1 >/dev/null
grep -q 'power on boot=disk' "$BMC_DIR/h1/log" || rack_fail "h1 was not powered on by disk: $(bmc_log h1)"
# The poller reads every power state: an event per change.
for ((t = 0; t < 50; t++)); do
    pv_cli --json host show h1 | jq -e '[.events[].reason] | index("power on -> off")' >/dev/null && break
    sleep 0.2
done
pv_cli --json host show h1 | jq -e '[.events[].reason] | index("power on -> off")' >/dev/null ||
    rack_fail "no event for h1's power going off: $(pv_cli --json host show h1 | jq -c '[.events[].reason]')"
: >"$BMC_DIR/h1/log"
: >"$BMC_DIR/h2/log"

echo "== deploy to all 4; provisionerd powers them"
pv_cli deploy --image dom0@1 --hosts all --transport delta >/dev/null
d=$(pv_deployment_id)
for ((t = 0; t < 600; t++)); do
    state=$(pv_cli --json deployment show "$d" | jq -r .state)
    [ "$state" = running ] || break
    sleep 0.2
done
show=$(pv_cli --json deployment show "$d")
jq -r '.targets[] | [.name, .state, .error] | @tsv' <<<"$show"
[ "$state" = failed ] || rack_fail "deployment $d is $state, not failed (h3 and h4 cannot boot)"
target() { jq -r --arg n "$1" ".targets[] | select(.name == \$n) | .$2" <<<"$show"; }
for h in h1 h2; do
    [ "$(target "$h" state)" = succeeded ] || rack_fail "$h: $(target "$h" state) $(target "$h" error); console: $(tail -n 5 "$BMC_DIR/$h/console")"
done
[ "$(target h3 state)" = failed ] && target h3 error | grep -q '^BMC unreachable: ' ||
    rack_fail "h3: $(target h3 state) $(target h3 error)"
[ "$(target h4 state)" = failed ] && target h4 error | grep -q '^BMC authentication: ' ||
    rack_fail "h4: $(target h4 state) $(target h4 error)"
size=$(stat -c %s "$RACK_DIR/dom0.raw")
want=$(sha256sum <"$RACK_DIR/dom0.raw" | cut -d' ' -f1)
for i in 1 2; do
    got=$(head -c "$size" "$(losetup -j "$RACK_DIR/disk$i" | cut -d: -f1)" | sha256sum | cut -d' ' -f1)
    [ "$got" = "$want" ] || rack_fail "h$i's disk does not hold the image"
done
grep -q 'boot pxe' "$BMC_DIR/h1/log" && grep -q 'power on boot=pxe' "$BMC_DIR/h1/log" ||
    rack_fail "h1 was not PXE-booted by its BMC: $(bmc_log h1)"
grep -q 'power on boot=pxe' "$BMC_DIR/h2/log" || rack_fail "h2 was not PXE-booted by its BMC: $(bmc_log h2)"

echo "== imaged: each rebooted once, into its disk, which its BMC set before its agent's reboot"
for h in h1 h2; do
    for ((t = 0; t < 100; t++)); do
        grep -q 'reboot boot=disk' "$BMC_DIR/$h/log" && break
        sleep 0.2
    done
    sleep 1  # a power cycle after the reboot (the old way) would be logged by now
    echo "-- $h's machine:"
    sed 's/^[0-9.]* /  /' "$BMC_DIR/$h/log"
    # The machine's whole life in this deployment: PXE set, powered on by PXE, disk set, its own
    # reboot into the disk; no power-off, no second power-on.
    got=$(sed 's/^[0-9.]* //' "$BMC_DIR/$h/log" | grep -v '^boot pxe$' | tr '\n' '/')
    [ "$got" = "power on boot=pxe/boot default/reboot boot=disk/" ] ||
        rack_fail "$h: not one reboot into its disk after imaging: $got"
done
pv_cli host list

echo "== the BMC passwords in no answer, output, event, log or file"
{
    pv_cli --json host list
    for h in h1 h2 h3 h4; do pv_cli --json host show "$h"; pv_cli host bmc show "$h"; done
    pv_cli --json events
    cat "$RACK_DIR/pvd.err" "$RACK_DIR/pvd.out"
} >"$RACK_DIR/everything" 2>&1
cat "$PV_STATE"/inventory.db* >>"$RACK_DIR/everything"  # the SQLite file, its WAL
for p in "$PASS1" "$PASS2" "$PASS4"; do
    if grep -aqF -- "$p" "$RACK_DIR/everything"; then rack_fail "a BMC password leaked"; fi
done
grep -aq '"password_sealed":"v1:' "$RACK_DIR/everything" || rack_fail "no sealed password in the inventory"
echo "PASS: BMC power control ($SECONDS s)"
