#!/usr/bin/env bash
# Real VMs on a real hypervisor. Two namespace hosts are provisioned (PXE, agent, delta) and each
# runs its own libvirtd with the qemu driver: private (its sockets, /run/libvirt, /etc/libvirt,
# /var/lib/libvirt and /var/log/libvirt in a mount namespace of the test's), so the machine's
# libvirt, if any, is untouched. The host's Dom0 agent talks to it through the daemon's socket,
# chooses the domain type itself (here TCG, libvirt's 'qemu': this machine's /dev/kvm, if any,
# is trusted only when the CPU shows vmx or svm) and puts VMs on a bridge of the host (routed to
# the server, DHCP by a dnsmasq of the test's). images/build-guest makes the guest template
# (guest@1: Debian's kernel, an initramfs whose system is `provisioner-agent guest`, pinned to
# the server's CA) and a layer on it (web@1, its own qcow2 backed by guest@1), both added with
# `provisioner template add`. `site apply` creates three VMs from web@1, web-a and web-c on h1
# and web-b on h2: libvirt runs them as
# qemu processes, `vm list` says TCG, their disks are three-level chains (VM overlay, web@1,
# guest@1), and their guests boot, find the server in their SMBIOS OEM strings and report to
# provisionerd. Each guest then installs the site's service, hello (a tiny .deb that
# tests/e2e/lib/service_deb.sh makes, whose postinst starts busybox httpd), from provisionerd
# (`provisioner service add`): it checks the package's signature with the site key pinned in
# the template (build-guest --site-key) and installs it with busybox's dpkg, then reports
# service_available with its access point, which the test fetches from the server. The test
# prints create-to-running, create-to-ready (the guest's first report) and
# create-to-service-available for each VM. A VM the driver refuses (an interface on a libvirt
# network the host lacks: h1's agent has no --trunk at first) fails its apply step with
# libvirt's message. Then, each checked with virsh against the
# daemons' state: a resize (web-b to 2 vCPUs and 384 MiB: libvirt's persistent definition
# changes at once, the running domain keeps its boot-time maximum until its next start, and
# vm list shows the new size); a move of web-b from h2 to h1 (a cold move through provisionerd:
# the two private daemons have local URIs, which a peer cannot reach, so the agents report no live migration;
# the guest has no ACPI handler, so the agents' --shutdown-wait 3 powers it off): gone from h2's
# libvirtd and its disk, running on h1's with the new size live and its overlay rebased on h1's
# template; and recalls, web-a's and web-c's before the move (h1 has 2 CPUs: 4 vCPUs would not
# fit there) and web-b's last: domains, qemu processes and overlays go. Before web-b's recall,
# h1 loses power while the server is frozen: its libvirtd, restarted as after a reboot, starts
# web-b again by itself (the agent marks every VM it starts to start with its hypervisor), and
# h1's agent comes back. Before those, EDIV's
# networks: web-a (h1) and web-b (h2) each have a second NIC on the site's VLAN front (10),
# web-c (h1) on back (20), all three in one IP subnet; the agents (--trunk eth0) put each such
# NIC in its VLAN's bridge, whose port on eth0 tags its frames (the kernel's 802.1Q
# sub-interface, or the agent's user-space port where the kernel has none, as here); the
# service gives each VLAN NIC its address, and pings from inside the VMs (its cgi-bin/ping)
# show web-a and web-b reach each other across the two hosts while web-c reaches neither.
# Needs root, qemu-system-x86_64, libvirtd (libvirt-daemon, libvirt-daemon-driver-qemu), virsh,
# and what images/build-guest needs; the kernel package comes from build-netboot's cache.
set -euo pipefail
source "$(dirname "$0")/lib/rack.sh"
rack_require qemu-img qemu-system-x86_64 libvirtd virsh unshare dnsmasq grub-install sfdisk cpio
rack_up 2
source "$(dirname "$0")/lib/provisioner.sh"
source "$(dirname "$0")/lib/libvirt.sh"
source "$(dirname "$0")/lib/service_deb.sh"
PV_IMAGE_MIB=32
pv_provision delta >/dev/null

since() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", a - b }'; }  # A - B seconds

