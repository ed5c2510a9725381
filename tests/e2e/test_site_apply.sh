#!/usr/bin/env bash
# The site file end to end: a rack provisioned (PXE, agent, delta), each host's Dom0 agent
# reporting ready and then running `provisioner-agent dom0` against libvirt's test driver;
# the server's template catalog holds a small qcow2 base (debian@1) and an overlay on it
# (web@1, found by its label); host 1's own store is seeded with debian@1, host 2's is empty, so
# its agent fetches what it lacks from the server. A site naming a template the catalog lacks
# is refused with its line. `provisioner site apply` of an XSM site file creates the VMs; the
# file is edited (a VM added, one removed, one resized) and applied again; a third apply of the
# same file changes nothing. After a recall, a VM's DOM0 is edited to the other host: the test
# driver cannot migrate live, so it moves cold (shut down, its overlay through the server,
# started on the other host, then removed from the first), and applying that file again
# changes nothing; a move back whose destination cannot take the disk leaves the VM running
# where it was. libvirt's state, as the agents report it, is checked after each apply. Last, a
# VM with a service: its guest agent (in a namespace standing in for the VM) gets the service's
# parameters, installs a real .deb with dpkg and reports SO-MVDS's states up to "service
# available"; an apply that changes only services says so, and a package that cannot install
# shows as failed. Then SO-MVDS's hot templates:
# web@2 (web@1 with a few blocks changed) is added while a VM is created on web@1, so it is hot,
# and both hosts' agents pre-copy it by the delta transport on the basis of their web@1 before
# any VM needs it, at the first attempt (the hot list names a delta server only once it
# listens; host 1's agent pins the server's key with --pubkey, host 2's checks against the key
# the server sends with its hot list); a template nobody uses (scratch@1, in host 1's
# store) is disposed of after the cool-down (10 s here).
set -euo pipefail
source "$(dirname "$0")/lib/rack.sh"
rack_require qemu-img
rack_up 2
source "$(dirname "$0")/lib/provisioner.sh"
PV_IMAGE_MIB=64
PV_SERVER_FLAGS="--template-cool-down 10"
pv_provision delta >/dev/null
echo "== the template catalog: debian@1 and web@1, an overlay on it"
mkdir -p "$RACK_DIR/images"
qemu-img create -q -f qcow2 "$RACK_DIR/images/debian@1.qcow2" 64M
qemu-img create -q -f qcow2 -b debian@1.qcow2 -F qcow2 "$RACK_DIR/images/web@1.qcow2"
pv_cli template add "$RACK_DIR/images/debian@1.qcow2" --name debian --version 1 --label base
pv_cli template add "$RACK_DIR/images/web@1.qcow2" --name web --version 1 --label web \
    --backing debian@1
if pv_cli template add "$RACK_DIR/images/web@1.qcow2" --name web --version 1 2>"$RACK_DIR/dup.err"; then
    rack_fail "a second web@1 was added"
fi
grep -q 'exists already' "$RACK_DIR/dup.err" || rack_fail "duplicate: $(cat "$RACK_DIR/dup.err")"
pv_cli template list

