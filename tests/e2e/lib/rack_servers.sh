# Two rack servers, A (the rack's own server namespace) and B (a namespace of its own on the
# switch), sharing one PostgreSQL cluster: what test_takeover.sh, test_rack_cache_multicast.sh
# and test_rack_templates.sh set up. Source after rack.sh (and PV_IMAGE_MIB, if not
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

# api URL PATH: GET with the operator token, from the server namespace.
api() {
    rack_server curl -sf --cacert "$PROVISIONER_CA" \
        -H "Authorization: Bearer $(cat "$A_STATE/operator.token")" "$1$2"
}
