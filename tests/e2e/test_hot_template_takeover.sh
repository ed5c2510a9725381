#!/usr/bin/env bash
# Hot-template serving survives its holder's death (issue 20; hot_template_packs.h): rack
# servers A (r1) and B (r2) on one PostgreSQL (lib/rack_servers.sh); A holds the hot-template
# lease and imports web@1, hot, so its pack is on A's disk only (no Dom0 host yet: B caches
# nothing).
# 1. A is killed -9: B takes the serving over once A's lease expires, and names web@1
#    unavailable (its pack is not on B; nobody publishes a copy): a log line and an event.
# 2. A (the importer) restarts: it offers its pack, B fetches it by delta, checks it, installs
#    it and serves it; A stops offering it once B publishes it.
# 3. A Dom0 host of rack r2 pre-copies web@1 from B, byte-equal.
# Needs root (exit 77 otherwise), postgresql, dnsmasq, curl, jq, busybox, psql. About 30 s.
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
[[ $(pg_sql "SELECT owner FROM leases WHERE name = 'hot-templates'") == pvA-* ]] ||
    rack_fail "A does not serve the hot templates: $(pg_sql "SELECT name, owner FROM leases")"
mkdir -p "$RACK_DIR/images"
head -c 8M /dev/urandom >"$RACK_DIR/images/web@1.raw"
pv_cli template add "$RACK_DIR/images/web@1.raw" --name web --version 1 >/dev/null
web1=$(pv_cli --json template show web@1 | jq -r .id)
pg_sql "UPDATE templates SET last_used_at = $(date +%s%3N) WHERE id = $web1"
rack_wait_log pvA "delta server for template web@1: started" 10

echo "== 1. A, holder and importer, killed -9: B serves the hot templates without web@1's pack"
rack_kill pvA KILL
rack_wait_log pvB "hot templates served by pvB[^ ]*, taken over from pvA" $((LEASE + 10))
rack_wait_log pvB "hot template web@1 is unavailable: its pack is not on this server" 5
rack_wait_log pvB "hot template web@1 stays unavailable: no live server publishes a copy" 5
[ ! -e "$B_STATE/templates/web@1.image" ] || rack_fail "B has web@1's pack already"
grep "hot template web@1" "$RACK_DIR/pvB.err" | sed 's/.*provisionerd: /  /'

echo "== 2. A restarts and offers its pack: B fetches it by delta and serves it"
rack_server_a
rack_wait_log pvB "hot templates: web@1 fetched from pvA" 20
rack_wait_log pvB "hot template web@1 is available again" 5
cmp -s "$B_STATE/templates/web@1.image/chunks.pack" "$A_STATE/templates/web@1.image/chunks.pack" ||
    rack_fail "B's pack of web@1 is not A's"
rack_wait_log pvB "delta server for template web@1: started" 10
rack_wait_log pvA "stopping rack delta server for template web@1" $((LEASE + 10))
for what in "hot template web@1 is unavailable" "hot templates: web@1 fetched from pvA" \
    "hot template web@1 is available again"; do
    api "$B_URL" "/api/v1/events?limit=1000" |
        jq -e --arg w "$what" 'any(.events[]; .reason | contains($w))' >/dev/null ||
        rack_fail "no event \"$what\""
done
grep -E "hot templates: web@1 fetched|hot template web@1 is available" "$RACK_DIR/pvB.err" |
    sed 's/.*provisionerd: /  /'

echo "== 3. host 3 (rack r2) pre-copies web@1 from B"
pv_enrol >/dev/null
pv_cli host dom0 h3 >"$RACK_DIR/h3.dom0"
mkdir -p "$RACK_DIR/tpl3" "$RACK_DIR/disks3"
rack_bg 3 dom0-3 "$PV_BIN/provisioner-agent" dom0 --cmdline "$RACK_DIR/h3.dom0" \
    --libvirt test:///default --templates "$RACK_DIR/tpl3" --disks "$RACK_DIR/disks3" \
    --interval 0.3 --reserved-vcpus 0 --reserved-memory-mib 0 --pubkey "$A_STATE/site.pub"
rack_wait_log dom0-3 "pre-copied template web@1" 30
line=$(grep "pre-copying template web@1 from" "$RACK_DIR/dom0-3.err" | tail -n 1 || true)
grep -q "from $B_IP:" <<<"$line" || rack_fail "host 3 pre-copied web@1 from: $line"
cmp -s "$RACK_DIR/tpl3/web@1.raw" "$RACK_DIR/images/web@1.raw" ||
    rack_fail "host 3's web@1 differs from the catalog's"
echo "  h3: ${line#*provisioner-agent: }"
echo "PASS: a hot template imported on a server that died was fetched by the new holder from the importer, back, and served to a Dom0 host ($((SECONDS - started)) s)"
