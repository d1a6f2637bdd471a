#!/usr/bin/env bash
# Load comparison: specmock vs. a bare hyper 1 server (examples/bare_hyper.rs) that
# answers the very same bytes; or, with --soak, a soak of specmock alone. Loopback
# only; every run is bounded by DURATION (or SOAK).
#
#   scripts/load.sh                       # 3 rounds x 10 s per server per endpoint
#   DURATION=2 ROUNDS=1 scripts/load.sh   # quick smoke run
#   scripts/load.sh --soak 30             # 30 minutes of mixed traffic (same as SOAK=30)
#
# Env: ROUNDS (3), DURATION (10s), WARMUP (3s), THREADS (2), CONNECTIONS (64),
# SOAK (minutes, decimals allowed; unset: the comparison), SOAK_SESSIONS (8).
# Prints: endpoint | specmock req/s | bare req/s | ratio | p50/p99 each (medians over
# rounds), plus specmock start-up-to-first-answer time and its max RSS under load.
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
SOAK_SESSIONS=${SOAK_SESSIONS:-8}
FIXTURE="$ROOT/fixtures/user-signed-in.json"
[[ $DURATION =~ ^[0-9]+$ ]] && DURATION="${DURATION}s"
[[ $WARMUP =~ ^[0-9]+$ ]] && WARMUP="${WARMUP}s"

# ------------------------------------------------------------------ tools and build
# need COMMAND -- installs the Debian package of that name if the command is missing
need() {
  command -v "$1" >/dev/null 2>&1 && return 0
  log "installing $1 (apt-get)"
  local sudo=""
  [[ $(id -u) -ne 0 ]] && sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "$1" >/dev/null
}
need wrk
[[ -z $SOAK ]] || need jq
command -v curl >/dev/null || die "curl is required"
[[ -f $FIXTURE ]] || die "missing $FIXTURE"

if [[ -n $SOAK ]]; then
  build_release --bin specmock
else
  build_release --bin specmock --example bare_hyper
fi
BARE="$TARGET_DIR/release/examples/bare_hyper"

now_ns() { date +%s%N; }

