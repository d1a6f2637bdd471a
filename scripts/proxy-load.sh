#!/usr/bin/env bash
# Proxy overhead: what `specmock --upstream` costs a request, checking both
# directions against the spec, beside nginx's `proxy_pass` (Debian's package) in
# front of the same upstream, and beside the upstream answering directly. The
# upstream is the bare hyper baseline (examples/bare_hyper.rs): for GET /user it
# answers the bytes the shipped mock answers; for POST /user/update it parses the
# 8 KB profile and writes it back (the answer the spec declares). Loopback only;
# every run is bounded by DURATION.
#
#   scripts/proxy-load.sh                       # 3 rounds x 10 s per series
#   DURATION=2 ROUNDS=1 scripts/proxy-load.sh   # quick smoke run
#
# Env: ROUNDS (3), DURATION (10s), WARMUP (3s), THREADS (2), CONNECTIONS (64).
# specmock runs with `--spec openapi.yaml` alone (no scenario answers first, so
# every call goes upstream) and its default logging (a line per request); nginx
# with its default access log, 2 workers (one per core here) and 64 kept-alive
# connections to the upstream. Prints a row per comparison (req/s of each side,
# their ratio, p50/p99 medians over rounds), then the provider violations
# specmock found in the upstream's answers (expected: none). Exits 1 if any answer
# was not 2xx, or if specmock found a violation.
set -euo pipefail

LOG_TAG=proxy-load
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-10s}
WARMUP=${WARMUP:-3s}
THREADS=${THREADS:-2}
CONNECTIONS=${CONNECTIONS:-64}
FIXTURE="$ROOT/fixtures/user-signed-in.json"
[[ $DURATION =~ ^[0-9]+$ ]] && DURATION="${DURATION}s"
[[ $WARMUP =~ ^[0-9]+$ ]] && WARMUP="${WARMUP}s"

need wrk
need jq
need nginx
command -v curl >/dev/null || die "curl is required"
NGINX=$(command -v nginx || echo /usr/sbin/nginx)
[[ -x $NGINX ]] || die "nginx is not installed"
build_release --bin specmock --example bare_hyper

declare -A URL=()
PROFILE="$WORK/profile.json"
jq -cj . "$FIXTURE" >"$PROFILE"
PROFILE_BYTES=$(wc -c <"$PROFILE")

