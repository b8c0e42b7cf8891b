#!/usr/bin/env bash
# nginx.conf, the load balancer: render the template as the Docker image would (envsubst
# of the listed variables only), check it with `nginx -t`, then run it with Debian's nginx
# against two stand-in backends on loopback and check what it does: redirect, health,
# TLS, headers, proxying, gzip, body limit, rate limit, and failover (GETs retried, a POST
# that reached a dying backend not sent again).
# Only loopback addresses and unusual ports (28xxx) are used; everything started is stopped.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

need_cmd nginx nginx
need_cmd openssl openssl
need_cmd envsubst gettext-base
need_cmd curl curl
need_cmd python3 python3
need_cmd ss iproute2
need_cmd nft nftables

T=$(mktemp -d /tmp/pesquisa-nginx-test.XXXXXX)
cleanup() { lb_stop || true; rm -rf "$T"; }
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
