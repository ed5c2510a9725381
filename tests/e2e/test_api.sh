#!/usr/bin/env bash
# provisionerd's HTTP API and the provisioner CLI, end to end: a real provisionerd on
# 127.0.0.1 (a free port, a temporary state directory, no dnsmasq, no namespaces), driven by
# curl and the CLI. Covers authentication (none, wrong, offline and API-made operator tokens,
# host tokens out of an iPXE script and their scope), bad input that must leave the inventory
# unchanged (malformed JSON, bad and duplicate MACs, unknown hosts, a bad CSV, oversized and
# never-finished bodies, unknown routes and methods), discovery by iPXE script and accept, the
# CLI's did-you-mean, --json and unreachable-server errors, image import (own key, foreign key)
# and removal while in use, a deployment whose agents never come staying pending, and listing
# and revoking operator tokens (no secrets listed; a revoked token refused on its next request;
# an unknown name 404; the last token 409).
#
# Run by CTest with PROVISIONER_BIN (the build's bin directory) and PROVISIONER_SOURCE (the
# repository). Needs root (exit 77 otherwise), curl, jq and python3. About 12 s, most of it
# waiting for the server to drop the never-finished body (its request timeout is 10 s), which
# runs in the background through sections 1-5. API_KEEP=1 keeps the scratch directory.
set -euo pipefail

[ "$(id -u)" = 0 ] || { echo "SKIP: needs root" >&2; exit 77; }
BIN=${PROVISIONER_BIN:?set PROVISIONER_BIN to the bin directory of the build}

fail() {
    echo "FAIL: $*" >&2
    if [ -s "${DIR:-}/pvd.err" ]; then
        echo "--- provisionerd's last log lines:" >&2
        tail -n 8 "$DIR/pvd.err" >&2
    fi
    exit 1
}
ok() { echo "ok: $*"; }

for tool in curl jq python3; do
    command -v "$tool" >/dev/null || fail "missing tool: $tool"
done
for prog in provisionerd provisioner imaging; do
    [ -x "$BIN/$prog" ] || fail "no $BIN/$prog"
done

DIR=$(mktemp -d "${TMPDIR:-/tmp}/test_api.$$.XXXXXX")
STATE=$DIR/state
# The API is HTTPS under the server's own CA (made at its first start); the CLI reads this.
export PROVISIONER_CA=$STATE/ca.crt
PVD_PID=
SLOW_PID=

