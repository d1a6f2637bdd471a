#!/usr/bin/env bash
# WebSocket fan-out: how fast a POST /user/update reaches live /user/stream
# subscribers, and what an idle stream costs the server (examples/ws_fanout.rs).
# Loopback only; every wait is bounded.
#
#   scripts/fanout.sh                              # 1,000 subscribers per case, 5 rounds
#   SUBSCRIBERS=200 ROUNDS=2 scripts/fanout.sh     # quick smoke run
#   PERF=1 scripts/fanout.sh                       # also perf-record the server
#
# Env: SUBSCRIBERS (1000), ROUNDS (5), SAMPLES (100), CONCURRENCY (100), PERF (0).
# Prints: p50/p99/max delay from the POST to the frame (A: one subscriber per
# session; B: all subscribers in one session), medians over rounds, and the
# server's RSS per idle stream. Targets: B p99 <= 15 ms, <= 50 KB per idle stream.
set -euo pipefail

LOG_TAG=fanout
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

SUBSCRIBERS=${SUBSCRIBERS:-1000}
ROUNDS=${ROUNDS:-5}
SAMPLES=${SAMPLES:-100}
CONCURRENCY=${CONCURRENCY:-100}
PERF=${PERF:-0}

# Both processes hold a descriptor per stream (2 x SUBSCRIBERS streams) and inherit this limit.
NEEDED=$((2 * SUBSCRIBERS + 64))
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
LIMIT=$(ulimit -n)
[[ $LIMIT == unlimited ]] || ((LIMIT >= NEEDED)) || die "open-file limit $LIMIT < $NEEDED needed (hard limit $(ulimit -Hn))"
command -v curl >/dev/null || die "curl is required"

build_release --bin specmock --example ws_fanout
FANOUT="$TARGET_DIR/release/examples/ws_fanout"

# Per-request and per-stream lines at info would make this a logging benchmark.
SPECMOCK_LOG=warn start_specmock specmock
log "specmock at $SPECMOCK_URL (pid $SPECMOCK_PID), open-file limit $LIMIT"

if [[ $PERF == 1 ]]; then
  command -v perf >/dev/null || die "PERF=1 needs perf"
  PERF_DATA="$TARGET_DIR/fanout-perf.data"
  # DWARF unwinding: the release build has no frame pointers, -g alone gives flat stacks.
  perf record --call-graph dwarf,16384 -F 499 -p "$SPECMOCK_PID" -o "$PERF_DATA" 2>"$WORK/perf.err" &
  PERF_PID=$!
  PIDS+=("$PERF_PID")
  sleep 0.5
  kill -0 "$PERF_PID" 2>/dev/null || die "perf record did not start: $(cat "$WORK/perf.err")"
fi

"$FANOUT" --addr "${SPECMOCK_URL#http://}" --subscribers "$SUBSCRIBERS" --rounds "$ROUNDS" \
  --samples "$SAMPLES" --concurrency "$CONCURRENCY" --pid "$SPECMOCK_PID"

if [[ $PERF == 1 ]]; then
  kill -INT "$PERF_PID" 2>/dev/null || true
  wait "$PERF_PID" || true
  echo
  echo "perf: $PERF_DATA (server, whole run incl. connecting); top symbols by self time:"
  perf report -i "$PERF_DATA" --no-children --fields overhead,sym --stdio -g none 2>/dev/null |
    grep -E '^ +[0-9]+\.[0-9]+%' | sed 's/ *$//' | head -n 15 || true
  echo "specmock and tungstenite functions by inclusive time (children, self):"
  perf report -i "$PERF_DATA" --children --sort symbol --stdio -g none 2>/dev/null |
    grep -E '^ +[0-9]+\.[0-9]+%.*(specmock::(websocket|app|scenario|session)|tungstenite::protocol)' |
    sed 's/  */ /g; s/ - - *$//' | head -n 20 || true
fi

kill -0 "$SPECMOCK_PID" 2>/dev/null || die "specmock died during the run: $(tail -n 20 "$WORK/specmock.err")"
if [[ -s $WORK/specmock.err ]]; then
  log "specmock warnings: $(wc -l <"$WORK/specmock.err") line(s); last ones:"
  tail -n 5 "$WORK/specmock.err" >&2
fi
