# Two rack servers, A (the rack's own server namespace) and B (a namespace of its own on the
# switch), sharing one PostgreSQL cluster: what test_takeover.sh, test_rack_cache_multicast.sh,
# test_rack_cache_torrent.sh, test_rack_templates.sh and test_hot_template_takeover.sh set up. Source after rack.sh (and PV_IMAGE_MIB, if not
# provisioner.sh's default): brings up a rack of 4 hosts, hosts 1-2 in rack r1 and 3-4 in r2,
# and B's namespace on its switch (B_NS, B_IP); sources postgres.sh and provisioner.sh; sets
# A_STATE, B_STATE, A_URL, B_URL, B_BOOT_URL. LEASE (seconds) must be set before
# rack_server_start.
SRC=${PROVISIONER_SOURCE:-$(cd "$(dirname "$0")/../.." && pwd)}
export PROVISIONER_SOURCE=$SRC
source "$SRC/tests/e2e/lib/postgres.sh"
rack_up 4
# B's namespace: one more port on the switch, not one of the hosts (rack_add_host).
rack_add_host
B_NS=$RACK_N
B_IP=${RACK_HOST_IP[B_NS]}
RACK_N=$((RACK_N - 1))
source "$(dirname "$0")/lib/provisioner.sh"
PV_RACK=("" r1 r1 r2 r2)
rack_on_exit pg_down

A_STATE=$PV_STATE
B_STATE=$RACK_DIR/state-b
A_URL=$PV_URL
B_URL=https://$B_IP:$((PV_PORT + 1))
B_BOOT_URL=http://$B_IP:$((PV_PORT + 1))

# rack_servers_init: the cluster under RACK_DIR, A's and B's state directories on it with one
# site (B gets A's keys and CA before its init, as the README says).
rack_servers_init() {
    chmod 755 "$RACK_DIR"  # the cluster runs as postgres, in a directory under it
    pg_up "$RACK_DIR/pg" || rack_fail "no PostgreSQL cluster"
    "$PV_BIN/provisionerd" init --state-dir "$A_STATE" --database "$PG_URL" >/dev/null ||
        rack_fail "init A"
    mkdir -p "$B_STATE"
    cp -p "$A_STATE/site.key" "$A_STATE/site.pub" "$A_STATE/ca.key" "$A_STATE/ca.crt" "$B_STATE/"
    "$PV_BIN/provisionerd" init --state-dir "$B_STATE" --database "$PG_URL" >/dev/null ||
        rack_fail "init B"
}

# rack_server_start NAME WHERE IP STATE PORT DELTA_PORT PEER RACK [OPTION...]: a rack server on
# the shared database, as rack_bg NAME in namespace WHERE, with more provisionerd options;
# returns once it serves its rack's DHCP.
rack_server_start() {
    local name=$1 where=$2 ip=$3 state=$4 port=$5 delta=$6 peer=$7 rack=$8
    shift 8
    rack_bg "$where" "$name" "$PV_BIN/provisionerd" --state-dir "$state" --database "$PG_URL" \
        --listen "$ip:$port" --delta-port "$delta" --import-dir "$RACK_DIR" \
        --lease-seconds "$LEASE" --server-id "$name" --peer-url "$peer" \
        --rack "$rack" --dhcp-interface "$RACK_IF" \
        --dhcp-address "$ip" --dhcp-range "$RACK_SUBNET.100,$RACK_SUBNET.199" "$@"
    rack_wait_log "$name" 'serving http' 20
    rack_wait_log "$name" "rack $rack: DHCP and boot scripts served by $name" $((LEASE + 10))
}

# rack_server_a / rack_server_b [OPTION...]: A (rack r1, in the rack's server namespace, delta
# ports from 20000) or B (rack r2, in B's namespace, from 24000), as rack_server_start starts
# them; again after a kill, the same way.
rack_server_a() {
    rack_server_start pvA server "$RACK_SERVER_IP" "$A_STATE" "$PV_PORT" 20000 "$B_URL" r1 "$@"
}
rack_server_b() {
    rack_server_start pvB "$B_NS" "$B_IP" "$B_STATE" "$((PV_PORT + 1))" 24000 "$A_URL" r2 "$@"
}

