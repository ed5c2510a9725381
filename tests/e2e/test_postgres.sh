#!/usr/bin/env bash
# Two provisionerd sharing one PostgreSQL (issue 20, item 2: any server answers). A real
# cluster started by the test in a temporary directory (lib/postgres.sh); servers A and B on
# 127.0.0.1, one site (B's state directory gets A's signing key and CA before its init, so
# images and certificates are the same site's). Checks: hosts enrolled on A are listed by B,
# whose host-list cache was warm (data_version across servers); an image imported on A and a
# deployment started on A are seen by B with the same targets; both servers return the same
# event log, without a duplicate; a token revoked through B is refused by A; B restarted while
# A runs leaves A's running deployment alone; the CLI given A,B fails over to B when A is
# killed (kill -9) and keeps answering; B restarted alone recovers the dead server's deployment
# once (hosts failed and deployable, one event each).
#
# Run by CTest with PROVISIONER_BIN and PROVISIONER_SOURCE. Needs root (exit 77 otherwise),
# postgresql (initdb, pg_ctl, psql), curl, jq, python3. About 10 s. PG_KEEP=1 keeps the
# scratch directory.
set -euo pipefail

[ "$(id -u)" = 0 ] || { echo "SKIP: needs root" >&2; exit 77; }
BIN=${PROVISIONER_BIN:?set PROVISIONER_BIN to the bin directory of the build}
SRC=${PROVISIONER_SOURCE:?set PROVISIONER_SOURCE to the repository}
source "$SRC/tests/e2e/lib/postgres.sh"

DIR=$(mktemp -d "${TMPDIR:-/tmp}/test_postgres.$$.XXXXXX")
chmod 755 "$DIR"
A_PID=
B_PID=

fail() {
    echo "FAIL: $*" >&2
    for s in a b; do
        if [ -s "$DIR/$s.err" ]; then
            echo "--- provisionerd $s's last log lines:" >&2
            tail -n 6 "$DIR/$s.err" >&2
        fi
    done
    exit 1
}
ok() { echo "ok: $*"; }

stop_pid() {
    local pid=$1 i
    [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || return 0
    kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < 50; i++)); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
}

