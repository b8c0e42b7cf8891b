#!/usr/bin/env bash
# nginx.conf, the load balancer: render the template as the Docker image would (envsubst
# of the listed variables only), check it with `nginx -t`, then run it with Debian's nginx
# against two stand-in backends on loopback and check what it does: redirect, health,
# TLS, headers, proxying, gzip, body limit, rate limit, and failover (GETs retried, a POST
# that reached a dying backend not sent again). A second nginx in a private network
# namespace checks who the rate limit counts as one client: an IPv6 /64, an IPv4 address.
# Only loopback addresses and unusual ports (28xxx) are used; everything started is stopped.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

need_cmd nginx nginx
need_cmd openssl openssl
need_cmd envsubst gettext-base
need_cmd curl curl
need_cmd python3 python3
need_cmd ss iproute2
need_cmd ip iproute2
need_cmd nft nftables

T=$(mktemp -d /tmp/pesquisa-nginx-test.XXXXXX)
NS6="pq-nginx6-$$" NGINX6_PID=""
cleanup() { lb_stop || true; stop_pid "$NGINX6_PID" 5; netns_cleanup; rm -rf "$T"; }
trap cleanup EXIT

# ---- Rendering and syntax ----
echo 1 >"$T/app1.port"; echo 2 >"$T/app2.port"   # placeholders for the dry render only
LB_HTTP_PORT=1 LB_HTTPS_PORT=2
lb_render "$T" "$T/dry.conf"
check "template: every \${VAR} is one of the documented variables" \
  bash -c "! grep -n '\\\${[A-Za-z_]*}' '$T/dry.conf'"
check "template: nginx's own variables (\$host, \$remote_addr) survive envsubst" \
  grep -q 'return 301 https://\$host\$request_uri' "$T/dry.conf"
rm -f "$T"/app?.port

lb_start "$T"
check "nginx -t accepts the rendered nginx.conf" \
  lb_nginx -t -q -g "pid $T/nginx-t.pid;"

# ---- Plain HTTP ----
hdrs=$(curl -sS --noproxy '*' -m 5 -o /dev/null -D - -H "Host: $LB_NAME" \
  "http://127.0.0.1:$LB_HTTP_PORT/survey?page=2")
check "HTTP redirects to HTTPS with path and query (301)" \
  bash -c 'grep -q "^HTTP/1.1 301" <<<"$1" && grep -qi "^location: https://'"$LB_NAME"'/survey?page=2" <<<"$1"' _ "$hdrs"
check "/nginx-health answers 200 over HTTP" \
  curl -fsS --noproxy '*' -m 5 -o /dev/null "http://127.0.0.1:$LB_HTTP_PORT/nginx-health"
code=$(curl -sS --noproxy '*' -m 5 -o /dev/null -w '%{http_code}' "http://127.0.0.1:$LB_HTTP_PORT/.well-known/acme-challenge/token")
check "ACME challenge path is served over HTTP, not redirected (got $code)" test "$code" = 404

# ---- TLS and headers ----
check "/nginx-health answers 200 over HTTPS" lbcurl /nginx-health -f -o /dev/null
check "TLS 1.2 is accepted" lbcurl /nginx-health -f -o /dev/null --tlsv1.2 --tls-max 1.2
check "TLS 1.3 is accepted" lbcurl /nginx-health -f -o /dev/null --tlsv1.3
tls11_refused() { ! lbcurl /nginx-health -o /dev/null --tlsv1.1 --tls-max 1.1 2>/dev/null; }
check "TLS 1.1 is refused" tls11_refused

lbcurl /echo -D "$T/echo.h" -o "$T/echo.json" -H 'X-Forwarded-For: 203.0.113.7'
has_once() { [ "$(grep -ci "^$1:" "$T/echo.h")" = 1 ]; }
check "proxied through TLS: 200 from a backend" grep -q '^HTTP/[0-9.]* 200' "$T/echo.h"
check "HSTS header present" grep -qi '^strict-transport-security: max-age=63072000' "$T/echo.h"
for h in x-content-type-options x-frame-options referrer-policy content-security-policy; do
  check "$h present exactly once (the app's own is not duplicated)" has_once "$h"
done
check "server_tokens off: Server header without a version" grep -qi '^server: nginx.$' "$T/echo.h"
j() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["headers"][sys.argv[2]])' "$T/echo.json" "$1"; }
check "X-Forwarded-For reaches the backend with the client appended ($(j X-Forwarded-For))" \
  test "$(j X-Forwarded-For)" = "203.0.113.7, 127.0.0.1"
