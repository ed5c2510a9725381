#!/usr/bin/env bash
# Templates in the rack (issue 20, item 4): two rack servers, A (--rack r1, in the rack's server
# namespace) and B (--rack r2, in a namespace of its own on the same switch), share one
# PostgreSQL (lib/postgres.sh), as in test_rack_cache_multicast.sh. Hosts 1-2 are in rack r1,
# 3-4 in r2; each runs a Dom0 agent (libvirt's test driver) reporting to A, but host 4's reports
# to B first (its command line lists B, then A). A serves the hot templates (it holds the
# hot-template lease, started first). web@1, an 8 MiB raw template added on A, is made used (as
# a site apply does: test_site_apply.sh) and so hot.
#
# 1. B fetches web@1 from A's template server by delta into its template cache (every chunk
#    against the signed manifest), runs a delta server of its copy and publishes it sealed; A
#    names it in its answers to host 3's reports, B in its own to host 4's. Checks: B's log and
#    event of the fetch, its copy byte-equal to A's pack; A's log names B's server for rack r2;
#    hosts 3-4 pre-copied web@1 from B's address, 1-2 from A's; every host's web@1 byte-equal
#    to the file.
# 2. B is killed -9. web@2 (web@1 with 256 KiB changed) is added: the newest version of a hot
#    name, hot at once. Once B's rack presence is stale, A answers r2's hosts with its own
#    template server (host 4's agent fails over to A). Checks: hosts 3-4 pre-copied web@2 from
#    A's address on the basis of their web@1, every host's web@2 byte-equal to the file.
# 3. B restarts on its state: its copy of web@1 is read back and checked before it is served
#    (not fetched again), and web@2 comes from A by delta on its basis (the unchanged chunks
#    kept); A names B for rack r2 again.
#
# Needs root (exit 77 otherwise), postgresql, dnsmasq, curl, jq, busybox, psql. About 20 s.
set -euo pipefail
source "$(dirname "$0")/lib/rack.sh"
rack_require curl jq busybox dnsmasq psql
export PV_IMAGE_MIB=${PV_IMAGE_MIB:-8}
source "$(dirname "$0")/lib/rack_servers.sh"

LEASE=4
started=$SECONDS
rack_servers_init
rack_server_a
rack_server_b
echo "== rack server A (r1) on $A_URL and B (r2) on $B_URL share $PG_URL"
[[ $(pg_sql "SELECT owner FROM leases WHERE name = 'hot-templates'") == pvA-* ]] ||
    rack_fail "A does not serve the hot templates: $(pg_sql "SELECT name, owner FROM leases")"

mkdir -p "$RACK_DIR/images"
head -c 8M /dev/urandom >"$RACK_DIR/images/web@1.raw"
pv_cli template add "$RACK_DIR/images/web@1.raw" --name web --version 1 >/dev/null
web1=$(pv_cli --json template show web@1 | jq -r .id)
pg_sql "UPDATE templates SET last_used_at = $(date +%s%3N) WHERE id = $web1"
[ "$(pv_cli --json template list | jq -r '.templates[] | select(.name == "web") | .hot')" = true ] ||
    rack_fail "web@1 is not hot: $(pv_cli template list)"
pv_enrol >/dev/null

echo "== 1. B caches web@1 from A by delta and serves it to rack r2's Dom0 hosts"
rack_wait_log pvB "rack template cache: web@1 fetched from pvA" 15
grep -qE "rack template cache: web@1 fetched from pvA[^ ]* \\($RACK_SERVER_IP:[0-9]+\\) by delta: ([0-9]+) of \\1 chunks" "$RACK_DIR/pvB.err" ||
    rack_fail "B's fetch: $(grep 'rack template cache' "$RACK_DIR/pvB.err")"
copy=$(ls -d "$B_STATE/template-cache/$web1"-*)
cmp -s "$copy/chunks.pack" "$A_STATE/templates/web@1.image/chunks.pack" ||
    rack_fail "B's copy $copy is not A's pack"
