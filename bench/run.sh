#!/usr/bin/env bash
# Side-by-side load test on this machine: a backend (NGINX returning fixed bodies), NGINX and HAProxy as
# proxies to it, NGINX configured like the gateway's full chain (arm "nginxfull": access log, limit_req, an API-key
# check through map), the gateway with a bare route and with the full chain (API key, rate limit, access log), the
# bare route on Kestrel's HTTP/1.1 codec (arm "kestrel"), the bare route answered from its response cache (arm
# "cachehit"), the full chain with a CORS policy and a request and response transform on (arm "edge", sent an
# Origin as a browser would), the full chain with metrics, traces and the access log all off ("quiet") and all on
# ("observed"), and the backend directly.
# Arms run in alternating rounds; the medians, the CPU time per request, the ratios and the goals are printed.
#
#   bench/run.sh                 full run (about 10 minutes)
#   bench/run.sh --smoke         a few seconds per arm, one round (CI), no thresholds
#   ROUNDS=5 DURATION=15 bench/run.sh
#   BEFORE=<git revision> bench/run.sh   also builds that revision and runs its bare route and full chain
#                                        (arms "before" and "beforefull"): a before/after in the same run
set -euo pipefail
cd "$(dirname "$0")/.."

SMOKE=0
[ "${1:-}" = "--smoke" ] && SMOKE=1
ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-10}
CONNECTIONS=${CONNECTIONS:-32}
PAYLOADS=${PAYLOADS:-"100 16384 1048576 post"}
if [ "$SMOKE" = 1 ]; then ROUNDS=1; DURATION=2; PAYLOADS="100 post"; fi

need() { command -v "$1" >/dev/null 2>&1; }
if ! need nginx || ! need haproxy || ! need wrk || ! need h2load; then
  echo "installing nginx haproxy wrk nghttp2-client"
  (apt-get update -qq && apt-get install -y -qq nginx haproxy wrk nghttp2-client) >/dev/null
  (service nginx stop; service haproxy stop) >/dev/null 2>&1 || true
fi

WORK=$(mktemp -d)
PIDS=()
cleanup() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  [ -d "$WORK/before-src" ] && git worktree remove --force "$WORK/before-src" >/dev/null 2>&1
  rm -rf "$WORK"
}
trap cleanup EXIT

BACKEND=19100; NGINX=19101; HAPROXY=19102; BARE=19103; FULL=19104; H2=19105; NGINX_H2=19106; KESTREL=19107; NGINX_FULL=19110; CACHED=19111; EDGE=19112; QUIET=19113; OBSERVED=19114
BEFORE_BARE=19108; BEFORE_FULL=19109
BEFORE=${BEFORE:-}
KEY=bench_key_0123456789abcdef

# --- backend: NGINX answering fixed bodies ---------------------------------------------------------
head -c 100 /dev/zero | tr '\0' 'a' > "$WORK/b100"
head -c 16384 /dev/zero | tr '\0' 'a' > "$WORK/b16384"
head -c 1048576 /dev/zero | tr '\0' 'a' > "$WORK/b1048576"
# NGINX workers run as an unprivileged user: the bodies must be readable by them.
chmod 755 "$WORK"; chmod 644 "$WORK"/b*
cat > "$WORK/backend.conf" <<CONF
worker_processes 1; daemon off; pid $WORK/backend.pid; error_log /dev/null crit;
events { worker_connections 4096; }
http {
  access_log off; keepalive_requests 1000000; keepalive_timeout 300s;
  server {
    listen 127.0.0.1:$BACKEND reuseport backlog=4096;
    location / { root $WORK; default_type text/plain; try_files \$uri =404; }
    location = /post { client_max_body_size 10m; client_body_buffer_size 64k; return 200 "ok"; }
    # The "observed" arm's trace collector: takes OTLP/HTTP batches and drops them.
    location = /v1/traces { client_max_body_size 64m; client_body_buffer_size 1m; return 200; }
  }
}
CONF
nginx -c "$WORK/backend.conf" -p "$WORK" & PIDS+=($!); BACKEND_PID=$!

