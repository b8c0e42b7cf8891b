#!/usr/bin/env bash
# The whole private topology of docs/deploy.md in network namespaces, with the project's
# own files and the real binary:
#   DB namespace   OpenVPN server (openvpn/server.conf, 10.8.0.1), MariaDB
#                  (deploy/db-host/mariadb.cnf + users.sql, TLS required) and Redis
#                  (deploy/db-host/redis.conf, ACL users), both bound to 10.8.0.1 on their
#                  usual ports 3306/6379, then the DB host firewall (nftables.conf)
#   app1, app2     an OpenVPN client each (openvpn/client.conf, ccd addresses 10.8.0.11
#                  and .12) and `pesquisa serve` as the app user over the tunnel:
#                  database.url mysql://pesquisa_app@10.8.0.1/pesquisa?require_ssl=true with
#                  database.tls_ca_file, redis.url redis://10.8.0.1 with the ACL user
# Each app namespace is linked to the DB namespace by its own veth pair (the "internet"
# between the VMs), which carries only OpenVPN's UDP; nothing routes between them.
# Checks: the tunnels and their addresses; MariaDB and Redis listen on 10.8.0.1 only (no
# answer on the DB namespace's link addresses or on its 127.0.0.1); the app user is
# refused without TLS; `pesquisa migrate` as the migration user; both apps ready; a
# respondent signs up and logs in on app1 and saves survey page 1; app2 shows the saved
# answer with the same session cookie (one Redis); the row is in MariaDB; a client
# certificate without a ccd entry, and app2's after revocation, are refused, and app2
# then loses the database.
# Needs root and a pesquisa binary: $PESQUISA_BIN, else the newest of target/*/pesquisa.
# Everything runs in namespaces pq-topo-*-PID and /tmp/pesquisa-topology-test.*, removed
# at the end even on failure (KEEP_TMP=1 keeps the directory and its logs).
# shellcheck disable=SC2016  # bash -c '...' _ ARGS: the inner shell expands them
set -euo pipefail
. "$(dirname "$0")/lib.sh"

need_vpn_tools
need_cmd ss iproute2
need_cmd mariadbd mariadb-server
need_cmd mariadb mariadb-client
need_cmd redis-server redis-server
need_cmd redis-cli redis-tools
need_cmd nft nftables
need_cmd curl curl

STARTED=$(date +%s%N)
BIN=$(pesquisa_bin)
if [ -z "$BIN" ] || [ ! -x "$BIN" ]; then
  fail "no pesquisa binary (set PESQUISA_BIN or build one)"; finish; exit 1
fi

T=$(mktemp -d /tmp/pesquisa-topology-test.XXXXXX)
# Like /etc/openvpn: the server re-reads crl.pem and ccd/ as user nobody.
chmod 0755 "$T"
mkdir -p "$T/db" "$T/app1" "$T/app2"
NS_DB="pq-topo-db-$$" NS_A1="pq-topo-a1-$$" NS_A2="pq-topo-a2-$$"
VPN_SERVER_PID="" MYSQLD_PID="" REDIS_PID=""
declare -A VPN_PID=() APP_PID=()

cleanup() {
  set +e
  local p
  for p in "${APP_PID[@]}"; do stop_pid "$p" 5; done
  for p in "${VPN_PID[@]}"; do stop_pid "$p" 3; done
  stop_pid "$MYSQLD_PID" 10; stop_pid "$REDIS_PID" 5; stop_pid "$VPN_SERVER_PID" 3
  netns_cleanup
  if [ "$TESTS_FAILED" -gt 0 ]; then
    for f in db/vpn/server.log app1/vpn/client.log app2/vpn/client.log db/mysqld.err db/redis.log \
             app1/migrate.log app1/serve.log app2/serve.log; do
      [ -s "$T/$f" ] || continue
      echo "---- $f (tail)" >&2; tail -n 8 "$T/$f" | cut -c1-300 >&2
    done
  fi
  if [ -n "${KEEP_TMP:-}" ]; then echo "kept $T" >&2; else rm -rf "$T"; fi
}
trap cleanup EXIT

