# provisioner.sh: the rack demonstration's moving parts, shared by scripts/demo and the e2e tests.
# Source after rack.sh and call rack_up first.
#
#   pv_make_image              # a Dom0-like ext4 image (160 MiB), packed with the server's key
#   pv_start_server [FLAGS]    # provisionerd + dnsmasq in the server namespace (state in $PV_STATE)
#   pv_cli ARGS...             # the provisioner CLI against it (from the server namespace)
#   pv_enrol                   # every host by CSV import (MAC of its eth0, address .(10+i))
#   pv_boot I                  # host I boots as PXE firmware then iPXE would: DHCP, TFTP, HTTP
#   pv_agent_bg I              # host I's agent images its loop disk, in the background
#   pv_check_disks             # every disk holds the image (sha256); prints the summary table
#
# Hosts do not run a kernel: pv_boot fetches what firmware and iPXE fetch (the boot file by TFTP,
# the iPXE script by HTTP, the kernel and initramfs it names) and hands the script's kernel
# command line to the agent with --cmdline, as the netboot initramfs does with /proc/cmdline.

PV_BIN=${PROVISIONER_BIN:?}
PV_PORT=8080
# The API over HTTPS (the server's own CA, STATE/ca.crt, made at its first start); what firmware
# fetches (iPXE scripts, kernel, initramfs) over plain HTTP on the same port.
PV_URL=https://$RACK_SERVER_IP:$PV_PORT
PV_BOOT_URL=http://$RACK_SERVER_IP:$PV_PORT
PV_STATE=$RACK_DIR/state
# The CLI and the agents verify provisionerd against it (--ca / $PROVISIONER_CA); a netboot
# initramfs carries it at /etc/provisioner/ca.crt (images/build-netboot --ca).
export PROVISIONER_CA=$PV_STATE/ca.crt
PV_IMAGE_MIB=${PV_IMAGE_MIB:-160}
# PV_RACK[i]: host i's rack in the inventory (default r1).
declare -a PV_LOOP=() PV_MAC=() PV_RACK=()

pv_cli() { rack_server env PROVISIONER_TOKEN_FILE="$PV_STATE/operator.token" "$PV_BIN/provisioner" --server "$PV_URL" "$@"; }

pv_start_server() {
    chmod 755 "$RACK_DIR"  # dnsmasq serves TFTP from inside it after dropping to nobody
    mkdir -p "$RACK_DIR/netboot"
    # The netboot kernel and initramfs of this machine stand in until images/build-netboot
    # (issue 7) makes ours; the namespace hosts only fetch them.
    local k i
    k=$(ls /boot/vmlinuz-* 2>/dev/null | tail -n 1 || true)
    i=$(ls /boot/initrd.img-* 2>/dev/null | tail -n 1 || true)
    [ -n "$k" ] && ln -sf "$k" "$RACK_DIR/netboot/vmlinuz"
    [ -n "$i" ] && ln -sf "$i" "$RACK_DIR/netboot/initrd.img"
    rack_bg server pvd "$PV_BIN/provisionerd" --state-dir "$PV_STATE" --listen "$RACK_SERVER_IP:$PV_PORT" \
        --dhcp-interface "$RACK_IF" --dhcp-address "$RACK_SERVER_IP" \
        --dhcp-range "$RACK_SUBNET.100,$RACK_SUBNET.199" --netboot-dir "$RACK_DIR/netboot" \
        --import-dir "$RACK_DIR" --multicast-max-wait 20 "$@"
    rack_wait_log pvd 'serving http' 20
    rack_wait_log pvd 'TFTP root is' 10
    rack_server curl -sf --cacert "$PV_STATE/ca.crt" "$PV_URL/api/v1/health" >/dev/null ||
        rack_fail "provisionerd does not answer over HTTPS"
    [ "$(rack_server curl -s -o /dev/null -w '%{http_code}' "$PV_BOOT_URL/api/v1/health")" = 403 ] ||
        rack_fail "provisionerd answers its API over plain HTTP"
}

# pv_stop_server: SIGTERM, as systemd would; provisionerd stops its senders and dnsmasq.
pv_stop_server() {
    local pid
    pid=$(rack_pid pvd)
    kill -TERM "$pid"
    rack_wait pvd 15 || rack_fail "provisionerd did not stop cleanly on SIGTERM: $(tail -n 3 "$RACK_DIR/pvd.err")"
    if pgrep -f "conf-file=$PV_STATE/" >/dev/null; then rack_fail "dnsmasq outlived provisionerd"; fi
}

