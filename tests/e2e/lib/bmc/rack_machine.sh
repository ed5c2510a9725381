#!/usr/bin/env bash
# rack_machine.sh I: host I of a rack.sh rack powered on to boot by PXE: what its firmware, iPXE
# and netboot kernel would do (provisioner.sh's pv_boot), then its netboot agent images its
# disk, in the foreground. A bmc.sh machine's start command runs it in the background; its
# stop command kills it. The rack's variables come from $RACK_DIR/rack.env (rack_machine_env).
set -euo pipefail
i=$1
source "${RACK_ENV:?}"
source "$PROVISIONER_SOURCE/tests/e2e/lib/rack.sh"
RACK_HOST_NS[i]=${RACK_ID}-h$i
RACK_HOST_IP[i]=${RACK_SUBNET}.$((10 + i))
RACK_SERVER_NS=${RACK_ID}-srv
RACK_SERVER_IP=${RACK_SUBNET}.1
source "$PROVISIONER_SOURCE/tests/e2e/lib/provisioner.sh"
PV_MAC[i]=$(rack_exec "$i" cat /sys/class/net/"$RACK_IF"/address)
PV_LOOP[i]=$(losetup -j "$RACK_DIR/disk$i" | cut -d: -f1)
pv_boot "$i"
exec ip netns exec "${RACK_HOST_NS[i]}" "$PV_BIN/provisioner-agent" image \
    --cmdline "$RACK_DIR/h$i.cmdline" --disk "${PV_LOOP[i]}" --imaging "$PV_BIN/imaging" \
    --hello-timeout 60