# api URL PATH: GET with the operator token, from the server namespace.
api() {
    rack_server curl -sf --cacert "$PROVISIONER_CA" \
        -H "Authorization: Bearer $(cat "$A_STATE/operator.token")" "$1$2"
}

# rack_servers_deploy TRANSPORT: dom0@1 (pv_make_image's, packed: PACK_INFO) imported on A,
# every host enrolled and deployed by TRANSPORT; sets d, the deployment's id.
rack_servers_deploy() {
    pv_make_image
    PACK_INFO=$(pv_pack_image)
    pv_cli image import "$RACK_DIR/dom0-v1" >/dev/null
    pv_enrol >/dev/null
    pv_cli deploy --image dom0@1 --hosts all --transport "$1" >/dev/null
    d=$(pv_deployment_id)
}

# rack_servers_succeeded URL DEPLOYMENT [LABEL]: the deployment reads succeeded on the server at
# URL within 10 s, else the test fails naming its state and its hosts' ("deployment D LABEL: ...").
rack_servers_succeeded() {
    local url=$1 dep=$2 label=${3:+ $3} t
    for ((t = 0; t < 100; t++)); do
        [ "$(api "$url" "/api/v1/deployments/$dep" | jq -r .state)" = succeeded ] && return 0
        sleep 0.1
    done
    rack_fail "deployment $dep$label: $(api "$url" "/api/v1/deployments/$dep" | jq -c '[.state, [.targets[] | .state]]')"
}

# rack_servers_boot_scripts: each host's iPXE script (its boot ticket, in hI.cmdline) from its
# rack's server: A for r1, B for r2.
rack_servers_boot_scripts() {
    local i boot
    for ((i = 1; i <= RACK_N; i++)); do
        if [ "${PV_RACK[i]}" = r1 ]; then boot=$PV_BOOT_URL; else boot=$B_BOOT_URL; fi
        rack_exec "$i" busybox wget -q -O "$RACK_DIR/h$i.ipxe" "$boot/boot/${PV_MAC[i]//:/-}.ipxe" ||
            rack_fail "host $i: no iPXE script from its rack's server"
        sed -n 's/^kernel [^ ]* \(.*\) || goto failed$/\1/p' "$RACK_DIR/h$i.ipxe" >"$RACK_DIR/h$i.cmdline"
        grep -q 'provisioner.token=' "$RACK_DIR/h$i.cmdline" || rack_fail "host $i: no boot ticket"
    done
}

# rack_servers_b_cached TRANSPORT DEPLOYMENT WAIT: B fetched dom0@1 (PACK_INFO's, in
# RACK_DIR/dom0-v1) whole from A by delta into its image cache within WAIT seconds, whatever
# the deployment's transport; sets copy (the copy's directory) and chunks.
rack_servers_b_cached() {
    rack_wait_log pvB "rack image cache: dom0@1 fetched from pvA" "$3"
    chunks=$(jq '.chunks - .zero_chunks' <<<"$PACK_INFO")
    grep -qE "rack image cache: dom0@1 fetched from pvA[^ ]* .* by delta: $chunks of $chunks chunks" "$RACK_DIR/pvB.err" ||
        rack_fail "B's fetch: $(grep 'rack image cache' "$RACK_DIR/pvB.err" || true)"
    copy=$(ls -d "$B_STATE"/image-cache/[0-9]* 2>/dev/null) || rack_fail "B holds no copy in its image cache"
    cmp -s "$copy/chunks.pack" "$RACK_DIR/dom0-v1/chunks.pack" || rack_fail "B's copy $copy is not the image's pack"
    echo "  B fetched dom0@1 of $1 deployment $2 from A by delta into $copy ($chunks chunks)"
}
