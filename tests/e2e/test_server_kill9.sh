#!/usr/bin/env bash
# provisionerd killed -9 at several points of VM work, and started again each time on the same
# state: nothing queued or reported is lost, and the work completes (issue 15, item 4).
# Two namespace hosts, enrolled (not imaged: their Dom0 token is generation 0).
# Part 1, an agent played by curl, so that each kill lands at an exact point: the Dom0 reports
# outlive the server (a site diff plans against them with no new report); an apply is killed
# right after its 202; an action handed to h1 and not answered is handed out again after the
# kill with the same id; an answer given before a kill holds after it (a second one is refused);
# a recall queued before a kill is delivered after it; a guest's service report is still shown.
# Part 2, real Dom0 agents against libvirt's test driver: an apply of four VMs (two per host,
# run one after the other) with the server killed -9 again and again while the agents work; every
# VM ends up running, the apply succeeds, and no agent carried out any action twice (an agent
# tells a re-delivered action by its id; ids come from the store and are never reused).
set -euo pipefail
source "$(dirname "$0")/lib/rack.sh"
rack_require qemu-img
rack_up 2
source "$(dirname "$0")/lib/provisioner.sh"

pv_start_server
pv_enrol >/dev/null
mkdir -p "$RACK_DIR/images"
qemu-img create -q -f qcow2 "$RACK_DIR/images/debian@1.qcow2" 64M
pv_cli template add "$RACK_DIR/images/debian@1.qcow2" --name debian --version 1 >/dev/null

KILLS=0
# kill9_restart WHY: kill -9 provisionerd, check it is gone, start it again on the same state.
kill9_restart() {
    local pid
    pid=$(rack_pid "pvd${KILLS/#0/}")
    kill -KILL "$pid"
    wait "$pid" 2>/dev/null || true  # reaped here, so bash reports no "Killed" job later
    kill -0 "$pid" 2>/dev/null && rack_fail "provisionerd outlived kill -9"
    KILLS=$((KILLS + 1))
    rack_bg server "pvd$KILLS" "$PV_BIN/provisionerd" --state-dir "$PV_STATE" \
        --listen "$RACK_SERVER_IP:$PV_PORT" --dhcp-interface "$RACK_IF" --dhcp-address "$RACK_SERVER_IP" \
        --dhcp-range "$RACK_SUBNET.100,$RACK_SUBNET.199" --netboot-dir "$RACK_DIR/netboot" \
        --import-dir "$RACK_DIR"
    rack_wait_log "pvd$KILLS" 'serving http' 20
    echo "  kill -9 #$KILLS ($1); started again"
}

for i in 1 2; do
    pv_cli --json host dom0 "h$i" >"$RACK_DIR/h$i.dom0.json"
    jq -r .cmdline "$RACK_DIR/h$i.dom0.json" >"$RACK_DIR/h$i.dom0"