pv_make_image() {
    local d=$RACK_DIR
    mkdir -p "$d/mnt"
    truncate -s "${PV_IMAGE_MIB}M" "$d/dom0.raw"
    mkfs.ext4 -q -F -L dom0 "$d/dom0.raw"
    # Mounted in a mount namespace of its own: / is private here, so a namespace made while the
    # image is mounted (any `ip netns exec` of another test, or of a person's run beside this
    # one) would keep a copy of the mount that our umount does not reach, and its last unmount
    # would write the superblock into dom0.raw after it was packed: every disk then "differs
    # from the image" that its agent verified (seen twice in CI-equivalent runs).
    unshare --mount --propagation private sh -c '
        mount -o loop "$1/dom0.raw" "$1/mnt" || exit 1
        cp -a /usr/lib/x86_64-linux-gnu/libstdc++* /usr/share/doc /etc "$1/mnt/" 2>/dev/null
        umount "$1/mnt"' sh "$d" || rack_fail "could not mount $d/dom0.raw to fill it"
    "$PV_BIN/imaging" keygen --out "$d/probe" >/dev/null  # the tool works before the server
    rm -f "$d/probe.key" "$d/probe.pub"
}

pv_pack_image() {  # after pv_start_server: sign with the server's key
    "$PV_BIN/imaging" pack "$RACK_DIR/dom0.raw" "$RACK_DIR/dom0-v1" --key "$PV_STATE/site.key" \
        --name dom0 --version 1 | jq -c '{name,version,raw_size,chunks,zero_chunks,pack_size}'
}

pv_enrol() {
    local i csv=$RACK_DIR/hosts.csv
    echo "mac,name,ip,rack" >"$csv"
    for ((i = 1; i <= RACK_N; i++)); do
        PV_MAC[i]=$(rack_exec "$i" cat /sys/class/net/"$RACK_IF"/address)
        echo "${PV_MAC[i]},h$i,${RACK_HOST_IP[i]},${PV_RACK[i]:-r1}" >>"$csv"
        truncate -s "${PV_IMAGE_MIB}M" "$RACK_DIR/disk$i"
        PV_LOOP[i]=$(losetup --find --show "$RACK_DIR/disk$i")
    done
    rack_on_exit 'for l in "${PV_LOOP[@]}"; do losetup -d "$l" 2>/dev/null; done'
    pv_cli host import "$csv"
}

