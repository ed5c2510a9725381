#!/usr/bin/env bash
# Runs inside the server VM (Vagrantfile): builds provisioner and its images, starts
# provisionerd with dnsmasq on the rack network, enrols the clients and deploys Dom0 to them.
# Idempotent: `vagrant provision server` again rebuilds what changed and keeps the inventory.
set -euo pipefail
SRC=/srv/provisioner
STATE=/var/lib/provisioner
IMAGES=$STATE/images
cd "$SRC"
scripts/setup
scripts/build
install -m 0755 build/bin/provisionerd build/bin/provisioner build/bin/imaging \
    build/bin/provisioner-agent /usr/local/bin/
images/build-all --out "$IMAGES" --agent-dir build/bin

iface=$(ip -o -4 addr show | awk -v a="$RACK_SUBNET.1/" 'index($4, a) == 1 { print $2 }')
[ -n "$iface" ] || { echo "no interface with $RACK_SUBNET.1" >&2; exit 1; }
mkdir -p "$STATE/state"
cp -n "$IMAGES/site.key" "$IMAGES/site.pub" "$STATE/state/"  # the key the Dom0 image is signed with
cat >/etc/systemd/system/provisionerd.service <<UNIT
[Unit]
Description=provisioner: PXE, imaging and VM placement server
After=network-online.target
Wants=network-online.target

[Service]
ExecStart=/usr/local/bin/provisionerd --state-dir $STATE/state --listen $RACK_SUBNET.1:8080 \
  --dhcp-interface $iface --dhcp-address $RACK_SUBNET.1 --dhcp-range $RACK_SUBNET.100,$RACK_SUBNET.199 \
  --netboot-dir $IMAGES/netboot --kernel-args "console=ttyS0,115200 console=tty0"
Restart=on-failure

[Install]
WantedBy=multi-user.target
UNIT
systemctl daemon-reload
systemctl enable --now provisionerd
systemctl restart provisionerd
cat >/etc/profile.d/provisioner.sh <<PROFILE
export PROVISIONER_SERVER=http://$RACK_SUBNET.1:8080
export PROVISIONER_TOKEN_FILE=$STATE/state/operator.token
PROFILE
export PROVISIONER_TOKEN_FILE=$STATE/state/operator.token
pv() { provisioner --server "http://$RACK_SUBNET.1:8080" "$@"; }
for _ in $(seq 30); do pv host list >/dev/null 2>&1 && break; sleep 1; done

pv image show dom0 >/dev/null 2>&1 || pv image import "$IMAGES/dom0/pack"
csv=$(mktemp)
echo "mac,name,ip,rack" >"$csv"
for c in $CLIENTS; do
    mac=${c%%,*}
    pv host show "$mac" >/dev/null 2>&1 || echo "$c" >>"$csv"
done
if [ "$(wc -l <"$csv")" -gt 1 ]; then pv host import "$csv"; fi
rm -f "$csv"
# One deployment, the first time only: provisioning again must not re-image running hosts.
if [ "$(pv --json deployment list | jq '.deployments | length')" = 0 ]; then
    pv deploy --image dom0 --hosts 'host*' --transport "$TRANSPORT"
fi
pv host list
echo "Now power on the clients: vagrant up host1 host2 ... and watch: vagrant ssh server -c 'provisioner deployment watch 1'"
