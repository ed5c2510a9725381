# bmc.sh: BMCs for e2e machines, each driving a machine that commands start and stop (a
# namespace host's netboot stand-in, a qemu process, ...). Source it.
#
#   bmc_machine NAME START_CMD STOP_CMD
#       the machine's directory, $BMC_DIR/NAME, for bmc/chassis_control (see its header):
#       START_CMD (bash) powers it on, sees $BOOT_DEVICE (pxe|disk: the one-time boot device
#       set last, disk when none) and $MACHINE_DIR, and must return at once; STOP_CMD powers
#       it off. Their output goes to NAME/console; each power and boot change is a line of
#       NAME/log ("TIME power on boot=pxe", "TIME power off", "TIME boot pxe").
#   bmc_rebooting_machine NAME RUN_CMD [RUN_PREFIX]
#       a bmc_machine that can also restart itself (bmc/reboots.sh): RUN_CMD (bash, saved as
#       NAME/run) is the machine running once, in the foreground, seeing $BOOT_DEVICE and
#       $MACHINE_DIR; its exit 0 is a reboot from inside (the next boot device is the BMC's
#       one-time one, else disk; NAME/log says "reboot boot=disk"), any other exit stops the
#       machine. RUN_PREFIX (e.g. "ip netns exec NS") is where it runs. Power-off kills it.
#   bmc_ipmi_start NAME ADDR PORT USER PASSWORD [RUN_PREFIX]
#       OpenIPMI's ipmi_sim (Debian's openipmi) as NAME's BMC on UDP ADDR:PORT: IPMI over LAN,
#       RMCP+ (ipmitool -I lanplus), one admin user; its chassis_control is bmc/chassis_control
#       on NAME's directory. RUN_PREFIX (e.g. "ip netns exec NS") is where it runs.
#   bmc_redfish_start NAME ADDR PORT USER PASSWORD [RUN_PREFIX]
#       lib/redfish_bmc.py as NAME's BMC on https://ADDR:PORT, with a certificate for ADDR
#       from a CA made once, $BMC_DIR/ca.crt (what `provisioner host bmc set --ca-file` takes).
#   bmc_log NAME              NAME's power and boot log
#   bmc_power NAME            1 or 0
# Every BMC process's pid is in BMC_PIDS[NAME]; bmc_stop_all kills them (rack.sh's teardown
# also kills everything in the namespaces it made).
#
# A qemu machine: qemu.sh's qemu_bmc_machine (test_qemu_pxe.sh), then
#   bmc_ipmi_start vm1 127.0.0.1 6231 admin secret
#   provisioner host add ... --bmc ipmi://admin@127.0.0.1:6231 --bmc-password-file F

BMC_LIB=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
BMC_DIR=${BMC_DIR:-${RACK_DIR:-/tmp}/bmc}
declare -A BMC_PIDS=()

bmc_machine() {
    local name=$1 start=$2 stop=$3 dir=$BMC_DIR/$1
    mkdir -p "$dir"
    printf '%s\n' "$start" >"$dir/start"
    printf '%s\n' "$stop" >"$dir/stop"
    echo 0 >"$dir/power"
    echo default >"$dir/boot"
    : >"$dir/log"
}

bmc_rebooting_machine() {
    local name=$1 run=$2 prefix=${3:-}
    bmc_machine "$name" \
        "setsid $prefix bash $BMC_LIB/bmc/reboots.sh \$MACHINE_DIR \$BOOT_DEVICE >>\$MACHINE_DIR/console 2>&1 </dev/null &
         echo \$! >\$MACHINE_DIR/pid" \
        "[ -s \$MACHINE_DIR/pid ] && kill -KILL -- -\$(cat \$MACHINE_DIR/pid) 2>/dev/null; rm -f \$MACHINE_DIR/pid; true"
    printf '%s\n' "$run" >"$BMC_DIR/$name/run"
}

