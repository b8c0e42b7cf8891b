#!/usr/bin/env bash
# Failover with the REAL app: two `pesquisa serve` instances on loopback, both on one
# MariaDB database and one Redis key prefix, Debian's nginx in front with the project's
# nginx.conf (rendered as nginx_test.sh does, TLS with a self-signed certificate), wrk
# sending the load through nginx over HTTPS. Scenarios (nginx restarted between them, so
# no upstream failure state carries over):
#   1. kill -9 of one instance under GET load (logged-in GET /survey/1): 0 failed requests;
#   2. kill -9 of one instance under questionnaire submissions from 120 respondents signed
#      up through nginx: only in-flight POSTs may fail (502, not retried), and
#      the database holds exactly one response per respondent;
#   3. deploy/rolling-restart.sh under mixed GET/POST load, as in production: each
#      instance in turn is drained (deploy/app-drain.sh: new connections from nginx
#      refused, so nginx sends every new request, POSTs included, to the other one),
#      stopped with SIGTERM (the app's own drain, then in-flight requests finish),
#      restarted, ready, undrained: 0 failed requests (FAILOVER_DRAIN=0: without the
#      drain, to see what that loses);
#   4. one logged-in respondent keeps the session through all of it, on both instances.
# "Failed" = a socket error in wrk or a response other than the expected one (wrk's own
# count would take a 303 to /login for a success; failover_load.lua classifies each).
#
# Needs: root (apt-get for missing packages), MariaDB on 127.0.0.1:3306 where user
# pesquisa_test/pesquisa_test may create pesquisa_t_* databases and `mariadb -uroot` works
# over the socket, Redis on 127.0.0.1:6379 without a password. Uses the database
# pesquisa_t_failover_<pid> and the Redis prefix pesquisa-failover-<pid>:, both removed at
# the end (FAILOVER_KEEP=1 keeps the logs in /tmp/pesquisa-failover-test.*).
# Binary: $PESQUISA_BIN, else the newest of target/*/pesquisa (lib.sh pesquisa_bin;
# cargo build when none exists).
# Ports: free loopback ports from 28101 (apps), 28180/28543 (nginx); never 8080 or 8000.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
. "$here/lib.sh"

need_cmd nginx nginx
need_cmd openssl openssl
need_cmd envsubst gettext-base
need_cmd curl curl
need_cmd wrk wrk
need_cmd mariadb mariadb-client
need_cmd redis-cli redis-tools
need_cmd ss iproute2
need_cmd setsid util-linux
need_cmd nft nftables

STARTED=$(date +%s)
RESPONDENTS=${FAILOVER_RESPONDENTS:-120}
CONNS=16

# Nothing from the caller's environment may reconfigure the instances (PESQUISA_BIN is
# the test's own setting: read first).
BIN=$(pesquisa_bin)
while IFS= read -r v; do unset "$v"; done < <(compgen -e | grep '^PESQUISA_' || true)
unset CREDENTIALS_DIRECTORY NOTIFY_SOCKET WATCHDOG_USEC WATCHDOG_PID

DB=pesquisa_t_failover_$$
PREFIX="pesquisa-failover-$$:"
MYSQL_TEST=(mariadb --protocol=tcp -h127.0.0.1 -P3306 -upesquisa_test -ppesquisa_test)

T=$(mktemp -d /tmp/pesquisa-failover-test.XXXXXX)
export T
WRK_PID=
DB_CREATED=
LB_NGINX_PID=
LB_DIR=$T

