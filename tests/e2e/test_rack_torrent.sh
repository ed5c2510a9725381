#!/usr/bin/env bash
# The rack demonstration by torrent: provisionerd and its dnsmasq in a namespace, 4 hosts that
# PXE-boot (DHCP, TFTP, iPXE script over HTTP) and run the agent, which images a loop device;
# every disk's sha256 is checked against the image.
set -euo pipefail
source "$(dirname "$0")/lib/rack.sh"
rack_require
rack_up 4
source "$(dirname "$0")/lib/provisioner.sh"
pv_demo torrent
# Every host fetched the whole pack itself, from the seed or its peers: the hosts share one
# filesystem here, and a receive must never pick up another host's staging pack.
for ((i = 1; i <= RACK_N; i++)); do
    if grep -q "written, 0 B received" "$RACK_DIR/agent$i.err"; then
        rack_fail "host $i received nothing: it reused another receive's staging pack"
    fi
done
echo "  every host received the pack over the swarm"
echo "PASS: rack provisioned by torrent"
