# Two rack servers, A (the rack's own server namespace) and B (a namespace of its own on the
# switch), sharing one PostgreSQL cluster: what test_takeover.sh and
# test_rack_cache_multicast.sh set up. Source after rack.sh (rack_up and rack_add_host done,
# B_NS and B_IP set), postgres.sh and provisioner.sh; sets A_STATE, B_STATE, A_URL, B_URL,
# B_BOOT_URL. LEASE (seconds) must be set before rack_server_start.

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
