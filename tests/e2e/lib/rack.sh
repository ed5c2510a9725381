# rack.sh: a rack of network namespaces for end-to-end tests. Source it; needs root, ip, nft.
#
#   source "$PROVISIONER_SOURCE/tests/e2e/lib/rack.sh"
#   rack_up 8                      # server + 8 hosts on one bridge, torn down on exit
#   rack_loss 3 10                 # host 3 drops 10% of what it receives
#   rack_bg 1 recv1 imaging receive ...   # in host 1, background, output in $RACK_DIR/recv1.{out,err}
#   rack_server imaging send --interface "$RACK_IF" ...
#   rack_wait recv1                # its exit status
#
# Topology: a switch namespace holding bridge br0 (multicast snooping off, so every port sees
# every group, as on an unmanaged switch); a server namespace and N host namespaces, each
# with one veth "eth0" plugged into the bridge. Addresses on $RACK_SUBNET.0/24 with broadcast
# (`brd +`): server .1, host i .(10+i). Namespace names carry the test's pid, so tests can run
# side by side. Teardown (rack_down) runs from an EXIT/INT/TERM trap, so a failing or
# interrupted test still kills its processes and deletes its namespaces; add your own cleanup
# with rack_on_exit, not with another trap.
#
# Variables after rack_up:
#   RACK_N, RACK_IF (eth0), RACK_SERVER_NS, RACK_SERVER_IP, RACK_HOST_NS[i], RACK_HOST_IP[i],
#   RACK_SWITCH_NS, RACK_DIR (a scratch directory removed at teardown unless RACK_KEEP=1).

RACK_IF=eth0
RACK_SUBNET=${RACK_SUBNET:-10.77.0}
RACK_ID=${RACK_ID:-r$$}
RACK_N=0
RACK_UP=0
declare -a RACK_HOST_NS=() RACK_HOST_IP=()
declare -A RACK_PIDS=()
declare -a RACK_CLEANUP=()

rack_log() { echo "[rack $(date +%T.%3N)] $*" >&2; }
rack_fail() {
    echo "FAIL: $*" >&2
    exit 1
}

rack_require() {
    [ "$(id -u)" = 0 ] || { echo "SKIP: needs root" >&2; exit 77; }
    local tool
    for tool in ip nft "$@"; do
        command -v "$tool" >/dev/null || rack_fail "missing tool: $tool"
    done
}

# rack_up N: builds the rack and arms the teardown trap.
rack_up() {
    local n=$1 i
    rack_require
    RACK_N=$n
    RACK_SWITCH_NS=${RACK_ID}-sw
    RACK_SERVER_NS=${RACK_ID}-srv
    RACK_SERVER_IP=${RACK_SUBNET}.1
    RACK_DIR=$(mktemp -d "${TMPDIR:-/tmp}/rack.${RACK_ID}.XXXXXX")
    trap rack_down EXIT
    trap 'exit 130' INT
    trap 'exit 143' TERM
    RACK_UP=1
    ip netns add "$RACK_SWITCH_NS"
    ip -n "$RACK_SWITCH_NS" link set lo up
    ip -n "$RACK_SWITCH_NS" link add br0 type bridge mcast_snooping 0
    ip -n "$RACK_SWITCH_NS" link set br0 up
    _rack_plug "$RACK_SERVER_NS" srv "$RACK_SERVER_IP"
    for ((i = 1; i <= n; i++)); do
        RACK_HOST_NS[i]=${RACK_ID}-h$i
        RACK_HOST_IP[i]=${RACK_SUBNET}.$((10 + i))
        _rack_plug "${RACK_HOST_NS[i]}" "h$i" "${RACK_HOST_IP[i]}"
    done
    rack_log "up: server $RACK_SERVER_IP + $n hosts on $RACK_SWITCH_NS/br0 (scratch $RACK_DIR)"
}

# rack_add_host: one more host on the switch (a VM's stand-in, say), number $RACK_N.
rack_add_host() {
    local i=$((RACK_N + 1))
    RACK_N=$i
    RACK_HOST_NS[i]=${RACK_ID}-h$i
    RACK_HOST_IP[i]=${RACK_SUBNET}.$((10 + i))
    _rack_plug "${RACK_HOST_NS[i]}" "h$i" "${RACK_HOST_IP[i]}"
}

