#!/usr/bin/env bash
# Metrics history end to end (issue 16, parts 5 and 6): a namespace host provisioned (PXE,
# agent, delta), its Dom0 agent reporting every second to provisionerd (libvirt's test driver,
# host metrics from /proc), whose history keeps a point a second for 2 minutes and one every 5 s
# for 10 (--history 1s:2m,5s:10m, so that points come in seconds). After a few reports the
# history API must return points: gauges (load, memory) and counters as rates (CPU seconds per
# second, network bytes per second), as many values as times in every series, from the fine
# archive for the last 2 minutes and from the coarse one beyond; a malformed since or step is a
# 400. The CLI must print them (`host metrics` as SERIES TIME VALUE lines when not on a
# terminal), and `top` must show the host by CPU and memory (as a table, and as JSON). The
# host's history file must have the size its archives fix, not grow with more reports, and
# outlive a provisionerd killed with SIGKILL: the restarted server serves the same points.
set -euo pipefail
source "$(dirname "$0")/lib/rack.sh"
rack_require jq
rack_up 1
source "$(dirname "$0")/lib/provisioner.sh"
PV_IMAGE_MIB=64
PV_SERVER_FLAGS="--heartbeat-interval 1 --history 1s:2m,5s:10m"
pv_provision delta >/dev/null

echo "== the Dom0 agent of h1 reports every second"
pv_cli host dom0 h1 >"$RACK_DIR/h1.dom0"
rack_exec 1 "$PV_BIN/provisioner-agent" ready --cmdline "$RACK_DIR/h1.dom0" >/dev/null 2>&1 ||
    rack_fail "host 1: ready failed"
mkdir -p "$RACK_DIR/tpl1" "$RACK_DIR/disks1"
rack_bg 1 dom0-1 "$PV_BIN/provisioner-agent" dom0 --cmdline "$RACK_DIR/h1.dom0" \
    --libvirt test:///default --templates "$RACK_DIR/tpl1" --disks "$RACK_DIR/disks1" \
    --interval 30 --reserved-vcpus 0 --reserved-memory-mib 0
api() {
    rack_server curl -s --cacert "$PV_STATE/ca.crt" \
        -H "Authorization: Bearer $(cat "$PV_STATE/operator.token")" "$PV_URL$1"
}
# A rate needs two reports; wait for the idle CPU's rate to be there.
idle_rate='.series[] | select(.name == "node_cpu_seconds_total" and .labels.mode == "idle") | .values | map(select(. != null)) | length'
for _ in $(seq 100); do
    [ "$(api '/api/v1/hosts/h1/metrics?since=2m' | jq "$idle_rate" 2>/dev/null || echo 0)" -ge 1 ] && break
    sleep 0.1
done
sleep 5  # a few more reports

echo "== GET /api/v1/hosts/h1/metrics?since=2m&step=1"
api '/api/v1/hosts/h1/metrics?since=2m&step=1' >"$RACK_DIR/history.json"
jq -e '.host == "h1" and .step == 1 and .archive == {"step": 1, "retention": 120}' \
    "$RACK_DIR/history.json" >/dev/null || rack_fail "history: $(head -c 600 "$RACK_DIR/history.json")"
jq -e '(.times | length) as $n | $n >= 120 and all(.series[]; (.values | length) == $n)' \
    "$RACK_DIR/history.json" >/dev/null || rack_fail "history: times and values differ in length"
points=$(jq '[.series[] | select(.name == "node_load1") | .values[] | select(. != null)] | length' "$RACK_DIR/history.json")
[ "$points" -ge 5 ] || rack_fail "only $points points of node_load1 after 5 s of reports"
api '/api/v1/hosts/h1/metrics?since=5m' >"$RACK_DIR/coarse.json"
jq -e '.archive.step == 5 and .step == 5 and ([.series[] | select(.name == "node_load1") | .values[] | select(. != null)] | length) >= 1' \
    "$RACK_DIR/coarse.json" >/dev/null || rack_fail "since=5m: $(head -c 600 "$RACK_DIR/coarse.json")"
value() {  # value NAME [LABEL VALUE]: the series' last non-null value, or null
    jq -r --arg n "$1" --arg k "${2:-}" --arg v "${3:-}" \
        '[.series[] | select(.name == $n and ($k == "" or .labels[$k] == $v)) | .values[] | select(. != null)] | last' \
        "$RACK_DIR/history.json"
}
load=$(value node_load1)
total=$(value node_memory_MemTotal_bytes)
idle=$(value node_cpu_seconds_total mode idle)
rx=$(value node_network_receive_bytes_total device lo)
for v in "$load" "$total" "$idle" "$rx"; do [ "$v" != null ] || rack_fail "a series has no point: $(jq -c '[.series[] | {name, labels, n: (.values | map(select(. != null)) | length)}]' "$RACK_DIR/history.json")"; done
[ "$(jq -r '[.series[] | select(.name == "node_cpu_seconds_total") | .kind] | unique | join(",")' "$RACK_DIR/history.json")" = rate ] ||
    rack_fail "CPU seconds are not kept as a rate"
[ "$(echo "$idle >= 0 && $idle < 10000" | bc)" = 1 ] || rack_fail "idle CPU rate $idle"
printf '  %s points a series, %s of node_load1 (5 s ones since=5m); node_load1 %s, MemTotal %s B, idle CPU %.2f s/s, lo in %.0f B/s\n' \
    "$(jq '.times | length' "$RACK_DIR/history.json")" "$points" "$load" "$total" "$idle" "$rx"