# --- NGINX as a proxy ----------------------------------------------------------------------------
cat > "$WORK/nginx.conf" <<CONF
worker_processes 1; daemon off; pid $WORK/nginx.pid; error_log /dev/null crit;
events { worker_connections 4096; }
http {
  access_log off; keepalive_requests 1000000; keepalive_timeout 300s;
  upstream backend { server 127.0.0.1:$BACKEND; keepalive 64; }
  server {
    listen 127.0.0.1:$NGINX reuseport backlog=4096;
    listen 127.0.0.1:$NGINX_H2 http2;
    location / { proxy_pass http://backend; proxy_http_version 1.1; proxy_set_header Connection ""; client_max_body_size 10m; }
  }
}
CONF
nginx -c "$WORK/nginx.conf" -p "$WORK" & PIDS+=($!); NGINX_PID=$!

# --- NGINX configured like the gateway's full chain ------------------------------------------------
# The same work as the gateway's full arm: the API key checked (a map; 401 without it) and kept from the backend, a
# rate limit per client address and one per key (limits too high to refuse anything), a request id, forwarding and
# identity headers, and a JSON access line per request, buffered as the gateway's log writer buffers.
cat > "$WORK/nginx-full.conf" <<CONF
worker_processes 1; daemon off; pid $WORK/nginx-full.pid; error_log /dev/null crit;
events { worker_connections 4096; }
http {
  keepalive_requests 1000000; keepalive_timeout 300s;
  map \$http_x_api_key \$api_client { default ""; "$KEY" bench; }
  limit_req_zone \$binary_remote_addr zone=per_ip:10m rate=1000000000r/s;
  limit_req_zone \$api_client zone=per_key:10m rate=1000000000r/s;
  log_format gateway escape=json '{"ts":"\$time_iso8601","level":"info","type":"access","request_id":"\$request_id",'
    '"client_ip":"\$remote_addr","method":"\$request_method","path":"\$uri","status":\$status,"duration_ms":\$request_time,'
    '"upstream_ms":"\$upstream_response_time","bytes_in":\$request_length,"bytes_out":\$bytes_sent,"user":"\$api_client"}';
  access_log /dev/null gateway buffer=64k flush=1s;
  upstream backend { server 127.0.0.1:$BACKEND; keepalive 64; }
  server {
    listen 127.0.0.1:$NGINX_FULL reuseport backlog=4096;
    location / {
      if (\$api_client = "") { return 401; }
      limit_req zone=per_ip burst=1000000 nodelay;
      limit_req zone=per_key burst=1000000 nodelay;
      proxy_pass http://backend; proxy_http_version 1.1; client_max_body_size 10m;
      proxy_set_header Connection ""; proxy_set_header X-API-Key "";
      proxy_set_header X-Request-Id \$request_id; proxy_set_header X-Api-Key-Name \$api_client;
      proxy_set_header X-Forwarded-For \$remote_addr; proxy_set_header X-Forwarded-Proto \$scheme; proxy_set_header X-Forwarded-Host \$host;
      add_header X-Request-Id \$request_id;
    }
  }
}
CONF
nginx -c "$WORK/nginx-full.conf" -p "$WORK" & PIDS+=($!); NGINX_FULL_PID=$!

# --- HAProxy --------------------------------------------------------------------------------------
cat > "$WORK/haproxy.cfg" <<CONF
global
  nbthread 1
  maxconn 4000
defaults
  mode http
  timeout connect 5s
  timeout client 60s
  timeout server 60s
  option http-keep-alive
frontend fe
  bind 127.0.0.1:$HAPROXY
  default_backend be
backend be
  http-reuse always
  server s1 127.0.0.1:$BACKEND
CONF
haproxy -f "$WORK/haproxy.cfg" -db >/dev/null 2>&1 & PIDS+=($!); HAPROXY_PID=$!

# --- the gateway, bare and with the full chain -----------------------------------------------------
dotnet publish src/Gateway -c Release -o "$WORK/gateway" -nologo -v quiet >/dev/null
cat > "$WORK/bare.yaml" <<CONF
server: {host: 127.0.0.1, port: $BARE}
admin: {enabled: false}
logging: {access_log: false, level: warn}
routes:
  - {path: "/*rest", backend: "http://127.0.0.1:$BACKEND"}
CONF
cat > "$WORK/full.yaml" <<CONF
server: {host: 127.0.0.1, port: $FULL}
admin: {enabled: false}
logging: {access_log: true, level: warn}
observability: {metrics: {enabled: true}}
auth:
  api_key: {keys: {"$KEY": bench}}
rate_limiting:
  global: [{dimension: ip, requests: 1000000000, window_secs: 1}]
routes:
  - path: "/*rest"
    backend: "http://127.0.0.1:$BACKEND"
    auth: {required: true, methods: [apikey]}
    rate_limit: [{dimension: api_key, requests: 1000000000, window_secs: 1}]
CONF
# The bare route with a response cache (arm "cachehit": after the first request of each path, every request is a hit).
cat > "$WORK/cached.yaml" <<CONF
server: {host: 127.0.0.1, port: $CACHED}
admin: {enabled: false}
logging: {access_log: false, level: warn}
routes:
  - {path: "/*rest", backend: "http://127.0.0.1:$BACKEND", cache: {enabled: true, ttl_secs: 3600, shared: true}}
CONF
# The full chain with the edge policies a browser-facing API has on: CORS and a transform each way (on its one route).
{ sed "s/port: $FULL/port: $EDGE/" "$WORK/full.yaml"; cat <<CONF
    transform:
      request: {set_headers: {X-Gateway: "1", X-Client: "{client_ip}"}, remove_headers: [X-Debug]}
      response: {add_headers: {X-Frame-Options: DENY}, remove_headers: [Server]}
cors: {allowed_origins: ["https://app.example"], allowed_methods: [GET, POST], allow_credentials: true, max_age_secs: 600}
CONF
} > "$WORK/edge.yaml"
# The full chain with every observability feature off (arm "quiet"), and on: access log, metrics, and traces at a
# 0.1 sample rate exported over OTLP/HTTP to the backend NGINX (arm "observed").
sed -e "s/port: $FULL/port: $QUIET/" -e "s/access_log: true/access_log: false/" -e "/^observability:/d" "$WORK/full.yaml" > "$WORK/quiet.yaml"
sed -e "s/port: $FULL/port: $OBSERVED/" \
  -e "s|^observability: .*|observability: {metrics: {enabled: true}, tracing: {enabled: true, sample_rate: 0.1, protocol: http/protobuf, otlp_endpoint: \"http://127.0.0.1:$BACKEND\"}}|" \
  "$WORK/full.yaml" > "$WORK/observed.yaml"
# The bare route once more on Kestrel's HTTP/1.1 layer (server.http1_codec: kestrel): what the native codec buys.
sed "s/port: $BARE/port: $KESTREL/" "$WORK/bare.yaml" > "$WORK/kestrel.yaml"
cat > "$WORK/h2.yaml" <<CONF
server: {host: 127.0.0.1, port: $H2, http2: true}
admin: {enabled: false}
logging: {access_log: false, level: warn}
routes:
  - {path: "/*rest", backend: "http://127.0.0.1:$BACKEND"}
CONF
"$WORK/gateway/gateway" run "$WORK/bare.yaml" >/dev/null & PIDS+=($!); BARE_PID=$!
"$WORK/gateway/gateway" run "$WORK/full.yaml" >/dev/null & PIDS+=($!); FULL_PID=$!
GATEWAY_HTTP1_CODEC=kestrel "$WORK/gateway/gateway" run "$WORK/kestrel.yaml" >/dev/null & PIDS+=($!); KESTREL_PID=$!
"$WORK/gateway/gateway" run "$WORK/cached.yaml" >/dev/null & PIDS+=($!); CACHED_PID=$!
"$WORK/gateway/gateway" run "$WORK/edge.yaml" >/dev/null & PIDS+=($!); EDGE_PID=$!
"$WORK/gateway/gateway" run "$WORK/quiet.yaml" >/dev/null & PIDS+=($!); QUIET_PID=$!
"$WORK/gateway/gateway" run "$WORK/observed.yaml" >/dev/null & PIDS+=($!); OBSERVED_PID=$!
"$WORK/gateway/gateway" run "$WORK/h2.yaml" >/dev/null & PIDS+=($!); H2_PID=$!

if [ -n "$BEFORE" ]; then
  # The same configs on the build of another revision, side by side with this one.
  git worktree add --detach "$WORK/before-src" "$BEFORE" >/dev/null 2>&1
  dotnet publish "$WORK/before-src/src/Gateway" -c Release -o "$WORK/before" -nologo -v quiet >/dev/null
  sed "s/port: $BARE/port: $BEFORE_BARE/" "$WORK/bare.yaml" > "$WORK/before-bare.yaml"
  sed "s/port: $FULL/port: $BEFORE_FULL/" "$WORK/full.yaml" > "$WORK/before-full.yaml"
  "$WORK/before/gateway" run "$WORK/before-bare.yaml" >/dev/null & PIDS+=($!); BEFORE_BARE_PID=$!
  "$WORK/before/gateway" run "$WORK/before-full.yaml" >/dev/null & PIDS+=($!); BEFORE_FULL_PID=$!
fi

wait_port() { for _ in $(seq 1 100); do (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0; sleep 0.1; done; echo "port $1 did not open"; exit 1; }
for port in $BACKEND $NGINX $NGINX_FULL $HAPROXY $BARE $FULL $H2 $KESTREL $CACHED $EDGE $QUIET $OBSERVED; do wait_port "$port"; done
[ -n "$BEFORE" ] && for port in $BEFORE_BARE $BEFORE_FULL; do wait_port "$port"; done
rss() { awk '/VmRSS/ {printf "%.0f", $2/1024}' "/proc/$1/status" 2>/dev/null || echo "?"; }
IDLE_BARE=$(rss $BARE_PID); IDLE_FULL=$(rss $FULL_PID)

cat > "$WORK/post.lua" <<'LUA'
wrk.method = "POST"
wrk.body = string.rep("x", 1024)
wrk.headers["Content-Type"] = "application/octet-stream"
LUA

# CPU time (user + system, clock ticks) a process and its threads have used so far.
ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat" 2>/dev/null || echo 0; }
TICK=$(getconf CLK_TCK)

# One wrk run: prints "req/s p50_ms p99_ms cpu_us_per_request" (CPU of the process under test).
load() { # port pid path [extra wrk args...]
  local port=$1 pid=$2 path=$3; shift 3
  local before; before=$(ticks "$pid")
  wrk -t1 -c"$CONNECTIONS" -d"${DURATION}s" --latency "$@" "http://127.0.0.1:$port$path" 2>/dev/null | awk -v before="$before" -v after_file="/proc/$pid/stat" -v tick="$TICK" '
    /Non-2xx/ { print "bench: non-2xx answers on port '"$port"' path '"$path"': " $NF > "/dev/stderr" }
    /requests in/ { n=$1 }
    /Requests\/sec/ { rps=$2 }
    /^ +50%/ { p50=$2 } /^ +99%/ { p99=$2 }
    function ms(v) { if (v ~ /us$/) return v/1000; if (v ~ /ms$/) return v+0; if (v ~ /s$/) return v*1000; return v }
    END { getline stat < after_file; split(stat, f, " "); cpu = (f[14] + f[15] - before) / tick * 1e6;
          printf "%s %.3f %.3f %.1f\n", rps, ms(p50), ms(p99), (n > 0 ? cpu / n : 0) }'
}

declare -A RESULTS
arms=${ARMS:-"direct nginx nginxfull haproxy gateway full edge quiet observed kestrel cachehit$([ -n "$BEFORE" ] && echo " before beforefull" || true)"}
port_of() { case $1 in direct) echo $BACKEND;; nginx) echo $NGINX;; nginxfull) echo $NGINX_FULL;; haproxy) echo $HAPROXY;; gateway) echo $BARE;; full) echo $FULL;; kestrel) echo $KESTREL;; cachehit) echo $CACHED;; edge) echo $EDGE;; quiet) echo $QUIET;; observed) echo $OBSERVED;;
  before) echo $BEFORE_BARE;; beforefull) echo $BEFORE_FULL;; esac; }
