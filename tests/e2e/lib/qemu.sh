# qemu.sh: machines with firmware on the namespace rack. Source after rack.sh (rack_up first).
#
#   qemu_machine vm1 52:54:00:77:00:01 DISK   # powers on a PXE-booting machine on br0
#   qemu_machine vm2 52:54:00:77:00:02 DISK uefi   # the same with UEFI firmware (OVMF)
#   qemu_bmc_machine vm1 52:54:00:77:00:01 DISK bios   # a machine that only its BMC powers
#   qemu_wait_console vm1 REGEX SECONDS       # until its serial console printed REGEX
#
# Each machine has a tap port on the rack's bridge (in the switch namespace), a virtio NIC,
# a virtio disk, and its serial console in $RACK_DIR/NAME.console. With bios (the default)
# the firmware is SeaBIOS and the NIC's option ROM is qemu's iPXE. With uefi it is Debian's
# OVMF (OVMF_CODE_4M.fd, and a copy of OVMF_VARS_4M.fd as $RACK_DIR/NAME.vars.fd) and the NIC
# has no option ROM: OVMF's own PXE client asks DHCP as arch 7 and loads the server's
# snponly.efi, as a rack server's UEFI firmware does (PXE over IPv4 only: when the script
# says boot the disk, no IPv6 PXE attempt stands between). It boots from the network first, then the disk, as a rack server set
# to PXE-boot does. Software emulation (TCG) unless QEMU_ACCEL=kvm: on these CI machines
# /dev/kvm exists (kvm_pvm) but a Debian kernel hangs under it right after "Probing EDD".
# The CPU is qemu's Nehalem: qemu's "max" has SMAP, whose TCG emulation crashes Xen's Dom0 at
# once (a #PF in the Dom0 kernel; real hardware with SMAP is fine), and is an AMD CPU, on which
# Xen hides SYSENTER from its CPUID features, where libvirt's libxl driver then finds no CPU
# model and does not start ("cannot create capabilities for libxenlight"). Nehalem has no
# SVM or VMX under TCG, so Xen offers PV guests only.

QEMU_ACCEL=${QEMU_ACCEL:-tcg}
QEMU_MEMORY=${QEMU_MEMORY:-1536}
QEMU_OVMF_DIR=${QEMU_OVMF_DIR:-/usr/share/OVMF}

# _qemu_setup NAME FIRMWARE: its tap port on br0, and for uefi its own copy of the firmware's
# variables (its NVRAM, kept across its boots).
_qemu_setup() {
    local name=$1 firmware=$2 tap=t-$1
    case $firmware in
        bios) ;;
        uefi)
            [ -r "$QEMU_OVMF_DIR/OVMF_CODE_4M.fd" ] && [ -r "$QEMU_OVMF_DIR/OVMF_VARS_4M.fd" ] ||
                rack_fail "no $QEMU_OVMF_DIR/OVMF_CODE_4M.fd or OVMF_VARS_4M.fd (apt-get install ovmf)"
            cp "$QEMU_OVMF_DIR/OVMF_VARS_4M.fd" "$RACK_DIR/$name.vars.fd" ;;
        *) rack_fail "qemu machine $name: firmware '$firmware' is neither bios nor uefi" ;;
    esac
    ip -n "$RACK_SWITCH_NS" tuntap add dev "$tap" mode tap
    ip -n "$RACK_SWITCH_NS" link set "$tap" master br0 up
}

