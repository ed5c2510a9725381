#!/usr/bin/env bash
# A hostile LAN (issue 14): a real provisionerd with its dnsmasq, two real hosts (h1, h2) that
# PXE-boot and run the real agent, and two attacker namespaces (h3, h4) on the same rack bridge.
#   1. JSON nested 100,000 deep on the agent endpoints from an attacker: 400, the server lives.
#   2. A stolen boot ticket (from the unauthenticated iPXE script), used before the real host's
#      hello (the attacker gets the job; the real agent is refused, an event says so, and the
#      second use fails that host's part, so the attacker's result, even with the right
#      sha256, is refused and the host is failed, never imaged), then after it (refused with an
#      event; the real host is imaged, or, caught mid-imaging, failed: never another image).
#   3. A substituted image, validly signed with the site key: a rogue delta server and a rogue
#      multicast sender; `imaging receive --expect-sha256` (what the agent runs) refuses it with
#      a clear error and writes nothing.
#   4. A hostile delta client against provisionerd's delta server (10,000 full-chunk ranges, a
#      signature request for millions of chunks, a header promising 256 MiB then silence, many
#      idle connections) while h2's agent images beside it: h2 is imaged, the server's memory
#      stays bounded.
#      Proof of receipt: h1 stays powered off, so nothing exposes the attacker holding its job;
#      its result ok:true with the job's sha256 and token is held (202), h1 stays imaging, an
#      event says "no delivery confirmed by the sender"; a receipt to the delta server proved
#      with h1's key from the job, but without the image, fails the possession check.
#   5. 500 unknown MACs asking for their iPXE script: most get 429, the discovered hosts stay
#      within --max-discovered, the real hosts are still answered.
#   6. `template add /etc/shadow`: 403, no template.
# (Forged multicast NACK/STATUS: test_multicast_forged.sh.)
#
# Needs root (exit 77 otherwise), ip, nft, dnsmasq, busybox, curl, jq, python3. About a minute.
set -euo pipefail
source "$(dirname "$0")/lib/rack.sh"
rack_require curl jq python3 busybox
rack_up 2
PV_IMAGE_MIB=${PV_IMAGE_MIB:-96}
source "$(dirname "$0")/lib/provisioner.sh"
HOSTILE=(python3 "$(cd "$(dirname "$0")" && pwd)/lib/hostile_lan.py")
MAX_DISCOVERED=50

ok() { echo "ok: $*"; }

pv_make_image
pv_start_server --max-discovered "$MAX_DISCOVERED" --discovery-rate 60 >/dev/null
pv_pack_image >/dev/null
pv_cli image import "$RACK_DIR/dom0-v1" >/dev/null
REAL_SHA=$(pv_cli --json image show dom0@1 | jq -r .image_sha256)
size=$(stat -c %s "$RACK_DIR/dom0.raw")  # the raw image's bytes, at the start of an imaged disk
[ "$(sha256sum <"$RACK_DIR/dom0.raw" | cut -d' ' -f1)" = "$REAL_SHA" ] || rack_fail "dom0@1's image_sha256 is not the raw image's"
pv_enrol >/dev/null
# The attackers: two more namespaces on the bridge, never enrolled.
rack_add_host
ATK=$RACK_N
rack_add_host
ATK2=$RACK_N
ATK_IP=${RACK_HOST_IP[ATK]}
PVD_PID=$(rack_pid pvd)
echo "== provisionerd on $PV_URL; hosts h1, h2 enrolled; attackers in ${RACK_HOST_NS[ATK]} ($ATK_IP) and ${RACK_HOST_NS[ATK2]}"