check "X-Real-IP reaches the backend" test "$(j X-Real-IP)" = 127.0.0.1
check "X-Forwarded-Proto is https" test "$(j X-Forwarded-Proto)" = https
check "Host is passed on (\$host: the name, without the port)" test "$(j Host)" = "$LB_NAME"
check "upstream keep-alive: no Connection header sent upstream" test "$(j Connection)" = None
check "a request id is sent upstream" bash -c '[[ "$1" =~ ^[0-9a-f]{32}$ ]]' _ "$(j X-Request-ID)"
# The app keeps a trusted proxy's X-Request-ID (src/web/hoops.rs): nginx logs the same id,
# so its access-log line and the app's log lines of one request can be joined.
rid_logged() { sleep 0.2; grep -q "rid=$1\$" "$LB_DIR/nginx.out"; }
check "nginx's access log names the request id it sent upstream" rid_logged "$(j X-Request-ID)"

seen=$(for _ in 1 2 3 4; do lbcurl /echo | python3 -c 'import json,sys; print(json.load(sys.stdin)["backend"])'; done | sort -u | tr '\n' ' ')
check "both backends receive traffic ($seen)" test "$seen" = "app1 app2 "

# ---- Draining a backend before its restart (deploy/app-drain.sh) ----
P1=$(cat "$T/app1.port")
posts1() { if [ -f "$T/app1.posts" ]; then wc -l <"$T/app1.posts"; else echo 0; fi; }
before=$(posts1)
drained() { test_drain on "$P1" 2>/dev/null && [ "$(test_drain status "$P1")" = drained ]; }
check "app-drain.sh on: new connections to app1 refused (status: drained)" drained
# Connections nginx already keeps open to app1 are not refused; the real app closes them
# during its SIGTERM drain (Connection: close). The stand-in does not: fresh workers.
kill -HUP "$LB_NGINX_PID"
sleep 0.3
mixed() {  # 6 GETs and 6 POSTs: "code backend" lines, counted
  for i in 1 2 3 4 5 6; do
    lbcurl /echo | python3 -c 'import json,sys; print("200", json.load(sys.stdin)["backend"])' || echo "error"
    lbcurl "/answers?n=$i" -X POST -d a=1 -o /dev/null -w '%{http_code} ' -D - | tr -d '\r' |
      awk '/^HTTP/ {c=$2} tolower($1) == "x-backend:" {b=$2} END {print c, b}' || echo "error"
  done | sort | uniq -c | tr -s ' \n' ' '
}
seen=$(mixed)
check "while app1 is drained, 6 GETs and 6 POSTs all answer 200 from app2 ($seen)" test "$seen" = " 12 200 app2 "
check "... and app1 received none of the POSTs" test "$(posts1)" = "$before"
check "... while app1 is still ready when checked on its own host (loopback is not refused)" \
  bash "$REPO_ROOT/tests/deploy/backend-ctl.sh" "$T" ready app1
undrained() { test_drain off "$P1" 2>/dev/null && [ "$(test_drain status "$P1")" = "in service" ]; }
check "app-drain.sh off: app1 in service again" undrained
kill -HUP "$LB_NGINX_PID"   # fresh workers: nginx left app1 out after the refused connections
sleep 0.3
seen=$(for _ in 1 2 3 4; do lbcurl /echo | python3 -c 'import json,sys; print(json.load(sys.stdin)["backend"])'; done | sort -u | tr '\n' ' ')
check "after the drain both backends receive traffic again ($seen)" test "$seen" = "app1 app2 "

enc=$(lbcurl /big -o /dev/null -D - -H 'Accept-Encoding: gzip' | grep -i '^content-encoding:' | tr -d '\r' || true)
check "gzip for text responses ($enc)" grep -qi 'gzip' <<<"$enc"
code=$(head -c $((2 * 1024 * 1024)) /dev/zero | lbcurl /answers -o /dev/null -w '%{http_code}' -X POST --data-binary @- || true)
check "request bodies over 1 MiB get 413 (got $code)" test "$code" = 413