pv_boot() {
    local i=$1 bios=(-V PXEClient:Arch:00000:UNDI:002001 -x 0x5d:0000) url script kernel initrd
    # PXE firmware: DHCP, then the boot file by TFTP from next-server.
    rack_dhcp "$i" "h$i-pxe" "${bios[@]}"
    [ "$(rack_lease "h$i-pxe" ip)" = "${RACK_HOST_IP[i]}" ] || rack_fail "host $i leased $(rack_lease "h$i-pxe" ip), not its enrolled address"
    rack_exec "$i" busybox tftp -g -r "$(rack_lease "h$i-pxe" boot_file)" -l "$RACK_DIR/h$i.kpxe" \
        "$(rack_lease "h$i-pxe" siaddr)" || rack_fail "host $i: TFTP of the boot file failed"
    cmp -s "$RACK_DIR/h$i.kpxe" /usr/lib/ipxe/undionly.kpxe || rack_fail "host $i: TFTP gave another undionly.kpxe"
    # iPXE: DHCP again with user class iPXE; the boot file is now its script's URL.
    rack_dhcp "$i" "h$i-ipxe" "${bios[@]}" -x 0x4d:69505845
    url=$(rack_lease "h$i-ipxe" boot_file)
    url=${url//'${mac:hexhyp}'/${PV_MAC[i]//:/-}}
    rack_exec "$i" busybox wget -q -O "$RACK_DIR/h$i.ipxe" "$url" || rack_fail "host $i: fetching $url failed"
    script=$RACK_DIR/h$i.ipxe
    kernel=$(sed -n 's/^kernel \([^ ]*\) .*/\1/p' "$script")
    [ -n "$kernel" ] || rack_fail "host $i: its iPXE script boots no kernel: $(cat "$script")"
    initrd=$(sed -n 's/^initrd .* \(http[^ ]*\).*/\1/p' "$script")
    if [ -e "$RACK_DIR/netboot/vmlinuz" ]; then
        rack_exec "$i" busybox wget -q -O "$RACK_DIR/h$i.vmlinuz" "$kernel" || rack_fail "host $i: no kernel at $kernel"
        rack_exec "$i" busybox wget -q -O "$RACK_DIR/h$i.initrd" "$initrd" || rack_fail "host $i: no initramfs at $initrd"
    fi
    # What the kernel would find in /proc/cmdline: the arguments after the kernel's URL.
    sed -n 's/^kernel [^ ]* \(.*\) || goto failed$/\1/p' "$script" >"$RACK_DIR/h$i.cmdline"
    grep -q 'provisioner.token=' "$RACK_DIR/h$i.cmdline" || rack_fail "host $i: no token on its command line: $(cat "$RACK_DIR/h$i.cmdline")"
}

pv_agent_bg() {
    local i=$1
    rack_bg "$i" "agent$i" "$PV_BIN/provisioner-agent" image --cmdline "$RACK_DIR/h$i.cmdline" \
        --disk "${PV_LOOP[i]}" --imaging "$PV_BIN/imaging" --hello-timeout 60
}

# pv_deployment_id: the id of the newest deployment.
pv_deployment_id() { pv_cli --json deployment list | jq -r '.deployments[0].id'; }

pv_check_disks() {
    local i d=$1 want size got ok failed=0 show
    want=$(sha256sum <"$RACK_DIR/dom0.raw" | cut -d' ' -f1)
    size=$(stat -c %s "$RACK_DIR/dom0.raw")
    show=$(pv_cli --json deployment show "$d")
    printf '\n%-5s %-12s %-10s %-10s %12s %8s  %s\n' host ip state transport bytes seconds "sha256 ok"
    for ((i = 1; i <= RACK_N; i++)); do
        got=$(head -c "$size" "${PV_LOOP[i]}" | sha256sum | cut -d' ' -f1)
        ok=no
        [ "$got" = "$want" ] && ok=yes
        if [ "$ok" = no ]; then
            echo "h$i: its disk differs from the image; the first differing bytes (offset, image, disk):" >&2
            cmp -l "$RACK_DIR/dom0.raw" <(head -c "$size" "${PV_LOOP[i]}") 2>&1 | head -n 5 >&2 || true
        fi
        jq -r --arg n "h$i" --arg ip "${RACK_HOST_IP[i]}" --arg ok "$ok" '.targets[] | select(.name == $n) |
            [$n, $ip, .state, .transport, (.bytes_done|tostring),
             (if .finished_at and .started_at then ((.finished_at - .started_at) / 1000 | tostring) else "-" end), $ok] | @tsv' \
            <<<"$show" | awk -F'\t' '{ printf "%-5s %-12s %-10s %-10s %12s %8.2f  %s\n", $1, $2, $3, $4, $5, $6, $7 }'
        [ "$ok" = yes ] || failed=1
    done
    echo
    return $failed
}

# pv_demo TRANSPORT: the whole demonstration on a rack that is up: provisionerd and dnsmasq,
# the image imported, the hosts enrolled by CSV, deployed, PXE-booted, imaged by their agents
# while the CLI watches, every disk checked; then provisionerd stopped.
pv_demo() {
    pv_provision "$@"
    pv_stop_server
    echo "  provisionerd stopped on SIGTERM, and dnsmasq with it"
}

# pv_provision TRANSPORT: pv_demo without the stop: the server keeps running, hosts imaged.
pv_provision() {
    local transport=$1 i d
    echo "== a Dom0-like image (ext4, ${PV_IMAGE_MIB} MiB)"
    pv_make_image
    echo "== provisionerd with dnsmasq on $RACK_IF ($PV_URL)"
    # shellcheck disable=SC2086  # PV_SERVER_FLAGS: extra provisionerd flags, split on spaces
    pv_start_server ${PV_SERVER_FLAGS:-}
    pv_pack_image
    pv_cli image import "$RACK_DIR/dom0-v1"
    echo "== enrol $RACK_N hosts from a CSV"
    pv_enrol
    pv_cli host list
    echo "== deploy dom0@1 to every host by $transport"
    pv_cli deploy --image dom0@1 --hosts all --transport "$transport"
    d=$(pv_deployment_id)
    echo "== power on: each host DHCPs and TFTPs as PXE firmware, fetches its iPXE script, runs the agent"
    for ((i = 1; i <= RACK_N; i++)); do
        pv_boot "$i"
        pv_agent_bg "$i"
    done
    echo "  $RACK_N hosts: lease, undionly.kpxe by TFTP (identical), iPXE script by HTTP, agent started"
    pv_cli deployment watch "$d" || true
    for ((i = 1; i <= RACK_N; i++)); do
        rack_wait "agent$i" 180 || rack_fail "host $i: agent failed: $(tail -n 3 "$RACK_DIR/agent$i.err")"
    done
    pv_check_disks "$d" || rack_fail "a disk does not hold the image"
    pv_cli host list
    [ "$(pv_cli --json deployment show "$d" | jq -r .state)" = succeeded ] || rack_fail "deployment $d did not succeed"
    for ((i = 1; i <= RACK_N; i++)); do
        rack_exec "$i" busybox wget -q -O - "$PV_BOOT_URL/boot/${PV_MAC[i]//:/-}.ipxe" | grep -q sanboot ||
            rack_fail "host $i: its iPXE script does not boot the local disk after imaging"
    done
    echo "  every imaged host's iPXE script now boots its local disk"
}
