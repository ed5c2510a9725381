#!/usr/bin/env bash
# The rack demonstration by multicast: provisionerd and its dnsmasq in a namespace, 4 hosts that
# PXE-boot (DHCP, TFTP, iPXE script over HTTP) and run the agent, which images a loop device;
# every disk's sha256 is checked against the image.
set -euo pipefail
source "$(dirname "$0")/lib/rack.sh"
rack_require
rack_up 4
source "$(dirname "$0")/lib/provisioner.sh"
pv_demo multicast
echo "PASS: rack provisioned by multicast"