api "$B_URL" "/api/v1/events?limit=1000" |
    jq -e 'any(.events[]; .reason | test("rack template cache: web@1 fetched from pvA"))' >/dev/null ||
    rack_fail "no event of B's fetch"
rack_wait_log pvA "per-rack imaging: .*rack r2: template $web1 from pvB[^ ]* \\($B_IP:" 10
b_server=$(grep -oE "rack r2: template $web1 from pvB[^ ]* \\($B_IP:[0-9]+\\)" "$RACK_DIR/pvA.err" |
    tail -n 1 | sed -E 's/.*\((.*)\)/\1/')
pgrep -f -- "imaging serve --image $copy " >/dev/null ||
    rack_fail "B runs no delta server of its copy: $(pgrep -af 'imaging serve')"
echo "  B fetched web@1 into $copy and serves it on $b_server; A names it for rack r2"

# Counts what host 4 sends to B's API, to show that its reports went there.
ip netns exec "$(rack_ns "$B_NS")" nft -f - <<EOF_NFT
table inet to_b {
  chain input {
    type filter hook input priority 0; policy accept;
    ip saddr ${RACK_HOST_IP[4]} tcp dport $((PV_PORT + 1)) counter
  }
}
EOF_NFT
for ((i = 1; i <= RACK_N; i++)); do
    pv_cli host dom0 "h$i" >"$RACK_DIR/h$i.dom0"
    # Host 4 reports to B, its rack's server, first (then A): B answers it with its own copy.
    [ "$i" = 4 ] && sed -i "s|provisioner.server=[^ ]*|provisioner.server=$B_URL,$A_URL|" "$RACK_DIR/h4.dom0"
    mkdir -p "$RACK_DIR/tpl$i" "$RACK_DIR/disks$i"
    rack_bg "$i" "dom0-$i" "$PV_BIN/provisioner-agent" dom0 --cmdline "$RACK_DIR/h$i.dom0" \
        --libvirt test:///default --templates "$RACK_DIR/tpl$i" --disks "$RACK_DIR/disks$i" \
        --interval 0.3 --reserved-vcpus 0 --reserved-memory-mib 0 --pubkey "$A_STATE/site.pub"
done
# precopied REF: until every host's store holds REF.
precopied() {
    local t i n
    for ((t = 0; t < 150; t++)); do
        n=0
        for ((i = 1; i <= RACK_N; i++)); do
            jq -e --arg ref "$1" '[.templates[] | "\(.name)@\(.version)"] | index($ref) != null' \
                "$RACK_DIR/tpl$i/templates.json" >/dev/null 2>&1 && n=$((n + 1))
        done
        [ "$n" = "$RACK_N" ] && return 0
        sleep 0.2
    done
    rack_fail "$1 is on $n of $RACK_N hosts: $(tail -n 3 "$RACK_DIR"/dom0-*.err)"
}
# from REF: checks where each host pre-copied REF from (r1: A; r2: $R2_FROM) and its bytes.
from() {
    local i line want
    for ((i = 1; i <= RACK_N; i++)); do
        line=$(grep "pre-copied template $1" "$RACK_DIR/dom0-$i.err" | tail -n 1) ||
            rack_fail "host $i logged no pre-copy of $1: $(tail -n 5 "$RACK_DIR/dom0-$i.err")"
        want=$RACK_SERVER_IP
        [ "${PV_RACK[i]}" = r2 ] && want=$R2_FROM
        grep "pre-copying template $1 from" "$RACK_DIR/dom0-$i.err" | tail -n 1 |
            grep -q "from $want:" || rack_fail "host $i (${PV_RACK[i]}) pre-copied $1 from: $(grep "pre-copying template $1" "$RACK_DIR/dom0-$i.err")"
        cmp -s "$RACK_DIR/tpl$i/$1.raw" "$RACK_DIR/images/$1.raw" ||
            rack_fail "host $i's $1 differs from the catalog's"
        echo "  h$i (${PV_RACK[i]}): $(grep -o "pre-copying template $1 from [0-9.:]*" "$RACK_DIR/dom0-$i.err" | tail -n 1)"
    done
}
precopied web@1
R2_FROM=$B_IP from web@1
to_b=$(ip netns exec "$(rack_ns "$B_NS")" nft list table inet to_b | grep -o 'packets [0-9]*' | cut -d' ' -f2)
[ "${to_b:-0}" -gt 0 ] || rack_fail "host 4 sent nothing to B's API"
echo "  host 4 reported to B ($to_b packets to its API) and got B's copy from B's own answer"

