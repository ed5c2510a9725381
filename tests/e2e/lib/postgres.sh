# A PostgreSQL cluster of a test's own, in a directory, reached by a Unix socket there (no TCP,
# no system service): Debian's initdb and pg_ctl (scripts/setup installs postgresql). As root,
# the cluster runs as the postgres user (initdb refuses root).
#
#   pg_up DIR      make and start a cluster in DIR (created, owned by the cluster's user);
#                  sets PG_URL (postgresql:///postgres?host=DIR&user=postgres). Fails (status 1,
#                  a line on stderr) when there is no initdb or the cluster does not start.
#   pg_down        stop it at once (safe to call twice, or when pg_up failed)
#   pg_sql SQL     run SQL with psql on the cluster, unaligned rows on stdout
#
# The caller removes DIR. Settings favour speed over durability (fsync off): a test cluster.

PG_DIR=
PG_URL=
PG_OWNER=

_pg_as_owner() {
    if [ -n "$PG_OWNER" ]; then runuser -u "$PG_OWNER" -- "$@"; else "$@"; fi
}

pg_bin() {
    local bin
    bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
    [ -n "$bin" ] && [ -x "$bin/initdb" ] && echo "$bin"
}

pg_up() {
    local bin
    bin=$(pg_bin) || { echo "pg_up: no initdb under /usr/lib/postgresql/*/bin (scripts/setup installs postgresql)" >&2; return 1; }
    PG_DIR=$1
    mkdir -p "$PG_DIR"
    if [ "$(id -u)" = 0 ]; then
        PG_OWNER=postgres
        id postgres >/dev/null 2>&1 || PG_OWNER=nobody
        chown "$PG_OWNER" "$PG_DIR"
    fi
    _pg_as_owner "$bin/initdb" -D "$PG_DIR/data" -U postgres --auth=trust --no-sync \
        --encoding=UTF8 --locale=C.UTF-8 >"$PG_DIR/initdb.log" 2>&1 ||
        { echo "pg_up: initdb failed: $(tail -n 3 "$PG_DIR/initdb.log")" >&2; return 1; }
    _pg_as_owner "$bin/pg_ctl" start -D "$PG_DIR/data" -w -s -l "$PG_DIR/log" \
        -o "-c listen_addresses='' -k $PG_DIR -c fsync=off -c synchronous_commit=off -c full_page_writes=off" ||
        { echo "pg_up: the cluster did not start: $(tail -n 3 "$PG_DIR/log")" >&2; return 1; }
    PG_URL="postgresql:///postgres?host=$PG_DIR&user=postgres"
}

pg_down() {
    local bin
    [ -n "$PG_DIR" ] && [ -f "$PG_DIR/data/postmaster.pid" ] || return 0
    bin=$(pg_bin) || return 0
    _pg_as_owner "$bin/pg_ctl" stop -D "$PG_DIR/data" -m immediate -s >/dev/null 2>&1 || true
}

pg_sql() {
    psql -X -A -t -q "$PG_URL" -c "$1"
}
