#!/usr/bin/env bash
# Load comparison: specmock against the limits it is measured by, each a bare hyper 1
# server (examples/bare_hyper.rs) answering fixed bytes or writing back the JSON it
# parsed, and specmock serving the spec alone; or, with --soak, a soak of specmock
# alone. Loopback only; every run is bounded by DURATION (or SOAK).
#
#   scripts/load.sh                       # 3 rounds x 10 s per series
#   DURATION=2 ROUNDS=1 scripts/load.sh   # quick smoke run
#   scripts/load.sh --soak 30             # 30 minutes of mixed traffic (same as SOAK=30)
#
# Env: ROUNDS (3), DURATION (10s), WARMUP (3s), THREADS (2), CONNECTIONS (64),
# SESSIONS (64), STARTUP_RUNS (20), SOAK (minutes, decimals allowed; unset: the
# comparison), SOAK_SESSIONS (8).
# Comparison: specmock runs twice, with the shipped files (`default` scenario, one log
# line per request) and with `--spec openapi.yaml` alone (no fixtures, no scenarios).
# POSTs send the signed-in profile fixture as compact JSON (8 KB), in one session or
# spread over SESSIONS. Prints one row per comparison: specmock req/s, the limit's
# req/s, their ratio and the target it has, p50/p99 of each (medians over rounds);
# then per specmock its max RSS and what its journal holds at the end (entries, and
# the bytes of its distinct request bodies, from GET /__mock/status), and the start-up
# time (exec to first answer, embedded inputs, median of STARTUP_RUNS,
# examples/startup_probe.rs). Exits 1 if any answer was not 2xx.
# Soak: wrk sends every HTTP operation of the shipped API in turn (all but
# clear-user, whose signed-out answers are not 2xx), over SOAK_SESSIONS sessions, then
# prints the requests wrk had answered, errors (non-2xx/3xx, socket errors), the
# journal's total (admin API) and whether it equals wrk's count (per operation too),
# violations, and the server's RSS at the start, at its peak and at the end. Exits 1
# if a count disagrees, or on any error or violation.
set -euo pipefail

LOG_TAG=load
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

