#!/usr/bin/env bash
# The web UI (issue 17) in a real headless Chromium (Debian's chromium, chromium-driver and
# python3-selenium; lib/web_ui.py drives it) against provisionerd on a rack of two namespace
# hosts: sign in with the operator token (a wrong one is refused where it was typed), enrol
# the hosts from a CSV, start a deployment and watch every host reach "succeeded" on that page
# without reloading (the server pushes the changes), apply a site with an error (its line
# shown and marked) and then a good one, see the VMs appear (Dom0 agents on libvirt's test
# driver), recall them after a confirmation, every page in light and dark and at a phone's
# width, the keyboard; sign out, and the old cookie and a host's token are refused. No
# console error on any page. The screenshots are kept in the directory printed at the end
# ($PROVISIONER_UI_SHOTS, else a new one under /tmp).
set -euo pipefail
source "$(dirname "$0")/lib/rack.sh"
rack_require qemu-img chromium chromedriver jq
/usr/bin/python3 -c 'import selenium' 2>/dev/null || rack_fail "missing python3-selenium"
rack_up 2
source "$(dirname "$0")/lib/provisioner.sh"
PV_IMAGE_MIB=64
SHOTS=${PROVISIONER_UI_SHOTS:-$(mktemp -d /tmp/provisioner-ui-shots.XXXXXX)}
mkdir -p "$SHOTS" "$RACK_DIR/sync"

echo "== provisionerd, an image and a template; the hosts' CSV (the browser imports it)"
pv_make_image
pv_start_server
pv_pack_image >/dev/null
pv_cli image import "$RACK_DIR/dom0-v1" >/dev/null
mkdir -p "$RACK_DIR/images"
qemu-img create -q -f qcow2 "$RACK_DIR/images/debian@1.qcow2" 64M
pv_cli template add "$RACK_DIR/images/debian@1.qcow2" --name debian --version 1 --label base >/dev/null
csv=$RACK_DIR/hosts.csv
echo "mac,name,ip,rack" >"$csv"
for ((i = 1; i <= RACK_N; i++)); do
    PV_MAC[i]=$(rack_exec "$i" cat /sys/class/net/"$RACK_IF"/address)
    echo "${PV_MAC[i]},h$i,${RACK_HOST_IP[i]},r1" >>"$csv"
    truncate -s "${PV_IMAGE_MIB}M" "$RACK_DIR/disk$i"
    PV_LOOP[i]=$(losetup --find --show "$RACK_DIR/disk$i")
done
rack_on_exit 'for l in "${PV_LOOP[@]}"; do losetup -d "$l" 2>/dev/null; done'

echo "== the browser (screenshots in $SHOTS)"
rack_bg server ui /usr/bin/python3 "$(dirname "$0")/lib/web_ui.py" "$PV_URL" "$PV_STATE/ca.crt" \
    "$PV_STATE/operator.token" "$csv" "$RACK_DIR/sync" "$SHOTS"
ui_alive() { kill -0 "$(rack_pid ui)" 2>/dev/null; }
for _ in $(seq 1200); do
    [ -e "$RACK_DIR/sync/deploy.started" ] && break
    ui_alive || break
    sleep 0.1
done
[ -e "$RACK_DIR/sync/deploy.started" ] || rack_fail "the browser did not start a deployment: $(tail -n 5 "$RACK_DIR/ui.err" "$RACK_DIR/ui.out")"

echo "== the hosts power on and image their disks while the browser watches"
for ((i = 1; i <= RACK_N; i++)); do
    pv_boot "$i"
    pv_agent_bg "$i"
done
for ((i = 1; i <= RACK_N; i++)); do
    rack_wait "agent$i" 180 || rack_fail "host $i: agent failed: $(tail -n 3 "$RACK_DIR/agent$i.err")"
done
pv_check_disks "$(pv_deployment_id)" || rack_fail "a disk does not hold the image"

echo "== Dom0 agents report ready and run their VM loops (libvirt's test driver)"
for i in 1 2; do
    pv_cli host dom0 "h$i" >"$RACK_DIR/h$i.dom0"
    rack_exec "$i" "$PV_BIN/provisioner-agent" ready --cmdline "$RACK_DIR/h$i.dom0" >/dev/null 2>&1 ||
        rack_fail "host $i: ready failed"
    mkdir -p "$RACK_DIR/tpl$i" "$RACK_DIR/disks$i"
    rack_bg "$i" "dom0-$i" "$PV_BIN/provisioner-agent" dom0 --cmdline "$RACK_DIR/h$i.dom0" \
        --libvirt test:///default --templates "$RACK_DIR/tpl$i" --disks "$RACK_DIR/disks$i" \
        --interval 0.3 --reserved-vcpus 0 --reserved-memory-mib 0
done
# A host's token, for the browser to see refused at sign-in.
sed -n 's/.*provisioner.token=\([^ ]*\).*/\1/p' "$RACK_DIR/h1.dom0" >"$RACK_DIR/sync/host.token"
[ -s "$RACK_DIR/sync/host.token" ] || rack_fail "no token in $(cat "$RACK_DIR/h1.dom0")"
for _ in $(seq 100); do
    [ "$(pv_cli --json vm list >/dev/null 2>&1 && pv_cli --json host list | jq -r '[.hosts[].state] | unique | join(",")')" = ready ] && break
    sleep 0.1
done
touch "$RACK_DIR/sync/dom0.ready"

rack_wait ui 400 || rack_fail "the browser test failed:
$(tail -n 30 "$RACK_DIR/ui.out")
$(tail -n 20 "$RACK_DIR/ui.err")"
cat "$RACK_DIR/ui.out"
ls "$SHOTS"
echo "PASS: the web UI; screenshots in $SHOTS"