cleanup() {
    local rc=$? i pid
    trap - EXIT
    if [ -n "$SLOW_PID" ]; then kill "$SLOW_PID" 2>/dev/null || true; fi
    if [ -n "$PVD_PID" ] && kill -0 "$PVD_PID" 2>/dev/null; then
        kill -TERM "$PVD_PID" 2>/dev/null || true
        for ((i = 0; i < 50; i++)); do
            kill -0 "$PVD_PID" 2>/dev/null || break
            sleep 0.1
        done
        kill -KILL "$PVD_PID" 2>/dev/null || true
        wait "$PVD_PID" 2>/dev/null || true
    fi
    # Anything the server started that still runs on our files (an imaging sender): by pid.
    for pid in $(pgrep -f -- "$DIR/" 2>/dev/null || true); do
        [ "$pid" = $$ ] || kill -KILL "$pid" 2>/dev/null || true
    done
    if [ "${API_KEEP:-0}" = 1 ]; then echo "kept $DIR" >&2; else rm -rf "$DIR"; fi
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

PORT=$(free_port)
DELTA_PORT=$(free_port)
URL=https://127.0.0.1:$PORT
PLAIN_URL=http://127.0.0.1:$PORT

# api METHOD PATH [CURL ARGS...]: the status code on stdout, the body in $DIR/body.
api() {
    local method=$1 path=$2
    shift 2
    curl -s --cacert "$STATE/ca.crt" -o "$DIR/body" -w '%{http_code}' -X "$method" -H 'Expect:' \
        --max-time 20 "$@" "$URL$path"
}
# op METHOD PATH [CURL ARGS...]: api with the operator token.
op() {
    local method=$1 path=$2
    shift 2
    api "$method" "$path" -H "Authorization: Bearer $TOKEN" "$@"
}
body() { head -c 300 "$DIR/body"; }
# want_status WANT GOT WHAT: GOT is WANT, else fail showing the body.
want_status() { [ "$2" = "$1" ] || fail "$3: HTTP $2, expected $1 (body: $(body))"; }
# want_error CODE WHAT: the body is an error document with that code.
want_error() {
    jq -e --arg c "$1" '.error.code == $c and (.error.message | type == "string" and length > 0)' \
        "$DIR/body" >/dev/null 2>&1 || fail "$2: expected a JSON error with code $1, got: $(body)"
}

# cli ARGS...: the CLI with the operator token; run_cli ARGS...: the same, with its exit status
# in RC, stdout in $DIR/out, stderr in $DIR/err.
cli() { PROVISIONER_TOKEN_FILE=$STATE/operator.token "$BIN/provisioner" --server "$URL" "$@"; }
run_cli() {
    if cli "$@" >"$DIR/out" 2>"$DIR/err"; then RC=0; else RC=$?; fi
}
cli_err() { head -c 400 "$DIR/err"; }
# want_cli RC REGEX WHAT: the last run_cli exited RC and its stderr matches REGEX.
want_cli() {
    [ "$RC" = "$1" ] || fail "$3: exit $RC, expected $1 (stderr: $(cli_err); stdout: $(head -c 200 "$DIR/out"))"
    [ -z "$2" ] || grep -qE -- "$2" "$DIR/err" || fail "$3: stderr lacks /$2/: $(cli_err)"
}

total() { cli --json host list | jq -e .total; }
# unchanged BEFORE WHAT: the inventory still holds BEFORE hosts.
unchanged() {
    local now
    now=$(total) || fail "$2: cannot count hosts"
    [ "$now" = "$1" ] || fail "$2: the inventory changed ($1 hosts before, $now after)"
}

echo "== provisionerd on $URL (state $STATE)"
"$BIN/provisionerd" --state-dir "$STATE" --listen "127.0.0.1:$PORT" --delta-port "$DELTA_PORT" \
    --import-dir "$DIR" >"$DIR/pvd.out" 2>"$DIR/pvd.err" &
PVD_PID=$!
for ((i = 0; i < 100; i++)); do
    kill -0 "$PVD_PID" 2>/dev/null || fail "provisionerd exited: $(tail -n 3 "$DIR/pvd.err")"
    [ "$(api GET /api/v1/health 2>/dev/null)" = 200 ] && break
    sleep 0.1
done
code=$(api GET /api/v1/health)
want_status 200 "$code" "GET /api/v1/health without a token"
jq -e '.ok == true and (.version | type == "string")' "$DIR/body" >/dev/null || fail "health: $(body)"
if [ ! -s "$STATE/operator.token" ] || [ "$(stat -c %a "$STATE/operator.token")" != 600 ]; then
    fail "no operator.token of mode 0600 in $STATE"
fi
TOKEN=$(cat "$STATE/operator.token")
ok "server up; health answers without a token; STATE/operator.token is 0600"

# A request whose body never finishes must be closed within the server's request timeout (10 s).
# It runs in the background through sections 1-5 and is checked before section 6: the delta
# sender that a deployment forks inherits provisionerd's open sockets (a bug, see the report), which
# would keep this connection open past the timeout.
cat >"$DIR/slow.py" <<'EOF'
import socket, sys, time
port, token = int(sys.argv[1]), sys.argv[2]
s = socket.create_connection(("127.0.0.1", port), timeout=5)
s.sendall(("POST /api/v1/hosts HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer %s\r\n"
           "Content-Type: application/json\r\nContent-Length: 100\r\n\r\n"
           "{\"mac\": \"52:54:00:00:00:5a\"," % token).encode())
t0 = time.monotonic()
s.settimeout(25)
data = b""
try:
    while True:
        b = s.recv(4096)
        if not b:
            break
        data += b
except socket.timeout:
    print("still open after 25 s")
    sys.exit(1)
except ConnectionResetError:
    pass
print("%.1f %s" % (time.monotonic() - t0, data[:40]))
EOF
python3 "$DIR/slow.py" "$PORT" "$TOKEN" >"$DIR/slow.out" 2>&1 &
SLOW_PID=$!
slow_started=$SECONDS

# ---------------------------------------------------------------------------------------------
echo "== 1. authentication"
before=$(total)
[ "$before" = 0 ] || fail "a new server has $before hosts"
code=$(api POST /api/v1/hosts -H 'Content-Type: application/json' -d '{"mac":"52:54:00:00:00:01","name":"h1"}')
want_status 401 "$code" "POST /api/v1/hosts without a token"
want_error unauthorized "POST /api/v1/hosts without a token"
unchanged "$before" "POST without a token"
ok "no token: 401 unauthorized, nothing enrolled"
code=$(api GET /api/v1/hosts)
want_status 401 "$code" "GET /api/v1/hosts without a token"
ok "no token on GET: 401"
code=$(api GET /api/v1/hosts -H "Authorization: Bearer op_0000000000000000000000000000000000000000000000000000000000000000")
want_status 401 "$code" "GET /api/v1/hosts with a wrong token"
want_error unauthorized "a wrong token"
code=$(api POST /api/v1/hosts -H "Authorization: Bearer ${TOKEN}x" -d '{"mac":"52:54:00:00:00:01","name":"h1"}')
want_status 401 "$code" "POST /api/v1/hosts with a wrong token"
unchanged "$before" "POST with a wrong token"
ok "wrong token: 401 unauthorized, nothing enrolled"
run_cli --token wrong host list
want_cli 1 "" "provisioner host list with a wrong token"
ok "CLI with a wrong token: exit 1 ($(cli_err | head -n 1))"

OFFLINE=$("$BIN/provisionerd" token create ci --state-dir "$STATE") || fail "provisionerd token create failed"
if [ -z "$OFFLINE" ] || [ "$OFFLINE" = "$TOKEN" ]; then fail "provisionerd token create printed '$OFFLINE'"; fi
code=$(api GET /api/v1/hosts -H "Authorization: Bearer $OFFLINE")
want_status 200 "$code" "GET /api/v1/hosts with the token of 'provisionerd token create'"
jq -e '.hosts == [] and .total == 0' "$DIR/body" >/dev/null || fail "host list with the offline token: $(body)"
ok "'provisionerd token create ci --state-dir' (offline) makes a token the running server takes"

made=$(PROVISIONER_TOKEN=$OFFLINE "$BIN/provisioner" --server "$URL" --json token create cli-made) ||
    fail "provisioner token create failed"
CLITOKEN=$(jq -er '.token' <<<"$made") || fail "provisioner --json token create printed: $made"
jq -e '.name == "cli-made"' <<<"$made" >/dev/null || fail "token create answered $made"
code=$(api GET /api/v1/images -H "Authorization: Bearer $CLITOKEN")
want_status 200 "$code" "GET /api/v1/images with the token of 'provisioner token create'"
run_cli --token "$CLITOKEN" token create plain
want_cli 0 "" "provisioner token create (text)"
grep -qE '^[^ ]{16,}$' "$DIR/out" || fail "provisioner token create printed no token: $(head -c 200 "$DIR/out")"
PLAIN=$(cat "$DIR/out")
ok "'provisioner token create' makes working tokens (host tokens: see section 6)"

# ---------------------------------------------------------------------------------------------
echo "== 2. bad input leaves the inventory unchanged"

run_cli host add --mac 52:54:00:00:00:01 --name h1 --rack r1
want_cli 0 "" "provisioner host add h1"
code=$(op POST /api/v1/hosts -H 'Content-Type: application/json' -d '{"mac":"52-54-00-00-00-02","name":"h2","rack":"r1"}')
want_status 201 "$code" "POST /api/v1/hosts h2"
jq -e '.mac == "52:54:00:00:00:02" and .state == "enrolled" and .name == "h2"' "$DIR/body" >/dev/null ||
    fail "POST /api/v1/hosts answered $(body)"
before=$(total)
[ "$before" = 2 ] || fail "2 hosts enrolled, the list says $before"
ok "enrolled h1 (CLI) and h2 (API, 201 Host); total $before"

code=$(op POST /api/v1/hosts -H 'Content-Type: application/json' -d '{"mac": "52:54:00:00:00:03", "name": ')
want_status 400 "$code" "malformed JSON"
want_error invalid_argument "malformed JSON"
unchanged "$before" "malformed JSON"
ok "malformed JSON: 400 invalid_argument"

code=$(op POST /api/v1/hosts -H 'Content-Type: application/json' -d '{"mac":"52:54:00:00:00:0g","name":"h3"}')
want_status 400 "$code" "a bad MAC"
want_error invalid_argument "a bad MAC"
unchanged "$before" "a bad MAC"
run_cli host add --mac 52:54:00:00:03 --name h3
want_cli 1 "bad MAC" "provisioner host add with a bad MAC"
unchanged "$before" "a bad MAC by the CLI"
ok "bad MAC: 400 invalid_argument; CLI exit 1 ($(cli_err | head -n 1))"

code=$(op POST /api/v1/hosts -H 'Content-Type: application/json' -d '{"mac":"52:54:00:00:00:01","name":"other"}')
want_status 409 "$code" "a duplicate MAC"
want_error conflict "a duplicate MAC"
code=$(op POST /api/v1/hosts -H 'Content-Type: application/json' -d '{"mac":"52:54:00:00:00:09","name":"h1"}')
want_status 409 "$code" "a duplicate name"
want_error conflict "a duplicate name"
unchanged "$before" "duplicates"
run_cli host add --mac 52:54:00:00:00:01 --name other
want_cli 1 "already enrolled" "provisioner host add with a duplicate MAC"
unchanged "$before" "a duplicate MAC by the CLI"
ok "duplicate MAC or name: 409 conflict; CLI exit 1"

for method in GET DELETE; do
    code=$(op "$method" /api/v1/hosts/52:54:00:00:00:77)
    want_status 404 "$code" "$method of an unknown MAC"
    want_error not_found "$method of an unknown MAC"
done
run_cli host show 52:54:00:00:00:77
want_cli 1 "no host with MAC 52:54:00:00:00:77" "provisioner host show of an unknown MAC"
run_cli host remove 52-54-00-00-00-77
want_cli 1 "no host" "provisioner host remove of an unknown MAC"
unchanged "$before" "unknown MACs"
ok "unknown MAC on show/remove: 404 not_found; CLI exit 1"

cat >"$DIR/bad.csv" <<'EOF'
mac,name,ip,rack
52:54:00:00:01:01,c1,,r1
zz:54:00:00:01:02,c2,,r1
52:54:00:00:01:03
52:54:00:00:00:01,c4,,r1
EOF
run_cli host import "$DIR/bad.csv"
want_cli 1 "nothing imported" "provisioner host import of a bad CSV"
for line in 3 4 5; do
    grep -qF "$DIR/bad.csv:$line:" "$DIR/err" || fail "host import: no '$DIR/bad.csv:$line:' message: $(cli_err)"
done
grep -qF "bad.csv:2:" "$DIR/err" && fail "host import blamed the good line 2: $(cli_err)"
unchanged "$before" "a bad CSV"
code=$(op GET /api/v1/hosts/52:54:00:00:01:01)
want_status 404 "$code" "the good line of a refused CSV"
code=$(op POST /api/v1/hosts/import -H 'Content-Type: text/csv' --data-binary @"$DIR/bad.csv")
want_status 400 "$code" "POST /api/v1/hosts/import of a bad CSV"
want_error invalid_argument "POST /api/v1/hosts/import of a bad CSV"
jq -e '[.error.lines[].line] == [3, 4, 5]' "$DIR/body" >/dev/null || fail "the import's lines: $(body)"
unchanged "$before" "a bad CSV by the API"
ok "CSV with bad lines: CLI exit 1 with FILE:LINE: messages, API 400 with lines [3,4,5]; nothing imported"

head -c $((17 << 20)) /dev/zero | tr '\0' 'a' >"$DIR/big.csv"
code=$(op POST /api/v1/hosts/import -H 'Content-Type: text/csv' --data-binary @"$DIR/big.csv")
want_status 413 "$code" "a 17 MiB CSV"
want_error too_large "a 17 MiB CSV"
unchanged "$before" "a 17 MiB CSV"
rm -f "$DIR/big.csv"
python3 -c 'import json; print(json.dumps({"mac": "52:54:00:00:00:09", "name": "n" * (2 << 20)}))' >"$DIR/big.json"
code=$(op POST /api/v1/hosts -H 'Content-Type: application/json' --data-binary @"$DIR/big.json")
want_status 413 "$code" "a 2 MiB JSON body"
want_error too_large "a 2 MiB JSON body"
unchanged "$before" "a 2 MiB JSON body"
code=$(op GET /api/v1/hosts/52:54:00:00:00:09)
want_status 404 "$code" "the host of the 2 MiB body"
ok "17 MiB body: 413 too_large (server limit); 2 MiB JSON: 413 too_large; nothing enrolled"

code=$(op GET /api/v1/no/such/thing)
want_status 404 "$code" "an unknown API path"
want_error not_found "an unknown API path"
code=$(api GET /api/v1/no/such/thing)
[ "$code" = 401 ] || [ "$code" = 404 ] || fail "an unknown API path without a token: HTTP $code"
code=$(op PUT /api/v1/hosts -H 'Content-Type: application/json' -d '{"mac":"52:54:00:00:00:0a","name":"put"}')
want_status 405 "$code" "PUT /api/v1/hosts"
want_error method_not_allowed "PUT /api/v1/hosts"
code=$(op PATCH /api/v1/hosts/h1 -H 'Content-Type: application/json' -d '{"name":"renamed"}')
want_status 405 "$code" "PATCH /api/v1/hosts/h1"
unchanged "$before" "a wrong method"
run_cli --json host show h1
jq -e '.name == "h1"' "$DIR/out" >/dev/null || fail "h1 changed after PATCH: $(head -c 200 "$DIR/out")"
ok "unknown API path: 404 not_found JSON; wrong method: 405 method_not_allowed JSON, nothing changed"

# ---------------------------------------------------------------------------------------------
echo "== 3. discovery"
code=$(api GET /boot/52-54-00-aa-bb-cc.ipxe)
want_status 200 "$code" "the iPXE script of an unknown MAC"
head -n 1 "$DIR/body" | grep -q '^#!ipxe' || fail "not an iPXE script: $(body)"
grep -q 'provisioner.mode=discover' "$DIR/body" || fail "not a discovery script: $(body)"
grep -q 'provisioner.mac=52:54:00:aa:bb:cc' "$DIR/body" || fail "the script names another MAC: $(body)"
grep -q 'provisioner.token=' "$DIR/body" && fail "a discovery script carries a token: $(body)"
run_cli host list
want_cli 0 "" "provisioner host list"
grep -E '52:54:00:aa:bb:cc' "$DIR/out" | grep -qw discovered || fail "host list does not show it discovered: $(cat "$DIR/out")"
cli --json host list | jq -e '.total == 3 and ([.hosts[] | select(.mac == "52:54:00:aa:bb:cc")][0] |
    .state == "discovered" and .name == "discovered-525400aabbcc")' >/dev/null ||
    fail "the discovered host in --json host list: $(cli --json host list | jq -c '.hosts[] | {mac,name,state}')"