echo "== 2. B killed -9: rack r2's hosts pre-copy the next hot template from A"
a_lines=$(wc -l <"$RACK_DIR/pvA.err")
rack_kill pvB KILL
head -c 256K /dev/urandom >"$RACK_DIR/changed.bin"
cp "$RACK_DIR/images/web@1.raw" "$RACK_DIR/images/web@2.raw"
dd if="$RACK_DIR/changed.bin" of="$RACK_DIR/images/web@2.raw" bs=256K seek=8 conv=notrunc status=none
pv_cli template add "$RACK_DIR/images/web@2.raw" --name web --version 2 >/dev/null
for ((t = 0; ; t++)); do
    tail -n +"$((a_lines + 1))" "$RACK_DIR/pvA.err" |
        grep -q "per-rack imaging: every rack's hosts image from the deployment's owner" && break
    [ "$t" -lt $((10 * (LEASE + 5))) ] || rack_fail "A still sends rack r2's hosts to B"
    sleep 0.1
done
echo "  A no longer names B's servers for rack r2 after $((t / 10)) s"
precopied web@2
R2_FROM=$RACK_SERVER_IP from web@2
for i in 3 4; do
    grep -q "pre-copying template web@2 .* on the basis of web@1.raw" "$RACK_DIR/dom0-$i.err" ||
        rack_fail "host $i did not start web@2 from its web@1"
done
echo "== 3. B restarts: its copy of web@1 is read back before it is served, web@2 comes by delta on its basis"
a_lines=$(wc -l <"$RACK_DIR/pvA.err")
rack_server_b
rack_wait_log pvB "rack template cache: the copy of web@1 held in $copy checked: its [0-9]+ chunks match its manifest" 10
rack_wait_log pvB "rack template cache: web@2 fetched from pvA" 15
line=$(grep "rack template cache: web@2 fetched from pvA" "$RACK_DIR/pvB.err")
grep -qE "by delta: [0-9]+ of [0-9]+ chunks, [0-9]+ bytes, in [0-9.]+ s; [0-9]+ chunks kept from web@1" <<<"$line" ||
    rack_fail "B fetched web@2 whole: $line"
if grep -q "rack template cache: web@1 fetched" "$RACK_DIR/pvB.err"; then  # its log since the restart
    rack_fail "B fetched web@1 again after its restart"
fi
cmp -s "$B_STATE/template-cache/"*"-$(sha256sum "$RACK_DIR/images/web@2.raw" | cut -c1-16)/chunks.pack" \
    "$A_STATE/templates/web@2.image/chunks.pack" || rack_fail "B's copy of web@2 is not A's pack"
for ((t = 0; ; t++)); do
    tail -n +"$((a_lines + 1))" "$RACK_DIR/pvA.err" | grep -q "per-rack imaging: .*rack r2: template $web1 from pvB" && break
    [ "$t" -lt $((10 * (LEASE + 5))) ] || rack_fail "A does not name B's servers for rack r2 again"
    sleep 0.1
done
echo "  ${line#*provisionerd: }"
echo "PASS: rack r2's Dom0 hosts pre-copied a hot template from their rack server's cached copy, r1's from the serving server, r2's from the serving server once the rack server was killed, and the restarted rack server checked its copy and fetched the next version by delta on its basis ($((SECONDS - started)) s)"
