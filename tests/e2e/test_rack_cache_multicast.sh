#!/usr/bin/env bash
# Multicast in the rack (issue 20, item 4): two rack servers, A (--rack r1, in the rack's server
# namespace) and B (--rack r2, in a namespace of its own on the same switch), share one
# PostgreSQL (lib/postgres.sh), as in test_takeover.sh. Hosts 1-2 are in rack r1, 3-4 in r2.
# A deploys every host of both racks by multicast. B holds no copy of the image: since rack r2
# has hosts in A's deployment, B fetches it from A by delta into its image cache (A runs a delta
# server of the image for that, though the deployment is multicast), then runs a multicast
# sender of its copy for r2's hosts and publishes its session (sealed secrets) in the store. A,
# the owner, sends r2's hosts to B's session and r1's to its own, which waits for r1's hosts
# only. B's sender confirms r2's receipts; A learns them through the store.
#
# Checks: B fetched the image by delta while the deployment is multicast; B's sender serves its
# cached copy; hosts 3-4 imaged from B's session, 1-2 from A's; A recorded for 3-4 the delivery
# confirmed by B's multicast sender and for 1-2 by its own; the deployment succeeded, every
# host is imaged and every disk holds the image (sha256).
#
# Then B dies: the disks wiped, a second multicast deployment; B is killed with SIGKILL once
# rack r2's hosts have part of the image from its session. Their receivers fall silent, their
# agents ask again and A, the owner, hands them its own session (its sender, stopped once r1's
# hosts were done, starts again for them). Checks: hosts 3-4 began on B's session and ended on
# A's, the deployment succeeded, every disk holds the image.
#
# Then B restarts and A dies: a third deployment, A killed -9 once r2's hosts have part of the
# image from B's session. B takes the deployment over after A's lease (4 s) and finishes it by
# delta (takeover, as for any transport); B's own rack session lives on, and what it confirmed
# B takes in once the deployment is its own (r2's hosts that broke off would get B's delta
# server of its copy). Checks: B's events say it took the deployment over, it succeeded, every
# disk holds the image; A restarted rejoins.
#
# Needs root (exit 77 otherwise), postgresql, dnsmasq, curl, jq, busybox. About 40 s.
set -euo pipefail
source "$(dirname "$0")/lib/rack.sh"
rack_require curl jq busybox dnsmasq
export PV_IMAGE_MIB=${PV_IMAGE_MIB:-64}
source "$(dirname "$0")/lib/rack_servers.sh"

LEASE=4
started=$SECONDS
rack_servers_init

# Both take multicast ports from 9000. B sends at most 50 Mbit/s, so that it is mid-image when
# it is killed (the 64 MiB image, 27 MB packed, takes about 5 s).
MCAST=(--multicast-port 9000 --multicast-max-wait 10)
rack_server_a "${MCAST[@]}"
rack_server_b "${MCAST[@]}" --multicast-max-rate 50M
echo "== rack server A (r1) on $A_URL and B (r2) on $B_URL share $PG_URL"

rack_servers_deploy multicast
rack_servers_boot_scripts

# 1. The deployment is multicast, yet B caches its image by delta from A.
rack_servers_b_cached multicast "$d" 15

# 2. B multicasts its copy to rack r2; A, the owner, knows B's session.
rack_wait_log pvB "rack multicast: deployment $d's hosts in this server's racks \\(2\\) get dom0@1 from its copy here" 10
rack_wait_log pvA "per-rack imaging: .*rack r2: multicast session of deployment $d from pvB[^ ]* \\(" 10
session=$(grep -oE "rack r2: multicast session of deployment $d from pvB[^ ]* \\([0-9.]+:[0-9]+\\)" "$RACK_DIR/pvA.err" |
    tail -n 1 | sed -E 's/.*\((.*)\)/\1/')
# Both servers take sessions from --multicast-port 9000; a rack server's from the upper half of
# the range, so B's does not meet A's own (9000, group .1).
[ "$session" = 239.77.0.126:9125 ] || rack_fail "B's session $session is not 239.77.0.126:9125"
pgrep -f -- "imaging send .*--image $copy .*--port 9125 " >/dev/null ||
    rack_fail "B's multicast sender does not send its copy: $(pgrep -af 'imaging send')"
