# A tiny real service package for the e2e tests and the demo (source it; needs dpkg-deb).
#
#   service_deb OUT.deb [NAME] [VERSION]
#
# Makes NAME (default hello) VERSION (default 1.0), Architecture all: its postinst starts
# busybox httpd on the port the guest agent passes ($PORT, the site's <PARAM name="port">, also
# in /etc/provisioner/services/NAME.env; default 8080) serving /run/NAME/index.html, which says
# "hello from ADDRESS, NAME VERSION installed by provisioner" (the VM's address). With the
# PARAMs vlan_mac and vlan_address (a CIDR address), it also gives the VM's NIC of that MAC that
# address (no DHCP on a site's VLAN), and http://ACCESS/cgi-bin/ping?IPV4 answers "reached
# IPV4" or "no answer from IPV4" (busybox ping from inside the VM). Needs only busybox in the
# guest (the template images/build-guest makes has nothing else).
service_deb() { # OUT.deb [NAME] [VERSION]
    local out=$1 name=${2:-hello} version=${3:-1.0} tree
    tree=$(mktemp -d)
    mkdir -p "$tree/DEBIAN" "$tree/srv/$name/cgi-bin"
    cat >"$tree/srv/$name/cgi-bin/ping" <<'PING'
#!/bin/sh
echo "Content-Type: text/plain"
echo
case "$QUERY_STRING" in "" | *[!0-9.]*) echo "usage: ping?IPV4"; exit 0 ;; esac
if ping -c 2 -W 1 "$QUERY_STRING" >/dev/null 2>&1; then
    echo "reached $QUERY_STRING"
else
    echo "no answer from $QUERY_STRING"
fi
PING
    chmod 0755 "$tree/srv/$name/cgi-bin/ping"
    cat >"$tree/DEBIAN/control" <<CONTROL
Package: $name
Version: $version
Architecture: all
Maintainer: provisioner tests <tests@provisioner.invalid>
Description: a tiny HTTP service (busybox httpd) for provisioner's demo and tests
CONTROL
    cat >"$tree/DEBIAN/postinst" <<POSTINST
#!/bin/sh
# Starts the service: busybox httpd on \$PORT, serving /run/$name (a page naming this VM).
set -e
# Busybox's dpkg runs it with no argument, Debian's with "configure".
case "\$1" in configure | "") ;; *) exit 0 ;; esac
[ ! -r /etc/provisioner/services/$name.env ] || . /etc/provisioner/services/$name.env
mkdir -p /run/$name
address=\$(ip -4 -o addr show scope global | awk '{ sub("/.*", "", \$4); print \$4; exit }')
echo "hello from \${address:-\$(hostname)}, $name $version installed by provisioner" >/run/$name/index.html
cp -r /srv/$name/cgi-bin /run/$name/
if [ -n "\${VLAN_MAC:-}" ] && [ -n "\${VLAN_ADDRESS:-}" ]; then
    for dev in /sys/class/net/*; do
        [ "\$(cat "\$dev/address")" = "\$VLAN_MAC" ] || continue
        ip link set dev "\${dev##*/}" up
        ip addr add "\$VLAN_ADDRESS" dev "\${dev##*/}"
    done
fi
busybox httpd -p "\${PORT:-8080}" -h /run/$name
POSTINST
    chmod 0755 "$tree/DEBIAN/postinst"
    echo "$name $version: its postinst starts busybox httpd" >"$tree/srv/$name/README"
    # gzip: busybox's dpkg unpacks data.tar.gz (not every build has xz or zstd).
    dpkg-deb --root-owner-group -Zgzip --build "$tree" "$out" >/dev/null
    rm -rf "$tree"
}
