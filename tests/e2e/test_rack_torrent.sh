#!/usr/bin/env bash
# The rack demonstration by torrent: provisionerd and its dnsmasq in a namespace, 4 hosts that
# PXE-boot (DHCP, TFTP, iPXE script over HTTP) and run the agent, which images a loop device;
# every disk's sha256 is checked against the image; the swarm admits only the deployment's
# certified peers.
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
# A closed swarm (an SSL torrent): the deployment's torrent carries its own CA, the seed ran
# with a certificate it signed (each host had its own, from its job), and the seed's key is
# gone with the deployment. That a peer without one gets nothing: tests/unit/test_torrent_ssl.cc.
torrent=$(ls "$PV_STATE"/torrents/*.torrent | head -1)
grep -aq "8:ssl-cert" "$torrent" || rack_fail "the deployment's torrent carries no CA: its swarm was open"
grep -q "seeding .*(TLS, certified peers only)" "$RACK_DIR/pvd.err" || rack_fail "the seed did not run as an SSL swarm"
if ls "$PV_STATE"/secrets/torrent-seed-* >/dev/null 2>&1; then rack_fail "the seed's key outlived its deployment"; fi
echo "  an SSL swarm: the torrent carries the deployment's CA, every peer held a certificate it signed"
echo "PASS: rack provisioned by torrent"