# _qemu_argv NAME MAC DISK FIRMWARE NIC_INDEX DISK_INDEX: the machine's command line into
# QEMU_ARGV; the boot order is the devices' bootindex (1 first). Its serial console is appended
# to, so that every boot of it stays in one file.
_qemu_argv() {
    local name=$1 mac=$2 disk=$3 firmware=$4 nic_index=$5 disk_index=$6 nic_rom="" flash=()
    if [ "$firmware" = uefi ]; then
        flash=(-drive "if=pflash,format=raw,unit=0,readonly=on,file=$QEMU_OVMF_DIR/OVMF_CODE_4M.fd"
            -drive "if=pflash,format=raw,unit=1,file=$RACK_DIR/$name.vars.fd"
            -fw_cfg name=opt/org.tianocore/IPv6PXESupport,string=no)
        nic_rom=",romfile="
    fi
    QEMU_ARGV=(qemu-system-x86_64 -name "$name" -machine "pc,accel=$QEMU_ACCEL"
        -cpu Nehalem -smp 1 -m "$QEMU_MEMORY" -display none -monitor none "${flash[@]}"
        -chardev "file,id=console,path=$RACK_DIR/$name.console,append=on" -serial chardev:console
        -netdev "tap,id=n0,ifname=t-$name,script=no,downscript=no"
        -device "virtio-net-pci,netdev=n0,mac=$mac,bootindex=$nic_index$nic_rom"
        -drive "file=$disk,if=none,id=d0,format=raw,cache=unsafe"
        -device "virtio-blk-pci,drive=d0,bootindex=$disk_index")
}

# qemu_machine NAME MAC DISK [bios|uefi]: powers it on in the background (rack_bg NAME).
qemu_machine() {
    local name=$1 mac=$2 disk=$3 firmware=${4:-bios}
    _qemu_setup "$name" "$firmware"
    _qemu_argv "$name" "$mac" "$disk" "$firmware" 1 2
    rack_bg switch "$name" "${QEMU_ARGV[@]}"
}

# qemu_bmc_machine NAME MAC DISK [bios|uefi]: a machine that is off until its BMC (bmc.sh,
# sourced first) powers it on: bmc_rebooting_machine NAME, running in the rack's switch. Booted
# by PXE it tries the network first, then its disk (a rack server set to PXE-boot); booted by
# disk, its disk first. qemu runs with -no-reboot: a reboot from inside ends it, and the BMC's
# machine starts it again with the next boot device the BMC holds (as a real BMC's one-time
# boot override applies at the next reset). qemu's own messages go to $BMC_DIR/NAME/console.
qemu_bmc_machine() {
    local name=$1 mac=$2 disk=$3 firmware=${4:-bios} by_pxe by_disk
    _qemu_setup "$name" "$firmware"
    _qemu_argv "$name" "$mac" "$disk" "$firmware" 1 2
    by_pxe=$(printf '%q ' "${QEMU_ARGV[@]}")
    _qemu_argv "$name" "$mac" "$disk" "$firmware" 2 1
    by_disk=$(printf '%q ' "${QEMU_ARGV[@]}")
    bmc_rebooting_machine "$name" \
        "if [ \"\$BOOT_DEVICE\" = pxe ]; then exec $by_pxe -no-reboot; else exec $by_disk -no-reboot; fi" \
        "ip netns exec $RACK_SWITCH_NS"
}

# qemu_wait_console NAME REGEX SECONDS: waits for REGEX on NAME's serial console.
qemu_wait_console() {
    local name=$1 regex=$2 limit=$3 i
    for ((i = 0; i < limit * 10; i++)); do
        grep -qaE "$regex" "$RACK_DIR/$name.console" 2>/dev/null && return 0
        kill -0 "$(rack_pid "$name")" 2>/dev/null || rack_fail "$name: qemu exited: $(tail -n 5 "$RACK_DIR/$name.err")"
        sleep 0.1
    done
    rack_fail "$name: no \"$regex\" on its console after $limit s; last lines:
$(tail -n 15 "$RACK_DIR/$name.console" | tr -d '\r')"
}

# qemu_console_tails NAME...: the last lines of each machine's console, for a failure report.
qemu_console_tails() {
    local name
    for name in "$@"; do
        echo "---- $name.console (last 25 lines)" >&2
        tail -n 25 "$RACK_DIR/$name.console" 2>/dev/null | tr -d '\r' | cut -c1-200 >&2 || true
    done
}