ok "GET /boot/52-54-00-aa-bb-cc.ipxe: a discovery script; host list shows discovered-525400aabbcc discovered"
run_cli host accept 52:54:00:aa:bb:cc --name x
want_cli 0 "" "provisioner host accept --name x"
cli --json host show x | jq -e '.state == "enrolled" and .mac == "52:54:00:aa:bb:cc"' >/dev/null ||
    fail "x after accept: $(cli --json host show x | jq -c '{name,mac,state}')"
run_cli host accept x
want_cli 1 "" "accepting an enrolled host"
code=$(op POST /api/v1/hosts/x/accept -H 'Content-Type: application/json' -d '{}')
want_status 409 "$code" "accepting an enrolled host"
want_error illegal_transition "accepting an enrolled host"
ok "host accept --name x enrols it; accepting it again: 409 illegal_transition, CLI exit 1"

# ---------------------------------------------------------------------------------------------
echo "== 4. CLI conventions"
run_cli hots list
want_cli 2 "did you mean 'host'" "provisioner hots list"
ok "provisioner hots list: exit 2, $(cli_err | head -n 1)"
for args in "host list" "image list" "deployment list" "events" "host show h1"; do
    # shellcheck disable=SC2086
    cli --json $args | jq -e 'type == "object"' >/dev/null || fail "provisioner --json $args is not a JSON object"
