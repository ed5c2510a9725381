#!/usr/bin/env bash
# Real dnsmasq under the pxe library's Supervisor (pxe_supervise), in a namespace rack:
#  - the rendered configs (full range and proxy) pass `dnsmasq --test`;
#  - a host enrolled AFTER dnsmasq started gets the address of its dhcp-host entry (inotify,
#    no restart) and undionly.kpxe as a BIOS PXE client (option 93 = 0), then fetches it by TFTP
#    byte for byte; as iPXE (user class "iPXE") it gets the HTTP URL of its script;
#  - an unknown UEFI client gets a range address and snponly.efi;
#  - dnsmasq killed -9 is restarted by the supervisor, logged, and serves again;
#  - the supervisor killed -9: the next run ends the dnsmasq it left and serves;
#  - a removed host is forgotten after SIGHUP; SIGTERM stops dnsmasq with the supervisor.
set -euo pipefail
source "$PROVISIONER_SOURCE/tests/e2e/lib/rack.sh"

DRIVER=${PROVISIONER_BIN:-$PROVISIONER_SOURCE/build/bin}/pxe_supervise
[ -x "$DRIVER" ] || rack_fail "no $DRIVER: build the pxe_supervise target"
[ "$(id -u)" = 0 ] || { echo "SKIP: needs root" >&2; exit 77; }
if ! command -v dnsmasq >/dev/null || [ ! -f /usr/lib/ipxe/undionly.kpxe ] ||
    [ ! -x /bin/busybox ]; then
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq dnsmasq-base ipxe busybox-static >/dev/null
fi

rack_up 2
chmod 755 "$RACK_DIR"  # dnsmasq reads the TFTP root and hosts dir after dropping to nobody
state=$RACK_DIR/state
url=http://$RACK_SERVER_IP:8080
mac1=52:54:00:77:00:01
mac2=52:54:00:77:00:02
lease1=$RACK_SUBNET.50
rack_exec 1 ip link set eth0 address $mac1
rack_exec 2 ip link set eth0 address $mac2
server_opts=(--state "$state" --interface eth0 --listen "$RACK_SERVER_IP" --http "$url")

echo "== the rendered configs pass dnsmasq --test"
"$DRIVER" render "${server_opts[@]}" --range "$RACK_SUBNET.100,$RACK_SUBNET.199" >"$RACK_DIR/full.conf"
"$DRIVER" render "${server_opts[@]}" --proxy "$RACK_SUBNET.0" >"$RACK_DIR/proxy.conf"
grep -q '^dhcp-range=.*,proxy,' "$RACK_DIR/proxy.conf" || rack_fail "proxy config has no proxy range"
for c in full proxy; do
    dnsmasq --test --conf-file="$RACK_DIR/$c.conf" 2>&1 | grep -q 'syntax check OK' ||
        rack_fail "dnsmasq rejects the $c config: $(dnsmasq --test --conf-file="$RACK_DIR/$c.conf" 2>&1)"
done

# alive PID: the process runs (a zombie, whose command line is empty, does not).
alive() { [ -n "$(tr -d '\0' 2>/dev/null <"/proc/$1/cmdline")" ]; }
bios=(-V PXEClient:Arch:00000:UNDI:002001 -x 0x5d:0000)
efi=(-V PXEClient:Arch:00007:UNDI:003016 -x 0x5d:0007)

echo "== dnsmasq under the supervisor"
rack_bg server pxe "$DRIVER" run "${server_opts[@]}" --range "$RACK_SUBNET.100,$RACK_SUBNET.199"
rack_wait_log pxe 'supervisor: dnsmasq: started, pid' 10
rack_wait_log pxe 'TFTP root is' 10
pid1=$(sed -n 's/.*dnsmasq: started, pid \([0-9]*\).*/\1/p' "$RACK_DIR/pxe.err")
cmp /usr/lib/ipxe/snponly.efi "$state/tftp/snponly.efi" || rack_fail "TFTP root not laid out"

echo "== enrol host 1 after dnsmasq started: no restart"
"$DRIVER" add-host --hosts-dir "$state/hosts" --mac $mac1 --ip "$lease1" --name pxe-h1
rack_wait_log pxe 'hosts/52-54-00-77-00-01' 10
rack_dhcp 1 h1-bios "${bios[@]}"
[ "$(rack_lease h1-bios ip)" = "$lease1" ] || rack_fail "host 1 got $(rack_lease h1-bios ip), not its entry's $lease1"
[ "$(rack_lease h1-bios boot_file)" = undionly.kpxe ] || rack_fail "BIOS client got boot file '$(rack_lease h1-bios boot_file)'"
[ "$(rack_lease h1-bios siaddr)" = "$RACK_SERVER_IP" ] || rack_fail "next-server is not the server"
[ "$(rack_lease h1-bios hostname)" = pxe-h1 ] || rack_fail "host name '$(rack_lease h1-bios hostname)' is not pxe-h1"
alive "$pid1" || rack_fail "dnsmasq was restarted by the enrolment"