cleanup() {
    local rc=$? pid
    trap - EXIT
    stop_pid "$A_PID"
    stop_pid "$B_PID"
    for pid in $(pgrep -f -- "$DIR/" 2>/dev/null || true); do
        [ "$pid" = $$ ] || kill -KILL "$pid" 2>/dev/null || true
    done
    pg_down
    if [ "${PG_KEEP:-0}" = 1 ]; then echo "kept $DIR" >&2; else rm -rf "$DIR"; fi
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

for tool in curl jq python3 psql; do
    command -v "$tool" >/dev/null || fail "missing tool: $tool"
done
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

started=$SECONDS
pg_up "$DIR/pg" || fail "no PostgreSQL cluster"
ok "PostgreSQL cluster in $DIR/pg ($PG_URL)"

A=$DIR/a
B=$DIR/b
"$BIN/provisionerd" init --state-dir "$A" --database "$PG_URL" >"$DIR/init-a.out" 2>&1 ||
    fail "init A: $(cat "$DIR/init-a.out")"
mkdir -p "$B"
cp -p "$A/site.key" "$A/site.pub" "$A/ca.key" "$A/ca.crt" "$B/"
"$BIN/provisionerd" init --state-dir "$B" --database "$PG_URL" >"$DIR/init-b.out" 2>&1 ||
    fail "init B: $(cat "$DIR/init-b.out")"
[ ! -e "$B/operator.token" ] || fail "B's init made a second first token: the database has one"
TOKEN_FILE=$A/operator.token
export PROVISIONER_CA=$A/ca.crt

A_PORT=$(free_port)
B_PORT=$(free_port)
A_URL=https://127.0.0.1:$A_PORT
B_URL=https://127.0.0.1:$B_PORT

# start NAME STATE PORT: a provisionerd on the shared database; its pid in ${NAME^}_PID.
start() {
    local name=$1 state=$2 port=$3 pid i
    "$BIN/provisionerd" --state-dir "$state" --database "$PG_URL" --listen "127.0.0.1:$port" \
        --delta-port "$(free_port)" --import-dir "$DIR" >>"$DIR/$name.out" 2>>"$DIR/$name.err" &
    pid=$!
    for ((i = 0; i < 100; i++)); do
        kill -0 "$pid" 2>/dev/null || fail "provisionerd $name exited: $(tail -n 3 "$DIR/$name.err")"
        curl -sf --cacert "$PROVISIONER_CA" "https://127.0.0.1:$port/api/v1/health" >/dev/null 2>&1 && break
        sleep 0.1
    done
    [ "$name" = a ] && A_PID=$pid || B_PID=$pid
}
# cli SERVER ARGS...: the CLI against SERVER (one URL or URL,URL) with A's operator token.
cli() {
    local server=$1
    shift
    PROVISIONER_TOKEN_FILE=$TOKEN_FILE "$BIN/provisioner" --server "$server" "$@"
}

start a "$A" "$A_PORT"
start b "$B" "$B_PORT"
ok "provisionerd A on $A_URL and B on $B_URL share the database"

# ---------------------------------------------------------------------------------------------
echo "== inventory: enrol on A, list on B"
[ "$(cli "$B_URL" --json host list | jq -r .total)" = 0 ] || fail "B lists hosts before any enrolment"
for i in 1 2; do
    cli "$A_URL" host add --mac "52:54:00:00:00:0$i" --name "h$i" --rack r1 >/dev/null ||
        fail "host add h$i on A"
done
listed=$(cli "$B_URL" --json host list | jq -c '[.hosts[].name]')
[ "$listed" = '["h1","h2"]' ] || fail "B lists $listed after A enrolled h1, h2 (a stale host-list cache?)"
cli "$B_URL" host add --mac 52:54:00:00:00:01 --name dup >/dev/null 2>"$DIR/err" &&
    fail "B enrolled a MAC A had enrolled"
grep -q "already enrolled as h1" "$DIR/err" || fail "B's refusal of a duplicate MAC: $(cat "$DIR/err")"
ok "h1, h2 enrolled on A are listed by B (its cache was warm); a duplicate MAC is refused by B"

# ---------------------------------------------------------------------------------------------
echo "== images and deployments"
head -c $((2 << 20)) /dev/urandom >"$DIR/raw"
"$BIN/imaging" pack "$DIR/raw" "$DIR/t-v1" --key "$A/site.key" --name t --version 1 --level 1 >/dev/null ||
    fail "imaging pack"
cli "$A_URL" image import "$DIR/t-v1" >/dev/null || fail "image import on A"
cli "$B_URL" --json image show t@1 | jq -e '.name == "t" and .raw_size == 2097152' >/dev/null ||
    fail "B does not show image t@1"
DEP=$(cli "$A_URL" --json deploy --image t@1 --hosts 'rack=r1' --transport delta | jq -er .id) ||
    fail "deploy on A"
curl -sf --cacert "$PROVISIONER_CA" -H "Authorization: Bearer $(cat "$TOKEN_FILE")" \
    "$B_URL/api/v1/deployments/$DEP" >"$DIR/dep-b.json" || fail "GET deployment $DEP on B"
jq -e '.state == "running" and (.targets | length) == 2 and .image.name == "t"' "$DIR/dep-b.json" >/dev/null ||
    fail "deployment $DEP on B: $(head -c 300 "$DIR/dep-b.json")"
states=$(cli "$B_URL" --json host list | jq -c '[.hosts[].state]')
[ "$states" = '["booting","booting"]' ] || fail "B lists host states $states during A's deployment"
ok "image t@1 imported on A and deployment $DEP started on A are seen by B (2 targets, hosts booting)"

# ---------------------------------------------------------------------------------------------
echo "== events and tokens"
cli "$A_URL" --json events >"$DIR/events-a.json" || fail "events on A"
cli "$B_URL" --json events >"$DIR/events-b.json" || fail "events on B"
cmp -s <(jq -c .events "$DIR/events-a.json") <(jq -c .events "$DIR/events-b.json") ||
    fail "A and B return different event logs"
jq -e '([.events[] | select(.host != null)] | length) == 4 and
       ([.events[].id] | unique | length) == (.events | length)' "$DIR/events-a.json" >/dev/null ||
    fail "expected 4 host events (2 enrolled, 2 booting), ids distinct: $(jq -c '[.events[] | [.id, .host, .to, .reason]]' "$DIR/events-a.json")"
SECOND=$(cli "$A_URL" token create second | tail -n 1)
[ -n "$SECOND" ] || fail "token create on A printed nothing"
PROVISIONER_TOKEN=$SECOND "$BIN/provisioner" --server "$B_URL" host list >/dev/null ||
    fail "B refuses the token A made"
cli "$B_URL" token revoke second >/dev/null || fail "token revoke on B"
PROVISIONER_TOKEN=$SECOND "$BIN/provisioner" --server "$A_URL" host list >/dev/null 2>&1 &&
    fail "A still takes the token revoked through B"
ok "A and B return the same event log (4 host events, distinct ids); a token made on A works on B, revoked on B is refused by A"

# ---------------------------------------------------------------------------------------------
echo "== B restarts while A runs; A is killed; the CLI fails over"
stop_pid "$B_PID"
start b "$B" "$B_PORT"
grep -q "another provisionerd shares the database" "$DIR/b.err" ||
    fail "B did not notice A on the database at its restart"
[ "$(cli "$A_URL" --json deployment show "$DEP" | jq -r .state)" = running ] ||
    fail "B's restart touched A's running deployment $DEP"
ok "B restarted beside A: A's deployment $DEP is still running"

DEAD=$(free_port)
cli "https://127.0.0.1:$DEAD,$B_URL" host list >/dev/null || fail "the CLI did not fail over from a dead port to B"
kill -KILL "$A_PID"
wait "$A_PID" 2>/dev/null || true
A_PID=
killed_at=$SECONDS
listed=$(cli "$A_URL,$B_URL" --json host list | jq -c '[.hosts[].name]') || fail "the CLI given A,B after kill -9 of A"
[ "$listed" = '["h1","h2"]' ] || fail "after A's kill, A,B lists $listed"
PROVISIONER_SERVER="$A_URL,$B_URL" PROVISIONER_TOKEN_FILE=$TOKEN_FILE "$BIN/provisioner" \
    host add --mac 52:54:00:00:00:03 --name h3 --rack r2 >/dev/null || fail "enrol through \$PROVISIONER_SERVER=A,B"
ok "the CLI fails over: a dead port then B; after kill -9 of A, A,B answers (list, and enrol h3 by \$PROVISIONER_SERVER)"

stop_pid "$B_PID"
start b "$B" "$B_PORT"
cli "$B_URL" --json deployment show "$DEP" | jq -e '.state == "interrupted"' >/dev/null ||
    fail "B alone did not recover the dead server's deployment $DEP"
states=$(cli "$B_URL" --json host list | jq -c '[.hosts[] | [.name, .state]]')
[ "$states" = '[["h1","failed"],["h2","failed"],["h3","enrolled"]]' ] || fail "after recovery: $states"
cli "$B_URL" --json events >"$DIR/events-end.json" || fail "events on B at the end"
jq -e '([.events[].id] | unique | length) == (.events | length) and
       ([.events[] | select(.to == "failed")] | length) == 2' "$DIR/events-end.json" >/dev/null ||
    fail "events after recovery: $(jq -c '[.events[] | [.id, .host, .to]]' "$DIR/events-end.json")"
ok "B restarted alone: deployment $DEP interrupted, h1 and h2 failed (one event each), h3 untouched"

echo "PASS: test_postgres ($((SECONDS - started)) s)"