# bmc_running NAME: whether NAME's machine runs (its power-on started it and it has not
# stopped).
bmc_running() {
    local pid
    pid=$(cat "$BMC_DIR/$1/pid" 2>/dev/null) || return 1
    [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null
}

bmc_ipmi_start() {
    local name=$1 addr=$2 port=$3 user=$4 password=$5 prefix=${6:-} dir=$BMC_DIR/$1
    mkdir -p "$dir/ipmi_state"
    cat >"$dir/lan.conf" <<CONF
name "$name"
set_working_mc 0x20
  startlan 1
    addr $addr $port
    priv_limit admin
    allowed_auths_callback none md2 md5 straight
    allowed_auths_user none md2 md5 straight
    allowed_auths_operator none md2 md5 straight
    allowed_auths_admin none md2 md5 straight
    guid a123456789abcdefa123456789abcdef
  endlan
  chassis_control "$BMC_LIB/bmc/chassis_control $dir"
  user 2 true "$user" "$password" admin 10 none md2 md5 straight
CONF
    cat >"$dir/ipmi.cmd" <<'CMD'
mc_setbmc 0x20
mc_add 0x20 0 no-device-sdrs 0x23 9 8 0x9f 0x1291 0xf02 persist_sdr
sel_enable 0x20 1000 0x0a
mc_enable 0x20
CMD
    # shellcheck disable=SC2086  # RUN_PREFIX: words
    $prefix ipmi_sim -n -c "$dir/lan.conf" -f "$dir/ipmi.cmd" -s "$dir/ipmi_state" \
        >"$dir/bmc.out" 2>&1 </dev/null &
    BMC_PIDS[$name]=$!
}

_bmc_ca() {
    [ -s "$BMC_DIR/ca.crt" ] && return 0
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
        -subj "/CN=e2e BMC CA" -keyout "$BMC_DIR/ca.key" -out "$BMC_DIR/ca.crt" 2>/dev/null
}

bmc_redfish_start() {
    local name=$1 addr=$2 port=$3 user=$4 password=$5 prefix=${6:-} dir=$BMC_DIR/$1
    mkdir -p "$dir"
    _bmc_ca
    openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=$addr" \
        -keyout "$dir/bmc.key" -out "$dir/bmc.csr" 2>/dev/null
    printf 'subjectAltName=IP:%s\n' "$addr" >"$dir/san.ext"
    openssl x509 -req -in "$dir/bmc.csr" -CA "$BMC_DIR/ca.crt" -CAkey "$BMC_DIR/ca.key" \
        -CAcreateserial -days 2 -extfile "$dir/san.ext" -out "$dir/bmc.crt" 2>/dev/null
    # shellcheck disable=SC2086  # RUN_PREFIX: words
    REDFISH_PASSWORD=$password $prefix python3 "$BMC_LIB/redfish_bmc.py" --listen "$addr" \
        --port "$port" --cert "$dir/bmc.crt" --key "$dir/bmc.key" --user "$user" \
        --machine "$dir" >"$dir/bmc.out" 2>&1 </dev/null &
    BMC_PIDS[$name]=$!
}

bmc_log() { cat "$BMC_DIR/$1/log"; }
bmc_power() { cat "$BMC_DIR/$1/power"; }

bmc_stop_all() {
    local name pid
    for name in "${!BMC_PIDS[@]}"; do kill "${BMC_PIDS[$name]}" 2>/dev/null || true; done
    # The machines still on: what their power-on started (a reboot loop would start it again).
    for pid in "$BMC_DIR"/*/pid; do
        [ -s "$pid" ] && kill -KILL -- "-$(cat "$pid")" 2>/dev/null || true
    done
}

# bmc_rack_machine I: makes rack host I (rack.sh, provisioner.sh, after pv_enrol) a machine
# named hI whose boot by PXE runs bmc/rack_machine.sh (PXE boot, then its netboot agent images
# its disk; when the agent is done the machine reboots, as the netboot init does) and whose boot
# by disk boots nothing (the namespace has no disk to boot; its console says it was asked to)
# and stays on. Its power-off kills what the power-on started.
bmc_rack_machine() {
    local i=$1
    if [ ! -s "$RACK_DIR/rack.env" ]; then
        {
            printf 'RACK_ID=%q RACK_DIR=%q RACK_SUBNET=%q RACK_N=%q\n' "$RACK_ID" "$RACK_DIR" \
                "$RACK_SUBNET" "$RACK_N"
            printf 'PROVISIONER_BIN=%q PROVISIONER_SOURCE=%q\n' "$PROVISIONER_BIN" "$PROVISIONER_SOURCE"
        } >"$RACK_DIR/rack.env"
    fi
    bmc_rebooting_machine "h$i" \
        "[ \"\$BOOT_DEVICE\" = pxe ] || { echo booting its disk; exec sleep infinity; }
         RACK_ENV=$RACK_DIR/rack.env bash $BMC_LIB/bmc/rack_machine.sh $i"
}