# ---- Instances: NAME is app1 or app2; $T/NAME.port, NAME.toml, NAME.srv.pid, NAME.log ----
# Exported, because deploy/rolling-restart.sh runs RESTART_CMD/READY_CMD with bash -c.
# From 127.0.0.2: nginx connects from 127.0.0.1, which is what a drain refuses (app_drain).
inst_ready() { curl -fsS --noproxy '*' -m 2 --interface 127.0.0.2 -o /dev/null "http://127.0.0.1:$(cat "$T/$1.port")/readyz" 2>/dev/null; }
inst_start() {
  local name=$1 pid
  # setsid + redirects: the server keeps no terminal or pipe of whoever started it.
  setsid "$BIN" --config "$T/$name.toml" serve </dev/null >>"$T/$name.log" 2>&1 &
  pid=$!
  disown "$pid" 2>/dev/null || true   # no "Killed" job notice after kill -9
  echo "$pid" >"$T/$name.srv.pid"
  for _ in $(seq 1 300); do   # 30 s
    inst_ready "$name" && return 0
    alive "$pid" || break
    sleep 0.1
  done
  echo "$name did not become ready; its log:" >&2
  tail -n 20 "$T/$name.log" >&2
  return 1
}
inst_stop() {  # inst_stop NAME SIGNAL: signal it, wait until gone (SIGKILL after 15 s)
  local pid
  pid=$(cat "$T/$1.srv.pid" 2>/dev/null) || return 0
  kill -"$2" "$pid" 2>/dev/null || return 0
  for _ in $(seq 1 150); do alive "$pid" || break; sleep 0.1; done
  alive "$pid" && kill -KILL "$pid" 2>/dev/null
  wait "$pid" 2>/dev/null || true   # reap it when it is this shell's child
  return 0
}
inst_restart() { inst_stop "$1" TERM && inst_start "$1"; }
inst_pid() { cat "$T/$1.srv.pid"; }
# app_drain on|off NAME: deploy/app-drain.sh for NAME's port (lib.sh test_drain).
app_drain() { test_drain "$1" "$(cat "$T/$2.port")"; }
export BIN REPO_ROOT
export -f inst_ready inst_start inst_stop inst_restart alive app_drain test_drain

# ---- nginx: the project's nginx.conf via lib.sh's lb_render, private to $T ----
lb_up() {
  nginx -c "$LB_CONF" -p "$LB_DIR" -e "$LB_DIR/error.log" -g "daemon off; pid $LB_DIR/nginx.pid;" \
    >>"$LB_DIR/nginx.out" 2>&1 &
  LB_NGINX_PID=$!
  wait_until 10 curl -fsS --noproxy '*' -m 1 "http://127.0.0.1:$LB_HTTP_PORT/nginx-health"
}
lb_down() {
  [ -n "$LB_NGINX_PID" ] || return 0
  kill -TERM "$LB_NGINX_PID" 2>/dev/null || true
  for _ in $(seq 1 50); do alive "$LB_NGINX_PID" || break; sleep 0.1; done
  alive "$LB_NGINX_PID" && kill -KILL "$LB_NGINX_PID" 2>/dev/null
  wait "$LB_NGINX_PID" 2>/dev/null || true
  LB_NGINX_PID=
}
# A fresh nginx: no upstream failure counts or cached upstream connections carried over.
lb_reset() { lb_down; lb_up; }

cleanup() {
  set +e
  if [ -n "$WRK_PID" ]; then kill "$WRK_PID" 2>/dev/null; wait "$WRK_PID" 2>/dev/null; fi
  inst_stop app1 TERM
  inst_stop app2 TERM
  app_drain off app1 2>/dev/null; app_drain off app2 2>/dev/null
  lb_down
  if [ -n "$DB_CREATED" ]; then
    "${MYSQL_TEST[@]}" -e "DROP DATABASE IF EXISTS \`$DB\`" 2>/dev/null
  fi
  redis-cli -h 127.0.0.1 -p 6379 --scan --pattern "${PREFIX}*" 2>/dev/null |
    xargs -r -n 500 redis-cli -h 127.0.0.1 -p 6379 DEL >/dev/null 2>&1
  if [ "$TESTS_FAILED" -gt 0 ]; then
    for name in app1 app2; do
      [ -s "$T/$name.log" ] || continue
      echo "-- last warnings and errors of $name:" >&2
      sed 's/\x1b\[[0-9;]*m//g' "$T/$name.log" | grep -E ' (WARN|ERROR) |panic' | tail -n 5 | cut -c1-300 |
        sed 's/^/    /' >&2
    done
  fi
  if [ "${FAILOVER_KEEP:-0}" = 1 ]; then echo "kept $T" >&2; else rm -rf "$T"; fi
}
trap cleanup EXIT