# free_port -> a loopback port nothing listens on (nginx cannot be asked for port 0)
free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# start_nginx -- nginx in the foreground, a server per upstream (NAME -> nginx_NAME)
start_nginx() {
  local conf="$WORK/nginx.conf" name port pid deadline=$((SECONDS + 20))
  mkdir -p "$WORK/nginx"
  {
    # As root nginx would hand its workers to `nobody`, who cannot write in $WORK.
    [[ $(id -u) -eq 0 ]] && echo "user root;"
    cat <<NGINX
worker_processes 2;
pid $WORK/nginx/nginx.pid;
error_log $WORK/nginx/error.log warn;
events { worker_connections 4096; }
http {
  access_log $WORK/nginx/access.log;
  client_body_temp_path $WORK/nginx/body;
  proxy_temp_path $WORK/nginx/proxy;
  fastcgi_temp_path $WORK/nginx/fastcgi;
  uwsgi_temp_path $WORK/nginx/uwsgi;
  scgi_temp_path $WORK/nginx/scgi;
  client_max_body_size 16m;
NGINX
    for name in "$@"; do
      port=$(free_port)
      URL[nginx_$name]="http://127.0.0.1:$port"
      cat <<NGINX
  upstream $name { server ${URL[$name]#http://}; keepalive 64; }
  server {
    listen 127.0.0.1:$port;
    location / {
      proxy_pass http://$name;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
    }
  }
NGINX
    done
    echo "}"
  } >"$conf"
  "$NGINX" -t -c "$conf" -p "$WORK/nginx" -g 'daemon off;' 2>"$WORK/nginx/test.log" ||
    die "nginx rejected its configuration: $(cat "$WORK/nginx/test.log")"
  "$NGINX" -c "$conf" -p "$WORK/nginx" -g 'daemon off;' 2>>"$WORK/nginx/error.log" &
  pid=$!
  PIDS+=("$pid")
  for name in "$@"; do
    # Any answer the upstream gave will do: the echoing one refuses a GET's empty body with 400.
    until [[ ! $(curl -s -o /dev/null --max-time 1 -w '%{http_code}' "${URL[nginx_$name]}/user") =~ ^(000|502)$ ]]; do
      kill -0 "$pid" 2>/dev/null || die "nginx exited: $(tail -n 5 "$WORK/nginx/error.log")"
      ((SECONDS < deadline)) || die "nginx never answered on ${URL[nginx_$name]}"
      sleep 0.05
    done
  done
  log "nginx at ${URL[nginx_get]} and ${URL[nginx_post]} (pid $pid)"
}

# start_proxy NAME UPSTREAM -- specmock serving the spec alone in front of UPSTREAM,
# waited for on its own admin route: its health check goes upstream too, and the
# echoing upstream refuses a GET
start_proxy() {
  local pid deadline=$((SECONDS + 20))
  "$SPECMOCK" --port 0 --host 127.0.0.1 --spec openapi.yaml --upstream "${URL[$2]}" \
    >"$WORK/$1.out" 2>>"$WORK/$1.err" &
  pid=$!
  PIDS+=("$pid")
  URL[$1]=$(wait_listening "$WORK/$1.out" "$pid")
  until curl -sf -o /dev/null --max-time 1 "${URL[$1]}/__mock/status"; do
    kill -0 "$pid" 2>/dev/null || die "specmock exited during start-up: $(tail -n 5 "$WORK/$1.err")"
    ((SECONDS < deadline)) || die "specmock never answered at ${URL[$1]}"
  done
  PROXY_URLS+=("${URL[$1]}")
  log "specmock --upstream ${URL[$2]} at ${URL[$1]} (pid $pid)"
}

PROXY_URLS=()
start_specmock shipped --spec openapi.yaml
get_ct=$(fetch get_user GET "$SPECMOCK_URL/user")
start_bare get --body-file "$WORK/get_user.body" --content-type "$get_ct"
start_bare post --echo-json
start_nginx get post
start_proxy proxy_get get
start_proxy proxy_post post

cat >"$WORK/post.lua" <<LUA
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
local f = assert(io.open([[$PROFILE]], "rb"))
wrk.body = f:read("*a")
f:close()
LUA

declare -A SERIES=( # LABEL -> "SERVER PATH WRK-SCRIPT"
  [get_direct]="get /user -"
  [get_nginx]="nginx_get /user -"
  [get_specmock]="proxy_get /user -"
  [post_direct]="post /user/update post.lua"
  [post_nginx]="nginx_post /user/update post.lua"
  [post_specmock]="proxy_post /user/update post.lua"
)
ORDER=(get_direct get_nginx get_specmock post_direct post_nginx post_specmock)
ROWS=( # request|as|limit|series|limit series|target
  "GET /user|--upstream|nginx proxy_pass|get_specmock|get_nginx|0.5"
  "GET /user|--upstream|upstream direct|get_specmock|get_direct|-"
  "GET /user|nginx|upstream direct|get_nginx|get_direct|-"
  "POST /user/update|--upstream|nginx proxy_pass|post_specmock|post_nginx|-"
  "POST /user/update|--upstream|upstream direct|post_specmock|post_direct|-"
  "POST /user/update|nginx|upstream direct|post_nginx|post_direct|-"
)

run_rounds

echo
echo "proxy overhead: $ROUNDS round(s), wrk -t$THREADS -c$CONNECTIONS -d$DURATION" \
  "(after $WARMUP warm-up), medians; POST body $PROFILE_BYTES B"
print_rows
echo
violations=0
for url in "${PROXY_URLS[@]}"; do
  # The exact count: the entries listed beside it are only those the journal still holds.
  found=$(curl -sf "$url/__mock/violations" | jq -e '.provider_violating_answers') ||
    die "no violations from $url"
  echo "answers with provider violations found by specmock at $url: $found"
  violations=$((violations + found))
done
if [[ -f $WORK/non2xx ]]; then
  echo "WARNING: non-2xx responses during: $(sort -u "$WORK/non2xx" | tr '\n' ' ')"
  exit 1
fi
((violations == 0)) || exit 1
