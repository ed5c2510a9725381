#!/usr/bin/env bash
# Real VMs on a real hypervisor. One namespace host is provisioned (PXE, agent, delta) and runs
# its own libvirtd with the qemu driver: private (its sockets, /run/libvirt, /etc/libvirt,
# /var/lib/libvirt and /var/log/libvirt in a mount namespace of the test's), so the machine's
# libvirt, if any, is untouched. The host's Dom0 agent talks to it through the daemon's socket,
# chooses the domain type itself (here TCG, libvirt's 'qemu': this machine's /dev/kvm, if any,
# is trusted only when the CPU shows vmx or svm) and puts VMs on a bridge of the host (routed to
# the server, DHCP by a dnsmasq of the test's). images/build-guest makes the guest template
# (guest@1: Debian's kernel, an initramfs whose system is `provisioner-agent guest`, pinned to
# the server's CA) and a layer on it (web@1, its own qcow2 backed by guest@1), both added with
# `provisioner template add`. `site apply` creates two VMs from web@1: libvirt runs them as
# qemu processes, `vm list` says TCG, their disks are three-level chains (VM overlay, web@1,
# guest@1), and their guests boot, find the server in their SMBIOS OEM strings and report to
# provisionerd. Each guest then installs the site's service, hello (a tiny .deb that
# tests/e2e/lib/service_deb.sh makes, whose postinst starts busybox httpd), from provisionerd
# (`provisioner service add`): it checks the package's signature with the site key pinned in
# the template (build-guest --site-key) and installs it with busybox's dpkg, then reports
# service_available with its access point, which the test fetches from the server. The test
# prints create-to-running, create-to-ready (the guest's first report) and
# create-to-service-available for each VM. A VM the driver refuses (an interface on a libvirt network the host
# lacks) fails its apply step with libvirt's message. Last, a recall: the domains and their qemu processes go.
# Needs root, qemu-system-x86_64, libvirtd (libvirt-daemon, libvirt-daemon-driver-qemu), virsh,
# and what images/build-guest needs; the kernel package comes from build-netboot's cache.
set -euo pipefail
source "$(dirname "$0")/lib/rack.sh"
rack_require qemu-img qemu-system-x86_64 libvirtd virsh unshare dnsmasq grub-install sfdisk cpio
rack_up 1
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

echo "== host h1: a private libvirtd (qemu driver), a VM bridge routed to the server"
lv_vm_network 1
lv_start 1
[ ! -e /etc/libvirt/qemu/web-a.xml ] || rack_fail "the machine's /etc/libvirt holds a test domain"

echo "== h1's Dom0 agent on the private daemon: it chooses the domain type"
lv_dom0_bg 1
rack_wait_log dom0-1 'new VMs are' 10
kind_line=$(grep -m1 'new VMs are' "$RACK_DIR/dom0-1.err")
echo "  ${kind_line#agent: }"
want_type=qemu
if grep -qwE 'vmx|svm' /proc/cpuinfo && [ -w /dev/kvm ]; then want_type=""; fi  # the probe decides
[ -z "$want_type" ] || grep -q "new VMs are qemu domains (TCG: KVM is not usable: " <<<"$kind_line" ||
    rack_fail "without vmx or svm the agent chose: $kind_line"

site() { # NAME... : VMs of 1 vCPU and 256 MiB from web@1 on h1, each with a NIC on the
    # hosts' network (the agent's --bridge) and a service
    echo '<XSMConfig placement="first-fit"><Set name="real">'
    [ -z "${NETWORK:-}" ] || echo "<Network name=\"$NETWORK\" vlan=\"10\"/>"
    local vm n=10
    for vm in "$@"; do
        n=$((n + 1))
        echo "<VM name=\"$vm\"><VCPUS>1</VCPUS><MEM>256</MEM><TEMPLATE>web</TEMPLATE><DOM0>h1</DOM0>"
        echo "<HWADDR>52:54:00:78:00:$n</HWADDR>"
        [ -z "${NETWORK:-}" ] || echo "<INTERFACE network=\"$NETWORK\" hwaddr=\"52:54:00:78:01:$n\"/>"
        echo "<SERVICE package=\"hello\"><PARAM name=\"port\">8080</PARAM></SERVICE></VM>"
    done
    echo '</Set></XSMConfig>'
}

echo "== a VM the driver refuses (a network libvirt does not have): its step fails with libvirt's message"
NETWORK=front site odd >"$RACK_DIR/odd.xml"
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