# ---- Preflight ----
if [ -z "$BIN" ]; then
  log "no pesquisa binary; cargo build"
  (cd "$REPO_ROOT" && cargo build --quiet)
  BIN="$REPO_ROOT/target/debug/pesquisa"
fi
export BIN
log "binary: $BIN"
if ! redis-cli -h 127.0.0.1 -p 6379 PING 2>/dev/null | grep -q PONG; then
  fail "Redis does not answer on 127.0.0.1:6379"; finish; exit 1
fi
if ! "${MYSQL_TEST[@]}" -e "CREATE DATABASE \`$DB\` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci" 2>"$T/db.err"; then
  fail "cannot create database $DB as pesquisa_test on 127.0.0.1:3306: $(cat "$T/db.err")"; finish; exit 1
fi
DB_CREATED=1
db_root() { mariadb -uroot -N -B "$DB" -e "$1"; }
db_root "SELECT 1" >/dev/null || { fail "mariadb -uroot $DB does not work"; finish; exit 1; }

P1=$(free_port 28101); P2=$(free_port $((P1 + 1)))
drain_reset "$P1" "$P2"
echo "$P1" >"$T/app1.port"; echo "$P2" >"$T/app2.port"
LB_HTTP_PORT=$(free_port 28180)
LB_HTTPS_PORT=$(free_port 28543)
export LB_NAME LB_HTTPS_PORT
SECRET=$(openssl rand -hex 20)   # 40 characters, the same on both instances
for name in app1 app2; do
  cat >"$T/$name.toml" <<EOF
[server]
listen = "127.0.0.1:$(cat "$T/$name.port")"
trusted_proxies = ["127.0.0.1"]
shutdown_grace_secs = 10

[database]
url = "mysql://pesquisa_test:pesquisa_test@127.0.0.1:3306/$DB"
auto_migrate = false

[redis]
url = "redis://127.0.0.1:6379"
key_prefix = "$PREFIX"

[session]
secret = "$SECRET"

# Sign-ups are set-up here, not what is measured: a cheaper argon2id (as tests/api uses)
# keeps them quick.
[passwords]
memory_kib = 4096
iterations = 1

[rate_limit]
login_per_ip = 1000000
register_per_ip = 1000000

[logging]
format = "text"
# The stop sequence (SIGTERM, drain, finishing in-flight requests, stopped) is logged at
# info by pesquisa::server; requests are not.
level = "warn,pesquisa::server=info"
EOF
done

# ---- Stack ----
if ! "$BIN" --config "$T/app1.toml" migrate >"$T/migrate.log" 2>&1; then
  cat "$T/migrate.log" >&2
  fail "pesquisa migrate"; finish; exit 1
fi
pass "pesquisa migrate on $DB"
inst_start app1
inst_start app2
pass "two pesquisa serve instances ready on 127.0.0.1:$P1 and 127.0.0.1:$P2 (one DB, Redis prefix $PREFIX)"

LB_CONF="$T/nginx.conf"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
  -keyout "$T/key.pem" -out "$T/cert.pem" -subj "/CN=$LB_NAME" \
  -addext "subjectAltName=DNS:$LB_NAME" >/dev/null 2>&1
lb_render "$T" "$LB_CONF"
lb_up || { cat "$T/nginx.out" "$T/error.log" >&2; fail "nginx did not start"; finish; exit 1; }
pass "nginx with the rendered nginx.conf on 127.0.0.1:$LB_HTTP_PORT/$LB_HTTPS_PORT"

BASE="https://$LB_NAME:$LB_HTTPS_PORT"
export BASE

