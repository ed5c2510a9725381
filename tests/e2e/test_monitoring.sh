#!/usr/bin/env bash
# Monitoring end to end (issue 16): a rack of two namespace hosts provisioned (PXE, agent,
# delta), each host's Dom0 agent reporting to provisionerd (libvirt's test driver, with its
# host metrics from /proc) under a 1 s heartbeat interval (--heartbeat-interval 1; the agents
# are started with --interval 30 and must follow the server's answer). A real Prometheus
# (Debian's) scrapes provisionerd's /metrics over HTTPS with the server's CA and the operator
# token; its HTTP API must show hosts by state equal to the inventory, and node_* series for
# each host. `promtool check metrics` reads a scrape: it must parse, and its only lint
# complaints may be the camelCase of node_exporter's own node_memory_* names. Then host 1's
# agent is killed: the host must be unreachable within three intervals (plus a tick), with its
# event, and Prometheus must see it; a VM placed by a site apply has its libvirt_domain_info_*
# series, and every VM of `vm list` a CPU-time series (libvirt's statistics carried by the
# Dom0 report, with its uuid); the agent started again brings it back to ready.
set -euo pipefail
source "$(dirname "$0")/lib/rack.sh"
rack_require prometheus promtool qemu-img
rack_up 2
source "$(dirname "$0")/lib/provisioner.sh"
PV_IMAGE_MIB=64
PV_SERVER_FLAGS="--heartbeat-interval 1"
pv_provision delta >/dev/null

echo "== Dom0 agents report (interval 30 s asked, the server's 1 s followed)"
dom0_agent() {
    rack_bg "$1" "dom0-$1${2:-}" "$PV_BIN/provisioner-agent" dom0 --cmdline "$RACK_DIR/h$1.dom0" \
        --libvirt test:///default --templates "$RACK_DIR/tpl$1" --disks "$RACK_DIR/disks$1" \
        --interval 30 --reserved-vcpus 0 --reserved-memory-mib 0
}
for i in 1 2; do
    pv_cli host dom0 "h$i" >"$RACK_DIR/h$i.dom0"
    rack_exec "$i" "$PV_BIN/provisioner-agent" ready --cmdline "$RACK_DIR/h$i.dom0" >/dev/null 2>&1 ||
        rack_fail "host $i: ready failed"
    mkdir -p "$RACK_DIR/tpl$i" "$RACK_DIR/disks$i"
    if [ "$i" = 2 ]; then  # before its agent opens the store: one store, one owner
        mkdir -p "$RACK_DIR/images"
        qemu-img create -q -f qcow2 "$RACK_DIR/images/debian@1.qcow2" 64M
        pv_cli template add "$RACK_DIR/images/debian@1.qcow2" --name debian --version 1 >/dev/null
        cp "$RACK_DIR/images/debian@1.qcow2" "$RACK_DIR/base2.qcow2"
        "$PV_BIN/provisioner-agent" template add --templates "$RACK_DIR/tpl2" --name debian \
            --version 1 "$RACK_DIR/base2.qcow2" >/dev/null || rack_fail "host 2: template add failed"
    fi
    dom0_agent "$i"
done
[ "$(pv_cli --json host list | jq -r '[.hosts[].state] | unique | join(",")')" = ready ] ||
    rack_fail "hosts are not ready: $(pv_cli host list)"

echo "== /metrics needs the operator token"
code=$(rack_server curl -s -o /dev/null -w '%{http_code}' --cacert "$PV_STATE/ca.crt" "$PV_URL/metrics")
[ "$code" = 401 ] || rack_fail "/metrics without a token answered $code"
scrape() {
    rack_server curl -sf --cacert "$PV_STATE/ca.crt" \
        -H "Authorization: Bearer $(cat "$PV_STATE/operator.token")" "$PV_URL/metrics?vm_devices=1"
}
for _ in $(seq 50); do
    scrape | grep -q '^node_load1{host="h2"' && break
    sleep 0.2
done
scrape >"$RACK_DIR/scrape1.txt" || rack_fail "/metrics with the operator token failed"
for i in 1 2; do
    grep -qE "^node_cpu_seconds_total\{host=\"h$i\",rack=\"r1\",mode=\"idle\"\} [0-9]" "$RACK_DIR/scrape1.txt" ||
        rack_fail "no CPU seconds of h$i: $(head -c 2000 "$RACK_DIR/scrape1.txt")"
done
echo "  $(grep -vc '^#' "$RACK_DIR/scrape1.txt") samples; node_* for h1 and h2"