# _rack_plug NS PORT IP: a namespace with eth0 whose peer PORT is a bridge port.
_rack_plug() {
    local ns=$1 port=$2 addr=$3
    ip netns add "$ns"
    ip -n "$ns" link set lo up
    ip -n "$RACK_SWITCH_NS" link add "$port" type veth peer name "$RACK_IF" netns "$ns"
    ip -n "$RACK_SWITCH_NS" link set "$port" master br0 up
    ip -n "$ns" addr add "$addr/24" brd + dev "$RACK_IF"
    ip -n "$ns" link set "$RACK_IF" up
    # Multicast leaves by eth0 even for programs that do not pick an interface.
    ip -n "$ns" route add 224.0.0.0/4 dev "$RACK_IF"
}

# rack_ns WHO: the namespace of "server", "switch" (the bridge's) or a host number.
rack_ns() {
    case $1 in
        server) echo "$RACK_SERVER_NS" ;;
        switch) echo "$RACK_SWITCH_NS" ;;
        *) echo "${RACK_HOST_NS[$1]}" ;;
    esac
}

# rack_exec WHO CMD...: runs CMD in the server's or host WHO's namespace, in the foreground.
rack_exec() {
    local ns
    ns=$(rack_ns "$1")
    shift
    ip netns exec "$ns" "$@"
}
rack_server() { rack_exec server "$@"; }
rack_host() { rack_exec "$@"; }

# rack_bg WHO NAME CMD...: runs CMD in the background in WHO's namespace; stdout and stderr go
# to $RACK_DIR/NAME.out and NAME.err. Use rack_wait NAME for its status, rack_kill NAME to stop it.
rack_bg() {
    local who=$1 name=$2 ns
    shift 2
    ns=$(rack_ns "$who")
    ip netns exec "$ns" "$@" >"$RACK_DIR/$name.out" 2>"$RACK_DIR/$name.err" &
    RACK_PIDS[$name]=$!
}

rack_pid() { echo "${RACK_PIDS[$1]}"; }

# rack_wait NAME [SECONDS]: waits for a background command; prints nothing, returns its exit
# status (124 and kills it when it outlives SECONDS).
rack_wait() {
    local name=$1 limit=${2:-0} pid=${RACK_PIDS[$1]} waited=0
    [ -n "$pid" ] || rack_fail "rack_wait: no background command named $name"
    if [ "$limit" -gt 0 ]; then
        while kill -0 "$pid" 2>/dev/null; do
            if [ "$waited" -ge $((limit * 10)) ]; then
                rack_log "$name still running after ${limit}s: killing it"
                kill -KILL "$pid" 2>/dev/null || true
                wait "$pid" 2>/dev/null || true
                return 124
            fi
            sleep 0.1
            waited=$((waited + 1))
        done
    fi
    local status=0
    wait "$pid" || status=$?
    return $status
}

# rack_kill NAME [SIGNAL]: signals a background command (default KILL) and reaps it.
rack_kill() {
    local pid=${RACK_PIDS[$1]}
    kill "-${2:-KILL}" "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    return 0
}

# rack_loss WHO PERCENT [in|out|both]: WHO drops PERCENT% of the packets it receives (default),
# sends, or both, at random (nftables numgen). PERCENT 0 removes the rule.
rack_loss() {
    local who=$1 percent=$2 direction=${3:-in} ns hooks=()
    ns=$(rack_ns "$who")
    ip netns exec "$ns" nft delete table inet rack_loss 2>/dev/null || true
    [ "$percent" -gt 0 ] || return 0
    case $direction in
        in) hooks=(input) ;;
        out) hooks=(output) ;;
        both) hooks=(input output) ;;
        *) rack_fail "rack_loss: direction must be in, out or both" ;;
    esac
    local rules="table inet rack_loss {"$'\n'
    local hook
    for hook in "${hooks[@]}"; do
        rules+="  chain $hook {"$'\n'
        rules+="    type filter hook $hook priority 0; policy accept;"$'\n'
        rules+="    meta l4proto udp numgen random mod 100 < $percent drop"$'\n'
        rules+="  }"$'\n'
    done
    rules+="}"$'\n'
    ip netns exec "$ns" nft -f - <<<"$rules" || rack_fail "rack_loss: nft refused the rules"
}