# signup N: a new respondent through nginx, as a browser does it; prints "COOKIE CSRF" or
# "FAIL N: why". Each respondent comes from its own loopback address 127.0.0.X, so
# nginx's per-address limit on POST /register (5/s, burst 10) is not what is measured.
signup() {
  local n=$1 jar="$T/jars/$1" page csrf out sid
  local c=(curl -sS --noproxy '*' -m 30 --cacert "$T/cert.pem" --interface "127.0.0.$((2 + n % 200))"
           --resolve "$LB_NAME:$LB_HTTPS_PORT:127.0.0.1" -b "$jar" -c "$jar")
  page=$("${c[@]}" -f "$BASE/register") || { echo "FAIL $n: GET /register"; return 0; }
  csrf=$(grep -o 'name="csrf_token" value="[^"]*"' <<<"$page" | head -n 1 | cut -d'"' -f4)
  [ -n "$csrf" ] || { echo "FAIL $n: no csrf_token on /register"; return 0; }
  out=$("${c[@]}" -o /dev/null -w '%{http_code} %{redirect_url}' \
    --data-urlencode "nome=Resp$n" --data-urlencode "sobrenome=Failover" \
    --data-urlencode "email=r$n-$$@example.com" --data-urlencode "bairro=JARDIM SÃO JOSÉ" \
    --data-urlencode "password=cavalo correto bateria" \
    --data-urlencode "password_confirm=cavalo correto bateria" \
    -d adult=1 -d accept_terms=1 --data-urlencode "csrf_token=$csrf" "$BASE/register") || true
  [[ "$out" == "303 "*"/register/sent" ]] || { echo "FAIL $n: POST /register: $out"; return 0; }
  # Sign-up logs nobody in (the link is mailed); the password does, before verification.
  page=$("${c[@]}" -f "$BASE/login") || { echo "FAIL $n: GET /login"; return 0; }
  csrf=$(grep -o 'name="csrf_token" value="[^"]*"' <<<"$page" | head -n 1 | cut -d'"' -f4)
  out=$("${c[@]}" -o /dev/null -w '%{http_code} %{redirect_url}' --data-urlencode "email=r$n-$$@example.com" \
    --data-urlencode "password=cavalo correto bateria" --data-urlencode "csrf_token=$csrf" "$BASE/login") || true
  [[ "$out" == "303 "*"/survey" ]] || { echo "FAIL $n: POST /login: $out"; return 0; }
  page=$("${c[@]}" -f "$BASE/survey/1") || { echo "FAIL $n: GET /survey/1"; return 0; }
  csrf=$(grep -o 'name="csrf_token" value="[^"]*"' <<<"$page" | head -n 1 | cut -d'"' -f4)
  sid=$(awk '$6 == "pesquisa_sid" { v = $7 } END { print v }' "$jar")
  if [ -n "$csrf" ] && [ -n "$sid" ]; then echo "$sid $csrf"; else echo "FAIL $n: no cookie or csrf"; fi
}
export -f signup
mkdir -p "$T/jars"

# The respondent whose session must survive everything (scenario 4).
signup 1000 >"$T/watcher"
if grep -q '^FAIL' "$T/watcher"; then
  fail "watcher sign-up through nginx: $(cat "$T/watcher")"; finish; exit 1
fi
WATCH_SID=$(cut -d' ' -f1 "$T/watcher")
pass "a respondent signed up and logged in through nginx (303 to /survey, logged-in cookie)"

# session_check LABEL: the watcher's cookie through nginx and on each instance directly.
session_check() {
  local lb d1 d2 h=(-sS --noproxy '*' -m 10 -o /dev/null -w '%{http_code}' -H "Cookie: pesquisa_sid=$WATCH_SID")
  lb=$(curl "${h[@]}" --cacert "$T/cert.pem" --resolve "$LB_NAME:$LB_HTTPS_PORT:127.0.0.1" "$BASE/survey/1" || true)
  d1=$(curl "${h[@]}" "http://127.0.0.1:$P1/survey/1" || true)
  d2=$(curl "${h[@]}" "http://127.0.0.1:$P2/survey/1" || true)
  check "session kept $1: GET /survey/1 with the same cookie via nginx/app1/app2 = $lb/$d1/$d2" \
    test "$lb/$d1/$d2" = "200/200/200"
}
session_check "before the scenarios"