# promtool: it must parse; node_exporter's own memory names are camelCase, which its linter
# flags (it does so on node_exporter's output too); nothing else may be flagged.
lint() {
    local rc=0
    promtool check metrics <"$1" >"$1.lint" 2>&1 || rc=$?
    if [ "$rc" != 0 ]; then
        [ "$rc" = 3 ] || rack_fail "promtool check metrics: exit $rc: $(cat "$1.lint")"
        if grep -v "^node_memory_[A-Za-z]*_bytes metric names should be written in 'snake_case' not 'camelCase'$" "$1.lint" | grep -q .; then
            rack_fail "promtool check metrics: $(cat "$1.lint")"
        fi
    fi
}
lint "$RACK_DIR/scrape1.txt"
echo "  promtool check metrics: parsed; flagged only: $(wc -l <"$RACK_DIR/scrape1.txt.lint") node_memory camelCase names"

echo "== a real Prometheus scrapes provisionerd over HTTPS with the operator token"
prom_port=$(rack_server python3 -c 'import socket; s=socket.socket(); s.bind(("'"$RACK_SERVER_IP"'", 0)); print(s.getsockname()[1])')
cat >"$RACK_DIR/prometheus.yml" <<YAML
global:
  scrape_interval: 1s
  evaluation_interval: 1s
scrape_configs:
  - job_name: provisioner
    scheme: https
    scrape_interval: 1s
    scrape_timeout: 1s
    params:
      vm_devices: ["1"]
    authorization:
      type: Bearer
      credentials_file: $PV_STATE/operator.token
    tls_config:
      ca_file: $PV_STATE/ca.crt
    static_configs:
      - targets: ["$RACK_SERVER_IP:$PV_PORT"]
YAML
promtool check config "$RACK_DIR/prometheus.yml" >/dev/null || rack_fail "promtool: the scrape config"
mkdir -p "$RACK_DIR/prom"
rack_bg server prometheus prometheus --config.file="$RACK_DIR/prometheus.yml" \
    --storage.tsdb.path="$RACK_DIR/prom" --web.listen-address="$RACK_SERVER_IP:$prom_port"
rack_on_exit "kill ${RACK_PIDS[prometheus]} 2>/dev/null || true"
PROM=http://$RACK_SERVER_IP:$prom_port
# promql EXPR: the instant vector as "labels value" lines.
promql() {
    rack_server curl -sf --get --data-urlencode "query=$1" "$PROM/api/v1/query" |
        jq -r '.data.result[] | "\(.metric | del(.__name__, .instance, .job) | to_entries | map("\(.key)=\(.value)") | join(",")) \(.value[1])"' | sort
}
# wait_for EXPR WANT SECONDS: until promql EXPR prints WANT.
wait_for() {
    local got=""
    for _ in $(seq $(($3 * 5))); do
        got=$(promql "$1" 2>/dev/null || true)
        [ "$got" = "$2" ] && return 0
        sleep 0.2
    done
    rack_fail "Prometheus: $1 is '$got', not '$2'"
}
wait_for 'up{job="provisioner"}' " 1" 30
inventory() {  # the inventory's hosts by state, as provisioner_hosts should read
    local states
    states=$(pv_cli --json host list | jq -r '.hosts[].state')
    for s in discovered enrolled booting imaging imaged ready unreachable failed retired; do
        echo "state=$s $(grep -cx "$s" <<<"$states" || true)"
    done | sort
}
wait_for 'provisioner_hosts' "$(inventory)" 15
echo "  Prometheus: provisioner_hosts equals the inventory: $(promql 'provisioner_hosts > 0' | tr '\n' ' ')"
# provisionerd's own series (server_metrics.h, metrics_inventory.h), as Prometheus reads them.
wait_for 'sum by (state) (provisioner_rack_hosts{rack="r1"}) > 0' "state=ready 2" 15
wait_for 'provisioner_dnsmasq_up' " 1" 5
wait_for 'count(provisioner_boot_scripts_served_total{kind="netboot"} >= 2)' " 1" 5
wait_for 'count(provisioner_http_requests_total{method="POST",route="/api/v1/agent/vms",status="2xx"} > 0)' " 1" 15
wait_for 'count(provisioner_http_request_duration_seconds_count{route="/metrics"} > 0)' " 1" 15
wait_for 'count(provisioner_orchestrator_tick_age_seconds < 5)' " 1" 5
echo "  Prometheus: hosts by rack, dnsmasq up, netboot scripts, requests by route, the tick's age"
wait_for 'count by (host) (node_memory_MemTotal_bytes)' $'host=h1 1\nhost=h2 1' 15
echo "  Prometheus: node_memory_MemTotal_bytes for h1 and h2"

