#!/usr/bin/env bash
# Network services in Dom0 from the site file (issue 21, seed 003), end to end: a real
# provisionerd and two Dom0 agents (host namespaces h1 and h2, imaged by the rack's delta
# deployment), each routing for a "VM" namespace behind a veth that is the VM's interface
# (lib/netservices.sh), the Dom0s joined by a link of 20 Mbit/s each way (tc tbf).
# 1. Compression: iperf3 sends a compressible file (logs) from vm1 to vm2 for 9 s while two
#    `site apply`s switch compression on (both VMs, each towards the other's network) and off
#    again: the seconds with it on carry at least 1.5x the link's rate, those before and after
#    about the rate (at most 1.25x: tbf's bucket); random data with compression on is not slowed below the link's rate by
#    more than the tunnel's overhead (IPComp's rule: a packet that does not shrink goes plain).
# 2. A rate limit: vm1's egress limited to 5 Mbit/s, measured by iperf3, then lifted.
# 3. A filter on vm2: iperf3's port allowed, another refused (a TCP reset: "Connection
#    refused"), then vm2's agent restarted with a stray table of ours in its nft: the filter
#    is still there, once, and the stray table is gone.
# 4. A site without network services: nothing of ours is left in nft, tc, ip rule or links.
set -euo pipefail
source "$(dirname "$0")/lib/rack.sh"
rack_require iperf3 jq qemu-img
rack_up 2
source "$(dirname "$0")/lib/provisioner.sh"
source "$(dirname "$0")/lib/netservices.sh"
started=$(date +%s)
ns_rig_up
echo "== rig up in $(($(date +%s) - started)) s: vm1 on h1, vm2 on h2, running"
ns_vm 2 iperf3 -s -p 5201 -D
ns_vm 2 iperf3 -s -p 5202 -D
sleep 0.3
ns_data logs "$RACK_DIR/logs.txt" 40
ns_data random "$RACK_DIR/random.bin" 12
mbits() { jq '.end.sum_received.bits_per_second / 1e6' "$1"; }

echo "== compression switched on and off by two site applies while iperf3 runs"
compress='vm1:<NETSERVICE type="compress" peer="'${RACK_HOST_IP[2]}'" to="10.102.0.0/24"/>'
compress2='vm2:<NETSERVICE type="compress" peer="'${RACK_HOST_IP[1]}'" to="10.101.0.0/24"/>'
ns_site "$RACK_DIR/compress.xml" "$compress" "$compress2"
pv_cli site diff "$RACK_DIR/compress.xml" | tee "$RACK_DIR/diff.out"
grep -q "vm1: on compress to 10.102.0.0/24 via ${RACK_HOST_IP[2]}" "$RACK_DIR/diff.out" ||
    rack_fail "site diff does not show compression switched on"
ns_vm 1 iperf3 -c 10.102.0.2 -p 5201 -t 9 -i 1 -F "$RACK_DIR/logs.txt" --json >"$RACK_DIR/switch.json" &
iperf_pid=$!
sleep 3
ns_apply "$RACK_DIR/compress.xml" >/dev/null
ns_wait_active vm1 1
ns_wait_active vm2 1
sleep 3
ns_apply "$RACK_DIR/plain.xml" >/dev/null
ns_wait_active vm1 0
wait "$iperf_pid" || rack_fail "iperf3 across the switches failed: $(tail -n 5 "$RACK_DIR/switch.json")"
jq -r '.intervals[] | "\(.sum.start | floor)-\(.sum.end | floor) s: \(.sum.bits_per_second / 1e6 | floor) Mbit/s"' \
    "$RACK_DIR/switch.json" | tee "$RACK_DIR/switch.txt"
rate=$(echo "$NS_LINK_RATE" | tr -dc 0-9)
seconds=$(jq '[.intervals[].sum.bits_per_second / 1e6]' "$RACK_DIR/switch.json")
before=$(jq '.[1]' <<<"$seconds")
peak=$(jq '.[3:6] | max' <<<"$seconds")
after=$(jq '.[-1]' <<<"$seconds")
jq -n --argjson b "$before" --argjson r "$rate" '$b <= $r * 1.25' | grep -q true ||
    rack_fail "before compression $before Mbit/s exceeds the ${rate} Mbit/s link"
jq -n --argjson p "$peak" --argjson r "$rate" '$p >= $r * 1.5' | grep -q true ||
    rack_fail "with compression on, the best second carried $peak Mbit/s: not 1.5x the ${rate} Mbit/s link"
jq -n --argjson a "$after" --argjson r "$rate" '$a <= $r * 1.25' | grep -q true ||
    rack_fail "after compression was switched off, $after Mbit/s exceeds the ${rate} Mbit/s link"
echo "  plain $before, compressed up to $peak, plain again $after Mbit/s (link $rate)"

echo "== random data with compression on goes plain through the tunnel"
ns_apply "$RACK_DIR/compress.xml" >/dev/null
ns_wait_active vm1 1
ns_wait_active vm2 1
pv_cli vm list | tee "$RACK_DIR/vms.out"
grep -q "vm1: compress to 10.102.0.0/24 via ${RACK_HOST_IP[2]}" "$RACK_DIR/vms.out" ||
    rack_fail "vm list does not show vm1's compression"
ns_iperf_json "$RACK_DIR/random.json" -p 5201 -t 3 -F "$RACK_DIR/random.bin"
random_mbits=$(mbits "$RACK_DIR/random.json")
jq -n --argjson m "$random_mbits" --argjson r "$rate" '$m >= $r * 0.8 and $m <= $r * 1.1' | grep -q true ||
    rack_fail "random data with compression on: $random_mbits Mbit/s on a ${rate} Mbit/s link"
