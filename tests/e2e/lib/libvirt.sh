# libvirt.sh: real VMs on a rack host (source after rack.sh and provisioner.sh, after rack_up).
# Each host gets its own libvirtd with the qemu driver, private: its sockets, /etc/libvirt,
# /run/libvirt, /var/lib/libvirt, /var/log/libvirt and /var/cache/libvirt are the test's, in a
# mount namespace of its own, so the machine's libvirt, if any, is untouched and several run
# side by side. VMs sit on a bridge of the host routed to the server, with DHCP by a dnsmasq of
# the test's; the host's Dom0 agent drives its libvirtd and chooses the domain type itself
# (TCG, libvirt's 'qemu', where KVM is not usable).
#
#   lv_vm_network I            # bridge vmbr0 in host I, $VM_SUBNET_BASE.I.0/24, DHCP, routed
#   lv_start I                 # host I's private libvirtd; its URI in LV_URI[I]
#   lv I ARGS...               # virsh against it
#   lv_dom0_bg I [ARGS...]     # host I reports ready, then its Dom0 agent runs (dom0-I)
#   lv_site_apply FILE         # site apply, once the Dom0s have reported
#
# Needs libvirtd (libvirt-daemon, libvirt-daemon-driver-qemu), virsh, qemu-system-x86_64,
# unshare and dnsmasq.

VM_SUBNET_BASE=${VM_SUBNET_BASE:-10.78}
VM_BRIDGE=vmbr0
declare -a LV_URI=() LV_DIR=()

lv() { local i=$1; shift; virsh -q -c "${LV_URI[i]}" "$@"; }

# lv_vm_network I: host I's VM bridge at $VM_SUBNET_BASE.I.1/24, forwarding to the rack, a
# route to it from the server, and DHCP for .100-.199 with host I as the router.
lv_vm_network() {
    local i=$1 ns=${RACK_HOST_NS[$1]} net=$VM_SUBNET_BASE.$1
    ip -n "$ns" link add "$VM_BRIDGE" type bridge
    ip -n "$ns" addr add "$net.1/24" dev "$VM_BRIDGE"
    ip -n "$ns" link set "$VM_BRIDGE" up
    ip netns exec "$ns" sysctl -qw net.ipv4.ip_forward=1
    ip -n "$RACK_SERVER_NS" route add "$net.0/24" via "${RACK_HOST_IP[i]}"
    rack_bg "$i" "vm-dhcp$i" dnsmasq --no-daemon --conf-file=/dev/null --port=0 --bind-interfaces \
        --interface="$VM_BRIDGE" --dhcp-range="$net.100,$net.199,1h" \
        --dhcp-option=option:router,"$net.1" --dhcp-leasefile="$RACK_DIR/vm$i.leases" \
        --pid-file="$RACK_DIR/vm-dhcp$i.pid" --user=root --log-dhcp
}

# lv_start I: host I's private libvirtd, answering on LV_URI[I] within 10 s.
lv_start() {
    local i=$1 dir=$RACK_DIR/libvirt$1
    LV_DIR[i]=$dir
    LV_URI[i]="qemu:///system?socket=$dir/sock/libvirt-sock"
    mkdir -p "$dir/etc" "$dir/sock"
    cat >"$dir/etc/libvirtd.conf" <<CONF
unix_sock_dir = "$dir/sock"
unix_sock_rw_perms = "0700"
auth_unix_rw = "none"
auth_unix_ro = "none"
CONF
    # As root the qemu driver would run qemu as libvirt-qemu, label files, use cgroups and a
    # mount namespace per VM, and log through virtlogd: none of that is needed in a test's daemon.
    cat >"$dir/etc/qemu.conf" <<'CONF'
security_driver = "none"
user = "root"
group = "root"
dynamic_ownership = 0
remember_owner = 0
namespaces = [ ]
cgroup_controllers = [ ]
stdio_handler = "file"
CONF
    cat >"$dir/start" <<'START'
# Runs in a mount namespace of its own: libvirt's fixed paths become the test's.
set -e
mount --make-rprivate /
mount --bind "$1/etc" /etc/libvirt
for d in /run/libvirt /var/lib/libvirt /var/log/libvirt /var/cache/libvirt; do
    mkdir -p "$d"
    mount -t tmpfs -o mode=0755 tmpfs "$d"
done
exec libvirtd -f /etc/libvirt/libvirtd.conf -p "$1/libvirtd.pid"
START
    rack_bg "$i" "libvirtd$i" unshare -m bash "$dir/start" "$dir"
    local _
    for _ in $(seq 100); do lv "$i" version >/dev/null 2>&1 && break; sleep 0.1; done
    lv "$i" version >/dev/null ||
        rack_fail "host $i's private libvirtd does not answer: $(tail -n 5 "$RACK_DIR/libvirtd$i.err")"
}

# lv_dom0_bg I [ARGS...]: host I (imaged) reports ready with its capacity, then runs its Dom0
# agent on its private libvirtd (dom0-I in RACK_DIR), templates and disks under RACK_DIR, with
# ARGS as more of the agent's options.
lv_dom0_bg() {
    local i=$1
    shift
    pv_cli host dom0 "h$i" >"$RACK_DIR/h$i.dom0"  # pv_enrol names host I hI
    rack_exec "$i" "$PV_BIN/provisioner-agent" ready --cmdline "$RACK_DIR/h$i.dom0" >/dev/null 2>&1 ||
        rack_fail "host $i: ready failed"
    mkdir -p "$RACK_DIR/tpl$i" "$RACK_DIR/disks$i"
    rack_bg "$i" "dom0-$i" "$PV_BIN/provisioner-agent" dom0 --cmdline "$RACK_DIR/h$i.dom0" \
        --libvirt "${LV_URI[i]}" --bridge "$VM_BRIDGE" --templates "$RACK_DIR/tpl$i" \
        --disks "$RACK_DIR/disks$i" --interval 0.5 --reserved-vcpus 0 --reserved-memory-mib 0 "$@"
}

# lv_site_apply FILE [ARGS]: `provisioner site apply`, again for up to 15 s while no Dom0, or
# not the one a VM is pinned to, has sent its first report (the agent logs its domain type
# before it reports). Prints what the CLI prints; its exit status.
lv_site_apply() {
    local out status _
    for _ in $(seq 60); do
        status=0
        out=$(pv_cli site apply "$@" 2>&1) || status=$?
        # Until every Dom0 agent's first report is in: none yet, or not the VM's pinned host.
        grep -qE "no host has reported its VMs yet|which is not a known host" <<<"$out" || break
        sleep 0.25
    done
    printf '%s\n' "$out"
    return $status
}