# ---- Namespaces: DB 192.168.241.1 <-> app1 .11, DB 192.168.242.1 <-> app2 .12 ----
netns_add "$NS_DB" "$NS_A1" "$NS_A2"
netns_link "$NS_DB" "pqtd1$$" 192.168.241.1/24 "$NS_A1" "pqta1$$" 192.168.241.11/24
netns_link "$NS_DB" "pqtd2$$" 192.168.242.1/24 "$NS_A2" "pqta2$$" 192.168.242.12/24
declare -A UNDERLAY=([app1]=192.168.241.1 [app2]=192.168.242.1)
declare -A NS=([app1]=$NS_A1 [app2]=$NS_A2)

# ---- VPN: PKI, server in the DB namespace, a client in each app namespace ----
PKI="$T/pki"
"$REPO_ROOT/openvpn/pki.sh" "$PKI" 2>"$T/pki.log" || { cat "$T/pki.log" >&2; fail "openvpn/pki.sh"; finish; exit 1; }
"$REPO_ROOT/openvpn/pki.sh" add-client "$PKI" rogue 2>>"$T/pki.log"   # a valid cert, no ccd entry
vpn_server_start "$NS_DB" "$PKI" "$T/db/vpn"
check "OpenVPN server up in the DB namespace" wait_until 15 vpn_up "$T/db/vpn/server.log"
start_vpn() {  # start_vpn APP [CERT_NAME]: APP's namespace, with CERT_NAME's bundle
  vpn_client_start "${NS[$1]}" "$PKI" "${2:-$1}" "${UNDERLAY[$1]}" "$T/$1/vpn"
  VPN_PID[$1]=$VPN_CLIENT_PID
}
start_vpn app1
start_vpn app2
has_addr() { ip -n "$1" -4 addr show dev tun0 2>/dev/null | grep -q "inet $2/24"; }
tunnel_ready() { vpn_up "$T/$1/vpn/client.log" && has_addr "${NS[$1]}" "$2"; }
no_tunnel() { ! vpn_up "$T/$1/vpn/client.log" && ! ip -n "${NS[$1]}" link show tun0 >/dev/null 2>&1; }
via_tun0() { ip -n "${NS[$1]}" route get 10.8.0.1 | grep -q "dev tun0"; }
for a in app1 app2; do
  want=10.8.0.1${a#app}
  check "$a: tunnel up with its ccd address $want" wait_until 20 tunnel_ready "$a" "$want"
  check "$a: 10.8.0.1 is reached through tun0, not the link" via_tun0 "$a"
done

# ---- DB host: MariaDB and Redis from deploy/db-host, on 10.8.0.1 (tunnel up first) ----
APP_PW="app-$(openssl rand -hex 12)"
MIG_PW="mig-$(openssl rand -hex 12)"
ANA_PW="ana-$(openssl rand -hex 12)"
APD_PW="apd-$(openssl rand -hex 12)"
RADM_PW="adm-$(openssl rand -hex 12)"
db_tls_certs "$T/db" 10.8.0.1
# The file's own bind-address (10.8.0.1) and port (3306): only paths are overridden.
mariadb_start "$T/db" "$NS_DB" || { fail "MariaDB did not start in the DB namespace"; finish; exit 1; }
root_sql() { ip netns exec "$NS_DB" mariadb --no-defaults -S "$MYSQL_SOCK" -uroot -N -B "$@"; }
redis_start "$T/db" "$NS_DB" "$APP_PW" "$RADM_PW"
radm() { ip netns exec "$NS_DB" redis-cli --no-auth-warning -h 10.8.0.1 --user admin --pass "$RADM_PW" "$@"; }
redis_up() { [ "$(radm PING 2>/dev/null)" = PONG ]; }
if ! wait_until 10 redis_up; then
  cat "$T/db/redis.log" "$T/db/redis.out" >&2 2>/dev/null || true
  fail "Redis did not start in the DB namespace"; finish; exit 1
fi
users_sql "$MYSQL_SOCK" "$APP_PW" "$MIG_PW" "$ANA_PW" "$APD_PW" >/dev/null   # hosts: the file's 10.8.0.%

# What listens: TCP only on the tunnel address, and only MariaDB and Redis.
listeners=$(ip netns exec "$NS_DB" ss -Htln | awk '{print $4}' | sort | tr '\n' ' ')
check "DB namespace: the only TCP listeners are 10.8.0.1:3306 and 10.8.0.1:6379 ($listeners)" \
  test "$listeners" = "10.8.0.1:3306 10.8.0.1:6379 "
# tcp_refused NS HOST PORT: the host answers, with a reset: nothing listens there.
tcp_refused() {
  local out
  out=$(ip netns exec "$1" timeout 3 bash -c "exec 3<>/dev/tcp/$2/$3" 2>&1) && return 1
  grep -q 'Connection refused' <<<"$out"
}
tcp_open() { ip netns exec "$1" timeout 3 bash -c "exec 3<>/dev/tcp/$2/$3" 2>/dev/null; }
for port in 3306 6379; do
  check "port $port: no answer on the DB's link address 192.168.241.1 (from app1)" tcp_refused "$NS_A1" 192.168.241.1 "$port"
  check "port $port: no answer on 127.0.0.1 inside the DB namespace" tcp_refused "$NS_DB" 127.0.0.1 "$port"
  check "port $port: open on 10.8.0.1 through the tunnel (from app2)" tcp_open "$NS_A2" 10.8.0.1 "$port"
done

# The DB host firewall, as on the host: from here on everything passes through it.
check "DB host firewall (deploy/db-host/nftables.conf) loaded in the DB namespace" \
  ip netns exec "$NS_DB" nft -f "$REPO_ROOT/deploy/db-host/nftables.conf"

# ---- MariaDB users over the tunnel ----
# sql_from NS USER PASSWORD TLS SQL: the mariadb client in an app namespace over the tunnel.
sql_from() {
  local tls=(--ssl --ssl-ca="$T/db/ca.pem" --ssl-verify-server-cert)
  [ "$4" = tls ] || tls=(--skip-ssl)
  MYSQL_PWD=$3 ip netns exec "$1" mariadb --no-defaults -h 10.8.0.1 -P 3306 -u "$2" -N -B \
    "${tls[@]}" pesquisa -e "$5" 2>>"$T/client-errors.log"
}
tls_version() { sql_from "$NS_A1" pesquisa_app "$APP_PW" tls "SHOW STATUS LIKE 'Ssl_version'" | grep -Eq 'TLSv1\.[23]'; }
refused() { ! sql_from "$@" >/dev/null; }
check "app user with TLS from app1 (certificate verified for 10.8.0.1): TLS 1.2+" tls_version
check "app user without TLS is refused" refused "$NS_A1" pesquisa_app "$APP_PW" plain "SELECT 1"
check "app user cannot create tables" refused "$NS_A2" pesquisa_app "$APP_PW" tls "CREATE TABLE x (id INT)"

# ---- The apps: migrate once as the migration user, then serve as the app user ----
SECRET=$(openssl rand -base64 48 | tr -d '\n')
app_setup() {  # app_setup APP DB_USER DB_PASSWORD: DIR/pesquisa.toml and DIR/credentials
  local d="$T/$1"
  mkdir -p "$d/credentials"
  printf %s "$3" >"$d/credentials/database_password"
  printf %s "$APP_PW" >"$d/credentials/redis_password"
  printf %s "$SECRET" >"$d/credentials/session_secret"
  cat >"$d/pesquisa.toml" <<EOF
[server]
listen = "127.0.0.1:8000"
shutdown_grace_secs = 2
drain_secs = 0

[database]
url = "mysql://$2@10.8.0.1:3306/pesquisa?require_ssl=true"
tls_ca_file = "$T/db/ca.pem"

[redis]
url = "redis://10.8.0.1:6379/0"
username = "pesquisa_app"

[logging]
format = "text"
EOF
}
# The binary in APP's namespace, with a clean environment and its credentials directory.
migrate() {
  ip netns exec "$NS_A1" env -i PATH="$PATH" CREDENTIALS_DIRECTORY="$T/app1/credentials" \
    "$BIN" --config "$T/app1/pesquisa.toml" migrate >"$T/app1/migrate.log" 2>&1
}
app_setup app1 pesquisa_migrate "$MIG_PW"
check "pesquisa migrate from app1 as pesquisa_migrate, over the tunnel with TLS" migrate
app_setup app1 pesquisa_app "$APP_PW"
app_setup app2 pesquisa_app "$APP_PW"
for a in app1 app2; do
  # A simple command, so that $! is pesquisa's own pid (ip and env exec it).
  ip netns exec "${NS[$a]}" env -i PATH="$PATH" CREDENTIALS_DIRECTORY="$T/$a/credentials" \
    "$BIN" --config "$T/$a/pesquisa.toml" serve >"$T/$a/serve.log" 2>&1 &
  APP_PID[$a]=$!
done
# acurl APP ARGS...: curl inside APP's namespace, to its own pesquisa on 127.0.0.1:8000.
acurl() { local a=$1; shift; ip netns exec "${NS[$a]}" curl -sS --noproxy '*' -m 10 "$@"; }
ready() { [ "$(acurl "$1" -o /dev/null -w '%{http_code}' http://127.0.0.1:8000/readyz 2>/dev/null)" = 200 ]; }
settled() { ready "$1" || ! alive "${APP_PID[$1]}"; }
for a in app1 app2; do
  wait_until 30 settled "$a" || true
  check "$a: pesquisa serve as pesquisa_app, /readyz 200 (MariaDB over TLS and Redis, through the tunnel)" ready "$a"
done
conns=$(root_sql -e "SELECT GROUP_CONCAT(DISTINCT SUBSTRING_INDEX(host, ':', 1) ORDER BY 1)
                     FROM information_schema.PROCESSLIST WHERE user = 'pesquisa_app'")
check "MariaDB sees the app user connected from both tunnel addresses ($conns)" test "$conns" = "10.8.0.11,10.8.0.12"

# ---- A respondent: sign up, log in, save page 1 on app1; read it back on app2 ----
EMAIL="topo-$$@example.com" PASSWORD="cavalo correto bateria grampo"
csrf_of() { grep -o 'name="csrf_token" value="[^"]*"' | head -n 1 | cut -d'"' -f4; }
# post APP JAR PATH ARGS...: a form POST; prints "CODE LOCATION".
post() {
  local a=$1 jar=$2 path=$3; shift 3
  acurl "$a" -b "$jar" -c "$jar" -o /dev/null -w '%{http_code} %{redirect_url}' "$@" "http://127.0.0.1:8000$path" || true
}
jar="$T/signup.jar"
csrf=$(acurl app1 -b "$jar" -c "$jar" http://127.0.0.1:8000/register | csrf_of || true)
out=$(post app1 "$jar" /register --data-urlencode "nome=Ana" --data-urlencode "sobrenome=Túnel" \
  --data-urlencode "email=$EMAIL" --data-urlencode "bairro=JARDIM SÃO JOSÉ" \
  --data-urlencode "password=$PASSWORD" --data-urlencode "password_confirm=$PASSWORD" \
  -d adult=1 -d accept_terms=1 --data-urlencode "csrf_token=$csrf")
check "app1: sign-up answers 303 to /register/sent ($out)" bash -c '[[ "$1" == "303 "*/register/sent ]]' _ "$out"

jar="$T/login.jar"   # a new browser: log in with the account just made
csrf=$(acurl app1 -b "$jar" -c "$jar" http://127.0.0.1:8000/login | csrf_of || true)
out=$(post app1 "$jar" /login --data-urlencode "email=$EMAIL" --data-urlencode "password=$PASSWORD" \
  --data-urlencode "csrf_token=$csrf")
check "app1: log-in answers 303, not back to /login ($out)" \
  bash -c '[[ "$1" == "303 "* && "$1" != *"/login"* ]]' _ "$out"
csrf=$(acurl app1 -b "$jar" -c "$jar" http://127.0.0.1:8000/survey/1 | csrf_of || true)
out=$(post app1 "$jar" /survey/1 -d "idade=34&moradores=3&renda_familiar=2a4sm" --data-urlencode "csrf_token=$csrf")
check "app1: POST /survey/1 saves page 1 (303 to /survey/2: $out)" bash -c '[[ "$1" == "303 "*/survey/2 ]]' _ "$out"

page=$(acurl app2 -b "$jar" -w '\n%{http_code}' http://127.0.0.1:8000/survey/1 || true)
check "app2: the same session cookie is logged in there (GET /survey/1: $(tail -n 1 <<<"$page"))" \
  test "$(tail -n 1 <<<"$page")" = 200
check "app2: page 1 shows the answer saved on app1 (idade 34)" grep -Eq 'name="idade"[^>]*value="34"|value="34"[^>]*name="idade"' <<<"$page"
row=$(root_sql pesquisa -e "SELECT r.answers FROM responses r JOIN users u ON u.id = r.user_id WHERE u.email = '$EMAIL'")
check "MariaDB (DB namespace): the response row holds the answers" \
  bash -c 'grep -q "idade" <<<"$1" && grep -q "34" <<<"$1" && grep -q "2a4sm" <<<"$1"' _ "$row"
keys=$(radm --scan 2>/dev/null | sort | tr '\n' ' ')
check "Redis (DB namespace): session keys under pesquisa:, nothing else ($(wc -w <<<"$keys") keys)" \
  bash -c '[ -n "$1" ] && ! tr " " "\n" <<<"$1" | grep . | grep -qv "^pesquisa:"' _ "$keys"
check "no NOPERM (Redis ACL) and no ERROR in either app's log" \
  bash -c '! grep -hiE "noperm| ERROR " "$1" "$2"' _ "$T/app1/serve.log" "$T/app2/serve.log"

# ---- Refused clients: no ccd entry; app2 after revocation ----
stop_pid "${VPN_PID[app2]}" 3; unset 'VPN_PID[app2]'
rm -f "$T/app2/vpn/client.log"
cp -r "$PKI/clients/app2" "$T/app2-bundle"   # app2's copy, still there after the revocation
check "pki.sh revoke-client app2; the new CRL is copied to the server (read at each connect)" \
  bash -c '"$1" revoke-client "$2" app2 2>/dev/null && install -m 0644 "$2/server/crl.pem" "$3"' \
  _ "$REPO_ROOT/openvpn/pki.sh" "$PKI" "$T/db/vpn/pesquisa/crl.pem"
mkdir -p "$PKI/clients/app2" && cp "$T/app2-bundle"/* "$PKI/clients/app2/"
start_vpn app2
check "app2's revoked certificate is refused by the server" \
  wait_until 20 grep -q "VERIFY ERROR: depth=0, error=certificate revoked: CN=app2" "$T/db/vpn/server.log"
sleep 1
check "... app2 gets no tunnel" no_tunnel app2
stop_pid "${VPN_PID[app2]}" 3; unset 'VPN_PID[app2]'
not_ready() { ! ready app2; }
check "... and app2's pesquisa loses the database and Redis (/readyz no longer 200)" wait_until 20 not_ready
start_vpn app2 rogue
check "a certificate without a ccd entry (rogue) is refused by the server" \
  wait_until 20 grep -q "client-config-dir authentication failed for common name 'rogue'" "$T/db/vpn/server.log"
sleep 1
check "... rogue gets no tunnel" no_tunnel app2
check "app1 still serves through its tunnel (/readyz 200)" ready app1

echo "topology test took $(( ($(date +%s%N) - STARTED) / 1000000 )) ms"
finish