done
token() { jq -r .token "$RACK_DIR/h$1.dom0.json"; }
# agent_call I PATH BODY: host I's Dom0 agent as curl; prints the body, then the status line.
agent_call() {
    rack_exec "$1" curl -s --cacert "$PV_STATE/ca.crt" -H "Authorization: Bearer $(token "$1")" \
        -H 'Content-Type: application/json' -d "$3" -w '\n%{http_code}\n' "$PV_URL$2"
}
# report I VMS_JSON: a Dom0 report of host I; prints the ids of the actions it was handed.
report() {
    local out
    out=$(agent_call "$1" /api/v1/agent/vms "{\"mac\": \"${PV_MAC[$1]}\", \"capacity\": {\"vcpus\": 4,
        \"memory_mib\": 8192, \"libvirt_uri\": \"test:///default\"}, \"vms\": $2}")
    [ "$(tail -n 1 <<<"$out")" = 200 ] || rack_fail "report of h$1: $out"
    sed '$d' <<<"$out" | jq -r '[.actions[].id] | map(tostring) | join(" ")'
}
answer() {  # answer I ID: host I answers action ID ok; prints the HTTP status
    agent_call "$1" "/api/v1/agent/actions/$2" '{"ok": true}' | tail -n 1
}
site() {  # site "name vcpus mem dom0 [SERVICE]"...
    echo '<XSMConfig><Set name="demo">'
    local name vcpus mem dom0 service
    for spec in "$@"; do
        read -r name vcpus mem dom0 service <<<"$spec"
        echo "<VM name=\"$name\"><VCPUS>$vcpus</VCPUS><MEM>$mem</MEM><TEMPLATE>debian</TEMPLATE><DOM0>$dom0</DOM0>${service:+<SERVICE package=\"$service\"/>}</VM>"
    done
    echo '</Set></XSMConfig>'
}
steps() { pv_cli --json site status | jq -r --argjson a "$1" '.applies[] | select(.id == $a) |
    [.steps[] | "\(.vm):\(.state)"] | join(" ")'; }
apply_state() { pv_cli --json site status | jq -r --argjson a "$1" '.applies[] | select(.id == $a) | .state'; }

echo "== part 1: an agent played by curl; the kills land at exact points"
[ -z "$(report 1 '[]')" ] && [ -z "$(report 2 '[]')" ] || rack_fail "actions before any apply"
kill9_restart "after both hosts reported"
site "web1 1 256 h1 nginx" "db1 1 512 h2" >"$RACK_DIR/a.xml"
[ "$(pv_cli --json site diff "$RACK_DIR/a.xml" | jq -r '[.plan[] | "\(.vm)@\(.host)"] | join(" ")')" = \
    "web1@h1 db1@h2" ] || rack_fail "the reports did not outlive the server: $(pv_cli site diff "$RACK_DIR/a.xml" 2>&1)"
echo "  the reports outlived the server: site diff plans against them"

a1=$(pv_cli --json site apply "$RACK_DIR/a.xml" | jq -r .apply)
kill9_restart "right after apply $a1 answered 202"
[ "$(steps "$a1")" = "web1:released db1:released" ] || rack_fail "apply $a1 after the kill: $(steps "$a1")"
echo "  apply $a1 and its steps are still queued"

x=$(report 1 '[]')
[ -n "$x" ] && [ "$(wc -w <<<"$x")" = 1 ] || rack_fail "h1 was handed: '$x'"
kill9_restart "action $x handed to h1, not answered"
[ "$(report 1 '[]')" = "$x" ] || rack_fail "action $x was not handed to h1 again"
[ "$(answer 1 "$x")" = 204 ] || rack_fail "the answer to $x was refused"
kill9_restart "action $x answered"
[ "$(steps "$a1")" = "web1:done db1:released" ] || rack_fail "the answer was lost: $(steps "$a1")"
[ "$(answer 1 "$x")" = 409 ] || rack_fail "a second answer to $x was taken"
[ -z "$(report 1 '[{"name": "web1", "vcpus": 1, "memory_mib": 256, "template": "debian@1", "state": "running"}]')" ] ||
    rack_fail "h1 was handed $x again after its answer"
y=$(report 2 '[]')
[ "$(answer 2 "$y")" = 204 ] || rack_fail "the answer to $y was refused"
[ "$(apply_state "$a1")" = succeeded ] || rack_fail "apply $a1: $(apply_state "$a1")"
echo "  re-delivered with the same id after the kill; the answer outlived the next one; apply succeeded"

gtoken=$(rack_server curl -sf --cacert "$PV_STATE/ca.crt" -H "Authorization: Bearer $(cat "$PV_STATE/operator.token")" \
        "$PV_URL/api/v1/vms/web1/guest" | jq -r .token)
rack_server curl -sf --cacert "$PV_STATE/ca.crt" -H "Authorization: Bearer $gtoken" -H 'Content-Type: application/json' \
    -d '{"vm": "web1", "address": "10.9.0.5", "services": [{"package": "nginx", "state": "service_available", "access": "10.9.0.5:80"}]}' \
    "$PV_URL/api/v1/guest/report" >/dev/null || rack_fail "the guest report was refused"
r=$(rack_server curl -sf --cacert "$PV_STATE/ca.crt" -H "Authorization: Bearer $(cat "$PV_STATE/operator.token")" \
    -H 'Content-Type: application/json' -d '{"selector": "db1"}' "$PV_URL/api/v1/vms/recall" | jq -r '.actions[0].id')
[ -n "$r" ] && [ "$r" != null ] || rack_fail "the recall queued nothing"
kill9_restart "recall $r queued, a guest reported"
[ "$(pv_cli --json vm list | jq -r '.vms[] | select(.name == "web1") | "\(.service_state) \(.address)"')" = \
    "service_available 10.9.0.5" ] || rack_fail "the guest's report was lost: $(pv_cli vm list)"
[ "$(report 2 '[{"name": "db1", "vcpus": 1, "memory_mib": 512, "template": "debian@1", "state": "running"}]')" = "$r" ] ||
    rack_fail "recall $r was not handed to h2 after the kill"
[ "$(answer 2 "$r")" = 204 ] || rack_fail "the answer to recall $r was refused"
echo "  the recall and the guest's service report outlived the kill"

echo "== part 2: real Dom0 agents (libvirt test driver); the server killed -9 while they work"
for i in 1 2; do
    mkdir -p "$RACK_DIR/tpl$i" "$RACK_DIR/disks$i"
    cp "$RACK_DIR/images/debian@1.qcow2" "$RACK_DIR/base$i.qcow2"
    "$PV_BIN/provisioner-agent" template add --templates "$RACK_DIR/tpl$i" --name debian \
        --version 1 "$RACK_DIR/base$i.qcow2" >/dev/null || rack_fail "host $i: template add failed"
    rack_bg "$i" "dom0-$i" "$PV_BIN/provisioner-agent" dom0 --cmdline "$RACK_DIR/h$i.dom0" \
        --libvirt test:///default --templates "$RACK_DIR/tpl$i" --disks "$RACK_DIR/disks$i" \
        --interval 0.3 --reserved-vcpus 0 --reserved-memory-mib 0
done
# The agents' reports (no VMs in their test drivers) replace the ones curl made.
for _ in $(seq 100); do
    [ "$(pv_cli --json vm list | jq '.vms | length')" = 0 ] && break
    sleep 0.2
done
site "v1 1 128 h1" "v2 1 128 h1" "v3 1 128 h2" "v4 1 128 h2" >"$RACK_DIR/b.xml"
a2=$(pv_cli --json site apply "$RACK_DIR/b.xml" | jq -r .apply)
kill9_restart "apply $a2 answered 202"
part1=$KILLS
# Again and again while the agents work (each restart takes a moment, the agents go on).
while [ "$(apply_state "$a2")" = running ] && [ $((KILLS - part1)) -lt 6 ]; do
    sleep 0.3
    kill9_restart "agents at work on apply $a2: $(steps "$a2")"
done
for _ in $(seq 150); do
    [ "$(apply_state "$a2")" = running ] || break
    sleep 0.2
done
[ "$(apply_state "$a2")" = succeeded ] || rack_fail "apply $a2: $(apply_state "$a2"): $(steps "$a2")"
want=$'v1 h1\nv2 h1\nv3 h2\nv4 h2'
for _ in $(seq 100); do
    got=$(pv_cli --json vm list | jq -r '.vms[] | select(.state == "running") | "\(.name) \(.host)"' | sort)
    [ "$got" = "$want" ] && break
    sleep 0.2
done
[ "$got" = "$want" ] || rack_fail "running VMs: $got"
for i in 1 2; do
    dup=$(grep -oE 'create v[0-9]+: ok' "$RACK_DIR/dom0-$i.err" | sort | uniq -d) || true
    [ -z "$dup" ] || rack_fail "host $i carried out an action twice: $dup"
done
echo "  apply $a2 succeeded across $((KILLS - 5)) kills; v1..v4 running; no action carried out twice"
echo "PASS: $KILLS kill -9s of provisionerd lost no action, answer or report, and the work completed"