rack_exec 1 ip link show pvzip0 >/dev/null || rack_fail "no tunnel device on h1 while compressing"
echo "  random data: $random_mbits Mbit/s (link $rate)"

echo "== a rate limit: vm1's egress at 5 Mbit/s"
ns_site "$RACK_DIR/limit.xml" 'vm1:<NETSERVICE type="rate-limit" egress="5mbit" ingress="50mbit"/>'
ns_apply "$RACK_DIR/limit.xml" >/dev/null
ns_wait_active vm1 1
ns_wait_active vm2 0
ns_iperf_json "$RACK_DIR/limit.json" -p 5201 -t 3
limited=$(mbits "$RACK_DIR/limit.json")
jq -n --argjson m "$limited" '$m <= 5.5' | grep -q true || rack_fail "limited to 5mbit, vm1 sent $limited Mbit/s"
# The qdisc as tc lists it (once flaked: absent at one look right after the measurement; the
# listing is printed if it stays so for 2 s).
for _ in $(seq 20); do
    qdiscs=$(rack_exec 1 tc qdisc show dev vif1)
    grep -q "tbf 1a21: root" <<<"$qdiscs" && break
    sleep 0.1
done
grep -q "tbf 1a21: root" <<<"$qdiscs" || rack_fail "no tbf on vif1: $qdiscs"
echo "  limited: $limited Mbit/s"

echo "== a filter on vm2: 5201 allowed, 5202 refused; vm2's agent restarted keeps it and sweeps"
filter='vm2:<NETSERVICE type="filter"><ALLOW proto="tcp" port="5201" from="10.101.0.0/24"/><ALLOW proto="icmp"/></NETSERVICE>'
ns_site "$RACK_DIR/filter.xml" "$filter"
ns_apply "$RACK_DIR/filter.xml" >/dev/null
ns_wait_active vm1 0
ns_wait_active vm2 1
ns_iperf_json "$RACK_DIR/allowed.json" -p 5201 -t 1
if ns_vm 1 iperf3 -c 10.102.0.2 -p 5202 -t 1 >"$RACK_DIR/blocked.out" 2>&1; then
    rack_fail "port 5202 of vm2 was open through the filter"
fi
grep -q "Connection refused" "$RACK_DIR/blocked.out" || rack_fail "port 5202: $(cat "$RACK_DIR/blocked.out")"
ns_vm 1 busybox ping -c 1 -W 2 10.102.0.2 >/dev/null || rack_fail "icmp is allowed but ping failed"
rack_kill dom0-2 TERM
rack_exec 2 nft add table inet pvns_deadbeef
ns_agent_up 2
# The restarted agent sweeps the stray table and makes its own again (from the set it kept, then
# from the server's answers), in its own time: wait for both (reading between the two saw no
# table of ours at all). Usually under a second; 30 s at most, and the time is printed.
restarted=$SECONDS
for _ in $(seq 300); do
    listed=$(rack_exec 2 nft list tables)
    ! grep -q pvns_deadbeef <<<"$listed" && [ "$(grep -c pvns_ <<<"$listed" || true)" = 1 ] && break
    sleep 0.1
done
tables=$(rack_exec 2 nft list tables | grep -c pvns_ || true)
[ "$tables" = 1 ] || rack_fail "after the restart h2 has $tables tables of ours: $(rack_exec 2 nft list tables)"
# And keeps it through its next reports (every 0.3 s). The test driver's domains died with the
# agent: it starts vm2 again on its kept disk before its first report (a report that did not
# name vm2 would still keep the filter: the answers speak for the VMs the site places on h2).
sleep 1.5
grep -q "VM vm2: its domain was gone: defined and started again on its disk" "$RACK_DIR/dom0-2.err" ||
    rack_fail "the restarted agent did not start vm2 again: $(tail -n 5 "$RACK_DIR/dom0-2.err")"
tables=$(rack_exec 2 nft list tables | grep -c pvns_ || true)
[ "$tables" = 1 ] || rack_fail "1.5 s after the restart h2 has $tables tables of ours: $(rack_exec 2 nft list tables)"
if ns_vm 1 iperf3 -c 10.102.0.2 -p 5202 -t 1 >/dev/null 2>&1; then
    rack_fail "port 5202 open after the agent's restart"
fi
echo "  5201 open, 5202 refused; after a restart one table of ours ($((SECONDS - restarted)) s), the stray one swept"

echo "== a site without network services leaves nothing of ours behind"
ns_apply "$RACK_DIR/plain.xml" >/dev/null
ns_wait_active vm2 0
# Each agent removes its part at its next answer (every 0.3 s): up to 10 s for both.
leftovers() {
    local i
    for i in 1 2; do
        { rack_exec "$i" nft list tables | grep pvns_ || true
          rack_exec "$i" tc qdisc show | grep -E '1a21:|ingress' || true
          rack_exec "$i" tc filter show dev "vif$i" ingress || true
          rack_exec "$i" ip rule show | grep 4790 || true
          rack_exec "$i" ip route show table 4790 2>/dev/null || true
          rack_exec "$i" ip -o link show | grep -E 'pvifb|pvzip' || true; } | sed "s/^/h$i keeps: /"
    done
}
for _ in $(seq 100); do
    left=$(leftovers)
    [ -z "$left" ] && break
    sleep 0.1
done
[ -z "$left" ] || rack_fail "10 s after the apply: $left"
ns_iperf_json "$RACK_DIR/plain.json" -p 5202 -t 1
echo "== passed in $(($(date +%s) - started)) s"