# ---- Rate limit on log-in and sign-up ----
# burst N PATH [CURL ARGS]: N requests back to back on one connection; "count code" pairs.
burst() {
  local n=$1 path=$2 args=(); shift 2
  for _ in $(seq 1 "$n"); do args+=(-o /dev/null "https://$LB_NAME:$LB_HTTPS_PORT$path"); done
  curl -sS --noproxy '*' -m 20 --cacert "$LB_DIR/cert.pem" --resolve "$LB_NAME:$LB_HTTPS_PORT:127.0.0.1" \
    -w '%{http_code}\n' "$@" "${args[@]}" | sort | uniq -c | tr -s ' \n' ' '
}
codes=$(burst 25 /login)
check "a burst of 25 GET /login (showing the form) is not rate limited ($codes)" test "$codes" = " 25 200 "
codes=$(burst 25 /login -d 'email=a@b.c&password=x')
check "a burst of 25 POST /login: some 200, then 429 ($codes)" \
  bash -c 'grep -q " 200 " <<<"$1 " && grep -q " 429 " <<<"$1 "' _ "$codes"
codes=$(burst 25 /register -d 'nome=x')
check "POST /register is limited too: 429 in a burst ($codes)" grep -q " 429 " <<<"$codes "
for path in /account/password /account/delete; do
  codes=$(burst 25 "$path" -d 'current_password=x')
  check "POST $path (a password check) is limited too: 429 in a burst ($codes)" grep -q " 429 " <<<"$codes "
done

# ---- Rate limit per client: an IPv6 /64, an IPv4 address ----
# The same nginx.conf in a private network namespace, in front of two more stand-in
# backends there, with a dual-stack listener (IPv4 clients arrive as ::ffff:a.b.c.d) and
# an IPv4-only one; the second listen rides in LISTEN_HTTPS ("listen ${LISTEN_HTTPS} ssl;").
# Clients pick their source address on the namespace's loopback with --interface.
V6="$T/v6"
mkdir -p "$V6"
cp "$T/cert.pem" "$T/key.pem" "$V6/"
netns_add "$NS6"
# One /64, 2001:db8::/64, in four text forms ("::" across its end, inside it, after it, and
# the first of two zero runs), and an address in the next /64.
same64=(2001:db8::1 2001:db8::a:b:c:d 2001:db8:0:0:1:: 2001:db8::1:0:0:a)
next64=2001:db8:0:1::1
for a in "${same64[@]}" "$next64"; do ip -n "$NS6" addr add "$a/64" dev lo nodad; done
ip netns exec "$NS6" bash "$REPO_ROOT/tests/deploy/backend-ctl.sh" "$V6" start app1 28001
ip netns exec "$NS6" bash "$REPO_ROOT/tests/deploy/backend-ctl.sh" "$V6" start app2 28002
APP1_ADDR=127.0.0.1:28001 APP2_ADDR=127.0.0.1:28002 SERVER_NAME="$LB_NAME" \
TLS_CERT="$V6/cert.pem" TLS_KEY="$V6/key.pem" LISTEN_HTTP=127.0.0.1:28080 \
LISTEN_HTTPS="[::]:28443 ipv6only=off ssl; listen 127.0.0.1:28444" \
  envsubst "$LB_VARS" <"$REPO_ROOT/nginx.conf" >"$V6/nginx.conf"
ip netns exec "$NS6" nginx -c "$V6/nginx.conf" -p "$V6" -e "$V6/error.log" \
  -g "daemon off; pid $V6/nginx.pid;" >"$V6/nginx.out" 2>&1 &
NGINX6_PID=$!
check "nginx with the same nginx.conf starts in the namespace" \
  wait_until 10 ip netns exec "$NS6" curl -fsS --noproxy '*' -m 1 "http://127.0.0.1:28080/nginx-health"
# nscurl SRC DST PORT [CURL ARGS]: curl in the namespace from source address SRC, with
# $LB_NAME:PORT at DST.
nscurl() {
  local src=$1 dst=$2 port=$3; shift 3
  ip netns exec "$NS6" curl -sS --noproxy '*' -m 20 --cacert "$V6/cert.pem" \
    --resolve "$LB_NAME:$port:$dst" --interface "$src" "$@"
}
# burst_from SRC DST PORT N: N POST /login back to back on one connection; "count code" pairs.
burst_from() {
  local src=$1 dst=$2 port=$3 n=$4 args=()
  for _ in $(seq 1 "$n"); do args+=(-o /dev/null "https://$LB_NAME:$port/login"); done
  nscurl "$src" "$dst" "$port" -d 'email=a@b.c&password=x' -w '%{http_code}\n' "${args[@]}" |
    sort | uniq -c | tr -s ' \n' ' '
}
real_ip=$(nscurl 127.0.0.1 127.0.0.1 28443 "https://$LB_NAME:28443/echo" |
  python3 -c 'import json,sys; print(json.load(sys.stdin)["headers"]["X-Real-IP"])' || true)
