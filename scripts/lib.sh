# shellcheck shell=bash
# Sourced by scripts/load.sh, scripts/proxy-load.sh and scripts/fanout.sh, never
# run: log lines, a work directory and the processes started (both cleaned up on
# exit), the release build, starting specmock and the bare hyper baseline and
# waiting until they answer, and wrk series measured in rounds and tabled.
#
# Set LOG_TAG (the prefix of log lines and of the work directory) before sourcing.

cd "$(dirname "${BASH_SOURCE[0]}")/.." || exit 1
ROOT=$(pwd)
TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}
SPECMOCK="$TARGET_DIR/release/specmock"
BARE="$TARGET_DIR/release/examples/bare_hyper"

log() { echo "[$LOG_TAG] $*" >&2; }
die() { log "error: $*"; exit 1; }

WORK=$(mktemp -d "${TMPDIR:-/tmp}/specmock-$LOG_TAG.XXXXXX")
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

# build_release CARGO_ARGS... -- what to build, e.g. --bin specmock --example ws_fanout
build_release() {
  log "cargo build --release $*"
  cargo build --release "$@"
}

# wait_listening FILE PID -> prints the base URL from the "listening on" line
wait_listening() {
  local file=$1 pid=$2 deadline=$((SECONDS + 20)) url
  while ((SECONDS < deadline)); do
    # The file appears once the process started in the background has opened it.
    url=""
    [[ -f $file ]] && url=$(sed -n 's#^listening on \(http://[^ ]*\).*#\1#p' "$file" | head -n1)
    [[ -n $url ]] && { echo "${url%/}"; return 0; }
    kill -0 "$pid" 2>/dev/null || die "process $pid exited before listening ($file)"
    sleep 0.002
  done
  die "no 'listening on' line in $file within 20 s"
}

# start_specmock NAME [SPECMOCK ARGS...] -- the release binary on a free loopback port
# (with no ARGS: the shipped files, found beside ./openapi.yaml), its output in $WORK
# (NAME.out, NAME.err), waited for until its health check answers. Sets SPECMOCK_PID
# and SPECMOCK_URL. The environment passes through (SPECMOCK_LOG=warn start_specmock x).
start_specmock() {
  local name=$1 deadline=$((SECONDS + 20))
  shift
  # NAME.err is opened for appending, so that it can be emptied while specmock runs.
  "$SPECMOCK" --port 0 --host 127.0.0.1 "$@" >"$WORK/$name.out" 2>>"$WORK/$name.err" &
  SPECMOCK_PID=$!
  PIDS+=("$SPECMOCK_PID")
  SPECMOCK_URL=$(wait_listening "$WORK/$name.out" "$SPECMOCK_PID")
  until curl -sf -o /dev/null --max-time 1 "$SPECMOCK_URL/.well-known/health"; do
    kill -0 "$SPECMOCK_PID" 2>/dev/null || die "specmock exited during start-up: $(tail -n 5 "$WORK/$name.err")"
    ((SECONDS < deadline)) || die "specmock health never answered"
  done
}

# rss_kb PID -> the process's resident set size in KiB, 0 once it is gone
rss_kb() {
  awk '/^VmRSS:/ {kb = $2} END {print kb + 0}' "/proc/$1/status" 2>/dev/null || echo 0
}

# need COMMAND -- installs the Debian package of that name if the command is missing
need() {
  command -v "$1" >/dev/null 2>&1 && return 0
  log "installing $1 (apt-get)"
  local sudo=""
  [[ $(id -u) -ne 0 ]] && sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "$1" >/dev/null
}

to_ms() { # "1.23ms" / "456.00us" / "1.01s" -> milliseconds
  awk -v v="$1" 'BEGIN {
    n = v + 0; u = v; sub(/^[0-9.]+/, "", u)
    if (u == "us") n /= 1000; else if (u == "s") n *= 1000; else if (u == "m") n *= 60000
    printf "%.3f", n }'
}