echo "== host 1 fetches its boot file by TFTP"
rack_exec 1 busybox tftp -g -r undionly.kpxe -l "$RACK_DIR/h1.kpxe" "$RACK_SERVER_IP" ||
    rack_fail "TFTP of undionly.kpxe failed"
cmp "$RACK_DIR/h1.kpxe" /usr/lib/ipxe/undionly.kpxe || rack_fail "TFTP gave a different undionly.kpxe"
echo "  $(stat -c %s "$RACK_DIR/h1.kpxe") bytes, identical to /usr/lib/ipxe/undionly.kpxe"

echo "== host 1 as iPXE gets its script's HTTP URL"
rack_dhcp 1 h1-ipxe "${bios[@]}" -x 0x4d:69505845
[ "$(rack_lease h1-ipxe boot_file)" = "$url/boot/\${mac:hexhyp}.ipxe" ] ||
    rack_fail "iPXE got boot file '$(rack_lease h1-ipxe boot_file)'"

echo "== unknown UEFI host 2 gets a range address and snponly.efi"
rack_dhcp 2 h2-efi "${efi[@]}"
ip2=$(rack_lease h2-efi ip)
[ "${ip2%.*}" = "$RACK_SUBNET" ] && [ "${ip2##*.}" -ge 100 ] && [ "${ip2##*.}" -le 199 ] ||
    rack_fail "host 2 got $ip2, outside the range"
[ "$(rack_lease h2-efi boot_file)" = snponly.efi ] || rack_fail "UEFI client got '$(rack_lease h2-efi boot_file)'"

echo "== kill -9 dnsmasq: the supervisor restarts it"
kill -KILL "$pid1"
rack_wait_log pxe "pid $pid1 killed by signal 9 \(SIGKILL\).*restart 1 in" 5
rack_wait_log pxe 'dnsmasq: restart 1, pid [0-9]+' 10
pid2=$(sed -n 's/.*dnsmasq: restart 1, pid \([0-9]*\).*/\1/p' "$RACK_DIR/pxe.err")
[ "$pid2" != "$pid1" ] && alive "$pid2" || rack_fail "no new dnsmasq"
grep 'supervisor:' "$RACK_DIR/pxe.err" | sed 's/^/  /'
sleep 0.5
rack_dhcp 1 h1-again "${bios[@]}"
[ "$(rack_lease h1-again ip)" = "$lease1" ] || rack_fail "restarted dnsmasq gave host 1 $(rack_lease h1-again ip)"

echo "== kill -9 the supervisor: its dnsmasq is ended by the next run, which serves"
kill -KILL "$(rack_pid pxe)"
sleep 0.3
if alive "$pid2"; then echo "  dnsmasq $pid2 outlived its supervisor (it dropped root)"; fi
rack_bg server pxe2 "$DRIVER" run "${server_opts[@]}" --range "$RACK_SUBNET.100,$RACK_SUBNET.199"
rack_wait_log pxe2 'supervisor: dnsmasq: started, pid' 10
rack_wait_log pxe2 'TFTP root is' 10
! alive "$pid2" || rack_fail "stale dnsmasq $pid2 still runs"
grep 'supervisor:' "$RACK_DIR/pxe2.err" | sed 's/^/  /'
pid3=$(sed -n 's/.*dnsmasq: started, pid \([0-9]*\).*/\1/p' "$RACK_DIR/pxe2.err")
rack_dhcp 1 h1-third "${bios[@]}"
[ "$(rack_lease h1-third ip)" = "$lease1" ] || rack_fail "new dnsmasq gave host 1 $(rack_lease h1-third ip)"

echo "== remove host 1, reload (SIGHUP through the supervisor): it is unknown again"
"$DRIVER" remove-host --hosts-dir "$state/hosts" --mac $mac1 | grep -q 'reload dnsmasq' ||
    rack_fail "remove-host did not ask for a reload"
kill -HUP "$(rack_pid pxe2)"
sleep 0.5
rack_dhcp 1 h1-removed "${bios[@]}"
ip1=$(rack_lease h1-removed ip)
[ "$ip1" != "$lease1" ] && [ "${ip1##*.}" -ge 100 ] || rack_fail "removed host 1 still got $ip1"

echo "== SIGTERM stops dnsmasq with its supervisor"
kill -TERM "$(rack_pid pxe2)"
rack_wait pxe2 15 || rack_fail "pxe_supervise exited with $?"
grep -q "dnsmasq: stopped, pid $pid3" "$RACK_DIR/pxe2.err" || rack_fail "no stop logged"
! alive "$pid3" || rack_fail "dnsmasq $pid3 outlived its supervisor"
grep -c 'supervisor: dnsmasq: restart [0-9]*, pid' "$RACK_DIR/pxe.err" | grep -qx 1 ||
    rack_fail "dnsmasq was restarted more than once"
echo "PASS"
