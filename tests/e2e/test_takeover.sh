#!/usr/bin/env bash
# Takeover (issue 20, item 3): two provisionerd, A and B, in the rack's server namespace share
# one PostgreSQL (lib/postgres.sh), each naming the other with --peer-url. A deploys the rack's
# hosts by delta; each host's command line (its iPXE script from A) lists both servers. The server's link is shaped (tc tbf) so that the deployment is
# mid-image when A is killed with SIGKILL. B takes the deployment over once A's lease expires
# (--lease-seconds): it starts a delta server of its own, each agent's next hello gets B's job,
# and the transfer carries on from what the host's disk holds.
#
# Checks: B took over within the lease time and a margin; every disk holds the image (sha256)
# and every host ends imaged; no host lost or duplicated; each host's transitions (booting,
# imaging, imaged) written once, one takeover event per host; A restarted rejoins without
# recovering anything: it lists the same hosts, the deployment succeeded and the same event log
# as B. Prints the takeover time: from the kill to the first progress reported under B.
#
# Needs root (exit 77 otherwise), postgresql, curl, jq, tc, busybox. About 40 s.
# TAKEOVER_LEASE (seconds, default 4), TAKEOVER_RATE (tbf rate, default 60mbit).
set -euo pipefail
source "$(dirname "$0")/lib/rack.sh"
rack_require curl jq tc busybox
SRC=${PROVISIONER_SOURCE:-$(cd "$(dirname "$0")/../.." && pwd)}
source "$SRC/tests/e2e/lib/postgres.sh"
rack_up 4
export PV_IMAGE_MIB=${PV_IMAGE_MIB:-96}
source "$(dirname "$0")/lib/provisioner.sh"
rack_on_exit pg_down

LEASE=${TAKEOVER_LEASE:-4}
RATE=${TAKEOVER_RATE:-60mbit}
A_STATE=$PV_STATE
B_STATE=$RACK_DIR/state-b
A_URL=$PV_URL
B_URL=https://$RACK_SERVER_IP:$((PV_PORT + 1))
started=$SECONDS

chmod 755 "$RACK_DIR"  # the cluster runs as postgres, in a directory under it
pg_up "$RACK_DIR/pg" || rack_fail "no PostgreSQL cluster"
"$PV_BIN/provisionerd" init --state-dir "$A_STATE" --database "$PG_URL" >/dev/null ||
    rack_fail "init A"
mkdir -p "$B_STATE"
cp -p "$A_STATE/site.key" "$A_STATE/site.pub" "$A_STATE/ca.key" "$A_STATE/ca.crt" "$B_STATE/"
"$PV_BIN/provisionerd" init --state-dir "$B_STATE" --database "$PG_URL" >/dev/null ||
    rack_fail "init B"

# start NAME STATE PORT DELTA_PORT PEER: a provisionerd on the shared database, as rack_bg NAME.
start() {
    local name=$1 state=$2 port=$3 delta=$4 peer=$5
    rack_bg server "$name" "$PV_BIN/provisionerd" --state-dir "$state" --database "$PG_URL" \
        --listen "$RACK_SERVER_IP:$port" --delta-port "$delta" --import-dir "$RACK_DIR" \
        --lease-seconds "$LEASE" --server-id "$name" --peer-url "$peer"
    rack_wait_log "$name" 'serving http' 20
}
# api URL PATH: GET with the operator token, from the server namespace.
api() {
    rack_server curl -sf --cacert "$PROVISIONER_CA" \
        -H "Authorization: Bearer $(cat "$A_STATE/operator.token")" "$1$2"
}
start pvA "$A_STATE" "$PV_PORT" 20000 "$B_URL"
start pvB "$B_STATE" "$((PV_PORT + 1))" 24000 "$A_URL"
echo "== A on $A_URL and B on $B_URL share $PG_URL (lease ${LEASE} s)"

pv_make_image
pv_pack_image
pv_cli image import "$RACK_DIR/dom0-v1" >/dev/null
pv_enrol >/dev/null
pv_cli deploy --image dom0@1 --hosts all --transport delta >/dev/null
d=$(pv_deployment_id)
# What the hosts' PXE firmware would fetch from A: their iPXE scripts, with the boot tickets.
for ((i = 1; i <= RACK_N; i++)); do
    rack_exec "$i" busybox wget -q -O "$RACK_DIR/h$i.ipxe" "$PV_BOOT_URL/boot/${PV_MAC[i]//:/-}.ipxe" ||
        rack_fail "host $i: no iPXE script"
    sed -n 's/^kernel [^ ]* \(.*\) || goto failed$/\1/p' "$RACK_DIR/h$i.ipxe" >"$RACK_DIR/h$i.cmdline"
    grep -q 'provisioner.token=' "$RACK_DIR/h$i.cmdline" || rack_fail "host $i: no boot ticket"
    grep -q "provisioner.server=$A_URL,$B_URL " "$RACK_DIR/h$i.cmdline" ||
        rack_fail "host $i: its command line does not list both servers: $(cat "$RACK_DIR/h$i.cmdline")"
done
rack_server tc qdisc add dev "$RACK_IF" root tbf rate "$RATE" burst 64kb latency 200ms
for ((i = 1; i <= RACK_N; i++)); do
    rack_bg "$i" "agent$i" "$PV_BIN/provisioner-agent" image --cmdline "$RACK_DIR/h$i.cmdline" \
        --disk "${PV_LOOP[i]}" --imaging "$PV_BIN/imaging" --hello-timeout 60