done
cli --json events | jq -e '.events | length > 0' >/dev/null || fail "no events after enrolling hosts"
ok "--json output of host list/show, image list, deployment list and events parses with jq"
DEAD=$(free_port)
if PROVISIONER_TOKEN=$TOKEN "$BIN/provisioner" --server "http://127.0.0.1:$DEAD" host list >"$DIR/out" 2>"$DIR/err"; then
    RC=0
else RC=$?; fi
want_cli 1 "cannot reach provisionerd at http://127.0.0.1:$DEAD" "the CLI against a dead port"
ok "unreachable server: exit 1, $(cli_err | head -n 1)"

# ---------------------------------------------------------------------------------------------
echo "== 5. images"
head -c $((4 << 20)) /dev/urandom >"$DIR/raw"
"$BIN/imaging" pack "$DIR/raw" "$DIR/t-v1" --key "$STATE/site.key" --name t --version 1 --level 1 >/dev/null ||
    fail "imaging pack with STATE/site.key failed"
run_cli image import "$DIR/t-v1"
want_cli 0 "" "provisioner image import of an image signed with site.key"
run_cli --json image show t@1
jq -e --arg p "$DIR/t-v1" '.name == "t" and .version == "1" and .raw_size == 4194304 and .path == $p' \
    "$DIR/out" >/dev/null || fail "image show t@1: $(head -c 300 "$DIR/out")"
