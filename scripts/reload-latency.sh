#!/usr/bin/env bash
# Hot reload latency: the release binary serves copies of the shipped files,
# a scenario file is saved (written beside and renamed over, as editors do)
# SAVES times, and each time a client polling on one keep-alive connection
# measures from the save to the first answer from the new configuration.
# Loopback only; every wait is bounded.
#
#   scripts/reload-latency.sh              # 20 saves
#   SAVES=5 scripts/reload-latency.sh      # quick smoke run
#
# Prints the median and the maximum, in milliseconds. Target: max < 1000 ms.
set -euo pipefail

LOG_TAG=reload-latency
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

SAVES=${SAVES:-20}
PYTHON=${PYTHON:-$(command -v python3)}
command -v curl >/dev/null || die "curl is required"

build_release --bin specmock

PROJECT="$WORK/project"
mkdir -p "$PROJECT"
cp -r "$ROOT/openapi.yaml" "$ROOT/fixtures" "$ROOT/scenarios" "$PROJECT/"
LATENCY="$PROJECT/scenarios/latency.yaml"

cat >"$WORK/latency.py" <<'PY'
"""`save PATH ROUND`: the scenario in which the health probe answers
`round ROUND`, written beside PATH and renamed over it. `measure URL PATH
SAVES`: saves rounds 1..SAVES, each time polling until the probe answers
the new round."""
import http.client, os, statistics, sys, time, urllib.parse

def save(path, round):
    temporary = os.path.join(os.path.dirname(path), ".latency.yaml.tmp")
    with open(temporary, "w") as file:
        file.write("description: which save answered\nrules:\n  - when: { operation: health }\n"
                   f"    respond: {{ status: 200, body: {{ text: \"round {round}\" }} }}\n")
    os.replace(temporary, path)

def measure(url, path, saves):
    address = urllib.parse.urlsplit(url)
    connection = http.client.HTTPConnection(address.hostname, address.port, timeout=5)
    headers = {"X-Mock-Session": "latency", "X-Mock-Scenario": "latency"}

    def answer():
        connection.request("GET", "/.well-known/health", headers=headers)
        return connection.getresponse().read().decode()

    assert answer() == "round 0", answer()
    latencies = []
    for round in range(1, saves + 1):
        save(path, round)
        saved = time.monotonic()
        while answer() != f"round {round}":
            if time.monotonic() - saved > 5:
                sys.exit(f"round {round}: the change was not served within 5 s")
        latencies.append((time.monotonic() - saved) * 1000)
        # Apart, so that each save is a burst of its own.
        time.sleep(0.3)
    each = ", ".join(f"{latency:.0f}" for latency in latencies)
    print(f"reload latency over {saves} saves: median {statistics.median(latencies):.0f} ms, "
          f"max {max(latencies):.0f} ms (each: {each})")

if sys.argv[1] == "save":
    save(sys.argv[2], int(sys.argv[3]))
else:
    measure(sys.argv[2], sys.argv[3], int(sys.argv[4]))
PY

"$PYTHON" "$WORK/latency.py" save "$LATENCY" 0
# Request lines would make this a logging benchmark; the reloads' own lines are kept.
SPECMOCK_LOG=warn,specmock::reload=info start_specmock specmock \
  --spec "$PROJECT/openapi.yaml" --fixtures "$PROJECT/fixtures" --scenarios "$PROJECT/scenarios"
log "specmock at $SPECMOCK_URL (pid $SPECMOCK_PID), $SAVES saves"
"$PYTHON" "$WORK/latency.py" measure "$SPECMOCK_URL" "$LATENCY" "$SAVES"
log "the server's own account of each reload:"
grep -o 'reloaded: .*' "$WORK/specmock.err" >&2 || die "no reload was logged"
