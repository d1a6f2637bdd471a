# shellcheck shell=bash
# Sourced by scripts/load.sh and scripts/fanout.sh, never run: log lines, a
# work directory and the processes started (both cleaned up on exit), the
# release build, and starting specmock and waiting until it answers.
#
# Set LOG_TAG (the prefix of log lines and of the work directory) before sourcing.

cd "$(dirname "${BASH_SOURCE[0]}")/.." || exit 1
ROOT=$(pwd)
TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}
SPECMOCK="$TARGET_DIR/release/specmock"

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
