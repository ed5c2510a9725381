#!/usr/bin/env bash
# BitTorrent in the rack (issue 20, item 4): two rack servers, A (--rack r1, in the rack's server
# namespace) and B (--rack r2, in a namespace of its own on the same switch), share one
# PostgreSQL (lib/rack_servers.sh), as in test_rack_cache_multicast.sh. Hosts 1-2 are in rack r1,
# 3-4 in r2. A deploys every host of both racks by BitTorrent: an SSL swarm whose CA signs, at
# deploy time, a seed certificate for each rack besides the seed's and the hosts'. B holds no
# copy of the image: it fetches it from A by delta into its image cache; A, the owner, publishes
# the torrent and rack r2's seed certificate sealed under the site key; B runs `imaging seed`
# of its copy with that certificate and publishes where it listens; A's tracker learns it, and
# tells rack r2's hosts B's seed first.
#
# A's uplink is shaped (tc tbf, TORRENT_RATE_A, default 24mbit) once B seeds, so that where the
# bytes come from shows: with B's seed, rack r2's hosts (and r1's, through r2's) get most of the
# image from B's side of the switch.
#
# Checks: B fetched the image by delta though the deployment is BitTorrent; B's seed runs on its
# cached copy, as an SSL peer certified "rack r2"; A's tracker names B's seed for rack r2; every
# host verified its image and its disk holds it (sha256); the deployment succeeded; B's seed
# uploaded more than one copy of the pack (rack r2's two hosts hold two copies, and they share
# the rest between them), more than A's seed; B's seed and its certificate file are gone once
# the deployment is done, and A's publication no longer offers it.
#
# Needs root (exit 77 otherwise), postgresql, dnsmasq, curl, jq, tc, busybox, psql, od. About 15 s.
set -euo pipefail
source "$(dirname "$0")/lib/rack.sh"
rack_require curl jq tc busybox dnsmasq psql od
export PV_IMAGE_MIB=${PV_IMAGE_MIB:-64}
source "$(dirname "$0")/lib/rack_servers.sh"

LEASE=4
RATE_A=${TORRENT_RATE_A:-24mbit}
started=$SECONDS
rack_servers_init

rack_server_a
rack_server_b
echo "== rack server A (r1) on $A_URL and B (r2) on $B_URL share $PG_URL"

rack_servers_deploy torrent
pack=$(jq -r .stored_size <<<"$(pv_cli --json image show dom0@1)")
rack_servers_boot_scripts

# 1. The deployment is BitTorrent, yet B caches its image by delta from A.
rack_servers_b_cached BitTorrent "$d" 20

# 2. B seeds its copy in rack r2 with the rack's certificate; A's tracker knows it.
rack_wait_log pvB "rack torrent: deployment $d's hosts in this server's racks \\(2\\) are seeded from its copy of dom0@1 here" 20
port=$(grep -oE "rack torrent: deployment $d's hosts .* on port [0-9]+" "$RACK_DIR/pvB.err" | tail -n 1 | sed -E 's/.* //') || true
[ -n "$port" ] || rack_fail "B's seed names no port"
grep -q "certificate \"rack r2\"" "$RACK_DIR/pvB.err" || rack_fail "B's seed does not hold rack r2's certificate"
rack_wait_log pvB "seeding dom0 1 .* on 0.0.0.0:$port \\(TLS, certified peers only\\)" 15
pgrep -f -- "imaging seed --image $copy --torrent .* --listen 0.0.0.0:$port --peer-cert $B_STATE/secrets/rack-torrent-seed-$d-" >/dev/null ||
    rack_fail "B's seed does not seed its copy: $(pgrep -af 'imaging seed' || true)"
cert=$(ls "$B_STATE"/secrets/rack-torrent-seed-"$d"-*.pem 2>/dev/null) ||
    rack_fail "B's seed has no certificate file under $B_STATE/secrets"