check "the dual-stack listener sees an IPv4 client as IPv4-mapped ($real_ip)" \
  test "$real_ip" = ::ffff:127.0.0.1

# A fresh client gets 11 through (1 + burst 10), so 10 answered 200 each are unlimited, and
# a 429 among 10 means the burst of 25 before counted against them.
codes=$(burst_from "${same64[0]}" '[::1]' 28443 25 || true)
check "IPv6: a burst of 25 POST /login from ${same64[0]}: some 200, then 429 ($codes)" \
  bash -c 'grep -q " 200 " <<<"$1 " && grep -q " 429 " <<<"$1 "' _ "$codes"
for a in "${same64[@]:1}"; do
  codes=$(burst_from "$a" '[::1]' 28443 10 || true)
  check "IPv6: then 10 from $a, the same /64, are limited with it: 429 ($codes)" \
    grep -q " 429 " <<<"$codes "
done
codes=$(burst_from "$next64" '[::1]' 28443 10 || true)
check "IPv6: 10 from $next64, the next /64, are not limited by them ($codes)" \
  test "$codes" = " 10 200 "
codes=$(burst_from 127.0.0.1 127.0.0.1 28443 25 || true)
check "IPv4-mapped: a burst of 25 from ::ffff:127.0.0.1: some 200, then 429 ($codes)" \
  bash -c 'grep -q " 200 " <<<"$1 " && grep -q " 429 " <<<"$1 "' _ "$codes"
codes=$(burst_from 127.0.0.2 127.0.0.1 28443 10 || true)
check "IPv4-mapped: 10 from ::ffff:127.0.0.2, another client (IPv4 is not keyed on a /64), are not limited ($codes)" \
  test "$codes" = " 10 200 "
codes=$(burst_from 127.0.0.1 127.0.0.1 28444 10 || true)
check "IPv4-mapped: then 10 from 127.0.0.1 over IPv4 are the same client: 429 ($codes)" \
  grep -q " 429 " <<<"$codes "
stop_pid "$NGINX6_PID" 5
NGINX6_PID=""

# ---- Failover ----
# A POST that reached a backend which then died must come back as 502, and must not be
# sent to the other backend (it may have been committed).
result=""
for seq in 1 2 3 4; do
  code=$(lbcurl "/die?name=app1&seq=$seq" -o /dev/null -w '%{http_code}' -X POST -d x=1 || true)
  if ! alive "$(cat "$T/app1.pid")"; then result="$seq:$code"; break; fi
done
check "POST to a backend dying mid-request gets 502, not retried ($result)" \
  bash -c '[ "${1#*:}" = 502 ] && ! grep -q "seq=${1%%:*}\$" "$2"' _ "$result" "$T/app2.posts"
bash "$REPO_ROOT/tests/deploy/backend-ctl.sh" "$T" start app1 "$(cat "$T/app1.port")"
kill -HUP "$LB_NGINX_PID"   # fresh workers: no failure state carried into the next scenario
sleep 0.3

codes=""
for seq in 1 2 3 4; do
  codes+="$(lbcurl "/die?name=app1&seq=$seq" -o /dev/null -w '%{http_code}' || true) "
  alive "$(cat "$T/app1.pid")" || break
done
get_retried() { ! alive "$(cat "$T/app1.pid")" && [[ "$codes" =~ ^(200\ )+$ ]]; }
check "GET to a backend dying mid-request is retried on the other: 200 ($codes)" get_retried

# app1 is now dead (SIGKILL-like): every request must still succeed through app2.
codes=$(for _ in $(seq 1 10); do lbcurl /echo -o /dev/null -w '%{http_code}\n' || true; done | sort | uniq -c | tr -s ' \n' ' ')
check "with one backend down, 10 GETs all answer 200 ($codes)" test "$codes" = " 10 200 "
codes=$(for _ in $(seq 1 4); do lbcurl /answers -o /dev/null -w '%{http_code}\n' -X POST -d a=1 || true; done | sort | uniq -c | tr -s ' \n' ' ')
check "with one backend down, POSTs go to the live one: 200 ($codes)" test "$codes" = " 4 200 "

finish
