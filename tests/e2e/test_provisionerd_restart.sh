#!/usr/bin/env bash
# Faults of the server side: dnsmasq killed -9 (restarted, logged as an event), then
# provisionerd killed -9 in the middle of a deployment and started again: the inventory is
# intact, the interrupted hosts are marked failed with the reason, each host's progress (as of
# the orchestrator's last flush) is kept, the deployment interrupted,
# no sender outlives the server, and the hosts are deployable again and do get imaged.
set -euo pipefail
source "$(dirname "$0")/lib/rack.sh"
rack_require
rack_up 2
source "$(dirname "$0")/lib/provisioner.sh"

pv_make_image
# Slow delta so that the kill lands mid-transfer.
pv_start_server --delta-rate-limit 4000000
pv_pack_image
pv_cli image import "$RACK_DIR/dom0-v1" >/dev/null
pv_enrol >/dev/null

echo "== dnsmasq killed -9 is restarted and logged"
old=$(sed -n 's/.*dnsmasq: started, pid \([0-9]*\).*/\1/p' "$RACK_DIR/pvd.err" | head -n 1)
kill -KILL "$old"
rack_wait_log pvd 'dnsmasq: restart 1, pid [0-9]+' 15
pv_cli events | grep -q 'killed by signal 9' || rack_fail "dnsmasq's death is not in the event log"
rack_dhcp 1 h1-after-restart -V PXEClient:Arch:00000:UNDI:002001
echo "  restarted; host 1 still gets its lease"

echo "== provisionerd killed -9 mid-deployment"
pv_cli deploy --image dom0@1 --hosts all --transport delta >/dev/null
d=$(pv_deployment_id)
for i in 1 2; do
    pv_boot "$i"
    pv_agent_bg "$i"
done
for _ in $(seq 100); do
    [ "$(pv_cli --json host list | jq '[.hosts[] | select(.state == "imaging")] | length')" = 2 ] && break
    sleep 0.1
done
# Past the orchestrator's progress flush (5 s) once both have moved bytes, so that the kill
# finds per-host progress in the store.
for _ in $(seq 100); do
    [ "$(pv_cli --json deployment show "$d" | jq '[.targets[] | select(.bytes_done > 0)] | length')" = 2 ] && break
    sleep 0.1
done
sleep 6
before=$(pv_cli --json deployment show "$d" | jq -c '[.targets[] | {name, bytes_done}]')
kill -KILL "$(rack_pid pvd)"
for _ in $(seq 50); do rack_server pgrep -f "imaging serve --image $RACK_DIR" >/dev/null || break; sleep 0.1; done
if rack_server pgrep -f "imaging serve --image $RACK_DIR" >/dev/null; then rack_fail "a delta server outlived provisionerd by 5 s"; fi
echo "  killed while both hosts were imaging; no sender survived it"

rack_bg server pvd2 "$PV_BIN/provisionerd" --state-dir "$PV_STATE" --listen "$RACK_SERVER_IP:$PV_PORT" \
    --dhcp-interface "$RACK_IF" --dhcp-address "$RACK_SERVER_IP" \
    --dhcp-range "$RACK_SUBNET.100,$RACK_SUBNET.199" --netboot-dir "$RACK_DIR/netboot"
rack_wait_log pvd2 'serving http' 20
grep -q 'recovered from an unclean stop: 1 deployment(s) interrupted, 2 host(s) marked failed' \
    "$RACK_DIR/pvd2.err" || rack_fail "no recovery: $(cat "$RACK_DIR/pvd2.err")"
[ "$(pv_cli --json deployment show "$d" | jq -r .state)" = interrupted ] || rack_fail "deployment $d is not interrupted"
[ "$(pv_cli --json host list | jq -r '[.hosts[].state] | unique | join(",")')" = failed ] ||
    rack_fail "hosts are not failed: $(pv_cli host list)"
pv_cli --json host show h1 | jq -e '.events | map(.reason) | index("interrupted: server restarted")' >/dev/null ||
    rack_fail "h1's events do not say why it failed"
[ "$(pv_cli --json host list | jq '.total')" = 2 ] || rack_fail "the inventory lost hosts"
# Each host's progress as of the last flush outlived the server, beside the reason it failed.
after=$(pv_cli --json deployment show "$d")
jq -e '[.targets[] | select(.state == "failed" and .error == "interrupted: server restarted" and
    .bytes_done > 0)] | length == 2' <<<"$after" >/dev/null ||
    rack_fail "per-host progress or the reason was lost: $before -> $(jq -c '[.targets[] | {name, state, bytes_done, error}]' <<<"$after")"
echo "  per-host progress kept across the kill: $(jq -c '[.targets[] | {name, bytes_done}]' <<<"$after") (live before it: $before)"
for i in 1 2; do rack_wait "agent$i" 120 && rack_fail "agent $i claims success after the server died" || true; done
echo "  inventory intact; deployment $d interrupted; both hosts failed (deployable again)"

echo "== deploy the failed hosts again"
pv_cli deploy --image dom0@1 --hosts state=failed --transport delta >/dev/null
d=$(pv_deployment_id)
for i in 1 2; do
    pv_boot "$i"
    pv_agent_bg "$i"
done
for i in 1 2; do rack_wait "agent$i" 180 || rack_fail "host $i: $(tail -n 3 "$RACK_DIR/agent$i.err")"; done
pv_check_disks "$d" || rack_fail "a disk does not hold the image"
echo "PASS: dnsmasq restarted; provisionerd recovered from kill -9 and re-imaged the hosts"