# The process doing the work of each arm (NGINX: its one worker).
pid_of() { case $1 in direct) pgrep -P $BACKEND_PID | head -1;; nginx) pgrep -P $NGINX_PID | head -1;; nginxfull) pgrep -P $NGINX_FULL_PID | head -1;; haproxy) echo $HAPROXY_PID;; gateway) echo $BARE_PID;; full) echo $FULL_PID;; kestrel) echo $KESTREL_PID;; cachehit) echo $CACHED_PID;; edge) echo $EDGE_PID;; quiet) echo $QUIET_PID;; observed) echo $OBSERVED_PID;;
  before) echo $BEFORE_BARE_PID;; beforefull) echo $BEFORE_FULL_PID;; esac; }

echo "warming up"
for arm in $arms; do DURATION=2 load "$(port_of $arm)" "$(pid_of $arm)" /b100 -H "X-API-Key: $KEY" >/dev/null; done

for payload in $PAYLOADS; do
  if [ "$payload" = post ]; then path=/post; extra=(-s "$WORK/post.lua"); else path=/b$payload; extra=(); fi
  for round in $(seq 1 "$ROUNDS"); do
    for arm in $arms; do
      origin=(); [ "$arm" = edge ] && origin=(-H "Origin: https://app.example")
      RESULTS["$payload,$arm"]+="$(load "$(port_of $arm)" "$(pid_of $arm)" "$path" -H "X-API-Key: $KEY" "${origin[@]}" "${extra[@]}")"$'\n'
    done
  done