# rack_loss_all PERCENT [in|out|both]: the same loss on every host.
rack_loss_all() {
    local i
    for ((i = 1; i <= RACK_N; i++)); do rack_loss "$i" "$@"; done
}

# rack_tx_bytes WHO: bytes sent so far by WHO's eth0 (link level, as the kernel counts them).
rack_tx_bytes() {
    rack_exec "$1" cat "/sys/class/net/$RACK_IF/statistics/tx_bytes"
}

# rack_on_exit CMD: runs CMD (a string, eval'd) at teardown, before the namespaces go.
# rack_wait_log NAME REGEX SECONDS: until $RACK_DIR/NAME.err (of rack_bg NAME) has a line
# matching REGEX; fails the test after SECONDS.
rack_wait_log() {
    local i
    for ((i = 0; i < $3 * 10; i++)); do
        grep -qsE "$2" "$RACK_DIR/$1.err" && return 0
        sleep 0.1
    done
    rack_fail "no \"$2\" in $1.err after $3 s"
}

# rack_dhcp WHO NAME UDHCPC-ARGS...: one DHCP exchange of WHO, as a PXE ROM makes it (the leased
# address is applied); what the server said lands in $RACK_DIR/NAME.lease, read by rack_lease.
rack_dhcp() {
    local who=$1 name=$2
    shift 2
    rm -f "$RACK_DIR/$name.lease"
    PXE_LEASE_FILE=$RACK_DIR/$name.lease rack_exec "$who" busybox udhcpc -f -q -n -t 5 -T 1 \
        -i "$RACK_IF" -s "${PROVISIONER_SOURCE:?}/tests/e2e/pxe/udhcpc-record.sh" "$@" \
        >"$RACK_DIR/$name.udhcpc" 2>&1 ||
        rack_fail "$name: no DHCP lease ($(tail -n 3 "$RACK_DIR/$name.udhcpc"))"
}
# rack_lease NAME KEY: ip, siaddr, boot_file or hostname of lease NAME.
rack_lease() { sed -n "s/^$2=//p" "$RACK_DIR/$1.lease"; }

rack_on_exit() { RACK_CLEANUP+=("$1"); }

# rack_down: kills what runs in the rack, deletes it. Idempotent; called by the trap.
rack_down() {
    local status=$?
    [ "$RACK_UP" = 1 ] || return $status
    RACK_UP=0
    local cmd name ns pid
    for cmd in "${RACK_CLEANUP[@]}"; do eval "$cmd" || true; done
    # In one block with its stderr closed: bash's "Killed" notices of the jobs reaped here are
    # noise, not failures.
    {
        for name in "${!RACK_PIDS[@]}"; do kill -KILL "${RACK_PIDS[$name]}" || true; done
        for ns in "$RACK_SERVER_NS" "${RACK_HOST_NS[@]}" "$RACK_SWITCH_NS"; do
            [ -n "$ns" ] || continue
            for pid in $(ip netns pids "$ns"); do kill -KILL "$pid" || true; done
        done
        wait || true
    } 2>/dev/null
    for ns in "$RACK_SERVER_NS" "${RACK_HOST_NS[@]}" "$RACK_SWITCH_NS"; do
        [ -n "$ns" ] && ip netns del "$ns" 2>/dev/null || true
    done
    if [ "$status" != 0 ] && [ -d "$RACK_DIR" ]; then
        for name in "$RACK_DIR"/*.err; do
            [ -s "$name" ] || continue
            echo "---- ${name##*/} (last 20 lines)" >&2
            tail -n 20 "$name" >&2
        done
    fi
    [ "${RACK_KEEP:-0}" = 1 ] || rm -rf "$RACK_DIR"
    rack_log "down"
    return $status
}