# atk METHOD PATH|URL [CURL ARGS...]: a request from the attacker's namespace (PATH: under
# $PV_URL, the API; the boot scripts are at $BOOT_BASE, what DHCP tells iPXE); the status code on
# stdout, the body in $RACK_DIR/body. -k: an attacker checks no certificate.
atk() {
    local method=$1 path=$2
    shift 2
    rack_exec "$ATK" curl -sk -o "$RACK_DIR/body" -w '%{http_code}' -X "$method" -H 'Expect:' \
        -H 'Content-Type: application/json' --max-time 20 "$@" "$(case $path in http*) echo "$path" ;; *) echo "$PV_URL$path" ;; esac)"
}
body() { head -c 300 "$RACK_DIR/body"; }
want() { [ "$2" = "$1" ] || rack_fail "$3: HTTP $2, expected $1 (body: $(body))"; }
alive() {
    kill -0 "$PVD_PID" 2>/dev/null || rack_fail "provisionerd died ($1)"
    want 200 "$(atk GET /api/v1/health)" "GET /api/v1/health after $1"
}
host_state() { pv_cli --json host show "$1" | jq -r .state; }
# ticket_events D: how many "boot ticket of deployment D used again" events h1 has.
ticket_events() {
    pv_cli --json events --host h1 |
        jq --arg d "$1" '[.events[].reason | select(test("boot ticket of deployment " + $d + " used again"))] | length'
}
# steal I: host I's boot ticket, out of its iPXE script fetched by the attacker.
steal() {
    want 200 "$(atk GET "$BOOT_BASE/boot/${PV_MAC[$1]//:/-}.ipxe")" "the attacker fetching host $1's iPXE script"
    sed -n 's/.*provisioner\.token=\([^ ]*\).*/\1/p' "$RACK_DIR/body" | head -n 1
}
# atk_hello I TOKEN: an image hello as host I with TOKEN from the attacker; its code on stdout.
atk_hello() {
    atk POST /api/v1/agent/hello -H "Authorization: Bearer $2" -d "{\"mac\":\"${PV_MAC[$1]}\",\"mode\":\"image\",\"facts\":{}}"
}

# ---------------------------------------------------------------------------------------------
echo "== 1. JSON nested 100,000 deep from the attacker"
python3 -c 'import sys; d = 100000; sys.stdout.write("{\"mac\":\"52:54:00:00:0d:01\",\"mode\":\"discover\",\"facts\":" + "[" * d + "]" * d + "}")' >"$RACK_DIR/deep.json"
python3 -c 'import sys; d = 100000; sys.stdout.write("[" * d + "]" * d)' >"$RACK_DIR/deep-bare.json"
before=$(pv_cli --json host list | jq .total)
code=$(atk POST /api/v1/agent/hello --data-binary @"$RACK_DIR/deep.json")
want 400 "$code" "discovery hello with facts nested 100,000 deep"
deep_msg=$(jq -r .error.message "$RACK_DIR/body" | head -c 60)
# deep_json ROUTES [CURL ARGS...]: JSON 100,000 deep on each /api/v1/agent/ROUTE: 400 (401 without
# a token, where the token is checked before the body is read), never internal error text.
deep_json() {
    local routes=$1 route code
    shift
    for route in $routes; do
        code=$(atk POST "/api/v1/agent/$route" --data-binary @"$RACK_DIR/deep-bare.json" "$@")
        case $code in 400 | 401) ;; *) rack_fail "POST /api/v1/agent/$route with JSON 100,000 deep: HTTP $code ($(body))" ;; esac
        [ $# = 0 ] || want 400 "$code" "POST /api/v1/agent/$route with JSON 100,000 deep and a token"
        if grep -qi internal "$RACK_DIR/body"; then rack_fail "/api/v1/agent/$route: internal error text reached the attacker: $(body)"; fi
        echo -n " $route:$code"
    done
    echo
}
echo -n "  without a token:"
deep_json "hello progress result ready vms"
alive "deep JSON"
[ "$(pv_cli --json host list | jq .total)" = "$before" ] || rack_fail "deep JSON changed the inventory"
ok "deep JSON (200 KB) from $ATK_IP: discovery hello 400 (\"$deep_msg\"), the other agent endpoints 400/401; provisionerd alive, health 200, nothing recorded"