done

median() { sort -g | awk '{ v[NR]=$1 } END { if (NR==0) print 0; else if (NR%2) print v[(NR+1)/2]; else print (v[NR/2]+v[NR/2+1])/2 }'; }
col() { awk -v c="$1" 'NF { print $c }'; }

echo
echo "Machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo); wrk -t1 -c$CONNECTIONS, ${DURATION}s x $ROUNDS rounds, loopback"
printf "%-8s %-8s %12s %9s %9s %12s\n" payload arm "req/s" "p50 ms" "p99 ms" "CPU us/req"
declare -A RPS P99 CPU
for payload in $PAYLOADS; do
  for arm in $arms; do
    data="${RESULTS["$payload,$arm"]}"
    rps=$(col 1 <<<"$data" | median); p50=$(col 2 <<<"$data" | median); p99=$(col 3 <<<"$data" | median); cpu=$(col 4 <<<"$data" | median)
    RPS["$payload,$arm"]=$rps; P99["$payload,$arm"]=$p99; CPU["$payload,$arm"]=$cpu
    printf "%-8s %-8s %12.0f %9.3f %9.3f %12.1f\n" "$payload" "$arm" "$rps" "$p50" "$p99" "$cpu"
  done
done

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a > 0 && b > 0) printf "%.2f", a / b; else printf "-" }'; }
echo
printf "%-8s %13s %15s %15s %14s %10s %14s %15s %15s %15s\n" payload "gateway/nginx" "gateway/haproxy" "gateway/kestrel" "gateway/direct" "full/bare" "full/nginx" "full/nginxfull" "p99 gw/nginx" "CPU gw/nginx"
for payload in $PAYLOADS; do
  printf "%-8s %13s %15s %15s %14s %10s %14s %15s %15s %15s\n" "$payload" \
    "$(ratio "${RPS["$payload,gateway"]:-0}" "${RPS["$payload,nginx"]:-0}")" "$(ratio "${RPS["$payload,gateway"]:-0}" "${RPS["$payload,haproxy"]:-0}")" \
    "$(ratio "${RPS["$payload,gateway"]:-0}" "${RPS["$payload,kestrel"]:-0}")" "$(ratio "${RPS["$payload,gateway"]:-0}" "${RPS["$payload,direct"]:-0}")" \
    "$(ratio "${RPS["$payload,full"]:-0}" "${RPS["$payload,gateway"]:-0}")" "$(ratio "${RPS["$payload,full"]:-0}" "${RPS["$payload,nginx"]:-0}")" \
    "$(ratio "${RPS["$payload,full"]:-0}" "${RPS["$payload,nginxfull"]:-0}")" "$(ratio "${P99["$payload,gateway"]:-0}" "${P99["$payload,nginx"]:-0}")" \
    "$(ratio "${CPU["$payload,gateway"]:-0}" "${CPU["$payload,nginx"]:-0}")"