ok "imaging pack signed with STATE/site.key; provisioner image import: t@1 (4 MiB)"

"$BIN/imaging" keygen --out "$DIR/other" >/dev/null || fail "imaging keygen failed"
"$BIN/imaging" pack "$DIR/raw" "$DIR/t-v2" --key "$DIR/other.key" --name t --version 2 --level 1 >/dev/null ||
    fail "imaging pack with another key failed"
run_cli image import "$DIR/t-v2"
want_cli 1 "does not verify with this server's key" "importing an image signed by another key"
code=$(op POST /api/v1/images -H 'Content-Type: application/json' -d "{\"path\":\"$DIR/t-v2\"}")
want_status 400 "$code" "POST /api/v1/images of an image signed by another key"
want_error invalid_argument "an image signed by another key"
cli --json image list | jq -e '.images | length == 1' >/dev/null || fail "the foreign image was registered"
ok "an image signed by another key is refused: $(cli_err | head -n 1 | cut -c 1-110)..."

code=$(op POST /api/v1/templates -H 'Content-Type: application/json' \
    -d '{"path":"/etc/shadow","name":"shadow","version":"1"}')
want_status 403 "$code" "POST /api/v1/templates of /etc/shadow"
want_error forbidden "template add /etc/shadow"
code=$(op POST /api/v1/images -H 'Content-Type: application/json' -d "{\"path\":\"$STATE\"}")
want_status 403 "$code" "POST /api/v1/images of the state directory"
ok "template add /etc/shadow and image import of STATE are refused (403: outside the import directories)"

# ---------------------------------------------------------------------------------------------
echo "== 2 (end). a request body that never finishes"
if ! wait "$SLOW_PID"; then
    SLOW_PID=
    fail "a request with an unfinished body was not closed: $(cat "$DIR/slow.out")"
fi
SLOW_PID=
read -r took _ <"$DIR/slow.out" || fail "slow client: $(cat "$DIR/slow.out")"
python3 -c "import sys; sys.exit(0 if 5 <= $took <= 15 else 1)" ||
    fail "the unfinished request was closed after $took s, expected about 10 s (the request timeout)"
cli --json host show 52:54:00:00:00:5a >/dev/null 2>&1 && fail "the unfinished request enrolled a host"
ok "a request whose body never finishes is closed after $took s; nothing enrolled (waited $((SECONDS - slow_started)) s in all)"

# ---------------------------------------------------------------------------------------------
echo "== 6. a deployment whose agents never come"
run_cli --json deploy --image t@1 --hosts 'rack=r1' --transport delta
want_cli 0 "" "provisioner deploy"
DEP=$(jq -er '.id' "$DIR/out") || fail "deploy --json printed $(head -c 200 "$DIR/out")"
code=$(op GET "/api/v1/deployments/$DEP")
want_status 200 "$code" "GET /api/v1/deployments/$DEP"
jq -e '.state == "running" and .transport == "delta" and .image.name == "t" and (.targets | length) == 2 and
    ([.targets[].state] | unique) == ["pending"] and .counts.pending == 2' "$DIR/body" >/dev/null ||
    fail "deployment $DEP just after deploy: $(body)"
cli --json host list | jq -e '[.hosts[] | select(.rack == "r1") | .state] == ["booting", "booting"]' >/dev/null ||
    fail "h1 and h2 are not booting: $(cli host list)"
ok "deployment $DEP to h1, h2: running, both targets pending, hosts booting"

code=$(api GET /boot/52-54-00-00-00-01.ipxe)
want_status 200 "$code" "h1's iPXE script"
HT1=$(sed -n 's/.*provisioner\.token=\([^ ]*\).*/\1/p' "$DIR/body" | head -n 1)
[ -n "$HT1" ] || fail "h1's iPXE script has no provisioner.token=: $(body)"
grep -q 'provisioner.mode=image' "$DIR/body" || fail "h1's script does not netboot the imaging agent: $(body)"
code=$(api GET /boot/52-54-00-00-00-02.ipxe)
HT2=$(sed -n 's/.*provisioner\.token=\([^ ]*\).*/\1/p' "$DIR/body" | head -n 1)
if [ -z "$HT2" ] || [ "$HT2" = "$HT1" ]; then fail "h2's iPXE script has no token of its own: $(body)"; fi
ok "host tokens from the netboot iPXE scripts (one per host)"

before=$(total)
code=$(api GET /api/v1/hosts -H "Authorization: Bearer $HT1")
want_status 403 "$code" "a host token on GET /api/v1/hosts"
want_error forbidden "a host token on an operator endpoint"
code=$(api POST /api/v1/hosts -H "Authorization: Bearer $HT1" -d '{"mac":"52:54:00:00:00:0b","name":"sneaky"}')
want_status 403 "$code" "a host token on POST /api/v1/hosts"
code=$(api POST /api/v1/tokens -H "Authorization: Bearer $HT1" -d '{"name":"sneaky"}')
want_status 403 "$code" "a host token on POST /api/v1/tokens"
code=$(api DELETE /api/v1/images/t@1 -H "Authorization: Bearer $HT1")
want_status 403 "$code" "a host token on DELETE /api/v1/images/t@1"
code=$(api GET /api/v1/tokens -H "Authorization: Bearer $HT1")
want_status 403 "$code" "a host token on GET /api/v1/tokens"
code=$(api DELETE /api/v1/tokens/admin -H "Authorization: Bearer $HT1")
want_status 403 "$code" "a host token on DELETE /api/v1/tokens/admin"
unchanged "$before" "host-token requests"
ok "a host token on operator endpoints: 403 forbidden, nothing changed"