echo "== site apply: two VMs from web@1, booted under the chosen accelerator"
site web-a web-b >"$RACK_DIR/site.xml"
created=$(date +%s.%N)
pv_cli site apply "$RACK_DIR/site.xml" >/dev/null
declare -A running_at=() ready_at=() available_at=()
deadline=$((SECONDS + ${REAL_VMS_BOOT_TIMEOUT:-300}))
while [ ${#available_at[@]} -lt 2 ] && [ $SECONDS -lt $deadline ]; do
    now=$(date +%s.%N)
    list=$(pv_cli --json vm list)
    for vm in web-a web-b; do
        state=$(jq -r --arg n "$vm" '.vms[] | select(.name == $n) | .state' <<<"$list")
        service=$(jq -r --arg n "$vm" '.vms[] | select(.name == $n) | .service_state // ""' <<<"$list")
        if [ "$state" = running ] && [ -z "${running_at[$vm]:-}" ]; then
            running_at[$vm]=$now
            echo "  $vm running after $(since "$now" "$created") s"
            # Its serial console from here on, for the log and for a failure's diagnosis.
            pty=$(lv 1 ttyconsole "$vm" 2>/dev/null || true)
            [ -z "$pty" ] || rack_bg 1 "$vm.console" cat "$pty"
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
if [ ${#available_at[@]} != 2 ]; then
    for vm in web-a web-b; do
        echo "---- $vm's console (last 15 lines)"
        tail -n 15 "$RACK_DIR/$vm.console.out" 2>/dev/null || true
    done
    rack_fail "guests that reported: ${!ready_at[*]}, services available: ${!available_at[*]} (of web-a web-b) after ${REAL_VMS_BOOT_TIMEOUT:-300} s; libvirt: $(lv 1 list --all)"
fi

echo "== what libvirt runs"
for vm in web-a web-b; do
    [ "$(lv 1 domstate "$vm")" = running ] || rack_fail "$vm: libvirt says $(lv 1 domstate "$vm")"
    type=$(lv 1 dumpxml "$vm" | sed -n "s/^<domain type='\([a-z]*\)'.*/\1/p")
    [ -z "$want_type" ] || [ "$type" = "$want_type" ] || rack_fail "$vm: domain type $type"
    pid=$(cat "/proc/$(rack_pid libvirtd1)/root/run/libvirt/qemu/$vm.pid" 2>/dev/null ||
        pgrep -f "guest=$vm," | head -n1)
    [ -n "$pid" ] && [ -d "/proc/$pid" ] || rack_fail "$vm: no qemu process"
    chain=$(qemu-img info --force-share --backing-chain --output=json "$RACK_DIR/disks1/$vm.qcow2" |
        jq -r '[.[].filename | split("/") | last] | join(" <- ")')
    printf '  %s: type %s, qemu pid %s, disk %s\n' "$vm" "$type" "$pid" "$chain"
    [ "$(awk -F' <- ' '{ print NF }' <<<"$chain")" = 3 ] || rack_fail "$vm: its disk chain is $chain"
done
[ "$(pv_cli --json vm list | jq -r '[.vms[].domain_type] | unique | join(",")')" = "${want_type:-kvm}" ] ||
    [ -z "$want_type" ] || rack_fail "vm list's types: $(pv_cli --json vm list | jq -c '[.vms[].domain_type]')"
pv_cli vm list | grep -q "qemu (TCG)" || [ -z "$want_type" ] || rack_fail "vm list does not say TCG"

echo
echo "== each service's access point, fetched from the server"
declare -A answer=() access_of=()
for vm in web-a web-b; do
    access=$(pv_cli --json vm list | jq -r --arg n "$vm" '.vms[] | select(.name == $n) | .services[0].access // ""')
    [ -n "$access" ] || rack_fail "$vm reports no access point"
    answer[$vm]=$(rack_server curl -sS --max-time 5 "http://$access/") || rack_fail "$vm: nothing answers at $access"
    grep -q "hello 1.0 installed by provisioner" <<<"${answer[$vm]}" || rack_fail "$vm at $access answered: ${answer[$vm]}"
    access_of[$vm]=$access
done

printf '%-6s %-10s %14s %12s %16s  %-18s %s\n' vm type create-running create-ready create-available access answer
for vm in web-a web-b; do
    printf '%-6s %-10s %13ss %11ss %15ss  %-18s %s\n' "$vm" \
        "$(pv_cli --json vm list | jq -r --arg n "$vm" '.vms[] | select(.name == $n) | .domain_type')" \
        "$(since "${running_at[$vm]}" "$created")" "$(since "${ready_at[$vm]}" "$created")" \
        "$(since "${available_at[$vm]}" "$created")" "${access_of[$vm]}" "${answer[$vm]}"
done
echo "  (ready: the guest agent's first report; available: hello installed from provisionerd and"
echo "   answering on its port; 2 VMs of 1 vCPU booting at once on $(nproc) CPUs)"
echo

echo "== recall: the domains and their qemu processes go"
pv_cli vm recall 'web-*' >/dev/null
for _ in $(seq 200); do
    [ -z "$(lv 1 list --all --name)" ] && break
    sleep 0.1
done
[ -z "$(lv 1 list --all --name)" ] || rack_fail "still defined after the recall: $(lv 1 list --all)"
for _ in $(seq 50); do pgrep -f 'guest=web-' >/dev/null || break; sleep 0.1; done
! pgrep -f 'guest=web-' >/dev/null || rack_fail "a qemu process outlived its VM"
echo "PASS"