# ---- Load helpers ----
# wrk_start NAME MODE FILE DURATION: wrk in the background through nginx (HTTPS).
wrk_start() {
  wrk -t2 -c"$CONNS" -d"$4" --timeout 10s -s "$here/failover_load.lua" \
    "https://127.0.0.1:$LB_HTTPS_PORT/" -- "$2" "$3" 2 "$LB_NAME" >"$T/wrk.$1" 2>&1 &
  WRK_PID=$!
}
wrk_wait() { wait "$WRK_PID" || true; WRK_PID=; }
# wrk_result NAME: R_REQ R_BAD R_SOCK R_FAILED R_LINE from failover_load.lua's line.
wrk_result() {
  R_LINE=$(grep '^LOADRESULT' "$T/wrk.$1" | sed 's/^LOADRESULT //' || true)
  if [ -z "$R_LINE" ]; then
    sed 's/^/    wrk: /' "$T/wrk.$1" >&2
    R_REQ=0 R_BAD=0 R_SOCK=0 R_FAILED=999999
    return
  fi
  R_REQ=$(sed -n 's/.*requests=\([0-9]*\).*/\1/p' <<<"$R_LINE")
  R_BAD=$(sed -n 's/.*bad=\([0-9]*\).*/\1/p' <<<"$R_LINE")
  R_SOCK=$(sed -n 's/.*socket_errors=\([0-9]*\).*/\1/p' <<<"$R_LINE")
  R_FAILED=$((R_BAD + R_SOCK))
}
# The nginx access log of one scenario: lines after a mark.
log_mark() { wc -l <"$T/nginx.out"; }
log_since() { tail -n +"$(($1 + 1))" "$T/nginx.out" | grep ' up=' || true; }
served_by() { grep -c "127\.0\.0\.1:$2\b" <<<"$1" || true; }
SUMMARY=()

# ==== 1. kill -9 under GET load ====
log "scenario 1: wrk -c$CONNS 10 s of GET /survey/1; kill -9 app1 after 4 s"
mark=$(log_mark)
wrk_start s1 get "$T/watcher" 10s
sleep 4
victim=$(inst_pid app1)
kill -KILL "$victim"
wrk_wait
killed_alive=$(alive "$victim" && echo yes || echo no)
wrk_result s1
lines=$(log_since "$mark")
a1=$(served_by "$lines" "$P1"); a2=$(served_by "$lines" "$P2")
echo "scenario 1 (kill -9 under GET load): $R_REQ requests, $R_FAILED failed; $R_LINE; upstream tries app1=$a1 app2=$a2"
SUMMARY+=("1 kill -9 under GET: $R_REQ requests, $R_FAILED failed")
check "scenario 1: app1 was killed mid-run while both served (upstream tries app1=$a1, app2=$a2)" \
  test "$killed_alive" = no -a "$a1" -gt 0 -a "$a2" -gt 0
check "scenario 1: kill -9 under GET load: 0 failed of $R_REQ requests" \
  test "$R_FAILED" = 0 -a "$R_REQ" -gt 100
wait "$victim" 2>/dev/null || true
inst_start app1
lb_reset
session_check "after scenario 1"

# ==== 2. kill -9 under questionnaire submissions ====
log "scenario 2: signing up $RESPONDENTS respondents through nginx"
t0=$(date +%s)
# shellcheck disable=SC2016  # $1 is expanded by the inner bash
seq 1 "$RESPONDENTS" | xargs -P 6 -I{} bash -c 'signup "$1"' _ {} >"$T/signups"
grep -v '^FAIL' "$T/signups" >"$T/respondents" || true
nresp=$(wc -l <"$T/respondents")
nfail=$(grep -c '^FAIL' "$T/signups" || true)
check "scenario 2: $nresp of $RESPONDENTS respondents signed up through nginx in $(( $(date +%s) - t0 ))s ($nfail failed$(grep -m1 '^FAIL' "$T/signups" | sed 's/^/: /'))" \
  test "$nresp" = "$RESPONDENTS"