code=$(api POST /api/v1/agent/hello -H "Authorization: Bearer $TOKEN" -d '{"mac":"52:54:00:00:00:01","mode":"image","facts":{}}')
want_status 403 "$code" "an operator token on /api/v1/agent/hello"
code=$(api POST /api/v1/agent/hello -d '{"mac":"52:54:00:00:00:01","mode":"image","facts":{}}')
want_status 401 "$code" "an image hello without a token"
# The last digit changed (to 0, or to 1 where it was 0: the token must really differ).
forged=${HT1%?}0
[ "$forged" != "$HT1" ] || forged=${HT1%?}1
code=$(api POST /api/v1/agent/hello -H "Authorization: Bearer $forged" -d '{"mac":"52:54:00:00:00:01","mode":"image","facts":{}}')
[ "$code" = 401 ] || [ "$code" = 403 ] || fail "a forged host token on hello: HTTP $code"
code=$(api POST /api/v1/agent/hello -H "Authorization: Bearer $HT1" -d '{"mac":"52:54:00:00:00:02","mode":"image","facts":{}}')
want_status 403 "$code" "h1's token on h2's hello"
want_error forbidden "h1's token on h2's hello"
code=$(op GET "/api/v1/deployments/$DEP")
jq -e '[.targets[].state] | unique == ["pending"]' "$DIR/body" >/dev/null || fail "a refused hello moved a target: $(body)"
ok "on hello: operator token 403, none 401, h1's token for h2's MAC 403 (targets untouched)"

# Still pending after a few orchestrator ticks, before h1's agent says hello.
sleep 1.5
code=$(op GET "/api/v1/deployments/$DEP")
want_status 200 "$code" "GET /api/v1/deployments/$DEP"
jq -e '.state == "running" and .finished_at == null and ([.targets[].state] | unique) == ["pending"]' \
    "$DIR/body" >/dev/null || fail "deployment $DEP after 1.5 s without agents: $(body)"
ok "no agent came: deployment $DEP still running, both targets pending"
# The sender the deployment started (it serves h1 below) must not hold provisionerd's sockets.
for _ in $(seq 50); do pgrep -P "$PVD_PID" -f "imaging serve" >/dev/null && break; sleep 0.1; done
sender=$(pgrep -P "$PVD_PID" -f "imaging serve" | head -n 1)
[ -n "$sender" ] || fail "no delta sender runs for deployment $DEP"
if ss -ltnp | grep ":$PORT " | grep -q "pid=$sender,"; then
    fail "the delta sender (pid $sender) inherited provisionerd's listening socket"
fi
ok "the delta sender holds none of provisionerd's sockets"

code=$(api POST /api/v1/agent/hello -H "Authorization: Bearer $HT1" -d '{"mac":"52:54:00:00:00:01","mode":"image","facts":{}}')
want_status 200 "$code" "h1's hello with its own token"
jq -e --argjson d "$DEP" '.action == "image" and .job.deployment == $d and .job.transport == "delta" and
    .job.image.name == "t"' "$DIR/body" >/dev/null || fail "h1's hello answered $(body)"
DT1=$(jq -r .job.token "$DIR/body")
[[ $DT1 == d* ]] || fail "h1's job carries no deployment token: $(body)"
code=$(api POST /api/v1/agent/hello -H "Authorization: Bearer $DT1" -d '{"mac":"52:54:00:00:00:01","mode":"image","facts":{}}')
want_status 200 "$code" "h1's hello with its deployment token"
code=$(api GET /api/v1/hosts -H "Authorization: Bearer $DT1")
want_status 403 "$code" "a deployment token on GET /api/v1/hosts"
# The ticket again: one of the two hellos was not h1, so h1's part fails and its token ends.
code=$(api POST /api/v1/agent/hello -H "Authorization: Bearer $HT1" -d '{"mac":"52:54:00:00:00:01","mode":"image","facts":{}}')
want_status 401 "$code" "h1's boot ticket used a second time"
cli --json events | jq -e '[.events[].reason] | any(test("boot ticket of deployment [0-9]+ used again"))' >/dev/null ||
    fail "no event for the reused boot ticket"
[ "$(cli --json host show h1 | jq -r .state)" = failed ] || fail "h1 is not failed after its ticket was reused"
code=$(api POST /api/v1/agent/hello -H "Authorization: Bearer $DT1" -d '{"mac":"52:54:00:00:00:01","mode":"image","facts":{}}')
want_status 401 "$code" "h1's deployment token after its part failed"
ok "h1's boot ticket on h1's hello: 200, a job with a deployment token (403 on operator routes); the ticket again: 401, an event, h1 failed, its token over"

run_cli image remove t@1
want_cli 1 "in use" "provisioner image remove of an image in use"
code=$(op DELETE /api/v1/images/t@1)
want_status 409 "$code" "DELETE /api/v1/images/t@1 in use"
want_error conflict "DELETE of an image in use"
cli --json image show t@1 | jq -e '.name == "t"' >/dev/null || fail "t@1 is gone after a refused remove"
ok "image remove of t@1 while deployment $DEP runs: 409 conflict, CLI exit 1 ($(cli_err | head -n 1))"