done
echo
printf "%-8s %26s %22s %14s %18s %20s %24s\n" payload "CPU/req proxied/cachehit" "req/s cachehit/nginx" "req/s edge/full" "CPU/req edge/full" "req/s observed/quiet" "CPU/req observed/quiet"
for payload in $PAYLOADS; do
  printf "%-8s %26s %22s %14s %18s %20s %24s\n" "$payload" "$(ratio "${CPU["$payload,gateway"]:-0}" "${CPU["$payload,cachehit"]:-0}")" \
    "$(ratio "${RPS["$payload,cachehit"]:-0}" "${RPS["$payload,nginx"]:-0}")" "$(ratio "${RPS["$payload,edge"]:-0}" "${RPS["$payload,full"]:-0}")" \
    "$(ratio "${CPU["$payload,edge"]:-0}" "${CPU["$payload,full"]:-0}")" "$(ratio "${RPS["$payload,observed"]:-0}" "${RPS["$payload,quiet"]:-0}")" \
    "$(ratio "${CPU["$payload,observed"]:-0}" "${CPU["$payload,quiet"]:-0}")"
done

if [[ " $arms " == *" before "* && " $arms " == *" beforefull "* ]]; then
  echo
  echo "Against revision $BEFORE (same run):"
  printf "%-8s %16s %16s %18s %18s\n" payload "bare now/before" "full now/before" "CPU/req bare n/b" "CPU/req full n/b"
  for payload in $PAYLOADS; do
    awk -v g="${RPS["$payload,gateway"]}" -v b="${RPS["$payload,before"]}" -v f="${RPS["$payload,full"]}" -v bf="${RPS["$payload,beforefull"]}" \
        -v gc="${CPU["$payload,gateway"]}" -v bc="${CPU["$payload,before"]}" -v fc="${CPU["$payload,full"]}" -v bfc="${CPU["$payload,beforefull"]}" -v p="$payload" \
        'BEGIN { printf "%-8s %16.2f %16.2f %18.2f %18.2f\n", p, g/b, f/bf, (bc > 0 ? gc/bc : 0), (bfc > 0 ? fc/bfc : 0) }'
  done