echo "== the guest template (images/build-guest) and a layer on it"
mkdir -p "$RACK_DIR/images"
t0=$(date +%s.%N)
"$PROVISIONER_SOURCE/images/build-guest" --out "$RACK_DIR/images/guest@1.qcow2" \
    --ca "$PV_STATE/ca.crt" --site-key "$PV_STATE/site.pub" --agent-dir "$PV_BIN" >/dev/null 2>"$RACK_DIR/build-guest.err" ||
    rack_fail "build-guest failed: $(tail -n 5 "$RACK_DIR/build-guest.err")"
t1=$(date +%s.%N)
"$PROVISIONER_SOURCE/images/build-guest" --layer-on "$RACK_DIR/images/guest@1.qcow2" --layer web \
    --out "$RACK_DIR/images/web@1.qcow2" >/dev/null 2>"$RACK_DIR/build-layer.err" ||
    rack_fail "build-guest --layer-on failed: $(tail -n 5 "$RACK_DIR/build-layer.err")"
t2=$(date +%s.%N)
base_size=$(stat -c %s "$RACK_DIR/images/guest@1.qcow2")
layer_size=$(stat -c %s "$RACK_DIR/images/web@1.qcow2")
printf '  guest@1: %s bytes in %s s; web@1 (a layer): %s bytes in %s s\n' \
    "$base_size" "$(since "$t1" "$t0")" "$layer_size" "$(since "$t2" "$t1")"
[ "$layer_size" -lt $((base_size / 4)) ] || rack_fail "the layer is not small: $layer_size bytes"
[ "$(qemu-img info --output=json "$RACK_DIR/images/web@1.qcow2" | jq -r '."backing-filename"')" = "guest@1.qcow2" ] ||
    rack_fail "web@1 is not backed by guest@1: $(qemu-img info "$RACK_DIR/images/web@1.qcow2")"
pv_cli template add "$RACK_DIR/images/guest@1.qcow2" --name guest --version 1 --label base >/dev/null
pv_cli template add "$RACK_DIR/images/web@1.qcow2" --name web --version 1 --label web \
    --backing guest@1 >/dev/null
pv_cli template list

echo "== the service package, kept and signed by provisionerd"
service_deb "$RACK_DIR/hello.deb" hello 1.0
pv_cli service add "$RACK_DIR/hello.deb"
pv_cli service list

echo "== hosts h1 and h2: each a private libvirtd (qemu driver), a VM bridge routed to the server"
for i in 1 2; do
    lv_vm_network $i
    lv_start $i
done
[ ! -e /etc/libvirt/qemu/web-a.xml ] || rack_fail "the machine's /etc/libvirt holds a test domain"

echo "== each host's Dom0 agent on its private daemon: it chooses the domain type"
# h2's carries the site's VLANs on its eth0 (--trunk); h1's first has no trunk, for the VM the
# driver refuses below, and is started again with it after.
lv_dom0_bg 1 --shutdown-wait 3
lv_dom0_bg 2 --shutdown-wait 3 --trunk "$RACK_IF"
for i in 1 2; do rack_wait_log dom0-$i 'new VMs are' 10; done
kind_line=$(grep -m1 'new VMs are' "$RACK_DIR/dom0-1.err")
echo "  ${kind_line#agent: }"
want_type=qemu
if grep -qwE 'vmx|svm' /proc/cpuinfo && [ -w /dev/kvm ]; then want_type=""; fi  # the probe decides
[ -z "$want_type" ] || grep -q "new VMs are qemu domains (TCG: KVM is not usable: " <<<"$kind_line" ||
    rack_fail "without vmx or svm the agent chose: $kind_line"

declare -A NUM=([odd]=10 [web-a]=11 [web-b]=12 [web-c]=13)  # each VM's MACs end in it
# Each VM's NIC on a site VLAN (EDIV's networks): its network and its address there. All three
# share one IP subnet, so that only the VLANs keep web-c apart from the other two.
declare -A VLAN_OF=([web-a]="front 10.79.0.11/24" [web-b]="front 10.79.0.12/24"
    [web-c]="back 10.79.0.13/24") VID=([front]=10 [back]=20)