echo "== rack imaged; each host's Dom0 agent reports ready and starts its VM loop"
for i in 1 2; do
    # The netboot command line held a boot ticket, spent by the imaging; a Dom0 agent uses the
    # Dom0 token its imaging made current (the seed partition's, when the image has one).
    pv_cli host dom0 "h$i" >"$RACK_DIR/h$i.dom0"
    if rack_exec "$i" "$PV_BIN/provisioner-agent" ready --cmdline "$RACK_DIR/h$i.cmdline" >/dev/null 2>&1; then
        rack_fail "host $i: ready with the spent boot ticket was taken"
    fi
    rack_exec "$i" "$PV_BIN/provisioner-agent" ready --cmdline "$RACK_DIR/h$i.dom0" >/dev/null 2>&1 ||
        rack_fail "host $i: ready failed"
    mkdir -p "$RACK_DIR/tpl$i" "$RACK_DIR/disks$i"
    if [ "$i" = 1 ]; then  # before its agent opens the store: one store, one owner
        cp "$RACK_DIR/images/debian@1.qcow2" "$RACK_DIR/base1.qcow2"
        "$PV_BIN/provisioner-agent" template add --templates "$RACK_DIR/tpl1" --name debian \
            --version 1 "$RACK_DIR/base1.qcow2" >/dev/null || rack_fail "host 1: template add failed"
        # Used by nothing and in no catalog: it cools down and is disposed of (last section).
        qemu-img create -q -f raw "$RACK_DIR/scratch.raw" 1M
        "$PV_BIN/provisioner-agent" template add --templates "$RACK_DIR/tpl1" --name scratch \
            --version 1 "$RACK_DIR/scratch.raw" >/dev/null || rack_fail "host 1: template add failed"
        scratch_at=$(date +%s)
    fi
    # Host 1 pins the server's key; host 2 takes the one the server sends with its hot list.
    pubkey=()
    [ "$i" = 1 ] && pubkey=(--pubkey "$PV_STATE/site.pub")
    rack_bg "$i" "dom0-$i" "$PV_BIN/provisioner-agent" dom0 --cmdline "$RACK_DIR/h$i.dom0" \
        --libvirt test:///default --templates "$RACK_DIR/tpl$i" --disks "$RACK_DIR/disks$i" \
        --interval 0.3 --reserved-vcpus 0 --reserved-memory-mib 0 \
        "${pubkey[@]}" --dispose-interval 1
done
[ "$(pv_cli --json host list | jq -r '[.hosts[].state] | unique | join(",")')" = ready ] ||
    rack_fail "hosts are not ready: $(pv_cli host list)"

