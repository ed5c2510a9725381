#!/usr/bin/env bash
# reboots.sh MACHINE_DIR BOOT_DEVICE: a powered-on machine that can restart itself. Runs
# MACHINE_DIR/run (bash; sees BOOT_DEVICE=pxe|disk and MACHINE_DIR) in the foreground. When it
# exits 0, the machine rebooted itself (qemu -no-reboot exits 0 when its guest resets; a
# netboot agent's run ends where its init would reboot): the next boot device is the BMC's
# one-time device, else disk (chassis_control next-boot), and run starts again. Any other exit
# stops the machine: its power reads off. The BMC's power-off kills this script's process
# group (bmc.sh's bmc_rebooting_machine).
set -u
dir=${1:?machine directory}
device=${2:?boot device}
control=$(dirname "$0")/chassis_control
while :; do
    BOOT_DEVICE=$device MACHINE_DIR=$dir bash "$dir/run"
    status=$?
    if [ "$status" != 0 ]; then
        echo 0 >"$dir/power"
        echo "$(date +%s.%N) machine stopped (its run exited $status)" >>"$dir/log"
        exit "$status"
    fi
    [ "$(cat "$dir/power" 2>/dev/null)" = 1 ] || exit 0  # powered off meanwhile
    device=$("$control" "$dir" next-boot)
done