code=$(op GET "/api/v1/deployments/$DEP")
jq -e '.state == "running" and (.targets[] | select(.name == "h2") | .state == "pending")' "$DIR/body" >/dev/null ||
    fail "deployment $DEP at the end: $(body)"
ok "deployment $DEP still running, h2 (no agent) still pending"

# ---------------------------------------------------------------------------------------------
echo "== 7. listing and revoking operator tokens"
code=$(op GET /api/v1/tokens)
want_status 200 "$code" "GET /api/v1/tokens"
jq -e '[.tokens[].name] == ["admin", "ci", "cli-made", "plain"] and
    all(.tokens[]; keys == ["created_at", "name"] and (.created_at | type == "number"))' \
    "$DIR/body" >/dev/null || fail "GET /api/v1/tokens: $(body)"
for secret in "$TOKEN" "$OFFLINE" "$CLITOKEN" "$PLAIN"; do
    hash=$(printf %s "$secret" | sha256sum | cut -d' ' -f1)
    if grep -qF -e "$secret" -e "$hash" "$DIR/body"; then fail "GET /api/v1/tokens shows a token or its hash"; fi
done
run_cli token list
want_cli 0 "" "provisioner token list"
head -n 1 "$DIR/out" | grep -qE '^NAME +CREATED$' || fail "token list's header: $(head -n 1 "$DIR/out")"
for name in admin ci cli-made plain; do
    grep -qE "^$name +20[0-9]{2}-[0-9]{2}-[0-9]{2} [0-9:]{8}$" "$DIR/out" ||
        fail "token list has no row for $name: $(cat "$DIR/out")"
done
cli --json token list | jq -e '[.tokens[].name] == ["admin", "ci", "cli-made", "plain"]' >/dev/null ||
    fail "provisioner --json token list: $(cli --json token list | head -c 300)"
ok "GET /api/v1/tokens and token list (table, --json): admin, ci, cli-made, plain; no secrets or hashes"

code=$(api GET /api/v1/images -H "Authorization: Bearer $CLITOKEN")
want_status 200 "$code" "cli-made's token before it is revoked"
code=$(op DELETE /api/v1/tokens/cli-made)
want_status 200 "$code" "DELETE /api/v1/tokens/cli-made"
jq -e '.name == "cli-made" and (has("token") | not)' "$DIR/body" >/dev/null || fail "DELETE answered $(body)"
code=$(api GET /api/v1/images -H "Authorization: Bearer $CLITOKEN")
want_status 401 "$code" "cli-made's token on the request after it was revoked"
want_error unauthorized "a revoked token"
ok "DELETE /api/v1/tokens/cli-made: 200; its token gets 401 on the next request (no restart)"

run_cli token revoke plain
want_cli 0 "" "provisioner token revoke plain"
grep -qx "revoked operator token 'plain'" "$DIR/out" || fail "token revoke printed: $(head -c 200 "$DIR/out")"
run_cli --token "$PLAIN" image list
want_cli 1 "" "provisioner image list with the revoked plain token"
code=$(api GET /api/v1/images -H "Authorization: Bearer $PLAIN")
want_status 401 "$code" "plain's token after 'provisioner token revoke plain'"
run_cli --token "$OFFLINE" --json token revoke ci
want_cli 0 "" "the ci token revoking itself"
jq -e '.name == "ci"' "$DIR/out" >/dev/null || fail "token revoke --json printed: $(head -c 200 "$DIR/out")"
code=$(api GET /api/v1/images -H "Authorization: Bearer $OFFLINE")
want_status 401 "$code" "ci's token after revoking itself"
ok "provisioner token revoke: plain (then refused: CLI exit 1, 401), and ci revoking itself"

code=$(op DELETE /api/v1/tokens/nobody)
want_status 404 "$code" "DELETE /api/v1/tokens/nobody"
want_error not_found "revoking an unknown token"
jq -e '.error.message | contains("nobody")' "$DIR/body" >/dev/null || fail "404's message: $(body)"
run_cli token revoke nobody
want_cli 1 "no operator token named nobody" "provisioner token revoke nobody"
code=$(op DELETE /api/v1/tokens/admin)
want_status 409 "$code" "DELETE /api/v1/tokens/admin, the last token"
want_error conflict "revoking the last token"
jq -e '.error.message | contains("last operator token")' "$DIR/body" >/dev/null || fail "409's message: $(body)"
run_cli token revoke admin
want_cli 1 "admin is the last operator token" "provisioner token revoke admin, the last token"
code=$(op GET /api/v1/tokens)
want_status 200 "$code" "the admin token after it was refused revocation"
jq -e '[.tokens[].name] == ["admin"]' "$DIR/body" >/dev/null || fail "tokens at the end: $(body)"
cli --json events | jq -e '[.events[].reason] | index("operator token cli-made revoked") != null' >/dev/null ||
    fail "no event for the revocation of cli-made"
ok "unknown name: 404, CLI exit 1; the last token: 409, CLI exit 1 ($(cli_err | head -n 1 | cut -c 1-70)...); admin still works"