fi

echo
echo "HTTP/2 (h2load, cleartext prior knowledge, 32 clients x 10 streams, 100 B):"
declare -A H2RPS
for target in "nginx:$NGINX_H2" "gateway:$H2"; do
  name=${target%%:*}; port=${target##*:}
  n=$([ "$SMOKE" = 1 ] && echo 2000 || echo 200000)
  h2load -n $((n / 4)) -c 32 -m 10 "http://127.0.0.1:$port/b100" >/dev/null 2>&1 || true   # warm-up
  rps=$(h2load -n "$n" -c 32 -m 10 "http://127.0.0.1:$port/b100" 2>/dev/null | awk '/finished in/ { print $4 }')
  printf "  %-8s %12s req/s\n" "$name" "${rps:-?}"
  H2RPS[$name]=${rps:-0}
done

LOAD_BARE=$(rss $BARE_PID); LOAD_FULL=$(rss $FULL_PID)
echo
echo "RSS (MiB): gateway idle $IDLE_BARE (bare) / $IDLE_FULL (full chain); after load: gateway $LOAD_BARE, full $LOAD_FULL, nginx $(rss $NGINX_PID), haproxy $(rss $HAPROXY_PID)"

# The performance goals, each as measured in this run ("met" or "missed by").
goal() { # name value target (value >= target unless the 4th argument is "max")
  awk -v n="$1" -v v="$2" -v t="$3" -v m="${4:-min}" 'BEGIN {
    if (v == "-" || v == "") { printf "  %-44s %8s  (goal %s %s)\n", n, "-", (m == "max" ? "<=" : ">="), t; exit }
    ok = (m == "max") ? v <= t : v >= t
    printf "  %-44s %8s  (goal %s %s) %s\n", n, v, (m == "max" ? "<=" : ">="), t, ok ? "met" : "MISSED" }'
}
if [[ " $arms " == *" nginx "* && " $arms " == *" gateway "* && " $arms " == *" full "* ]]; then
  echo
  echo "Goals (100 B unless named):"
  goal "bare route / nginx" "$(ratio "${RPS["100,gateway"]:-0}" "${RPS["100,nginx"]:-0}")" 1.2
  goal "full chain / nginx (access log off)" "$(ratio "${RPS["100,full"]:-0}" "${RPS["100,nginx"]:-0}")" 1.05
  goal "full chain / nginx like for like" "$(ratio "${RPS["100,full"]:-0}" "${RPS["100,nginxfull"]:-0}")" 1.0
  goal "p99 bare / nginx p99" "$(ratio "${P99["100,gateway"]:-0}" "${P99["100,nginx"]:-0}")" 1.2 max
  goal "p99 full / nginx like-for-like p99" "$(ratio "${P99["100,full"]:-0}" "${P99["100,nginxfull"]:-0}")" 1.2 max
  goal "CPU per request bare / nginx" "$(ratio "${CPU["100,gateway"]:-0}" "${CPU["100,nginx"]:-0}")" 1.0 max
  for payload in $PAYLOADS; do
    [ "$payload" = 100 ] && continue
    goal "bare route / nginx, $payload" "$(ratio "${RPS["$payload,gateway"]:-0}" "${RPS["$payload,nginx"]:-0}")" 1.0
  done
  goal "CPU per request proxied / cache hit" "$(ratio "${CPU["100,gateway"]:-0}" "${CPU["100,cachehit"]:-0}")" 3.0
  goal "full chain + CORS + transforms / full chain" "$(ratio "${RPS["100,edge"]:-0}" "${RPS["100,full"]:-0}")" 0.95
  goal "metrics + traces 0.1 + access log / all off" "$(ratio "${RPS["100,observed"]:-0}" "${RPS["100,quiet"]:-0}")" 0.95
  goal "HTTP/2 / nginx (h2load)" "$(ratio "${H2RPS[gateway]:-0}" "${H2RPS[nginx]:-0}")" 1.0
  goal "RSS idle, MiB" "$IDLE_BARE" 60 max
  goal "RSS after load, MiB (full chain)" "$LOAD_FULL" 100 max
fi
