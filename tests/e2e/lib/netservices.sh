# netservices.sh: the rig of issue 21's test and benchmark. Source after rack.sh (rack_up 2) and
# provisioner.sh. Two "Dom0" host namespaces (h1 10.77.0.11, h2 10.77.0.12 on the rack's
# bridge), each routing for a "VM" namespace behind a veth: the Dom0 end "vif1"/"vif2" is the
# VM's interface (the agent is told so by --vm-interface, as libvirt's test driver has no real
# one), the VM end its eth0. vm1 10.101.0.2/24, vm2 10.102.0.2/24. Each Dom0's eth0 sends at
# most NS_LINK_RATE (tc tbf): the modest link that compression is for.
#
#   ns_rig_up            # provision, Dom0 agents, VM namespaces, vm1 and vm2 applied and running
#   ns_vm I CMD...       # run CMD in VM I's namespace
#   ns_site FILE XML...  # write a site of vm1 on h1 and vm2 on h2; XML: "vm1:<NETSERVICE .../>"
#   ns_apply FILE        # site apply
#   ns_wait_active VM N  # until `vm list` shows N network services active on VM
#   ns_agent_up I        # (re)start host I's Dom0 agent
#   ns_iperf_json OUT ARGS...  # iperf3 client in vm1 to vm2, --json into OUT

NS_LINK_RATE=${NS_LINK_RATE:-20mbit}
declare -a NS_VM_NS=()

ns_vm() {
    local i=$1
    shift
    ip netns exec "${NS_VM_NS[i]}" "$@"
}

ns_agent_up() {
    local i=$1
    rack_bg "$i" "dom0-$i" "$PV_BIN/provisioner-agent" dom0 --cmdline "$RACK_DIR/h$i.dom0" \
        --libvirt test:///default --templates "$RACK_DIR/tpl$i" --disks "$RACK_DIR/disks$i" \
        --interval 0.3 --reserved-vcpus 0 --reserved-memory-mib 0 --vm-interface "vm$i=vif$i"
}

ns_site() {
    local file=$1 i extra spec
    shift
    {
        echo '<XSMConfig><Set name="ns">'
        for i in 1 2; do
            extra=
            for spec in "$@"; do [[ $spec == vm$i:* ]] && extra+="${spec#vm$i:}"; done
            echo "<VM name=\"vm$i\"><DOM0>h$i</DOM0><VCPUS>1</VCPUS><MEM>64</MEM>"
            echo "<TEMPLATE>debian</TEMPLATE>$extra</VM>"
        done
        echo '</Set></XSMConfig>'
    } >"$file"
}

ns_apply() { pv_cli site apply "$1"; }

ns_wait_active() {
    local vm=$1 want=$2 got
    for _ in $(seq 100); do
        # A VM not listed (not running, not reported) is not one with no services active.
        got=$(pv_cli --json vm list | jq -r --arg vm "$vm" '[.vms[] | select(.name == $vm) | .netservices // [] | length] | add // "not listed"')
        [ "$got" = "$want" ] && return 0
        sleep 0.1
    done
    rack_fail "$vm: $got network services active, not $want: $(pv_cli vm list)"
}

ns_iperf_json() {
    local out=$1
    shift
    ns_vm 1 iperf3 -c 10.102.0.2 --json "$@" >"$out" || rack_fail "iperf3 $*: $(tail -n 5 "$out")"
}

