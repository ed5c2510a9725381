#!/bin/sh
# udhcpc event script of the pxe e2e test: on a lease, applies the address (as a PXE ROM would)
# and records what the server said in $PXE_LEASE_FILE (one KEY=VALUE a line).
case "$1" in
bound | renew)
    ip addr flush dev "$interface"
    ip addr add "$ip/${mask:-24}" dev "$interface"
    {
        echo "ip=$ip"
        echo "siaddr=$siaddr"
        echo "boot_file=$boot_file"
        echo "hostname=$hostname"
    } >"$PXE_LEASE_FILE"
    ;;
esac
exit 0