# run_wrk LABEL -- one measurement of a series: appends "rps p50ms p99ms" to
# $WORK/LABEL.samples
run_wrk() {
  local label=$1 server path script out rps p50 p99 bad
  # shellcheck disable=SC2153 # SERIES is the caller's table
  read -r server path script <<<"${SERIES[$label]}"
  local args=(-t"$THREADS" -c"$CONNECTIONS" --latency)
  [[ $script != - ]] && args+=(-s "$WORK/$script")
  wrk "${args[@]}" -d"$WARMUP" "${URL[$server]}$path" >/dev/null
  out="$WORK/$label.$(date +%s%N).wrk"
  wrk "${args[@]}" -d"$DURATION" "${URL[$server]}$path" >"$out"
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
  log "$(printf '%-20s %10s req/s  p50 %8s ms  p99 %8s ms' "$label" "$rps" "$p50" "$p99")"
  echo "$rps $p50 $p99" >>"$WORK/$label.samples"
  # A log line a request adds up to gigabytes over a full run: only the last run's
  # lines are kept (the file is open for appending, so emptying it is safe).
  : >"$WORK/$server.err"
}

# run_rounds -- every series once a round, in reverse order every other round so
# that a drift of the machine's speed does not favour one side of a row
run_rounds() {
  local round label order i
  for ((round = 1; round <= ROUNDS; round++)); do
    order=("${ORDER[@]}")
    if ((round % 2 == 0)); then
      for ((i = 0; i < ${#ORDER[@]}; i++)); do order[i]=${ORDER[${#ORDER[@]} - 1 - i]}; done
    fi
    log "round $round/$ROUNDS"
    for label in "${order[@]}"; do run_wrk "$label"; done
  done
}

median() { # FILE COLUMN
  awk -v c="$2" '{print $c}' "$1" | sort -g | awk '{a[NR] = $1} END {
    if (NR == 0) { print "nan"; exit }
    if (NR % 2) print a[(NR + 1) / 2]; else print (a[NR / 2] + a[NR / 2 + 1]) / 2 }'
}

latencies() { # LABEL -> "p50/p99", medians over rounds
  printf '%.2f/%.2f' "$(median "$WORK/$1.samples" 2)" "$(median "$WORK/$1.samples" 3)"
}

# print_rows -- a table row per ROWS entry "request|as|limit|series|limit series|target":
# the medians over rounds of both series, their ratio, and the target it has
print_rows() {
  local row request as limit series limit_series target rps limit_rps ratio
  printf '%-20s | %-12s | %-16s | %9s | %9s | %5s | %6s | %13s | %13s\n' "request" "specmock" "limit" \
    "req/s" "limit r/s" "ratio" "target" "p50/p99 ms" "limit p50/p99"
  printf '%s\n' "---------------------+--------------+------------------+-----------+-----------+-------+--------+---------------+--------------"
  for row in "${ROWS[@]}"; do
    IFS='|' read -r request as limit series limit_series target <<<"$row"
    rps=$(median "$WORK/$series.samples" 1)
    limit_rps=$(median "$WORK/$limit_series.samples" 1)
    ratio=$(awk -v a="$rps" -v b="$limit_rps" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }')
    [[ $target == - ]] || target=">=$target"
    printf '%-20s | %-12s | %-16s | %9.0f | %9.0f | %5s | %6s | %13s | %13s\n' "$request" "$as" "$limit" \
      "$rps" "$limit_rps" "$ratio" "$target" "$(latencies "$series")" "$(latencies "$limit_series")"
  done
}

# start_bare NAME [BARE ARGS...]
start_bare() {
  local name=$1 pid
  shift
  "$BARE" --port 0 "$@" >"$WORK/$name.out" 2>"$WORK/$name.err" &
  pid=$!
  PIDS+=("$pid")
  # shellcheck disable=SC2004 # URL is the caller's associative array
  URL[$name]=$(wait_listening "$WORK/$name.out" "$pid")
}

# fetch NAME METHOD URL [curl args...] -> $WORK/NAME.body, prints the content type
fetch() {
  local name=$1 method=$2 url=$3 out code ctype
  shift 3
  out=$(curl -sS -X "$method" "$@" -o "$WORK/$name.body" -w '%{http_code} %{content_type}' "$url")
  code=${out%% *}
  ctype=${out#* }
  [[ $code == 200 ]] || die "$method $url answered $code: $(head -c 400 "$WORK/$name.body")"
  echo "${ctype:-application/json}"
}
