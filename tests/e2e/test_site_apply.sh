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
# where it was. libvirt's state, as the agents report it, is checked after each apply.
set -euo pipefail
source "$(dirname "$0")/lib/rack.sh"
rack_require qemu-img
rack_up 2
source "$(dirname "$0")/lib/provisioner.sh"
PV_IMAGE_MIB=64
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
    rack_exec "$i" "$PV_BIN/provisioner-agent" ready --cmdline "$RACK_DIR/h$i.cmdline" >/dev/null 2>&1 ||
        rack_fail "host $i: ready failed"
    mkdir -p "$RACK_DIR/tpl$i" "$RACK_DIR/disks$i"
    if [ "$i" = 1 ]; then  # before its agent opens the store: one store, one owner
        cp "$RACK_DIR/images/debian@1.qcow2" "$RACK_DIR/base1.qcow2"
        "$PV_BIN/provisioner-agent" template add --templates "$RACK_DIR/tpl1" --name debian \
            --version 1 "$RACK_DIR/base1.qcow2" >/dev/null || rack_fail "host 1: template add failed"
    fi
    rack_bg "$i" "dom0-$i" "$PV_BIN/provisioner-agent" dom0 --cmdline "$RACK_DIR/h$i.cmdline" \
        --libvirt test:///default --templates "$RACK_DIR/tpl$i" --disks "$RACK_DIR/disks$i" \
        --interval 0.3 --reserved-vcpus 0 --reserved-memory-mib 0
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
[ -z "$(ls -A "$RACK_DIR/disks2" | grep -v '^vms.json$')" ] || rack_fail "h2 kept: $(ls "$RACK_DIR/disks2")"
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
echo "PASS: templates added, resolved and fetched; site applied, edited, re-applied, recalled and a VM moved through the agents' libvirt"