echo "  B multicasts its copy to rack r2 on $session; A sends r2's hosts there"

for i in 3 4 1 2; do pv_agent_bg "$i"; done
for ((i = 1; i <= RACK_N; i++)); do
    rack_wait "agent$i" 60 || rack_fail "host $i: agent failed: $(tail -n 3 "$RACK_DIR/agent$i.err")"
    line=$(grep "imaging .* by multicast from" "$RACK_DIR/agent$i.err" | tail -n 1) || true
    if [ "${PV_RACK[i]}" = r2 ]; then
        grep -q "by multicast from $session " <<<"$line" || rack_fail "host $i (r2) did not image from B's session: $line"
    else
        grep -q "by multicast from [0-9.]*:9000 " <<<"$line" || rack_fail "host $i (r1) did not image from A's session: $line"
    fi
done
echo "  hosts 3-4 imaged from B's session ($session), 1-2 from A's"

# B's receipts, passed to A through the store, confirmed r2's hosts; A's own sender r1's.
for ((t = 0; ; t++)); do
    events=$(api "$A_URL" "/api/v1/events?limit=1000")
    missing=
    for ((i = 1; i <= RACK_N; i++)); do
        if [ "${PV_RACK[i]}" = r2 ]; then by="multicast sender of rack server pvB[^ ]*"; else by="multicast sender"; fi
        jq -e --arg ip "${RACK_HOST_IP[i]}" --arg by "$by" \
            'any(.events[]; .reason | test("delivery confirmed by the " + $by + " \\(receipt from " + $ip + ":"))' \
            <<<"$events" >/dev/null || missing+=" h$i"
    done
    [ -z "$missing" ] && break
    [ "$t" -lt 100 ] || rack_fail "A recorded no delivery for$missing: $(jq -c '[.events[] | .reason]' <<<"$events")"
    sleep 0.1
done
echo "  A recorded B's multicast receipts for hosts 3-4 and its own sender's for 1-2"
rack_servers_succeeded "$A_URL" "$d"
pv_check_disks "$d" || rack_fail "a disk does not hold the image"
hosts=$(api "$B_URL" "/api/v1/hosts" | jq -c '[.hosts[] | .state] | unique')
[ "$hosts" = '["imaged"]' ] || rack_fail "host states under B: $hosts"
# Once its rack's hosts are done, B's sender stops.
rack_wait_log pvB "stopping the rack multicast sender of deployment $d" 5

echo "== B dies mid-image: rack r2's hosts finish from A's own session"
for ((i = 1; i <= RACK_N; i++)); do
    dd if=/dev/zero of="${PV_LOOP[i]}" bs=1M count="$PV_IMAGE_MIB" conv=fsync status=none
done
pv_cli deploy --image dom0@1 --hosts all --transport multicast >/dev/null
d2=$(pv_deployment_id)
[ "$d2" != "$d" ] || rack_fail "no second deployment"
rack_servers_boot_scripts
rack_wait_log pvA "per-rack imaging: .*rack r2: multicast session of deployment $d2 from pvB" 10
for i in 3 4 1 2; do pv_agent_bg "$i"; done
pack=$(jq -r .stored_size <<<"$(pv_cli --json image show dom0@1)")
for ((t = 0; ; t++)); do
    r2=$(api "$A_URL" "/api/v1/deployments/$d2" | jq -c '[.targets[] | select(.name == "h3" or .name == "h4") | .bytes_done] | [min, max]')
    [ "$(jq '.[0]' <<<"$r2")" -gt 0 ] && break
    [ "$t" -lt 150 ] || rack_fail "rack r2's hosts got nothing from B's session in 15 s"
    sleep 0.1