# The request bodies of failover_load.lua, once by hand: each save and the submission is
# a 303 to the next step (a 200 would be the form again with errors).
probe() {
  local c=(curl -sS --noproxy '*' -m 10 --cacert "$T/cert.pem" --resolve "$LB_NAME:$LB_HTTPS_PORT:127.0.0.1"
           -o /dev/null -w '%{http_code} %{redirect_url}' -H "Cookie: pesquisa_sid=$1")
  local csrf=$2 out="" b
  for b in "1 idade=34&moradores=3&renda_familiar=2a4sm" \
           "2 responsavel_compras=sim&sexo=feminino" \
           "3 frequencia_supermercado=4x_ou_mais" \
           "4 distancia_supermercado=ate_500m&fatores_escolha=preco&fatores_escolha=proximidade&importancia_fatores__preco=5&importancia_fatores__distancia=4&importancia_fatores__qualidade=5&importancia_fatores__variedade=3&importancia_fatores__atendimento=4" \
           "5 valor_compra=101a500&gasto_mensal=601a1000&gasto_bairro=ate_100" \
           "6 interesse_novo=provavelmente_sim" \
           "7 cceb_banheiros=1&cceb_automoveis=1&cceb_microcomputador=1&cceb_geladeira=1&cceb_tem_lava_loucas=nao&cceb_tem_lava_roupas=sim&cceb_tem_micro_ondas=sim&cceb_agua_encanada=sim&cceb_servico_domestico=nao&cceb_instrucao_chefe_2026=medio_completo"; do
    out+="$("${c[@]}" -d "${b#* }&csrf_token=$csrf" "$BASE/survey/${b%% *}" || true)|"
  done
  out+="$("${c[@]}" -d "csrf_token=$csrf" "$BASE/survey/submit" || true)"
  echo "${out//https:\/\/$LB_NAME:$LB_HTTPS_PORT/}"
}
signup 1001 >"$T/prober"
read -r probe_sid probe_csrf _ <"$T/prober" || true
probe_out=$(probe "$probe_sid" "${probe_csrf:-none}")
check "scenario 2: the load's form bodies are accepted: 7 saves and the submission ($probe_out)" \
  test "$probe_out" = "303 /survey/2|303 /survey/3|303 /survey/4|303 /survey/5|303 /survey/6|303 /survey/7|303 /survey/review|303 /survey/thanks"

log "scenario 2: wrk -c$CONNS 10 s of saves and submissions; kill -9 app2 after 4 s"
mark=$(log_mark)
wrk_start s2 submit "$T/respondents" 10s
sleep 4
victim=$(inst_pid app2)
kill -KILL "$victim"
wrk_wait
killed_alive=$(alive "$victim" && echo yes || echo no)
wrk_result s2
lines=$(log_since "$mark")
a1=$(served_by "$lines" "$P1"); a2=$(served_by "$lines" "$P2")
n502=$(grep -c '" 502 ' <<<"$lines" || true)
echo "scenario 2 (kill -9 under submissions): $R_REQ requests, $R_FAILED failed (nginx 502s: $n502); $R_LINE; upstream tries app1=$a1 app2=$a2"
SUMMARY+=("2 kill -9 under POST: $R_REQ requests, $R_FAILED failed (in-flight, limit $((2 * CONNS)))")
check "scenario 2: app2 was killed mid-run while both served (upstream tries app1=$a1, app2=$a2)" \
  test "$killed_alive" = no -a "$a1" -gt 0 -a "$a2" -gt 0
# At most one POST per wrk connection was in flight at the dead instance; nginx may also
# have sent a POST or two on a kept-alive connection to it before noticing that the
# connection had died (a 502 too, and correctly not retried): hence twice the count.
check "scenario 2: only in-flight POSTs failed: $R_FAILED of $R_REQ (at most $((2 * CONNS)))" \
  test "$R_FAILED" -le $((2 * CONNS)) -a "$R_REQ" -gt 100
read -r rows users submitted < <(db_root "SELECT COUNT(*), COUNT(DISTINCT user_id), COALESCE(SUM(submitted_at IS NOT NULL), 0) FROM responses")
expected=$((nresp + 1))   # + the probe
echo "scenario 2: responses table: $rows rows, $users distinct users, $submitted submitted (respondents: $expected)"
check "scenario 2: no duplicate response: COUNT(*) = COUNT(DISTINCT user_id) ($rows = $users)" \
  test "$rows" = "$users"
check "scenario 2: exactly one response per respondent ($rows rows for $expected respondents)" \
  test "$rows" = "$expected"
# Every respondent's submission came at least once in the run when it got through 5 rounds.
if [ "$R_REQ" -ge $((5 * nresp + 2 * CONNS)) ]; then
  check "scenario 2: every respondent's questionnaire is submitted ($submitted of $expected)" \
    test "$submitted" = "$expected"
else
  log "scenario 2: only $R_REQ requests (< 5 rounds of $nresp): submitted $submitted of $expected, not checked"
fi
wait "$victim" 2>/dev/null || true
inst_start app2
lb_reset
session_check "after scenario 2"

# ==== 3. Rolling restart (SIGTERM, drain, restart) under mixed load ====
export RESTART_CMD='inst_restart {}' READY_CMD='inst_ready {}'
# Each instance drained before its restart, as on the app VMs (ssh {} pesquisa-drain on).
# FAILOVER_DRAIN=0 leaves it out, to see what a rolling restart without it loses.
case "${FAILOVER_DRAIN:-1}" in
  1) export DRAIN_CMD='app_drain on {}' UNDRAIN_CMD='app_drain off {}' ;;
  *) unset DRAIN_CMD UNDRAIN_CMD ;;
