#!/usr/bin/env bash
# Load comparison: specmock vs. a bare hyper 1 server (examples/bare_hyper.rs) that
# answers the very same bytes. Loopback only; every run is bounded by DURATION.
#
#   scripts/load.sh                       # 3 rounds x 10 s per server per endpoint
#   DURATION=2 ROUNDS=1 scripts/load.sh   # quick smoke run
#
# Env: ROUNDS (3), DURATION (10s), WARMUP (3s), THREADS (2), CONNECTIONS (64).
# Prints: endpoint | specmock req/s | bare req/s | ratio | p50/p99 each (medians over
# rounds), plus specmock start-up-to-first-answer time and its max RSS under load.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT=$(pwd)

ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-10s}
WARMUP=${WARMUP:-3s}
THREADS=${THREADS:-2}
CONNECTIONS=${CONNECTIONS:-64}
FIXTURE="$ROOT/fixtures/user-signed-in.json"
[[ $DURATION =~ ^[0-9]+$ ]] && DURATION="${DURATION}s"
[[ $WARMUP =~ ^[0-9]+$ ]] && WARMUP="${WARMUP}s"

log() { echo "[load] $*" >&2; }
die() { log "error: $*"; exit 1; }

# ------------------------------------------------------------------ tools and build
if ! command -v wrk >/dev/null 2>&1; then
  log "installing wrk (apt-get)"
  SUDO=""
  [[ $(id -u) -ne 0 ]] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq wrk >/dev/null
fi
command -v curl >/dev/null || die "curl is required"
[[ -f $FIXTURE ]] || die "missing $FIXTURE"

log "cargo build --release --bin specmock --example bare_hyper"
cargo build --release --bin specmock --example bare_hyper
TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}
SPECMOCK="$TARGET_DIR/release/specmock"
BARE="$TARGET_DIR/release/examples/bare_hyper"

# ------------------------------------------------------------------ cleanup
WORK=$(mktemp -d "${TMPDIR:-/tmp}/specmock-load.XXXXXX")
PIDS=()
cleanup() {
  local pid
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

now_ns() { date +%s%N; }

# wait_listening FILE PID -> prints the base URL from the "listening on" line
wait_listening() {
  local file=$1 pid=$2 deadline=$((SECONDS + 20)) url
  while ((SECONDS < deadline)); do
    url=$(sed -n 's#^listening on \(http://[^ ]*\).*#\1#p' "$file" | head -n1)
    [[ -n $url ]] && { echo "${url%/}"; return 0; }
    kill -0 "$pid" 2>/dev/null || die "process $pid exited before listening ($file)"
    sleep 0.002
  done
  die "no 'listening on' line in $file within 20 s"
}

# ------------------------------------------------------------------ specmock start-up
t0=$(now_ns)
"$SPECMOCK" --port 0 --host 127.0.0.1 >"$WORK/specmock.out" 2>"$WORK/specmock.err" &
SPECMOCK_PID=$!
PIDS+=("$SPECMOCK_PID")
SPECMOCK_URL=$(wait_listening "$WORK/specmock.out" "$SPECMOCK_PID")
until curl -sf -o /dev/null --max-time 1 "$SPECMOCK_URL/.well-known/health"; do
  kill -0 "$SPECMOCK_PID" 2>/dev/null || die "specmock died during start-up"
  (($(now_ns) - t0 < 20000000000)) || die "specmock health never answered"
done
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

# ------------------------------------------------------------------ RSS sampler
rss_sampler() {
  local max=0 kb
  while kill -0 "$SPECMOCK_PID" 2>/dev/null; do
    kb=$(awk '/^VmRSS:/ {print $2}' "/proc/$SPECMOCK_PID/status" 2>/dev/null || echo 0)
    if [[ -n $kb ]] && ((kb > max)); then max=$kb; echo "$max" >"$WORK/rss.max"; fi
    sleep 0.1
  done
}
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