done
pack=$(jq -r .stored_size <<<"$(pv_cli --json image show dom0@1)")
echo "== deployment $d: $RACK_N hosts by delta from A, $RATE out of the server ($pack bytes each)"

# Mid-image: every host has a third (A's live figures), none has all of it.
for ((t = 0; ; t++)); do
    least=$(api "$A_URL" "/api/v1/deployments/$d" | jq '[.targets[].bytes_done] | min')
    [ "$least" -ge $((pack / 3)) ] && break
    [ "$t" -lt 300 ] || rack_fail "the hosts did not reach a third of the image in 30 s (least $least)"
    sleep 0.1
done
most=$(api "$A_URL" "/api/v1/deployments/$d" | jq '[.targets[].bytes_done] | max')
[ "$most" -lt "$pack" ] || rack_fail "a host had the whole image before the kill: raise the shaping"
killed_ms=$(date +%s%3N)
rack_kill pvA KILL
echo "  killed A (SIGKILL) with every host between $least and $most bytes"

# B's first progress under its ownership: the takeover time as the hosts see it.
for ((t = 0; ; t++)); do
    first=$(api "$B_URL" "/api/v1/events?limit=1000" |
        jq '[.events[] | select(.reason | test("imaging resumed under pvB")) | .time] | min // empty')
    [ -n "$first" ] && break
    [ "$t" -lt $(((LEASE + 20) * 10)) ] || rack_fail "no progress under B $((LEASE + 20)) s after the kill"
    sleep 0.1
done
taken_ms=$(api "$B_URL" "/api/v1/events?limit=1000" |
    jq '[.events[] | select(.reason | test("taken over by pvB")) | .time] | min')
printf 'takeover: %.1f s from the kill to B owning the deployment, %.1f s to its first progress (lease %s s)\n' \
    "$(((taken_ms - killed_ms)))e-3" "$(((first - killed_ms)))e-3" "$LEASE"
[ $((taken_ms - killed_ms)) -le $(((LEASE + 3) * 1000)) ] || rack_fail "B took over more than the lease time and 3 s after the kill"

for ((i = 1; i <= RACK_N; i++)); do
    rack_wait "agent$i" 90 || rack_fail "host $i: agent failed: $(tail -n 3 "$RACK_DIR/agent$i.err")"
    grep -q "a new job for deployment $d" "$RACK_DIR/agent$i.err" ||
        rack_fail "host $i: its agent did not carry on with B's job"
done
for ((t = 0; t < 100; t++)); do
    [ "$(api "$B_URL" "/api/v1/deployments/$d" | jq -r .state)" = succeeded ] && break
    sleep 0.1
done
[ "$(api "$B_URL" "/api/v1/deployments/$d" | jq -r .state)" = succeeded ] ||
    rack_fail "deployment $d under B: $(api "$B_URL" "/api/v1/deployments/$d" | jq -c '[.state, [.targets[] | .state]]')"
rack_server tc qdisc del dev "$RACK_IF" root

echo "== A restarts and rejoins"
start pvA "$A_STATE" "$PV_PORT" 20000 "$B_URL"
grep -q "recovered from an unclean stop" "$RACK_DIR/pvA.err" && rack_fail "A recovered deployments that B drives"
pv_check_disks "$d" || rack_fail "a disk does not hold the image"
hosts_a=$(api "$A_URL" "/api/v1/hosts" | jq -c '[.hosts[] | [.name, .state]] | sort')
hosts_b=$(api "$B_URL" "/api/v1/hosts" | jq -c '[.hosts[] | [.name, .state]] | sort')
[ "$hosts_a" = "$hosts_b" ] || rack_fail "A lists $hosts_a, B $hosts_b"
[ "$(jq length <<<"$hosts_a")" = "$RACK_N" ] || rack_fail "hosts: $hosts_a"
[ "$(jq -c '[.[][1]] | unique' <<<"$hosts_a")" = '["imaged"]' ] || rack_fail "host states: $hosts_a"
events_a=$(api "$A_URL" "/api/v1/events?limit=10000")
events_b=$(api "$B_URL" "/api/v1/events?limit=10000")
[ "$events_a" = "$events_b" ] || rack_fail "A and B return different event logs"
[ "$(jq '[.events[].id] | length' <<<"$events_a")" = "$(jq '[.events[].id] | unique | length' <<<"$events_a")" ] ||
    rack_fail "an event id is listed twice"
for ((i = 1; i <= RACK_N; i++)); do
    id=$(api "$B_URL" "/api/v1/hosts/h$i" | jq -r .id)
    seq=$(jq -c --argjson h "$id" '[.events[] | select(.host == $h and .to != null) | .to]' <<<"$events_a")
    [ "$seq" = '["enrolled","booting","imaging","imaged"]' ] || rack_fail "h$i's transitions: $seq"
    took=$(jq --argjson h "$id" '[.events[] | select(.host == $h and (.reason | test("taken over by pvB")))] | length' <<<"$events_a")
    [ "$took" = 1 ] || rack_fail "h$i has $took takeover events"
done
echo "  A lists the same $RACK_N hosts (imaged), deployment $d succeeded, the same $(jq '.events | length' <<<"$events_a") events, none twice"
echo "PASS: deployment $d taken over by B after A's kill -9, every host imaged and verified ($((SECONDS - started)) s)"