echo "== a VM placed on h2 by a site apply: its libvirt_domain_info_* series"
cat >"$RACK_DIR/site.xml" <<XML
<XSMConfig><Set name="demo"><VM name="v1"><VCPUS>2</VCPUS><MEM>128</MEM><TEMPLATE>debian</TEMPLATE><DOM0>h2</DOM0></VM></Set></XSMConfig>
XML
pv_cli site apply "$RACK_DIR/site.xml" >/dev/null || rack_fail "site apply failed"
# Each series also carries the domain's uuid (checked below); these compare the rest.
wait_for 'max by (domain, host, rack) (libvirt_domain_info_vstate)' "domain=v1,host=h2,rack=r1 1" 30
wait_for 'max by (domain, host, rack) (libvirt_domain_info_virtual_cpus)' "domain=v1,host=h2,rack=r1 2" 5
wait_for 'max by (domain, host, rack) (libvirt_domain_info_maximum_memory_bytes)' \
    "domain=v1,host=h2,rack=r1 134217728" 5
echo "  Prometheus: v1 on h2 running (vstate 1), 2 VCPUs, 128 MiB"

echo "== every VM has a CPU-time series (libvirt's numbers, through the Dom0 report)"
vm_list=$(pv_cli --json vm list)
want=$(jq -r '[.vms[] | select(.missing != true) | "domain=\(.name) 1"] | sort | .[]' <<<"$vm_list")
[ -n "$want" ] || rack_fail "vm list has no VM: $vm_list"
wait_for 'count by (domain) (libvirt_domain_info_cpu_time_seconds_total > 0)' "$want" 15
uuid=$(promql 'libvirt_domain_info_cpu_time_seconds_total{domain="v1"}' | grep -o 'uuid=[0-9a-f-]*' | cut -d= -f2)
[ "${#uuid}" = 36 ] || rack_fail "v1's CPU-time series has no uuid label: $(promql 'libvirt_domain_info_cpu_time_seconds_total')"
wait_for 'count by (domain) (libvirt_domain_info_memory_usage_bytes{domain="v1"} > 0)' "domain=v1 1" 5
wait_for 'count by (domain) (libvirt_domain_block_stats_read_bytes_total{domain="v1",target_device!=""})' \
    "domain=v1 1" 5
scrape >"$RACK_DIR/scrape-vms.txt"
grep -q '^libvirt_domain_schedinfo_cpu_weight{.*domain="v1".*parameter="weight"} 50$' "$RACK_DIR/scrape-vms.txt" ||
    rack_fail "no CPU weight of v1 (the test driver's is 50): $(grep '^libvirt_domain_schedinfo' "$RACK_DIR/scrape-vms.txt")"
lint "$RACK_DIR/scrape-vms.txt"
echo "  Prometheus: CPU time for $(wc -l <<<"$want") VM(s) of vm list, uuid $uuid, memory, disk bytes; weight 50; promtool reads the scrape"

echo "== host 1's Dom0 agent killed: unreachable within three intervals"
rack_kill dom0-1
killed_at=$(date +%s.%N)
for _ in $(seq 100); do
    [ "$(pv_cli --json host show h1 | jq -r .state)" = unreachable ] && break
    sleep 0.1
done
[ "$(pv_cli --json host show h1 | jq -r .state)" = unreachable ] || rack_fail "h1: $(pv_cli host show h1)"
took=$(echo "$(date +%s.%N) - $killed_at" | bc)
# 3 s of silence from its last report (up to 1 s before the kill), checked every 0.2 s.
[ "$(echo "$took <= 4.5" | bc)" = 1 ] || rack_fail "h1 went unreachable only after $took s"
[ "$(pv_cli --json host show h2 | jq -r .state)" = ready ] || rack_fail "h2 is not ready"
rack_server curl -sf --cacert "$PV_STATE/ca.crt" -H "Authorization: Bearer $(cat "$PV_STATE/operator.token")" \
        "$PV_URL/api/v1/events" | grep -q 'no report from its Dom0 agent for 3 s' ||
    rack_fail "no unreachable event"
printf '  h1 unreachable %.1f s after the kill, with its event\n' "$took"
wait_for 'provisioner_hosts{state=~"ready|unreachable"}' $'state=ready 1\nstate=unreachable 1' 15
scrape >"$RACK_DIR/scrape2.txt"
lint "$RACK_DIR/scrape2.txt"
echo "  Prometheus sees it; promtool reads that scrape too"

echo "== the agent started again: ready, with its event"
dom0_agent 1 -again
for _ in $(seq 100); do
    [ "$(pv_cli --json host show h1 | jq -r .state)" = ready ] && break
    sleep 0.1
done
[ "$(pv_cli --json host show h1 | jq -r .state)" = ready ] || rack_fail "h1 did not come back: $(pv_cli host show h1)"
rack_server curl -sf --cacert "$PV_STATE/ca.crt" -H "Authorization: Bearer $(cat "$PV_STATE/operator.token")" \
    "$PV_URL/api/v1/events" | grep -q 'its Dom0 agent reports again' || rack_fail "no event of h1's return"
wait_for 'provisioner_hosts{state=~"ready|unreachable"}' $'state=ready 2\nstate=unreachable 0' 15
echo "PASS: Prometheus scraped hosts by state equal to the inventory and each host's node_* series; a killed agent's host went unreachable in $took s and came back"