done
[ "$(jq '.[1]' <<<"$r2")" -lt "$pack" ] || rack_fail "a host of r2 had the whole image before B's kill: lower B's --multicast-max-rate"
rack_kill pvB KILL
echo "  killed B (SIGKILL) with rack r2's hosts between $(jq '.[0]' <<<"$r2") and $(jq '.[1]' <<<"$r2") of $pack bytes"
for ((i = 1; i <= RACK_N; i++)); do
    rack_wait "agent$i" 60 || rack_fail "host $i: agent failed: $(tail -n 3 "$RACK_DIR/agent$i.err")"
    jobs=$(grep "imaging .* by multicast from .*(deployment $d2)" "$RACK_DIR/agent$i.err") || true
    if [ "${PV_RACK[i]}" = r2 ]; then
        head -n 1 <<<"$jobs" | grep -q "by multicast from $session " || rack_fail "host $i (r2) did not start from B's session: $jobs"
        tail -n 1 <<<"$jobs" | grep -q "by multicast from [0-9.]*:9000 " || rack_fail "host $i (r2) did not finish from A's session: $jobs"
    else
        grep -q "by multicast from [0-9.]*:9000 " <<<"$jobs" || rack_fail "host $i (r1): $jobs"
    fi
done
rack_servers_succeeded "$A_URL" "$d2"
pv_check_disks "$d2" || rack_fail "a disk does not hold the image"
echo "  hosts 3-4 broke off B's session and finished from A's; deployment $d2 succeeded"

echo "== B back; A, the owner, dies mid-image: B takes the deployment over"
rack_server_b "${MCAST[@]}" --multicast-max-rate 50M
for ((i = 1; i <= RACK_N; i++)); do
    dd if=/dev/zero of="${PV_LOOP[i]}" bs=1M count="$PV_IMAGE_MIB" conv=fsync status=none
done
pv_cli deploy --image dom0@1 --hosts all --transport multicast >/dev/null
d3=$(pv_deployment_id)
rack_servers_boot_scripts
rack_wait_log pvA "per-rack imaging: .*rack r2: multicast session of deployment $d3 from pvB" 10
for i in 3 4 1 2; do pv_agent_bg "$i"; done
for ((t = 0; ; t++)); do
    r2=$(api "$A_URL" "/api/v1/deployments/$d3" | jq -c '[.targets[] | select(.name == "h3" or .name == "h4") | .bytes_done] | [min, max]')
    [ "$(jq '.[0]' <<<"$r2")" -gt 0 ] && break
    [ "$t" -lt 150 ] || rack_fail "rack r2's hosts got nothing from B's session in 15 s"
    sleep 0.1
done
[ "$(jq '.[1]' <<<"$r2")" -lt "$pack" ] || rack_fail "a host of r2 had the whole image before A's kill"
rack_kill pvA KILL
echo "  killed A (SIGKILL) with rack r2's hosts between $(jq '.[0]' <<<"$r2") and $(jq '.[1]' <<<"$r2") of $pack bytes"
for ((i = 1; i <= RACK_N; i++)); do
    rack_wait "agent$i" 60 || rack_fail "host $i: agent failed: $(tail -n 3 "$RACK_DIR/agent$i.err")"
done
# r2's hosts: B's rack session does not die with A; what it confirmed, B (the owner now)
# takes in at the takeover, as their results come; or, had they broken off, B's delta server
# of its copy finishes them.
for i in 3 4; do
    last=$(grep "imaging .* (deployment $d3)" "$RACK_DIR/agent$i.err" | tail -n 1) || true
    if grep -q "by multicast from $session " <<<"$last"; then
        grep -qE "deployment $d3: h$i: imaged .*delivery confirmed by the multicast sender \(receipt from ${RACK_HOST_IP[i]}:" "$RACK_DIR/pvB.err" ||
            rack_fail "host $i: B did not take in its own session's receipt: $(grep "deployment $d3: h$i" "$RACK_DIR/pvB.err")"
    else
        grep -q "by delta from $B_IP:" <<<"$last" || rack_fail "host $i's last job: $last"
    fi
done
rack_servers_succeeded "$B_URL" "$d3" "under B"
api "$B_URL" "/api/v1/events?limit=1000" | jq -e --argjson d "$d3" \
    '[.events[] | select(.reason | test("deployment \($d) taken over by pvB"))] | length >= 2' >/dev/null ||
    rack_fail "no takeover of deployment $d3 by B in the events"
rack_server_a "${MCAST[@]}"
pv_check_disks "$d3" || rack_fail "a disk does not hold the image"
echo "  B took deployment $d3 over and finished every host; A rejoined"
echo "PASS: rack r2 imaged by multicast from its rack server's cached copy, r1 from the owner ($((SECONDS - started)) s)"