echo "== 8. JSON nested 100,000 deep, on every JSON endpoint"
# Once one unauthenticated request like this killed provisionerd (a stack overflow copying and
# dumping the facts). Now every body is refused by its depth before anything is built from it.
python3 -c 'import sys; d = 100000; sys.stdout.write("{\"mac\":\"52:54:00:00:0d:01\",\"mode\":\"discover\",\"facts\":" + "[" * d + "]" * d + "}")' >"$DIR/deep.json"
python3 -c 'import sys; d = 100000; sys.stdout.write("[" * d + "]" * d)' >"$DIR/deep-bare.json"
before=$(total)
code=$(api POST /api/v1/agent/hello -H 'Content-Type: application/json' --data-binary @"$DIR/deep.json")
want_status 400 "$code" "hello with facts nested 100,000 deep, no token"
jq -e '.error.message | contains("nested deeper")' "$DIR/body" >/dev/null || fail "deep hello's error: $(body)"
for route in /api/v1/agent/hello /api/v1/agent/progress /api/v1/agent/result /api/v1/agent/ready \
             /api/v1/agent/vms /api/v1/guest/report /api/v1/hosts /api/v1/deployments \
             /api/v1/images /api/v1/templates /api/v1/tokens /api/v1/site/diff /api/v1/site/apply \
             /api/v1/vms/recall; do
    for who in none operator; do
        if [ "$who" = operator ]; then
            code=$(op POST "$route" -H 'Content-Type: application/json' --data-binary @"$DIR/deep-bare.json")
        else
            code=$(api POST "$route" -H 'Content-Type: application/json' --data-binary @"$DIR/deep-bare.json")
        fi
        case $code in 4??) ;; *) fail "POST $route ($who) with JSON 100,000 deep: HTTP $code, expected 4xx ($(body))" ;; esac
        grep -q 'internal' "$DIR/body" && fail "POST $route ($who): an internal error reached the client: $(body)"
    done
done
kill -0 "$PVD_PID" 2>/dev/null || fail "provisionerd died on deep JSON"
code=$(api GET /api/v1/health)
want_status 200 "$code" "health after the deep-JSON requests"
unchanged "$before" "deep JSON"
ok "JSON 100,000 deep: 400 on hello (\"nested deeper\"), 4xx on 14 JSON routes with and without a token; health 200; nothing enrolled"

echo "== TLS: the API only over HTTPS, verified by the server's CA; /boot/ over plain HTTP"
for f in ca.key server.key; do
    [ "$(stat -c %a "$STATE/$f")" = 600 ] || fail "$STATE/$f is mode $(stat -c %a "$STATE/$f"), expected 600"
done
openssl verify -CAfile "$STATE/ca.crt" "$STATE/server.crt" >/dev/null || fail "server.crt does not verify against ca.crt"
openssl x509 -in "$STATE/server.crt" -noout -ext subjectAltName | grep -q 'IP Address:127.0.0.1' ||
    fail "server.crt does not name 127.0.0.1"
code=$(curl -s -o "$DIR/body" -w '%{http_code}' --max-time 10 "$PLAIN_URL/api/v1/health")
want_status 403 "$code" "GET /api/v1/health over plain HTTP"
want_error https_required "GET /api/v1/health over plain HTTP"
grep -q "use https://127.0.0.1:$PORT/api/v1/health" "$DIR/body" || fail "the plain-HTTP refusal does not say to use https://: $(body)"
code=$(curl -s -o "$DIR/body" -w '%{http_code}' --max-time 10 -H "Authorization: Bearer $TOKEN" "$PLAIN_URL/api/v1/hosts")
want_status 403 "$code" "GET /api/v1/hosts over plain HTTP, with the operator token"
code=$(curl -s -o "$DIR/body" -w '%{http_code}' --max-time 10 "$PLAIN_URL/boot/52-54-00-00-77-01.ipxe")
want_status 200 "$code" "GET /boot/MAC.ipxe over plain HTTP (iPXE)"
grep -q '^#!ipxe' "$DIR/body" || fail "/boot/ over plain HTTP: not an iPXE script: $(body)"
# Another CA (a man in the middle's): curl and the CLI refuse, and nothing falls back to http.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj /CN=mitm -days 1 \
    -keyout "$DIR/mitm.key" -out "$DIR/mitm.crt" 2>/dev/null || fail "openssl cannot make a CA"
if curl -s --cacert "$DIR/mitm.crt" --max-time 10 "$URL/api/v1/health" >/dev/null; then
    fail "curl trusted the server with another CA"
fi
if PROVISIONER_CA=$DIR/mitm.crt cli host list >"$DIR/out" 2>"$DIR/err"; then RC=0; else RC=$?; fi
want_cli 1 "is not the server you trust .*certificate.*--ca" "the CLI with another CA"
run_cli --ca "$DIR/none.crt" host list
want_cli 1 "cannot read the CA file" "the CLI with a missing --ca"
if PROVISIONER_TOKEN_FILE=$STATE/operator.token "$BIN/provisioner" --server "$PLAIN_URL" host list >"$DIR/out" 2>"$DIR/err"; then RC=0; else RC=$?; fi
want_cli 1 "use https://" "the CLI against http:// of a TLS server"
run_cli --json host list
want_cli 0 "" "the CLI with the server's CA"
ok "API refused over plain HTTP (403 https_required, says https://), /boot/ served; another CA refused by curl and the CLI; keys 0600, SAN 127.0.0.1"

kill -0 "$PVD_PID" 2>/dev/null || fail "provisionerd died during the test"
echo "PASS: HTTP API and CLI: auth, bad input, discovery, CLI conventions, images, pending deployment, token list and revoke, deep JSON, TLS"