esac
export LB_URL="$BASE/healthz"
export LB_CURL_OPTS="--noproxy $LB_NAME --cacert $T/cert.pem --resolve $LB_NAME:$LB_HTTPS_PORT:127.0.0.1"
export TIMEOUT=40 INTERVAL=0.2
log "scenario 3: deploy/rolling-restart.sh app1 app2 under wrk -c$CONNS GET+POST survey pages"
old1=$(inst_pid app1) old2=$(inst_pid app2)
mark=$(log_mark)
wrk_start s3 mixed "$T/respondents" 120s
sleep 2
t0=$(date +%s)
rc=0
timeout 100 "$REPO_ROOT/deploy/rolling-restart.sh" app1 app2 2>"$T/rolling.log" || rc=$?
took=$(( $(date +%s) - t0 ))
sleep 1
kill -INT "$WRK_PID" 2>/dev/null || true
wrk_wait
wrk_result s3
sed 's/^/    /' "$T/rolling.log" >&2
lines=$(log_since "$mark")
a1=$(served_by "$lines" "$P1"); a2=$(served_by "$lines" "$P2")
n502=$(grep -c '" 502 ' <<<"$lines" || true)
how="drain, SIGTERM, restart, undrain"; [ -n "${DRAIN_CMD:-}" ] || how="SIGTERM + restart, no drain"
echo "scenario 3 (rolling restart, $how, ${took}s): $R_REQ requests, $R_FAILED failed (nginx 502s: $n502); $R_LINE; upstream tries app1=$a1 app2=$a2"
SUMMARY+=("3 rolling restart ($how): $R_REQ requests, $R_FAILED failed")
check "scenario 3: rolling-restart.sh app1 app2 succeeds (exit $rc, ${took}s)" test "$rc" = 0
if [ -n "${DRAIN_CMD:-}" ]; then
  check "scenario 3: each instance was drained before its restart and undrained after" \
    test "$(grep -cE '(app1|app2): (draining|undraining) \(' "$T/rolling.log")" = 4
fi
check "scenario 3: both instances were restarted (new pids)" \
  test "$(inst_pid app1)" != "$old1" -a "$(inst_pid app2)" != "$old2"
check "scenario 3: graceful restarts under mixed load: 0 failed of $R_REQ requests" \
  test "$R_FAILED" = 0 -a "$R_REQ" -gt 100
read -r rows users _ < <(db_root "SELECT COUNT(*), COUNT(DISTINCT user_id), 0 FROM responses")
check "scenario 3: still one response per respondent ($rows rows, $users users)" \
  test "$rows" = "$users" -a "$rows" = "$expected"
session_check "after scenario 3"

# Errors inside the apps during the whole run (a 500 is a failure that no scenario caused
# on purpose; the scenario lines above show where they were answered).
app_errors=$(cat "$T"/app?.log | sed 's/\x1b\[[0-9;]*m//g' | grep ' ERROR ' || true)
nerr=$(grep -c . <<<"$app_errors" || true)
first_err=$(head -n 1 <<<"$app_errors" | sed 's/.*ERROR //' | cut -c1-160)
check "the apps logged no request error during the run ($nerr${first_err:+; first: $first_err})" \
  test "$nerr" = 0

echo "summary:"
printf '  %s\n' "${SUMMARY[@]}"
echo "total runtime $(( $(date +%s) - STARTED ))s"
finish