[ "$(stat -c %a "$cert")" = 600 ] || rack_fail "B's seed certificate $cert is mode $(stat -c %a "$cert")"
rack_wait_log pvA "rack torrent: the tracker tells rack r2's hosts the rack server's seed at $B_IP first" 10
# What A's tracker tells a host: an announce of its own from host I's namespace (withdrawn at
# once), the first peer of the compact reply (BEP 23) as ADDR:PORT.
info_hash=$(grep -oE "seeding dom0 1 \([0-9a-f]{40}," "$RACK_DIR/pvB.err" | tail -n 1 | grep -oE "[0-9a-f]{40}") || true
[ -n "$info_hash" ] || rack_fail "B's seed names no info-hash"
tracker_first_peer() {
    local i=$1 q hex
    q="info_hash=$(sed 's/../%&/g' <<<"$info_hash")&peer_id=-TT0001-$(printf '%012d' "$i")&port=7999"
    q+="&uploaded=0&downloaded=0&left=1&compact=1&numwant=50"
    hex=$(rack_exec "$i" curl -sf "$PV_BOOT_URL/announce?$q&event=started" | od -An -v -tx1 | tr -d ' \n') || true
    rack_exec "$i" curl -sf "$PV_BOOT_URL/announce?$q&event=stopped" >/dev/null || true
    hex=${hex#*353a7065657273}  # "5:peers"
    hex=$(sed -E 's/^(3[0-9])+3a//' <<<"$hex")
    [ ${#hex} -ge 12 ] || return 0
    printf '%d.%d.%d.%d:%d\n' "0x${hex:0:2}" "0x${hex:2:2}" "0x${hex:4:2}" "0x${hex:6:2}" "0x${hex:8:4}"
}
# Once B's seed has announced, every reply to r2's hosts names it first (the order within a
# group is shuffled: asked 5 times each, not once).
for ((t = 0; ; t++)); do
    [ "$(tracker_first_peer 3)" = "$B_IP:$port" ] && break
    [ "$t" -lt 50 ] || rack_fail "B's seed $B_IP:$port never came first for host 3 (r2)"
    sleep 0.1
done
for i in 3 4 3 4 3 4 3 4 3 4; do
    first=$(tracker_first_peer "$i")
    [ "$first" = "$B_IP:$port" ] || rack_fail "A's tracker tells host $i (r2) $first first, not B's seed $B_IP:$port"
done
# A offers it sealed: the certificate's key is nowhere in the clear.
offered=$(pg_sql "SELECT value FROM settings WHERE key LIKE 'rack-torrents:pvA%'")
jq -e --arg d "$d" '.torrents[$d].racks | keys == ["r2"]' <<<"$offered" >/dev/null ||
    rack_fail "A does not offer rack r2's seed of deployment $d: $offered"
if grep -q "PRIVATE KEY" <<<"$offered"; then rack_fail "A's offer holds a key in the clear"; fi
echo "  B seeds its copy on port $port as \"rack r2\" (TLS); A's tracker tells r2's hosts B's seed ($B_IP:$port) first"

# 3. A's uplink shaped; every host images.
rack_server tc qdisc add dev "$RACK_IF" root tbf rate "$RATE_A" burst 64kb latency 200ms
t0=$SECONDS
for i in 3 4 1 2; do pv_agent_bg "$i"; done
for ((i = 1; i <= RACK_N; i++)); do
    rack_wait "agent$i" 90 || rack_fail "host $i: agent failed: $(tail -n 3 "$RACK_DIR/agent$i.err")"
    grep -q "imaging .* by torrent" "$RACK_DIR/agent$i.err" || rack_fail "host $i: not by torrent: $(grep imaging "$RACK_DIR/agent$i.err" | tail -n 2)"
done
a_sent=$(rack_server tc -s qdisc show dev "$RACK_IF" | sed -nE 's/^ *Sent ([0-9]+) bytes.*/\1/p' | head -n 1) || true
rack_server tc qdisc del dev "$RACK_IF" root
echo "  every host imaged in $((SECONDS - t0)) s; A's shaped link ($RATE_A) sent ${a_sent:-?} bytes for 4 hosts of a $pack-byte pack"
rack_servers_succeeded "$A_URL" "$d"
pv_check_disks "$d" || rack_fail "a disk does not hold the image"

# 4. Once its hosts are done B's seed stops, reports what it uploaded, and its certificate goes.
rack_wait_log pvB "stopping the rack seed of deployment $d" 10
for ((t = 0; t < 100; t++)); do
    ls "$B_STATE"/secrets/rack-torrent-seed-"$d"-*.pem >/dev/null 2>&1 || break
    sleep 0.1
done
if ls "$B_STATE"/secrets/rack-torrent-seed-"$d"-*.pem >/dev/null 2>&1; then rack_fail "B's rack seed certificate outlived its seed"; fi
for ((t = 0; t < 50; t++)); do
    grep -q '"bytes_uploaded"' "$RACK_DIR/pvA.out" && break
    sleep 0.1
done
a_up=$(grep -h '"bytes_uploaded"' "$RACK_DIR/pvA.out" | tail -n 1 | jq .bytes_uploaded) || true
b_up=$(grep -h '"bytes_uploaded"' "$RACK_DIR/pvB.out" | tail -n 1 | jq .bytes_uploaded) || true
b_peers=$(grep -h '"bytes_uploaded"' "$RACK_DIR/pvB.out" | tail -n 1 | jq .peers_seen) || true
[ -n "$b_up" ] && [ -n "$a_up" ] || rack_fail "no upload report from the seeds: A '$a_up', B '$b_up'"
echo "  B's rack seed uploaded $b_up bytes to $b_peers peers, A's seed $a_up, for 4 hosts of a $pack-byte pack"
# Rack r2's hosts needed two copies; at least one came from B (the rest they traded with each
# other or got from r1's), and B's side carried far more than A's shaped seed.
[ "$b_up" -ge "$pack" ] || rack_fail "B's seed uploaded $b_up bytes, under one copy of the pack ($pack)"
[ $((a_up * 4)) -lt "$b_up" ] || rack_fail "A's seed uploaded $a_up bytes, not far under B's $b_up"
offered=$(pg_sql "SELECT value FROM settings WHERE key LIKE 'rack-torrents:pvA%'")
jq -e --arg d "$d" '.torrents | has($d) | not' <<<"$offered" >/dev/null ||
    rack_fail "A still offers deployment $d once it is done: $offered"
echo "PASS: rack r2 seeded by its rack server's cached copy ($((SECONDS - started)) s)"
