# The API benchmark's load (tests/bench/api), sourced by every bench that measures the API, so
# that their figures are of the same requests made the same way:
#
#   API_MIX            the request mix: "LABEL PATH" per entry, PATH under the server's URL
#                      (the whole inventory in one answer; one page, what a paging client or
#                      the UI asks for)
#   api_path LABEL     the PATH of API_MIX's entry LABEL
#   api_wrk OUT URL CONNS SECONDS [BEARER] [LUA]
#                      one wrk run (Debian's package) against URL, -t$API_WRK_THREADS (default
#                      2) -cCONNS for SECONDS, its output into OUT; LUA a wrk script. Run
#                      through the command array API_WRK_PREFIX when set (a namespace:
#                      API_WRK_PREFIX=(ip netns exec ns)).
#   api_figures OUT... "REQUESTS/S P50 P99 ERRORS" of one run, or of runs made at the same time
#                      against several servers: requests/s answered 2xx (or 3xx) a second,
#                      summed (a request refused, as when the server's queue is full, is an
#                      error, not a request served); p50 and p99 of all answers, the worst
#                      run's (wrk prints percentiles, not its histogram, so they cannot be
#                      merged); ERRORS "none" or "non-2xx N, socket N" (summed).
#   api_settle HEALTH_URL CA
#                      waits (at most 60 s) until the server answers HEALTH_URL in under 50 ms
#                      three times running, so that the requests a finished wrk run left
#                      queued are served before the next run starts (through API_WRK_PREFIX).

API_MIX=("all /api/v1/hosts" "page /api/v1/hosts?limit=50")

api_path() {
  local entry
  for entry in "${API_MIX[@]}"; do
    [ "${entry%% *}" = "$1" ] && { echo "${entry#* }"; return 0; }
  done
  echo "api_path: no request $1 in API_MIX" >&2
  return 1
}

api_wrk() {
  local out=$1 url=$2 conns=$3 seconds=$4 bearer=${5:-} lua=${6:-}
  local args=(-t"${API_WRK_THREADS:-2}" -c"$conns" -d"${seconds}s" --latency --timeout 30s)
  [ -n "$bearer" ] && args+=(-H "Authorization: Bearer $bearer")
  [ -n "$lua" ] && args+=(-s "$lua")
  "${API_WRK_PREFIX[@]}" wrk "${args[@]}" "$url" >"$out" 2>&1 || true
}

api_figures() {
  python3 - "$@" <<'EOF'
import re, sys
def ms(v):
    m = re.match(r"([\d.]+)(us|ms|s)$", v)
    return float(m.group(1)) * {"us": 0.001, "ms": 1, "s": 1000}[m.group(2)] if m else None
def fmt(v):
    return "-" if v is None else (f"{v:.2f}ms" if v < 10 else f"{v:.1f}ms")
rps, p50, p99, non2xx, socket = 0.0, None, None, 0, 0
for path in sys.argv[1:]:
    text = open(path).read()
    m = re.search(r"(\d+) requests in ([\d.]+)(us|ms|s|m),", text)
    refused = sum(int(x) for x in re.findall(r"Non-2xx or 3xx responses: (\d+)", text))
    if m:
        took = float(m.group(2)) * {"us": 1e-6, "ms": 1e-3, "s": 1, "m": 60}[m.group(3)]
        rps += (int(m.group(1)) - refused) / took if took > 0 else 0
    for pct, worst in (("50%", "p50"), ("99%", "p99")):
        m = re.search(r"^\s*" + pct + r"\s+(\S+)", text, re.M)
        v = ms(m.group(1)) if m else None
        if v is not None:
            if worst == "p50": p50 = v if p50 is None else max(p50, v)
            else: p99 = v if p99 is None else max(p99, v)
    for m in re.finditer(r"Non-2xx or 3xx responses: (\d+)", text): non2xx += int(m.group(1))
    m = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", text)
    if m: socket += sum(int(x) for x in m.groups())
errors = "none" if non2xx + socket == 0 else f"non-2xx {non2xx}, socket {socket}"
print(f"{rps:.0f} {fmt(p50)} {fmt(p99)} {errors}")
EOF
}

api_settle() {
  local fast=0 t
  for _ in $(seq 600); do
    t=$("${API_WRK_PREFIX[@]}" curl -s -o /dev/null -w '%{time_total}' --cacert "$2" "$1" || echo 9)
    if python3 -c "import sys; sys.exit(0 if $t < 0.05 else 1)"; then
      fast=$((fast + 1))
      [ "$fast" -ge 3 ] && return 0
    else
      fast=0
    fi
    sleep 0.1
  done
}