# site VM... : the XSM file with these VMs ("name vcpus mem [dom0|-] [template]"); the
# template is a name (default debian) or label=L.
site() {
    echo '<XSMConfig placement="round-robin">'
    echo '<Set name="demo"><Owner>ops@example.com</Owner>'
    local spec name vcpus mem dom0 tpl element
    for spec in "$@"; do
        read -r name vcpus mem dom0 tpl <<<"$spec"
        [ "$dom0" = - ] && dom0=
        tpl=${tpl:-debian}
        element="<TEMPLATE>$tpl</TEMPLATE>"
        [[ $tpl == label=* ]] && element="<TEMPLATE label=\"${tpl#label=}\"/>"
        echo "<VM name=\"$name\"><VCPUS>$vcpus</VCPUS><MEM>$mem</MEM>$element${dom0:+<DOM0>$dom0</DOM0>}</VM>"
    done
    echo '</Set></XSMConfig>'
}
# expect_vms "name vcpus mem host"...: the agents' reports (libvirt's state) hold exactly these.
expect_vms() {
    local want got i
    want=$(printf '%s\n' "$@" | sort)
    for i in $(seq 100); do
        got=$(pv_cli --json vm list | jq -r '.vms[] | select(.state == "running") |
            "\(.name) \(.vcpus) \(.memory_mib) \(.host)"' | sort)
        [ "$got" = "$want" ] && return 0
        sleep 0.2
    done
    rack_fail "VMs are
$got
not
$want"
}
# apply FILE: site apply, then wait until the apply's steps are all answered.
apply() {
    cp "$1" "$RACK_DIR/site.xml"
    pv_cli site apply "$RACK_DIR/site.xml"
}

echo "== a template the catalog lacks is refused with its line; nothing is queued"
site "x1 1 64 h1 centos" >"$RACK_DIR/unknown.xml"
if pv_cli site apply "$RACK_DIR/unknown.xml" >"$RACK_DIR/unknown.out" 2>&1; then
    rack_fail "a site with an unknown template was applied"
fi
grep -q ":3: VM x1: no template matches 'centos'" "$RACK_DIR/unknown.out" ||
    rack_fail "no line for the unknown template in: $(cat "$RACK_DIR/unknown.out")"
[ "$(pv_cli --json site status | jq '.applies | length')" = 0 ] || rack_fail "something was queued"

echo "== apply: three VMs (web1 and db1 on web@1 by its label; h2 fetches both templates)"
site "web1 1 256 h1 label=web" "web2 1 256" "db1 1 512 h2 label=web" >"$RACK_DIR/v1.xml"
# Both Dom0 agents must have reported once: until then the pinned VMs have no host to go to.
for _ in $(seq 50); do pv_cli --json site diff "$RACK_DIR/v1.xml" >/dev/null 2>&1 && break; sleep 0.2; done
[ "$(pv_cli --json site diff "$RACK_DIR/v1.xml" | jq -r '[.plan[].image] | sort | join(" ")')" = \
    "debian@1 web@1 web@1" ] || rack_fail "templates resolved to: $(pv_cli site diff "$RACK_DIR/v1.xml")"
apply "$RACK_DIR/v1.xml"
web2_host=$(pv_cli --json site diff "$RACK_DIR/v1.xml" | jq -r '.placement[] | select(.vm == "web2") | .host')
[ -n "$web2_host" ] || rack_fail "placement put web2 nowhere"
expect_vms "web1 1 256 h1" "web2 1 256 $web2_host" "db1 1 512 h2"
pv_cli vm list
[ "$(jq -r '[.templates[] | "\(.name)@\(.version)"] | sort | join(" ")' "$RACK_DIR/tpl2/templates.json")" = \
    "debian@1 web@1" ] || rack_fail "host 2's store holds: $(cat "$RACK_DIR/tpl2/templates.json")"
pv_cli template list
[ "$(pv_cli --json template show web | jq -r '.last_used_at != null')" = true ] ||
    rack_fail "web@1 is not marked used"
if pv_cli template remove web@1 2>"$RACK_DIR/rm.err"; then rack_fail "web@1 was removed while in use"; fi
grep -q 'in use by' "$RACK_DIR/rm.err" || rack_fail "remove: $(cat "$RACK_DIR/rm.err")"

echo "== edit: web3 added, web1 removed, db1 resized; apply again"
site "web2 1 256" "db1 2 1024 h2 label=web" "web3 1 128 h1" >"$RACK_DIR/v2.xml"
apply "$RACK_DIR/v2.xml"
expect_vms "web2 1 256 $web2_host" "db1 2 1024 h2" "web3 1 128 h1"
pv_cli vm list

echo "== the same file again: nothing to do"
[ "$(pv_cli --json site diff "$RACK_DIR/v2.xml" | jq '.plan | length')" = 0 ] ||
    rack_fail "a second apply of the same file plans: $(pv_cli site diff "$RACK_DIR/v2.xml")"

echo "== a file with errors is refused with its line numbers, nothing changes"
printf '<XSMConfig>\n<Set name="x">\n<VM name="a"><VCPUS>two</VCPUS><MEM>1</MEM></VM>\n</Set>\n</XSMConfig>\n' >"$RACK_DIR/bad.xml"
if pv_cli site apply "$RACK_DIR/bad.xml" >"$RACK_DIR/bad.out" 2>&1; then rack_fail "a bad site file was applied"; fi
grep -q ':3:' "$RACK_DIR/bad.out" || rack_fail "no line number in: $(cat "$RACK_DIR/bad.out")"
expect_vms "web2 1 256 $web2_host" "db1 2 1024 h2" "web3 1 128 h1"

echo "== recall web*"
pv_cli vm recall 'web*' >/dev/null
expect_vms "db1 2 1024 h2"

echo "== move: db1's DOM0 edited from h2 to h1; apply"
site "db1 2 1024 h1 label=web" >"$RACK_DIR/v3.xml"
[ "$(pv_cli --json site diff "$RACK_DIR/v3.xml" | jq -r '.plan[] | "\(.kind) \(.vm) \(.from_host) \(.host)"')" = \
    "migrate db1 h2 h1" ] || rack_fail "the move plans: $(pv_cli site diff "$RACK_DIR/v3.xml")"
apply "$RACK_DIR/v3.xml"
expect_vms "db1 2 1024 h1"
# The source undefines its copy only after the destination runs it: wait for that report too.
for _ in $(seq 100); do
    [ "$(pv_cli --json vm list | jq -r '[.vms[] | .host] | join(" ")')" = h1 ] && break
    sleep 0.2
done
[ "$(pv_cli --json vm list | jq -r '[.vms[] | "\(.name) \(.host) \(.state)"] | join(",")')" = \
    "db1 h1 running" ] || rack_fail "after the move: $(pv_cli vm list)"
for _ in $(seq 50); do
    [ "$(pv_cli --json site status | jq -r '.applies[0].state')" = succeeded ] && break
    sleep 0.2
done
[ "$(pv_cli --json site status | jq -r '.applies[0].steps | map("\(.part) \(.state)") | join(",")')" = \
    "move_send done,move_receive done,move_finish done" ] ||
    rack_fail "the move's steps: $(pv_cli --json site status | jq -c '.applies[0]')"
pv_cli site status
pv_cli vm list
[ -f "$RACK_DIR/disks1/db1.qcow2" ] || rack_fail "h1 has no disk for db1"
[ ! -e "$RACK_DIR/disks2/db1.qcow2" ] || rack_fail "h2 kept db1's disk"
qemu-img info --backing-chain "$RACK_DIR/disks1/db1.qcow2" | grep -q "$RACK_DIR/tpl1/" ||
    rack_fail "db1's disk on h1 is not backed by h1's templates: $(qemu-img info "$RACK_DIR/disks1/db1.qcow2")"
[ -z "$(ls -A "$PV_STATE/moves" 2>/dev/null)" ] || rack_fail "the server kept the moved disk: $(ls "$PV_STATE/moves")"

echo "== the moved site again: nothing to do"
[ "$(pv_cli --json site diff "$RACK_DIR/v3.xml" | jq '.plan | length')" = 0 ] ||
    rack_fail "a second apply after the move plans: $(pv_cli site diff "$RACK_DIR/v3.xml")"

echo "== a move whose destination fails: the VM is started again where it was"
site "db1 2 1024 h2 label=web" >"$RACK_DIR/v4.xml"
mkdir "$RACK_DIR/disks2/db1.qcow2.moving"  # where h2 downloads the disk: it cannot
apply "$RACK_DIR/v4.xml"
for _ in $(seq 100); do
    [ "$(pv_cli --json site status | jq -r '.applies[0].steps | map(.state) | join(",")')" = \
        "done,failed,skipped,done" ] && break
    sleep 0.2
done
pv_cli site status
[ "$(pv_cli --json site status | jq -r '.applies[0] | "\(.state) \(.steps | map(.part) | join(","))"')" = \
    "failed move_send,move_receive,move_finish,move_abort" ] ||
    rack_fail "the failed move: $(pv_cli --json site status | jq -c '.applies[0]')"
pv_cli --json site status | jq -r '.applies[0].steps[1].error' | grep -q 'receiving VM db1: .*; the VM is started again on h1$' ||
    rack_fail "the failed receive says: $(pv_cli --json site status | jq -r '.applies[0].steps[1].error')"
expect_vms "db1 2 1024 h1"
[ -z "$(ls -A "$RACK_DIR/disks2" | grep -vx 'vms.json\|site.pub')" ] || rack_fail "h2 kept: $(ls "$RACK_DIR/disks2")"
[ -z "$(ls -A "$PV_STATE/moves" 2>/dev/null)" ] || rack_fail "the server kept the disk: $(ls "$PV_STATE/moves")"
[ "$(pv_cli --json site diff "$RACK_DIR/v3.xml" | jq '.plan | length')" = 0 ] ||
    rack_fail "after the rollback, the moved site plans: $(pv_cli site diff "$RACK_DIR/v3.xml")"

echo "== no VM runs on debian@1 now, but web@1 is made on it: it stays"
for _ in $(seq 50); do
    pv_cli template remove debian@1 2>"$RACK_DIR/rm.err" && rack_fail "debian@1 was removed"
    grep -q 'backing of web@1' "$RACK_DIR/rm.err" && break
    sleep 0.2  # until the agents' reports no longer show web2 on it
done
grep -q 'backing of web@1' "$RACK_DIR/rm.err" || rack_fail "remove: $(cat "$RACK_DIR/rm.err")"
echo "== services: svc1's guest agent installs demo-web (SO-MVDS's states)"
# svc1 is defined on h2 through the test driver, which runs nothing; its guest system is a
# namespace of its own on the rack, with a dpkg root of its own, and the package a real .deb
# whose postinst starts busybox httpd with the site's parameters.
services_site() {  # services_site EXTRA_SERVICE_XML
    cat <<EOF
<XSMConfig placement="round-robin">
<Set name="demo"><Owner>ops@example.com</Owner>
<VM name="db1"><DOM0>h1</DOM0><VCPUS>2</VCPUS><MEM>1024</MEM><TEMPLATE label="web"/></VM>
<VM name="svc1"><DOM0>h2</DOM0><VCPUS>1</VCPUS><MEM>128</MEM><TEMPLATE>web</TEMPLATE>
  <SERVICE package="demo-web"><PARAM name="port">8081</PARAM><PARAM name="greeting">hello from svc1</PARAM></SERVICE>$1
</VM>
</Set></XSMConfig>
EOF
}
services_site "" >"$RACK_DIR/v5.xml"
apply "$RACK_DIR/v5.xml"
expect_vms "db1 2 1024 h1" "svc1 1 128 h2"
[ "$(pv_cli --json vm list | jq -r '.vms[] | select(.name == "svc1") | .service_state')" = vm_unavailable ] ||
    rack_fail "svc1 before its guest runs: $(pv_cli vm list)"
[ "$(pv_cli --json vm list | jq -r '.vms[] | select(.name == "db1") | .service_state // "none"')" = none ] ||
    rack_fail "db1 has no services: $(pv_cli --json vm list)"
pv_cli vm list
pv_cli vm guest svc1 >"$RACK_DIR/svc1.cmdline"
grep -q '^provisioner.server=https://.* provisioner.guest=svc1 provisioner.token=g_[0-9a-f]\{64\}$' \
    "$RACK_DIR/svc1.cmdline" || rack_fail "svc1's guest settings: $(cat "$RACK_DIR/svc1.cmdline")"

ldd /bin/busybox >/dev/null 2>&1 && rack_fail "/bin/busybox is not static (busybox-static)"
pkg=$RACK_DIR/pkg/demo-web
mkdir -p "$pkg/DEBIAN" "$pkg/bin" "$pkg/srv/demo-web" "$RACK_DIR/debs"
cp /bin/busybox "$pkg/bin/busybox"
ln -s busybox "$pkg/bin/sh"
printf 'Package: demo-web\nVersion: 1.0\nArchitecture: all\nMaintainer: e2e <e2e@example.com>\nDescription: a web page served by busybox httpd\n' >"$pkg/DEBIAN/control"
cat >"$pkg/DEBIAN/postinst" <<'EOF'
#!/bin/sh
set -e
. /etc/provisioner/services/demo-web.env
echo "$GREETING" >/srv/demo-web/index.html
/bin/busybox httpd -p "$PORT" -h /srv/demo-web
EOF
chmod 755 "$pkg/DEBIAN/postinst"
dpkg-deb --root-owner-group -b "$pkg" "$RACK_DIR/debs/demo-web.deb" >/dev/null
vmroot=$RACK_DIR/svc1-root
mkdir -p "$vmroot/var/lib/dpkg/info" "$vmroot/var/lib/dpkg/updates"
touch "$vmroot/var/lib/dpkg/status"
rack_add_host
vm=$RACK_N
vm_ip=${RACK_HOST_IP[$vm]}
rack_bg "$vm" guest-svc1 "$PV_BIN/provisioner-agent" guest --cmdline "$RACK_DIR/svc1.cmdline" \
    --root "$vmroot" --interval 1 --check-timeout 20 \
    --install-command "dpkg --root={root} -i $RACK_DIR/debs/{package}.deb"
# service_of VM PACKAGE FIELD
service_of() {
    pv_cli --json vm list | jq -r --arg vm "$1" --arg p "$2" --arg f "$3" \
        '.vms[] | select(.name == $vm) | .services[] | select(.package == $p) | .[$f] // ""'
}
for _ in $(seq 150); do
    [ "$(service_of svc1 demo-web state)" = service_available ] && break
    sleep 0.2
done
pv_cli vm list
[ "$(service_of svc1 demo-web state)" = service_available ] ||
    rack_fail "demo-web did not become available: $(pv_cli --json vm list | jq -c '.vms')"
[ "$(service_of svc1 demo-web access)" = "$vm_ip:8081" ] ||
    rack_fail "demo-web's access point: $(service_of svc1 demo-web access)"
[ "$(rack_server curl -s --max-time 5 "http://$vm_ip:8081/")" = "hello from svc1" ] ||
    rack_fail "demo-web does not serve its page with the site's greeting"
grep -q 'container ready' "$RACK_DIR/guest-svc1.err" || rack_fail "no container ready: $(cat "$RACK_DIR/guest-svc1.err")"
[ "$(grep -c '^GREETING=' "$vmroot/etc/provisioner/services/demo-web.env")" = 1 ] ||
    rack_fail "the parameters: $(cat "$vmroot/etc/provisioner/services/demo-web.env")"

echo "== a guest token of another VM is refused; a package that cannot install fails visibly"
rack_server curl -s --cacert "$PV_STATE/ca.crt" -o /dev/null -w '%{http_code}' -X POST "$PV_URL/api/v1/guest/report" \
    -H "Authorization: Bearer $(sed 's/.*provisioner.token=//' "$RACK_DIR/svc1.cmdline")" \
    -d '{"vm":"db1","services":[]}' >"$RACK_DIR/forged.code" || true
[ "$(cat "$RACK_DIR/forged.code")" = 401 ] || rack_fail "svc1's token on db1's report: $(cat "$RACK_DIR/forged.code")"
services_site '<SERVICE package="absent-pkg"/>' >"$RACK_DIR/v6.xml"
apply "$RACK_DIR/v6.xml" | tee "$RACK_DIR/v6.out"
grep -qx 'VMs unchanged; services updated for 1 VM: svc1' "$RACK_DIR/v6.out" ||
    rack_fail "an apply of services only says: $(cat "$RACK_DIR/v6.out")"
for _ in $(seq 150); do
    [ "$(service_of svc1 absent-pkg state)" = failed ] && break
    sleep 0.2
done
pv_cli vm list
[ "$(pv_cli --json vm list | jq -r '.vms[] | select(.name == "svc1") | .service_state')" = failed ] ||
    rack_fail "svc1 with a package that cannot install: $(pv_cli --json vm list | jq -c '.vms')"
service_of svc1 absent-pkg error | grep -q 'install command exited with' ||
    rack_fail "absent-pkg's error: $(service_of svc1 absent-pkg error)"
[ "$(service_of svc1 demo-web state)" = service_available ] || rack_fail "demo-web was lost"
rack_kill guest-svc1

echo "== hot templates: web@2 pre-copied to both hosts by delta before a VM needs it; the cold disposed of"
# scratch@1 is older than the cool-down: gone at the first disposal; the rest is under VMs.
left=$((scratch_at + 11 - $(date +%s)))
[ "$left" -le 0 ] || sleep "$left"
for _ in $(seq 50); do
    jq -e '[.templates[].name] | index("scratch") == null' "$RACK_DIR/tpl1/templates.json" >/dev/null && break
    sleep 0.2
done
jq -e '[.templates[].name] | index("scratch") == null' "$RACK_DIR/tpl1/templates.json" >/dev/null ||
    rack_fail "scratch@1 was not disposed of: $(cat "$RACK_DIR/tpl1/templates.json")"
grep -q 'disposed of cold template scratch@1' "$RACK_DIR/dom0-1.err" ||
    rack_fail "no disposal logged: $(tail -n 5 "$RACK_DIR/dom0-1.err")"
[ ! -e "$RACK_DIR/tpl1/scratch@1.raw" ] || rack_fail "scratch@1's file is still there"
[ "$(jq -r '[.templates[] | "\(.name)@\(.version)"] | sort | join(" ")' "$RACK_DIR/tpl1/templates.json")" = \
    "debian@1 web@1" ] || rack_fail "host 1's store after disposal: $(cat "$RACK_DIR/tpl1/templates.json")"
# web9 makes web@1 used now (hot for the cool-down); web@2, its newest version, comes along.
{
    services_site '<SERVICE package="absent-pkg"/>' | sed '/^<\/Set>/d; /^<\/XSMConfig>/d'
    echo '<VM name="web9"><DOM0>h2</DOM0><VCPUS>1</VCPUS><MEM>64</MEM><TEMPLATE>web@1</TEMPLATE></VM>'
    echo '</Set></XSMConfig>'
} >"$RACK_DIR/v7.xml"
apply "$RACK_DIR/v7.xml"
expect_vms "db1 2 1024 h1" "svc1 1 128 h2" "web9 1 64 h2"
cp "$RACK_DIR/images/web@1.qcow2" "$RACK_DIR/images/web@2.qcow2"
head -c 256K /dev/urandom >"$RACK_DIR/changed.bin"
(cd "$RACK_DIR/images" && qemu-io -f qcow2 -c "write -s $RACK_DIR/changed.bin 8M 256K" web@2.qcow2 >/dev/null)
pv_cli template add "$RACK_DIR/images/web@2.qcow2" --name web --version 2 --label web --backing debian@1
[ -d "$PV_STATE/templates/web@2.image" ] || rack_fail "web@2 was not packed: $(ls "$PV_STATE/templates")"
for _ in $(seq 75); do
    ready=0
    for i in 1 2; do
        jq -e '[.templates[] | "\(.name)@\(.version)"] | index("web@2") != null' \
            "$RACK_DIR/tpl$i/templates.json" >/dev/null && ready=$((ready + 1))
    done
    [ "$ready" = 2 ] && break
    sleep 0.2
done
[ "$ready" = 2 ] || rack_fail "web@2 is not on both hosts: $(cat "$RACK_DIR"/tpl{1,2}/templates.json; tail -n 5 "$RACK_DIR"/dom0-{1,2}.err)"
[ "$(pv_cli --json vm list | jq '[.vms[] | select(.template == "web@2")] | length')" = 0 ] ||
    rack_fail "a VM runs on web@2: $(pv_cli vm list)"
web2_size=$(pv_cli --json template show web@2 | jq -r .size)
for i in 1 2; do
    line=$(grep 'pre-copied template web@2' "$RACK_DIR/dom0-$i.err") ||
        rack_fail "host $i logged no pre-copy of web@2: $(tail -n 5 "$RACK_DIR/dom0-$i.err")"
    echo "  h$i: ${line#*templates: }"
    grep -q 'pre-copying template web@2 .* on the basis of web@1.qcow2' "$RACK_DIR/dom0-$i.err" ||
        rack_fail "host $i did not start from web@1"
    received=$(sed -E 's/.*web@2: ([0-9]+) bytes received.*/\1/' <<<"$line")
    reused=$(sed -E 's/.* ([0-9]+) reused from the basis.*/\1/' <<<"$line")
    [ "$received" -lt "$web2_size" ] && [ "$reused" -gt 0 ] ||
        rack_fail "host $i received $received bytes of a $web2_size-byte template, reused $reused"
    cmp -s "$RACK_DIR/tpl$i/web@2.qcow2" "$RACK_DIR/images/web@2.qcow2" ||
        rack_fail "host $i's web@2 differs from the catalog's"
done
if grep -q 'fetching template web@2' "$RACK_DIR"/dom0-{1,2}.err; then rack_fail "web@2 was fetched whole"; fi
# web@2 is listed with its delta server's address only once that server listens: no first
# attempt that finds nothing there and waits to try again.
if grep -q 'web@2.*trying again later' "$RACK_DIR"/dom0-{1,2}.err; then
    rack_fail "a pre-copy of web@2 failed: $(grep 'trying again later' "$RACK_DIR"/dom0-{1,2}.err)"
fi
# Host 2 (no --pubkey) checked its pre-copy against the key the server sent, kept beside vms.json.
cmp -s "$RACK_DIR/disks2/site.pub" "$PV_STATE/site.pub" ||
    rack_fail "host 2 kept no copy of the server's key: $(grep 'signing key' "$RACK_DIR/dom0-2.err")"
grep -q "signing key is kept in $RACK_DIR/disks2/site.pub" "$RACK_DIR/dom0-2.err" ||
    rack_fail "host 2 did not log where it keeps the server's key"
[ ! -e "$RACK_DIR/disks1/site.pub" ] || rack_fail "host 1 (--pubkey) wrote the server's key"

echo "PASS: templates added, resolved and fetched; site applied, edited, re-applied, recalled, a VM moved through the agents' libvirt, a service installed by a guest agent, and a hot template pre-copied by delta to both hosts while a cold one was disposed of"