site() { # NAME@HOST[:VCPUS:MIB]... : VMs from web@1 (1 vCPU and 256 MiB unless given), each
    # with a NIC on the hosts' network (the agent's --bridge), one on its VLAN, and a service
    # that gives the VLAN's NIC its address
    echo '<XSMConfig placement="first-fit"><Set name="real">'
    if [ -n "${NETWORK:-}" ]; then
        echo "<Network name=\"$NETWORK\" vlan=\"10\"/>"
    else
        echo '<Network name="front" vlan="10"/><Network name="back" vlan="20"/>'
    fi
    local spec vm host vcpus mib n vlan params
    for spec in "$@"; do
        IFS='@:' read -r vm host vcpus mib <<<"$spec"
        n=${NUM[$vm]}
        echo "<VM name=\"$vm\"><VCPUS>${vcpus:-1}</VCPUS><MEM>${mib:-256}</MEM><TEMPLATE>web</TEMPLATE><DOM0>$host</DOM0>"
        echo "<HWADDR>52:54:00:78:00:$n</HWADDR>"
        [ -z "${NETWORK:-}" ] || echo "<INTERFACE network=\"$NETWORK\" hwaddr=\"52:54:00:78:01:$n\"/>"
        vlan=${VLAN_OF[$vm]:-} params=""
        if [ -n "$vlan" ] && [ -z "${NETWORK:-}" ]; then
            echo "<INTERFACE network=\"${vlan% *}\" hwaddr=\"52:54:00:79:00:$n\"/>"
            params="<PARAM name=\"vlan_mac\">52:54:00:79:00:$n</PARAM><PARAM name=\"vlan_address\">${vlan#* }</PARAM>"
        fi
        echo "<SERVICE package=\"hello\"><PARAM name=\"port\">8080</PARAM>$params</SERVICE></VM>"
    done
    echo '</Set></XSMConfig>'
}

echo "== a VM the driver refuses (a network libvirt does not have): its step fails with libvirt's message"
NETWORK=front site odd@h1 >"$RACK_DIR/odd.xml"
lv_site_apply "$RACK_DIR/odd.xml" >"$RACK_DIR/odd.apply" 2>&1 || true
for _ in $(seq 300); do
    [ "$(pv_cli --json site status | jq -r '.applies[0].state')" = failed ] && break
    sleep 0.1
done
err=$(pv_cli --json site status | jq -r '.applies[0].steps[0].error')
echo "  odd: $err"
grep -q "no network with matching name 'front'" <<<"$err" ||
    rack_fail "the refused VM's step says: $err (site apply: $(cat "$RACK_DIR/odd.apply"); status: $(pv_cli --json site status | jq -c .applies[0]))"
[ -z "$(lv 1 list --all --name)" ] || rack_fail "the refused VM was left defined: $(lv 1 list --all)"
[ ! -e "$RACK_DIR/disks1/odd.qcow2" ] || rack_fail "the refused VM left its disk"

echo "== h1's agent again, now carrying the site's VLANs on its eth0 (--trunk)"
rack_kill dom0-1 TERM
lv_dom0_bg 1 --shutdown-wait 3 --trunk "$RACK_IF"
rack_wait_log dom0-1 'new VMs are' 10