SOAK=${SOAK:-}
while (($#)); do
  case $1 in
    --soak)
      (($# >= 2)) || die "--soak needs MINUTES"
      SOAK=$2
      shift 2
      ;;
    *) die "unknown argument: $1 (usage: scripts/load.sh [--soak MINUTES])" ;;
  esac
done
[[ -z $SOAK || $SOAK =~ ^[0-9]*\.?[0-9]+$ ]] || die "SOAK is minutes, e.g. 2 or 0.5: got '$SOAK'"

ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-10s}
WARMUP=${WARMUP:-3s}
THREADS=${THREADS:-2}
CONNECTIONS=${CONNECTIONS:-64}
SESSIONS=${SESSIONS:-64}
STARTUP_RUNS=${STARTUP_RUNS:-20}
SOAK_SESSIONS=${SOAK_SESSIONS:-8}
FIXTURE="$ROOT/fixtures/user-signed-in.json"
[[ $DURATION =~ ^[0-9]+$ ]] && DURATION="${DURATION}s"
[[ $WARMUP =~ ^[0-9]+$ ]] && WARMUP="${WARMUP}s"
# Each wrk thread takes its own share of the sessions (see write_post_lua).
((SESSIONS >= THREADS)) || die "SESSIONS ($SESSIONS) must be at least THREADS ($THREADS)"

# ------------------------------------------------------------------ tools and build
need wrk
need jq
command -v curl >/dev/null || die "curl is required"
[[ -f $FIXTURE ]] || die "missing $FIXTURE"

if [[ -n $SOAK ]]; then
  build_release --bin specmock
else
  build_release --bin specmock --example bare_hyper --example startup_probe
fi
PROBE="$TARGET_DIR/release/examples/startup_probe"

# ------------------------------------------------------------------ RSS sampler
# rss_sampler PID FILE -- keeps the largest RSS of PID seen so far in FILE (KiB),
# until PID is gone.
rss_sampler() {
  local pid=$1 file=$2 max=0 kb
  while kill -0 "$pid" 2>/dev/null; do
    kb=$(rss_kb "$pid")
    if ((kb > max)); then max=$kb; echo "$max" >"$file"; fi
    sleep 0.1
  done
}

# ------------------------------------------------------------------ soak mode
# The wrk script: each thread's connections turn through every call in every
# session; the script counts what it sends, per operation. Once the soak time is
# over no connection sends again (delay() holds it), so when wrk stops nothing is in
# flight and its count, what it sent and the journal must all be equal.
write_soak_lua() { # SECONDS
  cat <<LUA
local sessions = $SOAK_SESSIONS
local f = assert(io.open([[$FIXTURE]], "rb"))
local profile = f:read("*a")
f:close()
local calls = {
  { op = "user-snapshot", method = "GET", path = "/user" },
  { op = "update-user", method = "POST", path = "/user/update", body = profile },
  { op = "refresh-user", method = "GET", path = "/user/refresh" },
  { op = "user-update-vanity", method = "POST", path = "/user/update/vanity",
    body = [[{"id":"soak","aesthetics":{"theme":{"dark":true},"font":{"size":14}},"vanityname":"soak"}]] },
  { op = "user-providers", method = "GET", path = "/user/providers" },
  { op = "user-beta-status", method = "POST", path = "/user/beta/status",
    body = [[{"user":"soak","auth0":{"vision":{"continuous":true}}}]] },
  { op = "select-user", method = "POST", path = "/user/select", bearer = true,
    body = [[{"user_id":"soak","email":"soak@example.com","name":"Soak"}]] },
  { op = "health", method = "GET", path = "/.well-known/health" },
}
local threads = {}
function setup(thread)
  thread:set("first_turn", #threads)
  table.insert(threads, thread)
end
function init(args)
  prepared, sent = {}, {}
  for session = 0, sessions - 1 do
    for _, call in ipairs(calls) do
      local headers = { ["X-Mock-Session"] = "soak-" .. session }
      if call.body then headers["Content-Type"] = "application/json" end
      if call.bearer then headers["Authorization"] = "Bearer soak" end
      prepared[#prepared + 1] = { op = call.op, text = wrk.format(call.method, call.path, headers, call.body) }
    end
  end
  turn = first_turn
  -- wrk calls request() once in its first thread to check the request before the
  -- run; that call sends nothing.
  unsent = first_turn == 0 and 1 or 0
  sending_until = os.time() + $1
end
function delay()
  if os.time() >= sending_until then return 3600000 end
  return 0
end
function request()
  local next = prepared[turn % #prepared + 1]
  turn = turn + 1
  if unsent > 0 then
    unsent = unsent - 1
  else
    sent[next.op] = (sent[next.op] or 0) + 1
  end
  return next.text
end
function done(summary, latency, requests)
  local total, by_op = 0, {}
  for _, thread in ipairs(threads) do
    for op, n in pairs(thread:get("sent")) do
      by_op[op] = (by_op[op] or 0) + n
      total = total + n
    end
  end
  io.write(string.format("soak-sent %d\n", total))
  for op, n in pairs(by_op) do io.write(string.format("soak-sent-op %s %d\n", op, n)) end
end
LUA
}

run_soak() {
  local seconds out sent answered non2xx socket journal counts violations op n calls
  local rss_start rss_end problems=()
  seconds=$(awk -v m="$SOAK" 'BEGIN { printf "%d", m * 60 }')
  ((seconds > 0)) || die "SOAK=$SOAK is under a second"
  write_soak_lua "$seconds" >"$WORK/soak.lua"
  # The journal then counts the soak's requests only (not the start-up health check).
  curl -sf -X DELETE -o /dev/null "$SPECMOCK_URL/__mock/journal" || die "cannot clear the journal"
  rss_start=$(rss_kb "$SPECMOCK_PID")
  echo "$rss_start" >"$WORK/rss.max"
  rss_sampler "$SPECMOCK_PID" "$WORK/rss.max" &
  PIDS+=("$!")
  log "soak: $SOAK min of wrk -t$THREADS -c$CONNECTIONS over $SOAK_SESSIONS sessions at $SPECMOCK_URL"
  out="$WORK/soak.wrk"
  # Two seconds past the sending time: the last answers come in, nothing is cut off.
  wrk -t"$THREADS" -c"$CONNECTIONS" -d"$((seconds + 2))s" -s "$WORK/soak.lua" "$SPECMOCK_URL" >"$out"
  rss_end=$(rss_kb "$SPECMOCK_PID")
  kill -0 "$SPECMOCK_PID" 2>/dev/null || die "specmock died during the soak: $(tail -n 20 "$WORK/specmock.err")"

  answered=$(awk '/ requests in / {print $1}' "$out")
  sent=$(awk '$1 == "soak-sent" {print $2}' "$out")
  [[ -n $answered && -n $sent ]] || die "could not parse wrk output: $(cat "$out")"
  non2xx=$(awk '/Non-2xx or 3xx responses:/ {print $NF}' "$out")
  non2xx=${non2xx:-0}
  socket=$(sed -n 's/^ *Socket errors: *//p' "$out")
  journal=$(curl -sf "$SPECMOCK_URL/__mock/journal?limit=1" | jq -r .total) || die "no journal total"
  counts=$(curl -sf "$SPECMOCK_URL/__mock/violations") || die "no violation counts"
  violations=$(jq -r .violating_requests <<<"$counts")

  echo
  echo "soak: $SOAK min, wrk -t$THREADS -c$CONNECTIONS, $SOAK_SESSIONS sessions"
  printf '%-34s %s\n' "requests answered (wrk):" "$answered ($((answered / seconds)) req/s)"
  printf '%-34s %s\n' "requests sent (wrk script):" "$sent"
  printf '%-34s %s\n' "errors, non-2xx/3xx:" "$non2xx"
  printf '%-34s %s\n' "errors, socket:" "${socket:-none}"
  printf '%-34s %s\n' "journal total (admin API):" "$journal"
  printf '%-34s %s\n' "violations:" "$violations"
  printf '%-34s %s\n' "server RSS start/peak/end (MB):" "$(awk -v a="$rss_start" -v b="$(cat "$WORK/rss.max")" \
    -v c="$rss_end" 'BEGIN { printf "%.1f / %.1f / %.1f", a / 1024, b / 1024, c / 1024 }')"
  printf '%-34s %10s %10s\n' "per operation:" "sent" "journal"
  while read -r _ op n; do
    calls=$(jq -r --arg op "$op" '.by_operation[$op].calls // 0' <<<"$counts")
    printf '  %-32s %10s %10s\n' "$op" "$n" "$calls"
    [[ $calls == "$n" ]] || problems+=("$op: $n sent, $calls in the journal")
  done < <(grep '^soak-sent-op ' "$out" | sort -k2)

  [[ $answered == "$sent" ]] || problems+=("wrk had $answered of $sent requests answered")
  [[ $journal == "$sent" ]] || problems+=("the journal holds $journal requests, wrk sent $sent")
  ((non2xx == 0)) || problems+=("$non2xx non-2xx/3xx answers")
  [[ -z $socket ]] || problems+=("socket errors: $socket")
  ((violations == 0)) || problems+=("$violations requests broke the contract")
  if ((${#problems[@]})); then
    printf 'FAILED: %s\n' "${problems[@]}"
    exit 1
  fi
  echo "OK: every request sent was answered and journaled once, none broke the contract"
}

if [[ -n $SOAK ]]; then
  # A log line per request for minutes would fill the disk and measure the logging.
  SPECMOCK_LOG=warn start_specmock specmock
  run_soak
  exit 0
fi

# ------------------------------------------------------------------ comparison mode
# What is measured. A series is one server, path and wrk script, measured once a
# round; a row compares two series. Servers: `shipped` is specmock with the shipped
# files (the `default` scenario answers), `spec_only` specmock with the spec alone;
# `bare_get` and `bare_post` answer fixed bytes (what the shipped mock answers), and
# `bare_echo` parses the body into a serde_json::Value and writes it back.
declare -A SERIES=( # LABEL -> "SERVER PATH WRK-SCRIPT"
  [mock_get]="shipped /user -"
  [bare_get]="bare_get /user -"
  [mock_post]="shipped /user/update post.lua"
  [spec_post]="spec_only /user/update post.lua"
  [bare_echo]="bare_echo /user/update post.lua"
  [bare_post]="bare_post /user/update post.lua"
  [mock_post_sessions]="shipped /user/update sessions.lua"
  [spec_post_sessions]="spec_only /user/update sessions.lua"
  [bare_echo_sessions]="bare_echo /user/update sessions.lua"
)
ORDER=(mock_get bare_get mock_post spec_post bare_echo bare_post
  mock_post_sessions spec_post_sessions bare_echo_sessions)
# request | specmock as | limit | series | limit's series | target ratio, where one is set
ROWS=(
  "GET /user|default|bare fixed bytes|mock_get|bare_get|0.80"
  "POST /user/update|default|no scenarios|mock_post|spec_post|0.80"
  "POST /user/update|no scenarios|bare echo-json|spec_post|bare_echo|0.80"
  "POST /user/update|default|bare echo-json|mock_post|bare_echo|-"
  "POST /user/update|default|bare fixed bytes|mock_post|bare_post|-"
  "POST, $SESSIONS sessions|default|no scenarios|mock_post_sessions|spec_post_sessions|0.80"
  "POST, $SESSIONS sessions|no scenarios|bare echo-json|spec_post_sessions|bare_echo_sessions|0.80"
  "POST, $SESSIONS sessions|default|bare echo-json|mock_post_sessions|bare_echo_sessions|-"
)
MOCKS=(shipped spec_only)
declare -A MOCK_NAME=([shipped]="shipped files, default" [spec_only]="--spec openapi.yaml alone")
declare -A URL=() PID=()

# The fixture as the 8 KB a client sends (it is kept indented for reading).
PROFILE="$WORK/profile.json"
jq -cj . "$FIXTURE" >"$PROFILE"
PROFILE_BYTES=$(wc -c <"$PROFILE")

# measure_startup -- exec to first answer with the embedded inputs, before any
# server runs: sets STARTUP to the probe's summary line
measure_startup() {
  local out
  log "start-up probe: $STARTUP_RUNS runs"
  out=$("$PROBE" --bin "$SPECMOCK" --runs "$STARTUP_RUNS") || die "the start-up probe failed"
  log "start-up runs (ms): $(sed -n 's/^run [0-9]*: \([0-9.]*\) ms$/\1/p' <<<"$out" | tr '\n' ' ')"
  STARTUP=$(tail -n 1 <<<"$out")
}

# start_mock NAME [SPECMOCK ARGS...] -- a specmock, its largest RSS kept in $WORK/NAME.rss
start_mock() {
  local name=$1
  start_specmock "$@"
  URL[$name]=$SPECMOCK_URL
  PID[$name]=$SPECMOCK_PID
  echo 0 >"$WORK/$name.rss"
  rss_sampler "$SPECMOCK_PID" "$WORK/$name.rss" &
  PIDS+=("$!")
  log "specmock $name at $SPECMOCK_URL (pid $SPECMOCK_PID)"
}

# start_servers -- both specmocks, and the bare servers answering what the shipped
# mock answers
start_servers() {
  local get_ct post_ct
  start_mock shipped
  start_mock spec_only --spec openapi.yaml
  get_ct=$(fetch get_user GET "${URL[shipped]}/user")
  post_ct=$(fetch update_user POST "${URL[shipped]}/user/update" \
    -H 'Content-Type: application/json' --data-binary "@$PROFILE")
  log "GET /user body $(wc -c <"$WORK/get_user.body") B ($get_ct);" \
    "POST /user/update sends $PROFILE_BYTES B, gets $(wc -c <"$WORK/update_user.body") B ($post_ct)"
  start_bare bare_get --body-file "$WORK/get_user.body" --content-type "$get_ct"
  start_bare bare_post --body-file "$WORK/update_user.body" --content-type "$post_ct"
  start_bare bare_echo --echo-json
}

# write_post_lua SESSIONS -- wrk script POSTing the profile. With SESSIONS > 1 each
# request names a session in X-Mock-Session. wrk tells a script nothing about its
# connections, so each thread takes its own share of the sessions and its connections
# take them in turn: with as many sessions as connections, that is about one session
# a connection.
write_post_lua() {
  cat <<LUA
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
local f = assert(io.open([[$PROFILE]], "rb"))
wrk.body = f:read("*a")
f:close()
LUA
  (($1 > 1)) || return 0
  cat <<LUA
local sessions, threads = $1, 0
function setup(thread)
  thread:set("me", threads)
  threads = threads + 1
end
function init(args)
  -- Built once: formatting a request per call would load wrk, not the server.
  prepared, turn = {}, 0
  for session = me, sessions - 1, $THREADS do
    local headers = { ["Content-Type"] = "application/json", ["X-Mock-Session"] = "load-" .. session }
    prepared[#prepared + 1] = wrk.format(nil, nil, headers, nil)
  end
end
function request()
  turn = turn % #prepared + 1
  return prepared[turn]
end
LUA
}

mib() { awk -v b="$1" 'BEGIN { printf "%.1f", b / 1048576 }'; } # BYTES
kib() { awk -v b="$1" 'BEGIN { printf "%.1f", b / 1024 }'; }    # BYTES

# print_memory -- each specmock's max RSS, and what its journal holds at the end as
# GET /__mock/status reports it: entries, and the bytes of the distinct request bodies
# they carry; RSS beyond them is what the mock itself takes.
print_memory() {
  local mock status rss held
  echo "specmock memory (max RSS while the script ran; the journal at the end, GET /__mock/status):"
  printf '%-26s | %11s | %15s | %8s | %6s | %17s | %19s\n' "specmock" "max RSS MiB" "journal entries" \
    "retained" "bodies" "bodies held KiB" "RSS beyond them MiB"
  for mock in "${MOCKS[@]}"; do
    status=$(curl -sf "${URL[$mock]}/__mock/status") || die "no status from $mock"
    rss=$(($(cat "$WORK/$mock.rss") * 1024))
    held=$(jq -r .journal.body_bytes <<<"$status")
    printf '%-26s | %11s | %15s | %8s | %6s | %17s | %19s\n' "${MOCK_NAME[$mock]}" "$(mib "$rss")" \
      "$(jq -r .journal.entries_total <<<"$status")" "$(jq -r .journal.retained <<<"$status")" \
      "$(jq -r .journal.bodies <<<"$status")" "$(kib "$held")" "$(mib $((rss - held)))"
  done
}

measure_startup
start_servers
write_post_lua 1 >"$WORK/post.lua"
write_post_lua "$SESSIONS" >"$WORK/sessions.lua"
run_rounds
for mock in "${MOCKS[@]}"; do
  kill -0 "${PID[$mock]}" 2>/dev/null || die "specmock $mock died during the run: $(tail -n 20 "$WORK/$mock.err")"
done

echo
echo "specmock and its limits: $ROUNDS round(s), wrk -t$THREADS -c$CONNECTIONS -d$DURATION" \
  "(after $WARMUP warm-up), medians; POST body $PROFILE_BYTES B"
print_rows
echo
print_memory
echo
echo "specmock start-up to first answer, embedded inputs: $STARTUP"
if [[ -f $WORK/non2xx ]]; then
  echo "WARNING: non-2xx responses during: $(sort -u "$WORK/non2xx" | tr '\n' ' ')"
  exit 1
fi