# ---------------------------------------------------------------------------------------------
echo "== 2. a stolen boot ticket"
echo "-- 2a. the attacker uses it before the real host"
pv_cli deploy --image dom0@1 --hosts h1 --transport delta >/dev/null
d=$(pv_deployment_id)
# h1 powers on: DHCP, TFTP, its iPXE script (the ticket in it), then the kernel boots, which
# takes a while on real hardware: the attacker's window before the agent's hello.
pv_boot 1
BOOT_BASE=$(rack_lease h1-ipxe boot_file)
BOOT_BASE=${BOOT_BASE%/boot/*}
ticket=$(steal 1)
[[ $ticket == t* ]] || rack_fail "h1's iPXE script carries no boot ticket: $(body)"
for _ in $(seq 100); do
    code=$(atk_hello 1 "$ticket")
    want 200 "$code" "the attacker's hello with h1's stolen ticket"
    [ "$(jq -r .action "$RACK_DIR/body")" = wait ] || break
    sleep 0.2
done
jq -e --argjson d "$d" '.action == "image" and .job.deployment == $d' "$RACK_DIR/body" >/dev/null ||
    rack_fail "the attacker's hello answered $(body)"
stolen_token=$(jq -r .job.token "$RACK_DIR/body")
[[ $stolen_token == d* ]] || rack_fail "the attacker's job carries no deployment token: $(body)"
echo -n "  with the stolen deployment token:"
deep_json "hello progress result" -H "Authorization: Bearer $stolen_token"
alive "deep JSON with a deployment token"
ok "deep JSON past authentication (the stolen deployment token): 400 on hello, progress, result; health 200"
ok "attacker: h1's ticket out of GET $BOOT_BASE/boot/${PV_MAC[1]//:/-}.ipxe (no token needed), its hello before h1's agent: the job of deployment $d"

pv_agent_bg 1
status=0
rack_wait agent1 60 || status=$?
[ "$status" != 0 ] || rack_fail "h1's agent succeeded with a ticket the attacker had used"
grep -q '401.*used' "$RACK_DIR/agent1.err" ||
    rack_fail "h1's agent was not refused with 401 (ticket used): $(tail -n 3 "$RACK_DIR/agent1.err")"
[ "$(ticket_events "$d")" -ge 1 ] || rack_fail "no event \"boot ticket of deployment $d used again\""
ok "the real h1's hello with its ticket: 401 ($(grep -m1 -o '401[^"]*' "$RACK_DIR/agent1.err" | head -c 80)); event \"boot ticket of deployment $d used again\""

# The job told the attacker the image's sha256: a success claimed with it, having received
# nothing, must not make h1 imaged. The second hello on the ticket failed h1's part already.
code=$(atk POST /api/v1/agent/result -H "Authorization: Bearer $stolen_token" \
    -d "{\"deployment\":$d,\"ok\":true,\"result\":{\"sha256\":\"$REAL_SHA\",\"bytes_received\":1,\"seconds\":1}}")
case $code in 404|409) ;; *) rack_fail "the attacker's ok result with the job's sha256: HTTP $code, expected 404 or 409 ($(body))" ;; esac
bogus=$(printf '%064d' 0)
code=$(atk POST /api/v1/agent/result -H "Authorization: Bearer $stolen_token" \
    -d "{\"deployment\":$d,\"ok\":true,\"result\":{\"sha256\":\"$bogus\",\"bytes_received\":1,\"seconds\":1}}")
case $code in 404|409) ;; *) rack_fail "the attacker's ok result with a wrong sha256: HTTP $code, expected 404 or 409 ($(body))" ;; esac
state=$(host_state h1)
[ "$state" = failed ] || rack_fail "h1 is $state after the attacker's results, expected failed"
pv_cli --json deployment show "$d" | jq -e '.targets[0].state == "failed" and (.targets[0].error | test("used twice"))' >/dev/null ||
    rack_fail "deployment $d's target: $(pv_cli --json deployment show "$d" | jq -c .targets)"
ok "the attacker's results ok:true under the job's token, with the job's sha256 or 000...0: $code; h1 failed ('its boot ticket was used twice'), never imaged"

echo "-- 2b. the real host first, then the attacker"
pv_cli deploy --image dom0@1 --hosts h1 --transport delta >/dev/null
d=$(pv_deployment_id)
pv_boot 1
pv_agent_bg 1
for _ in $(seq 100); do
    state=$(host_state h1)
    [ "$state" = booting ] || break
    sleep 0.1
done
[ "$state" = imaging ] || [ "$state" = imaged ] || rack_fail "h1 is $state after its agent's hello"
ticket=$(steal 1)
[[ $ticket == t* ]] || rack_fail "h1's iPXE script while imaging: $(body)"
code=$(atk_hello 1 "$ticket")
want 401 "$code" "the attacker's hello with h1's ticket after h1's own"
jq -e '.error.message | test("used")' "$RACK_DIR/body" >/dev/null || rack_fail "the refusal does not say the ticket was used: $(body)"
[ "$(ticket_events "$d")" -ge 1 ] || rack_fail "no event \"boot ticket of deployment $d used again\" for the attacker's try"
# Caught mid-imaging, h1's part fails (one of the two hellos was not h1); done already, it
# stays imaged. Either way never with anything but dom0@1.
rack_wait agent1 120 || true
case $(host_state h1) in
imaged)
    [ "$(head -c "$size" "${PV_LOOP[1]}" | sha256sum | cut -d' ' -f1)" = "$REAL_SHA" ] || rack_fail "h1's disk does not hold dom0@1"
    outcome="h1 had finished: imaged, its disk is dom0@1" ;;
failed)
    pv_cli --json deployment show "$d" | jq -e '.targets[0].error | test("used twice")' >/dev/null ||
        rack_fail "h1 failed for another reason: $(pv_cli --json deployment show "$d" | jq -c .targets)"
    outcome="h1 caught mid-imaging: its part failed ('used twice'), deployable again" ;;
*) rack_fail "h1 is $(host_state h1) after the attacker's try" ;;
esac
ok "h1's hello first; the attacker's use of the ticket: 401 ($(jq -r .error.message "$RACK_DIR/body" | head -c 70)) and an event; $outcome"

# ---------------------------------------------------------------------------------------------
echo "== 3. a substituted image, validly signed"
image_raw=$RACK_DIR/rogue.raw
head -c $((8 << 20)) /dev/urandom >"$image_raw"
# Named dom0@1 like the real one: only the pinned sha256 tells them apart.
"$PV_BIN/imaging" pack "$image_raw" "$RACK_DIR/rogue" --key "$PV_STATE/site.key" --name dom0 --version 1 --level 1 >/dev/null
rack_bg "$ATK" rogue_serve "$PV_BIN/imaging" serve --image "$RACK_DIR/rogue" --listen "$ATK_IP:7500"
rack_wait_log rogue_serve 'on port' 10
status=0
rack_exec 2 "$PV_BIN/imaging" receive --transport delta --from "$ATK_IP:7500" --output "$RACK_DIR/sub-delta" \
    --pubkey "$PV_STATE/site.pub" --expect-sha256 "$REAL_SHA" --expect-image dom0@1 --timeout 10 \
    >"$RACK_DIR/sub-delta.out" 2>"$RACK_DIR/sub-delta.err" || status=$?
[ "$status" != 0 ] || rack_fail "imaging receive took another image from a rogue delta server while expecting dom0@1"
grep -q 'not the expected' "$RACK_DIR/sub-delta.err" || rack_fail "rogue delta: unclear error: $(cat "$RACK_DIR/sub-delta.err")"
[ ! -s "$RACK_DIR/sub-delta" ] || rack_fail "rogue delta: the receiver wrote $(stat -c %s "$RACK_DIR/sub-delta") bytes"
rack_kill rogue_serve
ok "rogue delta server of another dom0@1 (signed with site.key): receive --expect-sha256 refuses it, nothing written: $(grep -m1 'not the expected' "$RACK_DIR/sub-delta.err" | head -c 220)"

rack_bg "$ATK" rogue_send "$PV_BIN/imaging" send --transport multicast --image "$RACK_DIR/rogue" --interface "$RACK_IF" \
    --group 239.192.77.99 --port 7799 --min-receivers 1 --max-wait 10 --receiver-timeout 3
status=0
rack_exec 2 "$PV_BIN/imaging" receive --transport multicast --interface "$RACK_IF" --group 239.192.77.99 --port 7799 \
    --output "$RACK_DIR/sub-mc" --pubkey "$PV_STATE/site.pub" --expect-sha256 "$REAL_SHA" --expect-image dom0@1 --timeout 10 \
    >"$RACK_DIR/sub-mc.out" 2>"$RACK_DIR/sub-mc.err" || status=$?
[ "$status" != 0 ] || rack_fail "imaging receive took another image from a rogue multicast sender while expecting dom0@1"
grep -q 'not the expected' "$RACK_DIR/sub-mc.err" || rack_fail "rogue multicast: unclear error: $(cat "$RACK_DIR/sub-mc.err")"
[ ! -s "$RACK_DIR/sub-mc" ] || rack_fail "rogue multicast: the receiver wrote $(stat -c %s "$RACK_DIR/sub-mc") bytes"
rack_kill rogue_send
ok "rogue multicast sender of the other dom0@1: receive --expect-sha256 refuses it, nothing written: $(grep -m1 'not the expected' "$RACK_DIR/sub-mc.err" | head -c 220)"

# ---------------------------------------------------------------------------------------------
echo "== 4. a hostile delta client beside a real receiver"
# h1's real agent never comes for this deployment (the attacker takes h1's job below), so the
# deployment stays running and its delta server stays up.
# The delta server of section 2's deployment stops once no running deployment uses the image.
for _ in $(seq 100); do
    pgrep -P "$PVD_PID" -f "imaging serve --image" >/dev/null || break
    sleep 0.1
done
if pgrep -P "$PVD_PID" -f "imaging serve --image" >/dev/null; then rack_fail "a delta server outlived its deployments by 10 s"; fi
pv_cli deploy --image dom0@1 --hosts all --transport delta >/dev/null
d=$(pv_deployment_id)
srv=''
port=''
for _ in $(seq 100); do
    srv=$(pgrep -P "$PVD_PID" -f "imaging serve --image" || true)
    [ -n "$srv" ] && port=$(rack_server ss -ltnpH | grep "pid=$srv," | awk '{print $4}' | sed 's/.*://' | head -n 1)
    [ -n "$port" ] && break
    sleep 0.1
done
[ -n "$port" ] || rack_fail "no delta server listens for deployment $d (pid ${srv:-none})"
DELTA=$RACK_SERVER_IP:$port
rss() { awk -v k="$2:" '$1 == k { print int($2 / 1024) }' "/proc/$1/status"; }
rss_before=$(rss "$srv" VmRSS)
echo "  provisionerd's delta server: pid $srv on $DELTA, VmRSS $rss_before MiB"
# The attacker steals h1's ticket for this deployment too: its job carries whatever the
# transport's peers must prove (a per-deployment secret, once delta authenticates them), so the
# hostile client below talks as an authenticated receiver would, where there is one.
ticket=$(steal 1)
for _ in $(seq 100); do
    want 200 "$(atk_hello 1 "$ticket")" "the attacker's hello with h1's ticket of deployment $d"
    [ "$(jq -r .action "$RACK_DIR/body")" = wait ] || break
    sleep 0.2
done
jq -e '.action == "image"' "$RACK_DIR/body" >/dev/null || rack_fail "the attacker's hello answered $(body)"
secret=$(jq -r '[.. | objects | to_entries[] | select(.key | test("secret")) | .value | strings | select(test("^[0-9a-f]{64}$"))] | first // ""' "$RACK_DIR/body")
receiver_id=$(jq -r '.job.receiver_id // ""' "$RACK_DIR/body")
stolen_token=$(jq -r .job.token "$RACK_DIR/body")
AUTH=(--secret "$secret" --receiver-id "$receiver_id")
echo "  attacker: deployment $d's job by h1's stolen ticket (${secret:+with the delta secret}${secret:-no delta secret in it})"

# From the attacker: 100 connections that say nothing, held through the real receive;
# a header promising 256 MiB after the hello and as the first message, then silence.
rack_bg "$ATK" idle "${HOSTILE[@]}" idle "$DELTA" 100 15
rack_bg "$ATK2" promise "${HOSTILE[@]}" delta "$DELTA" promise 10 "${AUTH[@]}"
rack_bg "$ATK2" promise_first "${HOSTILE[@]}" delta "$DELTA" promise-first 10
sleep 1
pv_boot 2
pv_agent_bg 2
for mode in want-ranges sig-huge sig-lie; do
    rack_exec "$ATK2" "${HOSTILE[@]}" delta "$DELTA" "$mode" "${AUTH[@]}" >"$RACK_DIR/$mode.out" 2>&1 ||
        rack_fail "hostile $mode: $(cat "$RACK_DIR/$mode.out")"
    echo "  $(cat "$RACK_DIR/$mode.out")"
done
rack_wait agent2 120 || rack_fail "h2's agent failed beside the hostile client: $(tail -n 3 "$RACK_DIR/agent2.err")"
for name in promise promise_first idle; do
    rack_wait "$name" 30 || rack_fail "hostile $name: $(cat "$RACK_DIR/$name.out" "$RACK_DIR/$name.err")"
    echo "  $(cat "$RACK_DIR/$name.out")"
done
jq -e '.turned_away >= 80 and .connections == 100' "$RACK_DIR/idle.out" >/dev/null ||
    rack_fail "100 idle connections from one address: $(cat "$RACK_DIR/idle.out")"
kill -0 "$srv" 2>/dev/null || rack_fail "the delta server died under the hostile client"
rss_after=$(rss "$srv" VmRSS)
rss_peak=$(rss "$srv" VmHWM)
[ $((rss_peak - rss_before)) -lt 200 ] ||
    rack_fail "the delta server's memory grew from $rss_before MiB to a peak of $rss_peak MiB"
[ "$(host_state h2)" = imaged ] || rack_fail "h2 is $(host_state h2), not imaged"
[ "$(head -c "$size" "${PV_LOOP[2]}" | sha256sum | cut -d' ' -f1)" = "$REAL_SHA" ] || rack_fail "h2's disk does not hold dom0@1"
ok "hostile delta client refused at each step; h2's agent imaged it beside the attack (disk verified); delta server VmRSS $rss_before -> $rss_after MiB, peak $rss_peak MiB"

echo "-- 4b. proof of receipt: h1 is powered off, the attacker holds its whole job"
[ "$receiver_id" = "$d/$(pv_cli --json host show h1 | jq -r .id)" ] || rack_fail "h1's job names receiver id '$receiver_id'"
code=$(atk POST /api/v1/agent/result -H "Authorization: Bearer $stolen_token" \
    -d "{\"deployment\":$d,\"ok\":true,\"result\":{\"sha256\":\"$REAL_SHA\",\"bytes_received\":$size,\"seconds\":3}}")
want 202 "$code" "the attacker's result ok:true for h1 (powered off) with the job's sha256"
held=$(jq -r .held "$RACK_DIR/body")
[[ $held == *"no delivery confirmed by the sender"* ]] || rack_fail "the held result does not say why: $(body)"
rack_exec "$ATK2" "${HOSTILE[@]}" delta "$DELTA" receipt "${AUTH[@]}" >"$RACK_DIR/receipt.out" 2>&1 ||
    rack_fail "a receipt without the image: $(cat "$RACK_DIR/receipt.out")"
grep -q 'does not hold chunk' "$RACK_DIR/receipt.out" || rack_fail "the forged receipt was not refused by the possession check: $(cat "$RACK_DIR/receipt.out")"
echo "  $(cat "$RACK_DIR/receipt.out")"
sleep 1  # several ticks of the server, which read the delivery logs
[ "$(host_state h1)" = imaging ] || rack_fail "h1 is $(host_state h1) after a result nobody delivered, expected imaging (held)"
pv_cli --json host show h1 | jq -e '.image == null' >/dev/null || rack_fail "h1 has an image recorded: $(pv_cli --json host show h1 | jq -c .image)"
pv_cli --json events --host h1 | jq -e --arg d "$d" '[.events[].reason | select(test("deployment " + $d + ": result ok held: no delivery confirmed by the sender"))] | length == 1' >/dev/null ||
    rack_fail "no event for h1's held result: $(pv_cli --json events --host h1 | jq -c '[.events[-3:][].reason]')"
ok "h1 powered off, its job in the attacker's hands: result ok:true 202 (held: ${held:0:60}...), a receipt proved with h1's key refused (possession check), h1 still imaging, never imaged; event said"

# ---------------------------------------------------------------------------------------------
echo "== 5. a flood of unknown MACs"
last_event=$(pv_cli --json events --limit 1 | jq '.events[-1].id')
rack_exec "$ATK" "${HOSTILE[@]}" macflood "$BOOT_BASE" 500 >"$RACK_DIR/flood.out" || rack_fail "mac flood: $(cat "$RACK_DIR/flood.out")"
echo "  $(cat "$RACK_DIR/flood.out")"
n429=$(jq '.codes["429"] // 0' "$RACK_DIR/flood.out")
[ "$n429" -ge 400 ] || rack_fail "only $n429 of 500 unknown MACs got 429"
# The discovery hello is the other door for unknown MACs: the cap holds there too.
hello429=0
for i in $(seq 10 29); do
    code=$(atk POST /api/v1/agent/hello -d "{\"mac\":\"52:54:02:00:00:$i\",\"mode\":\"discover\",\"facts\":{}}")
    [ "$code" = 429 ] && hello429=$((hello429 + 1))
done
[ "$hello429" = 20 ] || rack_fail "only $hello429 of 20 discovery hellos of unknown MACs got 429 with the cap reached"
discovered=$(pv_cli --json host list | jq '[.hosts[] | select(.state == "discovered")] | length')
[ "$discovered" -le "$MAX_DISCOVERED" ] || rack_fail "$discovered discovered hosts, over --max-discovered $MAX_DISCOVERED"
new_events=$(pv_cli --json events --after "$last_event" --limit 5000 | jq '.events | length')
[ "$new_events" -le "$MAX_DISCOVERED" ] || rack_fail "the flood left $new_events events (cap $MAX_DISCOVERED discovered hosts)"
dhcp_entries=$(find "$PV_STATE/dnsmasq/hosts" -type f | wc -l)
[ "$dhcp_entries" -le $((2 + MAX_DISCOVERED)) ] || rack_fail "$dhcp_entries dnsmasq host entries after the flood"
for i in 1 2; do
    rack_exec "$i" busybox wget -q -O "$RACK_DIR/after-flood$i" "$BOOT_BASE/boot/${PV_MAC[i]//:/-}.ipxe" ||
        rack_fail "host $i's iPXE script after the flood"
    grep -q '^#!ipxe' "$RACK_DIR/after-flood$i" || rack_fail "host $i's script after the flood: $(head -c 200 "$RACK_DIR/after-flood$i")"
done
rack_dhcp 2 h2-after-flood -V PXEClient:Arch:00000:UNDI:002001
alive "the MAC flood"
ok "500 unknown MACs: $n429 answered 429, then 20 discovery hellos: 429; $discovered discovered hosts (cap $MAX_DISCOVERED), $new_events events, $dhcp_entries dnsmasq entries; h1, h2 still get their scripts and leases"

# ---------------------------------------------------------------------------------------------
echo "== 6. template add /etc/shadow"
# A decoy beside it that nothing else on this machine touches: outside the import directories.
decoy=$(mktemp "${TMPDIR:-/tmp}/hostile-decoy.XXXXXX")
rack_on_exit "rm -f '$decoy'"
head -c 65536 /dev/urandom >"$decoy"
rack_bg server watch "${HOSTILE[@]}" watch-open 30 /etc/shadow "$decoy"
rack_wait_log watch watching 5
status=0
pv_cli template add /etc/shadow --name x --version 1 >"$RACK_DIR/shadow.out" 2>"$RACK_DIR/shadow.err" || status=$?
[ "$status" != 0 ] || rack_fail "template add /etc/shadow succeeded"
code=$(rack_server curl -sk -o "$RACK_DIR/body" -w '%{http_code}' -H "Authorization: Bearer $(cat "$PV_STATE/operator.token")" \
    -H 'Content-Type: application/json' -d '{"path":"/etc/shadow","name":"x","version":"1"}' "$PV_URL/api/v1/templates")
want 403 "$code" "POST /api/v1/templates of /etc/shadow with the operator token"
for path in "$decoy" /etc/shadow; do
    code=$(rack_server curl -sk -o "$RACK_DIR/body" -w '%{http_code}' -H "Authorization: Bearer $(cat "$PV_STATE/operator.token")" \
        -H 'Content-Type: application/json' -d "{\"path\":\"$path\",\"name\":\"y\",\"version\":\"1\"}" "$PV_URL/api/v1/images")
    want 403 "$code" "POST /api/v1/images of $path with the operator token"
done
code=$(rack_server curl -sk -o "$RACK_DIR/body" -w '%{http_code}' -H "Authorization: Bearer $(cat "$PV_STATE/operator.token")" \
    -H 'Content-Type: application/json' -d "{\"path\":\"$decoy\",\"name\":\"y\",\"version\":\"1\"}" "$PV_URL/api/v1/templates")
want 403 "$code" "POST /api/v1/templates of a file outside the import directories"
# The control: one open and read of the decoy by this script, which the watch must see.
cat "$decoy" >/dev/null
sleep 0.3
kill -TERM "$(rack_pid watch)"
rack_wait watch 5 || rack_fail "the inotify watch failed: $(cat "$RACK_DIR/watch.err")"
jq -e --arg d "$decoy" '.["/etc/shadow"] == {"opened": 0, "read": 0} and .[$d].opened == 1' "$RACK_DIR/watch.out" >/dev/null ||
    rack_fail "a refused import opened or read a file (the decoy's one open is this script's control): $(cat "$RACK_DIR/watch.out")"
grep -qiE '403|forbidden|import dir' "$RACK_DIR/shadow.err" || rack_fail "template add /etc/shadow: $(cat "$RACK_DIR/shadow.err")"
[ "$(pv_cli --json template list | jq '.templates | length')" = 0 ] || rack_fail "a template was recorded"
if compgen -G "$PV_STATE/templates/x@1*" >/dev/null; then rack_fail "template add /etc/shadow left $(ls "$PV_STATE"/templates/x@1*)"; fi
ok "template add and image import of /etc/shadow and of a decoy outside the import directories: 403, neither file opened by the server (inotify; the decoy's one open is the script's own control read); CLI: $(head -n 1 "$RACK_DIR/shadow.err" | head -c 100)...; no template, no file"

alive "the whole test"
echo "PASS: hostile LAN: deep JSON, stolen boot tickets, substituted images, hostile delta client, MAC flood, template add /etc/shadow"