echo "== site apply: three VMs from web@1, booted under the chosen accelerator"
VMS=(web-a web-b web-c)
declare -A on=([web-a]=1 [web-b]=2 [web-c]=1)  # the host each VM runs on
site web-a@h1 web-b@h2 web-c@h1 >"$RACK_DIR/site.xml"
created=$(date +%s.%N)
pv_cli site apply "$RACK_DIR/site.xml" >/dev/null
declare -A running_at=() ready_at=() available_at=()
deadline=$((SECONDS + ${REAL_VMS_BOOT_TIMEOUT:-300}))
while [ ${#available_at[@]} -lt ${#VMS[@]} ] && [ $SECONDS -lt $deadline ]; do
    now=$(date +%s.%N)
    list=$(pv_cli --json vm list)
    for vm in "${VMS[@]}"; do
        state=$(jq -r --arg n "$vm" '.vms[] | select(.name == $n) | .state' <<<"$list")
        service=$(jq -r --arg n "$vm" '.vms[] | select(.name == $n) | .service_state // ""' <<<"$list")
        if [ "$state" = running ] && [ -z "${running_at[$vm]:-}" ]; then
            running_at[$vm]=$now
            echo "  $vm running after $(since "$now" "$created") s"
            # Its serial console from here on, for the log and for a failure's diagnosis.
            pty=$(lv "${on[$vm]}" ttyconsole "$vm" 2>/dev/null || true)
            [ -z "$pty" ] || rack_bg "${on[$vm]}" "$vm.console" cat "$pty"
        fi
        # Any state but vm_unavailable: the guest agent has reported from inside the VM.
        if [ -n "$service" ] && [ "$service" != vm_unavailable ] && [ -z "${ready_at[$vm]:-}" ]; then
            ready_at[$vm]=$now
            echo "  $vm's guest agent reported after $(since "$now" "$created") s"
        fi
        if [ "$service" = service_available ] && [ -z "${available_at[$vm]:-}" ]; then
            available_at[$vm]=$now
            echo "  $vm's service available after $(since "$now" "$created") s"
        fi
        [ "$service" != failed ] || rack_fail "$vm's service failed: $(jq -c --arg n "$vm" '.vms[] | select(.name == $n) | .services' <<<"$list")"
    done
    sleep 0.5
done
pv_cli vm list
if [ ${#available_at[@]} != ${#VMS[@]} ]; then
    for vm in "${VMS[@]}"; do
        echo "---- $vm's console (last 15 lines)"
        tail -n 15 "$RACK_DIR/$vm.console.out" 2>/dev/null || true
    done
    rack_fail "guests that reported: ${!ready_at[*]}, services available: ${!available_at[*]} (of ${VMS[*]}) after ${REAL_VMS_BOOT_TIMEOUT:-300} s; libvirt: h1 $(lv 1 list --all), h2 $(lv 2 list --all)"
fi

# disk_chain I VM: VM's overlay on host I and its backing files, by path, " <- " between.
disk_chain() {
    qemu-img info --force-share --backing-chain --output=json "$RACK_DIR/disks$1/$2.qcow2" |
        jq -r '[.[].filename] | join(" <- ")'
}
# qemu_pid I VM: the pid of VM's qemu process under host I's libvirtd, or "".
qemu_pid() {
    cat "/proc/$(rack_pid "libvirtd$1")/root/run/libvirt/qemu/$2.pid" 2>/dev/null || true
}

echo "== what libvirt runs"
for vm in "${VMS[@]}"; do
    i=${on[$vm]}
    [ "$(lv "$i" domstate "$vm")" = running ] || rack_fail "$vm: h$i's libvirt says $(lv "$i" domstate "$vm")"
    type=$(lv "$i" dumpxml "$vm" | sed -n "s/^<domain type='\([a-z]*\)'.*/\1/p")
    [ -z "$want_type" ] || [ "$type" = "$want_type" ] || rack_fail "$vm: domain type $type"
    pid=$(qemu_pid "$i" "$vm")
    [ -n "$pid" ] || pid=$(pgrep -f "guest=$vm," | head -n1)
    [ -n "$pid" ] && [ -d "/proc/$pid" ] || rack_fail "$vm: no qemu process"
    chain=$(disk_chain "$i" "$vm" | sed 's|[^ ]*/||g')
    printf '  %s: on h%s, type %s, qemu pid %s, disk %s\n' "$vm" "$i" "$type" "$pid" "$chain"
    [ "$(awk -F' <- ' '{ print NF }' <<<"$chain")" = 3 ] || rack_fail "$vm: its disk chain is $chain"
done
[ "$(pv_cli --json vm list | jq -r '[.vms[].domain_type] | unique | join(",")')" = "${want_type:-kvm}" ] ||
    [ -z "$want_type" ] || rack_fail "vm list's types: $(pv_cli --json vm list | jq -c '[.vms[].domain_type]')"
pv_cli vm list | grep -q "qemu (TCG)" || [ -z "$want_type" ] || rack_fail "vm list does not say TCG"

echo
echo "== each service's access point, fetched from the server"
declare -A answer=() access_of=()
for vm in "${VMS[@]}"; do
    access=$(pv_cli --json vm list | jq -r --arg n "$vm" '.vms[] | select(.name == $n) | .services[0].access // ""')
    [ -n "$access" ] || rack_fail "$vm reports no access point"
    answer[$vm]=$(rack_server curl -sS --max-time 5 "http://$access/") || rack_fail "$vm: nothing answers at $access"
    grep -q "hello 1.0 installed by provisioner" <<<"${answer[$vm]}" || rack_fail "$vm at $access answered: ${answer[$vm]}"
    access_of[$vm]=$access
done

printf '%-6s %-10s %14s %12s %16s  %-18s %s\n' vm type create-running create-ready create-available access answer
for vm in "${VMS[@]}"; do
    printf '%-6s %-10s %13ss %11ss %15ss  %-18s %s\n' "$vm" \
        "$(pv_cli --json vm list | jq -r --arg n "$vm" '.vms[] | select(.name == $n) | .domain_type')" \
        "$(since "${running_at[$vm]}" "$created")" "$(since "${ready_at[$vm]}" "$created")" \
        "$(since "${available_at[$vm]}" "$created")" "${access_of[$vm]}" "${answer[$vm]}"
done
echo "  (ready: the guest agent's first report; available: hello installed from provisionerd and"
echo "   answering on its port; ${#VMS[@]} VMs of 1 vCPU booting at once on $(nproc) CPUs)"
echo

echo "== EDIV's networks: VLAN front (10) joins web-a on h1 and web-b on h2; web-c is on back (20)"
for vm in "${VMS[@]}"; do
    want=pvbr${VID[${VLAN_OF[$vm]%% *}]}
    nic=$(lv "${on[$vm]}" domiflist "$vm" | awk -v mac="52:54:00:79:00:${NUM[$vm]}" '$5 == mac { print $1 " in " $3 }')
    [ "${nic#* in }" = "$want" ] || rack_fail "$vm's VLAN NIC on h${on[$vm]}: $(lv "${on[$vm]}" domiflist "$vm")"
    echo "  $vm: its VLAN NIC ${nic% in *} is a port of $want on h${on[$vm]}"
done
for i in 1 2; do
    kind=$(ip -n "${RACK_HOST_NS[i]}" -d -j link show dev pvvl10 | jq -r '.[0].linkinfo.info_kind')
    case $kind in
        vlan) echo "  h$i: pvvl10 is the kernel's 802.1Q sub-interface of $RACK_IF, a port of pvbr10" ;;
        tun) echo "  h$i: pvvl10 is the agent's TAP port of pvbr10, tagging in user space (this kernel has no 802.1Q)" ;;
        *) rack_fail "h$i: pvvl10 is $kind" ;;
    esac
done
# ping_from VM ADDRESS: what VM's service answers for a ping from inside the VM to ADDRESS.
ping_from() { rack_server curl -sS --max-time 10 "http://${access_of[$1]}/cgi-bin/ping?$2"; }
reach() { # FROM ADDRESS: FROM's pings reach ADDRESS (the first may wait for a lease of ARP)
    local got
    for _ in 1 2 3; do
        got=$(ping_from "$1" "$2")
        [ "$got" = "reached $2" ] && break
    done
    [ "$got" = "reached $2" ] || rack_fail "$1 cannot reach $2 on its VLAN: $got"
    echo "  $1 -> $2: $got"
}
unreachable() { # FROM ADDRESS
    local got
    got=$(ping_from "$1" "$2")
    [ "$got" = "no answer from $2" ] || rack_fail "$1 -> $2 across VLANs: $got"
    echo "  $1 -> $2: $got"
}
# What crosses the rack's switch between the hosts, by 802.1Q tag (the switch is a plain bridge).
rack_exec switch nft -f - <<'NFT'
table bridge pvvlans {
    chain forward {
        type filter hook forward priority 0; policy accept;
        vlan id 10 counter
        vlan id 20 counter
    }
}
NFT
reach web-a 10.79.0.12
reach web-b 10.79.0.11
unreachable web-a 10.79.0.13
unreachable web-b 10.79.0.13
unreachable web-c 10.79.0.11
tagged=$(rack_exec switch nft -j list table bridge pvvlans |
    jq -r '[.nftables[] | .rule? // empty | .expr | "\(.[0].match.right) \(.[1].counter.packets)"] | join(", ")')
echo "  frames through the switch by VLAN tag (id packets): $tagged"
grep -qE '(^|, )10 [1-9]' <<<"$tagged" || rack_fail "no frame tagged 10 crossed the switch: $tagged"
echo "== h2's agent restarted: it serves VLAN 10 again (its ports go with it, as the VMs stay)"
rack_kill dom0-2 TERM
lv_dom0_bg 2 --shutdown-wait 3 --trunk "$RACK_IF"
rack_wait_log dom0-2 'new VMs are' 10
for _ in $(seq 50); do
    ip -n "${RACK_HOST_NS[2]}" -j link show dev pvvl10 2>/dev/null | jq -e '.[0].master == "pvbr10"' >/dev/null && break
    sleep 0.1
done
reach web-b 10.79.0.11
unreachable web-b 10.79.0.13

# apply_and_wait FILE WHAT: site apply, then its steps' end within 120 s; fails unless they
# all succeeded. Prints the seconds it took.
apply_and_wait() {
    local t0 state
    t0=$(date +%s.%N)
    pv_cli site apply "$1" >"$RACK_DIR/$2.apply" 2>&1 || rack_fail "$2: site apply: $(cat "$RACK_DIR/$2.apply")"
    for _ in $(seq 1200); do
        state=$(pv_cli --json site status | jq -r '.applies[0].state')
        [ "$state" = running ] || break
        sleep 0.1
    done
    [ "$state" = succeeded ] ||
        rack_fail "$2: the apply is $state: $(pv_cli --json site status | jq -c '.applies[0].steps')"
    echo "  $2: applied in $(since "$(date +%s.%N)" "$t0") s"
}

echo "== resize: web-b to 2 vCPUs and 384 MiB (its definition now, the running domain at its next start)"
site web-a@h1 web-b@h2:2:384 web-c@h1 >"$RACK_DIR/resize.xml"
apply_and_wait "$RACK_DIR/resize.xml" resize
inactive=$(lv 2 dumpxml --inactive web-b)
grep -q "<vcpu placement='static'>2</vcpu>" <<<"$inactive" ||
    rack_fail "web-b's definition has $(grep '<vcpu' <<<"$inactive")"
grep -q "<memory unit='KiB'>393216</memory>" <<<"$inactive" ||
    rack_fail "web-b's definition has $(grep '<memory' <<<"$inactive")"
live_vcpus=$(lv 2 vcpucount web-b --live --current)
echo "  libvirt on h2: web-b defined with 2 vCPUs and 393216 KiB, running with $live_vcpus vCPU(s) and $(lv 2 dominfo web-b | awk '/^Max memory/ { print $3 }') KiB"
# The agent reports a resize that waits for the next start with its new values.
listed=$(pv_cli --json vm list | jq -r '.vms[] | select(.name == "web-b") | "\(.vcpus) \(.memory_mib)"')
echo "  vm list: web-b has $listed (vCPUs, MiB)"
[ "$listed" = "2 384" ] || rack_fail "vm list says web-b has $listed (vCPUs, MiB)"

# gone I VM PID: VM is no longer defined on host I's libvirtd, PID (its qemu process there)
# has ended, and its overlay on host I is deleted.
gone() {
    for _ in $(seq 200); do
        ! lv "$1" list --all --name | grep -qx "$2" && ! kill -0 "$3" 2>/dev/null && break
        sleep 0.1
    done
    ! lv "$1" list --all --name | grep -qx "$2" || rack_fail "$2 is still defined on h$1: $(lv "$1" list --all)"
    ! kill -0 "$3" 2>/dev/null || rack_fail "$2's qemu process on h$1 (pid $3) outlived it"
    [ ! -e "$RACK_DIR/disks$1/$2.qcow2" ] || rack_fail "$2's overlay is still on h$1"
}

echo "== recall web-a and web-c: their domains, qemu processes and overlays go from h1"
pid_a=$(qemu_pid 1 web-a) pid_c=$(qemu_pid 1 web-c)
pv_cli vm recall web-a >/dev/null
pv_cli vm recall web-c >/dev/null
gone 1 web-a "$pid_a"
gone 1 web-c "$pid_c"
echo "  libvirt on h1: $(lv 1 list --all --name | wc -w) domains"

echo "== move: web-b from h2 to h1 (cold, through provisionerd: the daemons' URIs are local)"
site web-b@h1:2:384 >"$RACK_DIR/move.xml"
pid=$(qemu_pid 2 web-b)
apply_and_wait "$RACK_DIR/move.xml" move
gone 2 web-b "$pid"
[ "$(lv 1 domstate web-b)" = running ] || rack_fail "web-b on h1: libvirt says $(lv 1 domstate web-b)"
[ "$(lv 1 vcpucount web-b --live --current)" = 2 ] ||
    rack_fail "web-b on h1 runs with $(lv 1 vcpucount web-b --live --current) vCPUs"
[ "$(lv 1 dominfo web-b | awk '/^Max memory/ { print $3 }')" = 393216 ] ||
    rack_fail "web-b on h1: $(lv 1 dominfo web-b | grep memory)"
lv 1 domblklist web-b | grep -q "$RACK_DIR/disks1/web-b.qcow2" ||
    rack_fail "web-b on h1 runs from $(lv 1 domblklist web-b)"
chain=$(disk_chain 1 web-b)
[ "$chain" = "$RACK_DIR/disks1/web-b.qcow2 <- $RACK_DIR/tpl1/web@1.qcow2 <- $RACK_DIR/tpl1/guest@1.qcow2" ] ||
    rack_fail "web-b's disk on h1 is $chain"
pid=$(qemu_pid 1 web-b)
[ -n "$pid" ] && [ -d "/proc/$pid" ] || rack_fail "web-b: no qemu process under h1's libvirtd"
lv 1 domiflist web-b | awk '$5 == "52:54:00:79:00:12" { print $3 }' | grep -qx pvbr10 ||
    rack_fail "web-b's VLAN NIC on h1 is not in pvbr10: $(lv 1 domiflist web-b)"
echo "  libvirt: h2 has no domain; h1 runs web-b (qemu pid $pid) with 2 vCPUs and 393216 KiB, its VLAN NIC in h1's pvbr10, disk $(sed 's|[^ ]*/||g' <<<"$chain")"
[ "$(pv_cli --json vm list | jq -r '.vms[] | select(.name == "web-b") | .host')" = h1 ] ||
    rack_fail "vm list puts web-b on $(pv_cli --json vm list | jq -c '.vms[] | select(.name == "web-b")')"

echo "== h1 loses power with web-b on it while no server answers: its libvirt starts web-b again"
# A power cut: the server is frozen (it answers nothing), h1's agent, libvirtd and web-b's qemu
# are killed. h1's libvirtd then starts on a fresh /run/libvirt and /var/lib/libvirt, as after a
# reboot, with its definitions; web-b is marked to start with it (autostart), so it runs again
# before any agent or server is back.
pid=$(qemu_pid 1 web-b)
kill -STOP "$(rack_pid pvd)"
rack_kill dom0-1 KILL
rack_kill libvirtd1 KILL
kill -KILL "$pid"
lv_start 1
for _ in $(seq 150); do [ "$(lv 1 domstate web-b 2>/dev/null)" = running ] && break; sleep 0.1; done
[ "$(lv 1 domstate web-b)" = running ] || rack_fail "after h1's restart web-b is $(lv 1 domstate web-b)"
new_pid=$(qemu_pid 1 web-b)
[ -n "$new_pid" ] && [ "$new_pid" != "$pid" ] || rack_fail "web-b's qemu after h1's restart: '$new_pid' (was $pid)"
echo "  web-b runs again on h1 (qemu pid $new_pid, was $pid), started by h1's libvirtd; autostart $(lv 1 dominfo web-b | awk '/^Autostart/ { print $2 }')"
kill -CONT "$(rack_pid pvd)"
lv_dom0_bg 1 --shutdown-wait 3 --trunk "$RACK_IF"
rack_wait_log dom0-1 'new VMs are' 10

echo "== recall web-b"
pid=$(qemu_pid 1 web-b)
pv_cli vm recall web-b >/dev/null
gone 1 web-b "$pid"
[ -z "$(lv 1 list --all --name)$(lv 2 list --all --name)" ] ||
    rack_fail "still defined after the recalls: h1 $(lv 1 list --all), h2 $(lv 2 list --all)"
echo "PASS"