# ------------------------------------------------------------------ RSS sampler
# Keeps the largest RSS of specmock seen so far in $WORK/rss.max (KiB).
rss_sampler() {
  local max=0 kb
  while kill -0 "$SPECMOCK_PID" 2>/dev/null; do
    kb=$(rss_kb "$SPECMOCK_PID")
    if ((kb > max)); then max=$kb; echo "$max" >"$WORK/rss.max"; fi
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
  rss_sampler &
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

# ------------------------------------------------------------------ specmock start-up
if [[ -n $SOAK ]]; then
  # A log line per request for minutes would fill the disk and measure the logging.
  SPECMOCK_LOG=warn start_specmock
  run_soak
  exit 0
fi
t0=$(now_ns)
start_specmock
STARTUP_MS=$(( ($(now_ns) - t0) / 1000000 ))
log "specmock at $SPECMOCK_URL (pid $SPECMOCK_PID), first answer after ${STARTUP_MS} ms"

# ------------------------------------------------------------------ reference bodies
# fetch NAME METHOD PATH [curl args...] -> $WORK/NAME.body, prints the content type
fetch() {
  local name=$1 method=$2 path=$3 out code ctype
  shift 3
  out=$(curl -sS -X "$method" "$@" -o "$WORK/$name.body" \
    -w '%{http_code} %{content_type}' "$SPECMOCK_URL$path")
  code=${out%% *}
  ctype=${out#* }
  [[ $code == 200 ]] || die "$method $path answered $code: $(head -c 400 "$WORK/$name.body")"
  echo "${ctype:-application/json}"
}
GET_CT=$(fetch get_user GET /user)
POST_CT=$(fetch update_user POST /user/update \
  -H 'Content-Type: application/json' --data-binary "@$FIXTURE")
log "GET /user body $(wc -c <"$WORK/get_user.body") B ($GET_CT); POST /user/update body $(wc -c <"$WORK/update_user.body") B ($POST_CT)"

start_bare() { # NAME BODY CT -> prints URL
  "$BARE" --port 0 --body-file "$2" --content-type "$3" >"$WORK/$1.out" 2>"$WORK/$1.err" &
  PIDS+=("$!")
  BARE_LAST_PID=$!
}
start_bare bare_get "$WORK/get_user.body" "$GET_CT"
BARE_GET_URL=$(wait_listening "$WORK/bare_get.out" "$BARE_LAST_PID")
start_bare bare_post "$WORK/update_user.body" "$POST_CT"
BARE_POST_URL=$(wait_listening "$WORK/bare_post.out" "$BARE_LAST_PID")

cat >"$WORK/post.lua" <<LUA
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
local f = assert(io.open([[$FIXTURE]], "rb"))
wrk.body = f:read("*a")
f:close()
LUA

# ------------------------------------------------------------------ RSS under load
echo 0 >"$WORK/rss.max"
rss_sampler &
PIDS+=("$!")

# ------------------------------------------------------------------ wrk runs
to_ms() { # "1.23ms" / "456.00us" / "1.01s" -> milliseconds
  awk -v v="$1" 'BEGIN {
    n = v + 0; u = v; sub(/^[0-9.]+/, "", u)
    if (u == "us") n /= 1000; else if (u == "s") n *= 1000; else if (u == "m") n *= 60000
    printf "%.3f", n }'
}

# run_wrk LABEL URL [lua] -> appends "rps p50ms p99ms" to $WORK/LABEL.samples
run_wrk() {
  local label=$1 url=$2 lua=${3:-} out rps p50 p99 bad
  local args=(-t"$THREADS" -c"$CONNECTIONS" --latency)
  [[ -n $lua ]] && args+=(-s "$lua")
  wrk "${args[@]}" -d"$WARMUP" "$url" >/dev/null
  out="$WORK/$label.$(date +%s%N).wrk"
  wrk "${args[@]}" -d"$DURATION" "$url" >"$out"
  rps=$(awk '/^Requests\/sec:/ {print $2}' "$out")
  p50=$(to_ms "$(awk '$1 == "50%" {print $2}' "$out")")
  p99=$(to_ms "$(awk '$1 == "99%" {print $2}' "$out")")
  bad=$(awk '/Non-2xx or 3xx responses:/ {print $NF}' "$out")
  [[ -n $rps ]] || die "could not parse wrk output for $label: $(cat "$out")"
  if [[ -n $bad ]]; then
    log "WARNING: $label got $bad non-2xx responses"
    echo "$label" >>"$WORK/non2xx"
  fi
  grep -q 'Socket errors' "$out" && log "WARNING: $label: $(grep 'Socket errors' "$out")"
  log "$(printf '%-22s %10s req/s  p50 %8s ms  p99 %8s ms' "$label" "$rps" "$p50" "$p99")"
  echo "$rps $p50 $p99" >>"$WORK/$label.samples"
}

ENDPOINTS=("GET /user" "POST /user/update")
for ((round = 1; round <= ROUNDS; round++)); do
  for i in "${!ENDPOINTS[@]}"; do
    if ((i == 0)); then
      mock=("specmock_get" "$SPECMOCK_URL/user"); bare=("bare_get" "$BARE_GET_URL/user")
    else
      mock=("specmock_post" "$SPECMOCK_URL/user/update" "$WORK/post.lua")
      bare=("bare_post" "$BARE_POST_URL/user/update" "$WORK/post.lua")
    fi
    log "round $round/$ROUNDS: ${ENDPOINTS[$i]}"
    if (((round + i) % 2 == 1)); then
      run_wrk "${mock[@]}"; run_wrk "${bare[@]}"
    else
      run_wrk "${bare[@]}"; run_wrk "${mock[@]}"
    fi
  done
done

# ------------------------------------------------------------------ report
median() { # FILE COLUMN
  awk -v c="$2" '{print $c}' "$1" | sort -g | awk '{a[NR] = $1} END {
    if (NR == 0) { print "nan"; exit }
    if (NR % 2) print a[(NR + 1) / 2]; else print (a[NR / 2] + a[NR / 2 + 1]) / 2 }'
}
RSS_MB=$(awk '{printf "%.1f", $1 / 1024}' "$WORK/rss.max")

echo
echo "specmock vs bare hyper: $ROUNDS round(s), wrk -t$THREADS -c$CONNECTIONS -d$DURATION (after $WARMUP warm-up), medians"
printf '%-18s | %15s | %11s | %6s | %22s | %22s\n' \
  "endpoint" "specmock req/s" "bare req/s" "ratio" "specmock p50/p99 ms" "bare p50/p99 ms"
printf '%s\n' "-------------------+-----------------+-------------+--------+------------------------+-----------------------"
for i in "${!ENDPOINTS[@]}"; do
  if ((i == 0)); then m=specmock_get b=bare_get; else m=specmock_post b=bare_post; fi
  m_rps=$(median "$WORK/$m.samples" 1); b_rps=$(median "$WORK/$b.samples" 1)
  ratio=$(awk -v a="$m_rps" -v b="$b_rps" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }')
  printf '%-18s | %15.0f | %11.0f | %6s | %22s | %22s\n' "${ENDPOINTS[$i]}" "$m_rps" "$b_rps" "$ratio" \
    "$(printf '%.2f/%.2f' "$(median "$WORK/$m.samples" 2)" "$(median "$WORK/$m.samples" 3)")" \
    "$(printf '%.2f/%.2f' "$(median "$WORK/$b.samples" 2)" "$(median "$WORK/$b.samples" 3)")"
done
echo
echo "specmock start-up to first answer: ${STARTUP_MS} ms"
echo "specmock max RSS under load:       ${RSS_MB} MB"
if [[ -f $WORK/non2xx ]]; then
  echo "WARNING: non-2xx responses during: $(sort -u "$WORK/non2xx" | tr '\n' ' ')"
  exit 1
fi