ns_rig_up() {
    local i
    PV_IMAGE_MIB=${PV_IMAGE_MIB:-32}
    pv_provision delta >/dev/null
    mkdir -p "$RACK_DIR/images"
    qemu-img create -q -f qcow2 "$RACK_DIR/images/debian@1.qcow2" 16M
    pv_cli template add "$RACK_DIR/images/debian@1.qcow2" --name debian --version 1 >/dev/null
    for i in 1 2; do
        pv_cli host dom0 "h$i" >"$RACK_DIR/h$i.dom0"
        rack_exec "$i" "$PV_BIN/provisioner-agent" ready --cmdline "$RACK_DIR/h$i.dom0" >/dev/null 2>&1 ||
            rack_fail "host $i: ready failed"
        mkdir -p "$RACK_DIR/tpl$i" "$RACK_DIR/disks$i"
        cp "$RACK_DIR/images/debian@1.qcow2" "$RACK_DIR/base$i.qcow2"
        "$PV_BIN/provisioner-agent" template add --templates "$RACK_DIR/tpl$i" --name debian \
            --version 1 "$RACK_DIR/base$i.qcow2" >/dev/null || rack_fail "host $i: template add failed"
        # The VM: a namespace behind a veth whose Dom0 end is its vif; the Dom0 routes for it.
        NS_VM_NS[i]=${RACK_ID}-vm$i
        ip netns add "${NS_VM_NS[i]}"
        rack_on_exit "for p in \$(ip netns pids ${NS_VM_NS[i]}); do kill -KILL \$p; done; ip netns del ${NS_VM_NS[i]}"
        ip -n "$(rack_ns "$i")" link add "vif$i" type veth peer name eth0 netns "${NS_VM_NS[i]}"
        ip -n "$(rack_ns "$i")" addr add "10.10$i.0.1/24" dev "vif$i"
        ip -n "$(rack_ns "$i")" link set "vif$i" up
        ip -n "${NS_VM_NS[i]}" addr add "10.10$i.0.2/24" dev eth0
        ip -n "${NS_VM_NS[i]}" link set eth0 up
        ip -n "${NS_VM_NS[i]}" link set lo up
        ip -n "${NS_VM_NS[i]}" route add default via "10.10$i.0.1"
        rack_exec "$i" sysctl -qw net.ipv4.ip_forward=1
        rack_exec "$i" tc qdisc replace dev "$RACK_IF" root tbf rate "$NS_LINK_RATE" burst 32k latency 100ms
        ns_agent_up "$i"
    done
    rack_exec 1 ip route add 10.102.0.0/24 via "${RACK_HOST_IP[2]}"
    rack_exec 2 ip route add 10.101.0.0/24 via "${RACK_HOST_IP[1]}"
    ns_vm 1 busybox ping -c 1 -W 2 10.102.0.2 >/dev/null || rack_fail "vm1 does not reach vm2 through the Dom0s"
    ns_site "$RACK_DIR/plain.xml"
    for _ in $(seq 50); do pv_cli --json site diff "$RACK_DIR/plain.xml" >/dev/null 2>&1 && break; sleep 0.2; done
    ns_apply "$RACK_DIR/plain.xml" >/dev/null
    for _ in $(seq 100); do
        [ "$(pv_cli --json vm list | jq '[.vms[] | select(.state == "running")] | length')" = 2 ] && return 0
        sleep 0.2
    done
    rack_fail "vm1 and vm2 are not running: $(pv_cli vm list)"
}

# ns_data KIND FILE MIB: test data. text: the system's own documentation, repeated; logs: a
# syslog of a web server (timestamps, addresses, paths, statuses vary); dump: a database dump
# (INSERT rows of names, numbers, dates); random: /dev/urandom.
ns_data() {
    local kind=$1 file=$2 mib=$3
    case $kind in
    text)
        { find /usr/share/common-licenses /usr/share/doc -name 'copyright' -o -name 'GPL*' -type f |
            head -n 400 | xargs cat; } 2>/dev/null >"$file.seed" || true  # head ends the find
        while [ "$(stat -c %s "$file" 2>/dev/null || echo 0)" -lt $((mib << 20)) ]; do cat "$file.seed" >>"$file"; done
        rm -f "$file.seed" ;;
    logs)
        awk -v n=$((mib * 9000)) 'BEGIN { srand(21); split("GET POST PUT DELETE", m, " ");
            split("200 200 200 301 404 500", st, " ");
            for (i = 0; i < n; i++) printf "Dec  5 04:%02d:%02d web%d nginx[%d]: 10.%d.%d.%d - - \"%s /api/v1/items/%d?page=%d HTTP/1.1\" %s %d \"-\" \"curl/7.88.1\"\n",
                (i/600)%60, (i/10)%60, i%4, 1000+int(rand()*9000), int(rand()*255), int(rand()*255), int(rand()*255),
                m[1+int(rand()*4)], int(rand()*100000), int(rand()*20), st[1+int(rand()*6)], int(rand()*50000) }' >"$file" ;;
    dump)
        awk -v n=$((mib * 11000)) 'BEGIN { srand(5); split("alice bob carol dave erin frank grace heidi ivan judy", f, " ");
            split("smith jones brown taylor wilson davies evans thomas johnson roberts", l, " ");
            print "CREATE TABLE customers (id INTEGER PRIMARY KEY, first TEXT, last TEXT, email TEXT, balance NUMERIC, created DATE);";
            for (i = 1; i <= n; i++) { a = f[1+int(rand()*10)]; b = l[1+int(rand()*10)];
                printf "INSERT INTO customers VALUES(%d,'\''%s'\'','\''%s'\'','\''%s.%s%d@example.com'\'',%.2f,'\''2026-%02d-%02d'\'');\n",
                i, a, b, a, b, int(rand()*1000), rand()*100000, 1+int(rand()*12), 1+int(rand()*28) } }' >"$file" ;;
    random)
        head -c $((mib << 20)) /dev/urandom >"$file" ;;
    esac
}