echo "== a malformed since or step is a 400"
for q in 'since=yesterday' 'since=-1h' 'step=0' 'step=fast'; do
    code=$(rack_server curl -s -o "$RACK_DIR/bad.json" -w '%{http_code}' --cacert "$PV_STATE/ca.crt" \
        -H "Authorization: Bearer $(cat "$PV_STATE/operator.token")" "$PV_URL/api/v1/hosts/h1/metrics?$q")
    [ "$code" = 400 ] || rack_fail "?$q answered $code"
done
echo "  $(jq -r .error.message "$RACK_DIR/bad.json")"

echo "== provisioner host metrics h1 (not a terminal: SERIES TIME VALUE lines)"
pv_cli host metrics h1 --since 2m >"$RACK_DIR/cli.txt" || rack_fail "host metrics failed"
grep -qE '^node_load1 [0-9]{10} [0-9.e+-]+$' "$RACK_DIR/cli.txt" || rack_fail "host metrics: $(head "$RACK_DIR/cli.txt")"
grep -qE '^node_cpu_seconds_total\{mode="idle"\} [0-9]{10} ' "$RACK_DIR/cli.txt" || rack_fail "no idle CPU rate in: $(head "$RACK_DIR/cli.txt")"
echo "  $(wc -l <"$RACK_DIR/cli.txt") lines, e.g. $(grep -m1 '^node_load1 ' "$RACK_DIR/cli.txt")"
pv_cli host metrics h1 --match load1 --json | jq -e '.series | length > 0' >/dev/null || rack_fail "host metrics --json"

echo "== provisioner top"
pv_cli top >"$RACK_DIR/top.txt" || rack_fail "top failed"
grep -qE '^h1 +[0-9.]+%' "$RACK_DIR/top.txt" || rack_fail "top: $(cat "$RACK_DIR/top.txt")"
pv_cli top --json | jq -e '.hosts[0].name == "h1" and (.hosts[0].cpu_percent | type) == "number" and .hosts[0].memory_total_bytes > 0' >/dev/null ||
    rack_fail "top --json: $(pv_cli top --json)"
sed 's/^/  /' "$RACK_DIR/top.txt"

echo "== the host's history file: the size its archives fix, not growing"
id=$(pv_cli --json host show h1 | jq -r .id)
# One file per host (its series and its VMs'; this host runs none), no file per entity.
file="$PV_STATE/history/by-host/$id.hist"
[ -f "$file" ] || rack_fail "no history file at $file: $(find "$PV_STATE/history" | head)"
[ ! -e "$PV_STATE/history/hosts" ] && [ ! -e "$PV_STATE/history/vms" ] ||
    rack_fail "files of the previous layout (hosts/, vms/) under $PV_STATE/history"
size1=$(stat -c %s "$file")
sleep 3
size2=$(stat -c %s "$file")
[ "$size1" = "$size2" ] || rack_fail "the history file grew: $size1 -> $size2"
columns=$(jq '.series | length' "$RACK_DIR/history.json")
# header + 120 rows of 1 s + 120 rows of 5 s, each 8 bytes + 4 per series
rows_bytes=$(((120 + 120) * (8 + 4 * columns)))
[ "$size1" -ge "$rows_bytes" ] && [ "$size1" -lt $((rows_bytes + 8192)) ] ||
    rack_fail "history file of $size1 bytes for $columns series (rows alone: $rows_bytes)"
echo "  $file: $size1 bytes for $columns series; with the default archives (15s:24h,5m:30d) that is $((rows_bytes / 240 * 14400 + size1 - rows_bytes)) bytes"

echo "== provisionerd killed (SIGKILL) and started again: the history is still served"
# Every point of node_load1 before the kill, but the last (its bucket may fill further).
load_points='[.times as $t | .series[] | select(.name == "node_load1") | .values | to_entries[] | select(.value != null) | "\($t[.key]) \(.value)"]'
api '/api/v1/hosts/h1/metrics?since=2m&step=1' | jq -r "$load_points | .[:-1][]" >"$RACK_DIR/before.txt"
kill -KILL "$(rack_pid pvd)"
rack_wait pvd 10 || true
rack_bg server pvd2 "$PV_BIN/provisionerd" --state-dir "$PV_STATE" --listen "$RACK_SERVER_IP:$PV_PORT" \
    --netboot-dir "$RACK_DIR/netboot" --heartbeat-interval 1 --history 1s:2m,5s:10m
rack_wait_log pvd2 'serving http' 20
api '/api/v1/hosts/h1/metrics?since=2m&step=1' | jq -r "$load_points[]" >"$RACK_DIR/after.txt"
missing=$(comm -23 <(sort "$RACK_DIR/before.txt") <(sort "$RACK_DIR/after.txt") | wc -l)
[ -s "$RACK_DIR/before.txt" ] && [ "$missing" = 0 ] ||
    rack_fail "$missing of $(wc -l <"$RACK_DIR/before.txt") points of node_load1 lost: $(comm -23 <(sort "$RACK_DIR/before.txt") <(sort "$RACK_DIR/after.txt") | head -3)"
echo "  all $(wc -l <"$RACK_DIR/before.txt") points of node_load1 from before the kill are served after the restart"
echo "PASS: the history API and provisioner host metrics return points after a few reports (rates for counters), top shows the host, the history file has its fixed size ($size1 bytes, $columns series) and outlives SIGKILL"
