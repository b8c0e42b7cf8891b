# shellcheck shell=bash
# Shared helpers for tests/deploy/*.sh (sourced, not run).
# Each test script counts its checks and ends with "N passed, M failed" and a non-zero
# exit status when a check failed, so it can run alone as well as under run_all.sh.

TESTS_PASSED=0
TESTS_FAILED=0
# Turn INT/TERM (Ctrl-C, run_all.sh's timeout) into a normal exit, so each script's EXIT
# trap still stops what it started.
trap 'exit 130' INT
trap 'exit 143' TERM
REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"

log() { printf '  .. %s\n' "$*" >&2; }
pass() { TESTS_PASSED=$((TESTS_PASSED + 1)); printf 'PASS: %s\n' "$*"; }
fail() { TESTS_FAILED=$((TESTS_FAILED + 1)); printf 'FAIL: %s\n' "$*"; }
# check DESCRIPTION COMMAND...: one PASS/FAIL line from a command's exit status.
check() {
  local what="$1"; shift
  if "$@"; then pass "$what"; else fail "$what"; fi
}
finish() {
  printf '%d passed, %d failed\n' "$TESTS_PASSED" "$TESTS_FAILED"
  [ "$TESTS_FAILED" -eq 0 ]
}

# apt_install PACKAGE...: install Debian packages without starting their services.
# apt-get update runs at most once per test run (the marker is exported to child scripts).
apt_install() {
  if [ -z "${DEPLOY_TESTS_APT_UPDATED:-}" ]; then
    apt-get update -qq >/dev/null
    export DEPLOY_TESTS_APT_UPDATED=1
  fi
  # policy-rc.d exit 101: packages must not start their system services (nginx on :80,
  # openvpn, mariadb, redis); the tests start private instances themselves.
  local prc=/usr/sbin/policy-rc.d created="" rc=0
  if [ ! -e "$prc" ]; then
    printf '#!/bin/sh\nexit 101\n' >"$prc" && chmod +x "$prc" && created=1
  fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null || rc=$?
  if [ -n "$created" ]; then rm -f "$prc"; fi
  return $rc
}

# have COMMAND: on PATH, in /usr/sbin (not on every root PATH), or easy-rsa's script.
have() { command -v "$1" >/dev/null 2>&1 || [ -x "/usr/sbin/$1" ] || [ -x "/usr/share/easy-rsa/$1" ]; }

# need_cmd COMMAND PACKAGE...: install the packages when COMMAND is missing.
need_cmd() {
  local cmd="$1"; shift
  have "$cmd" && return 0
  log "installing $* (for $cmd)"
  apt_install "$@"
}

# wait_until SECONDS COMMAND...: poll every 0.1 s until COMMAND succeeds or time runs out.
wait_until() {
  local deadline=$(( $(date +%s%N) + $1 * 1000000000 )); shift
  until "$@" >/dev/null 2>&1; do
    [ "$(date +%s%N)" -lt "$deadline" ] || return 1
    sleep 0.1
  done
}

# alive PID: the process exists and is not a zombie. (Where PID 1 does not reap orphans,
# as in some containers, a dead daemonised process lingers as a zombie and kill -0 on it
# still succeeds.)
alive() {
  local st
  st=$(awk '/^State:/ {print $2}' "/proc/$1/status" 2>/dev/null) || return 1
  [ -n "$st" ] && [ "$st" != Z ]
}

# free_port BASE: the first TCP port from BASE up that nothing listens on (loopback tests
# must not collide with services already on the machine, e.g. on 8080).
free_port() {
  local p="$1"
  while ss -Htln "sport = :$p" | grep -q .; do p=$((p + 1)); done
  echo "$p"
}

# pesquisa_bin: the binary the end-to-end tests run: $PESQUISA_BIN, else the newest built
# one (musl release, release, debug); nothing when none is built.
pesquisa_bin() {
  if [ -n "${PESQUISA_BIN:-}" ]; then echo "$PESQUISA_BIN"; return; fi
  local b
  # shellcheck disable=SC2012  # fixed names; ls -t picks the newest
  b=$(cd "$REPO_ROOT" && ls -t target/x86_64-unknown-linux-musl/release/pesquisa \
    target/release/pesquisa target/debug/pesquisa 2>/dev/null | head -n 1) || true
  if [ -n "$b" ]; then echo "$REPO_ROOT/$b"; fi
}

# The python3 that starts fastest (a pyenv shim adds ~100 ms to every backend restart).
python_bin() {
  if [ -x /usr/bin/python3 ]; then echo /usr/bin/python3; else command -v python3; fi
}

# ---- The load-balancer stack of nginx_test.sh and rolling_test.sh ----
# lb_start DIR: render nginx.conf for loopback, make a self-signed certificate, start two
# stand-in backends (app1, app2) and nginx with a private prefix, pid and logs in DIR.
# Sets LB_HTTP_PORT, LB_HTTPS_PORT, LB_NAME, LB_CONF, LB_NGINX_PID; app ports in DIR/*.port.
LB_NAME=pesquisa.test
# shellcheck disable=SC2016  # envsubst's list of names, not expanded here
LB_VARS='${APP1_ADDR} ${APP2_ADDR} ${SERVER_NAME} ${TLS_CERT} ${TLS_KEY} ${LISTEN_HTTP} ${LISTEN_HTTPS}'

lb_render() {  # lb_render DIR OUT: what the image's entrypoint does, with loopback values
  local dir=$1 out=$2
  APP1_ADDR="127.0.0.1:$(cat "$dir/app1.port")" APP2_ADDR="127.0.0.1:$(cat "$dir/app2.port")" \
  SERVER_NAME="$LB_NAME" TLS_CERT="$dir/cert.pem" TLS_KEY="$dir/key.pem" \
  LISTEN_HTTP="127.0.0.1:$LB_HTTP_PORT" LISTEN_HTTPS="127.0.0.1:$LB_HTTPS_PORT" \
    envsubst "$LB_VARS" <"$REPO_ROOT/nginx.conf" >"$out"
}

lb_nginx() {  # lb_nginx ARGS...: Debian's nginx with everything private to $LB_DIR
  nginx -c "$LB_CONF" -p "$LB_DIR" -e "$LB_DIR/error.log" "$@"
}

lb_start() {
  LB_DIR=$1
  LB_HTTP_PORT=$(free_port 28080)
  LB_HTTPS_PORT=$(free_port 28443)
  local p1 p2
  p1=$(free_port 28001); p2=$(free_port $((p1 + 1)))
  drain_reset "$p1" "$p2"
  LB_CONF="$LB_DIR/nginx.conf"
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
    -keyout "$LB_DIR/key.pem" -out "$LB_DIR/cert.pem" -subj "/CN=$LB_NAME" \
    -addext "subjectAltName=DNS:$LB_NAME" >/dev/null 2>&1
  bash "$REPO_ROOT/tests/deploy/backend-ctl.sh" "$LB_DIR" start app1 "$p1"
  bash "$REPO_ROOT/tests/deploy/backend-ctl.sh" "$LB_DIR" start app2 "$p2"
  lb_render "$LB_DIR" "$LB_CONF"
  # nginx itself, not the lb_nginx function: $! must be nginx's pid, not a subshell's.
  nginx -c "$LB_CONF" -p "$LB_DIR" -e "$LB_DIR/error.log" -g "daemon off; pid $LB_DIR/nginx.pid;" \
    >"$LB_DIR/nginx.out" 2>&1 &
  LB_NGINX_PID=$!
  if ! wait_until 10 curl -fsS --noproxy '*' -m 1 "http://127.0.0.1:$LB_HTTP_PORT/nginx-health"; then
    cat "$LB_DIR/nginx.out" "$LB_DIR/error.log" >&2 2>/dev/null || true
    echo "nginx did not start" >&2
    return 1
  fi
}

lb_stop() {
  if [ -n "${LB_NGINX_PID:-}" ]; then
    kill -TERM "$LB_NGINX_PID" 2>/dev/null || true
    wait_until 5 bash -c "! kill -0 $LB_NGINX_PID 2>/dev/null" || kill -KILL "$LB_NGINX_PID" 2>/dev/null || true
    LB_NGINX_PID=
  fi
  local b
  for b in app1 app2; do
    [ -f "$LB_DIR/$b.pid" ] && bash "$REPO_ROOT/tests/deploy/backend-ctl.sh" "$LB_DIR" kill "$b"
    [ -f "$LB_DIR/$b.port" ] && drain_reset "$(cat "$LB_DIR/$b.port")"
  done
  return 0
}

# ---- deploy/app-drain.sh on loopback (nginx_test, rolling_test, failover_test) ----
# On an app VM the drain refuses new connections to the app's port except over loopback.
# Here nginx and the backends share loopback, so the drain refuses the connections that
# nginx opens (from 127.0.0.1) to one backend's port, in a table named after that port;
# readiness checks connect from 127.0.0.2 and get through.
# test_drain on|off|status PORT
test_drain() {
  DRAIN_PORT=$2 DRAIN_TABLE="pesquisa_test_drain_$2" DRAIN_MATCH='ip saddr 127.0.0.1' \
    sh "$REPO_ROOT/deploy/app-drain.sh" "$1"
}
# drain_reset PORT...: no drain left on these ports (e.g. by a run that was killed).
drain_reset() {
  local p
  for p in "$@"; do test_drain off "$p" 2>/dev/null || true; done
}

# lbcurl PATH [CURL ARGS...]: a request to the TLS server, verifying the test certificate.
lbcurl() {
  local path=$1; shift
  curl -sS --noproxy '*' -m 5 --cacert "$LB_DIR/cert.pem" \
    --resolve "$LB_NAME:$LB_HTTPS_PORT:127.0.0.1" "$@" "https://$LB_NAME:$LB_HTTPS_PORT$path"
}

# stop_pid PID [SECONDS]: TERM, then KILL after SECONDS (default 5); reaped when it is a
# child of this shell. (alive, not kill -0: a child that exited stays a zombie until then.)
stop_pid() {
  local pid=$1 secs=${2:-5} i
  [ -n "$pid" ] || return 0
  kill -TERM "$pid" 2>/dev/null || return 0
  for ((i = 0; i < secs * 10; i++)); do alive "$pid" || break; sleep 0.1; done
  if alive "$pid"; then kill -KILL "$pid" 2>/dev/null || true; fi
  wait "$pid" 2>/dev/null || true
  return 0
}

# ---- Network namespaces (openvpn_test.sh, topology_test.sh) ----
NETNS=()
# netns_add NAME...: new namespaces with loopback up; netns_cleanup removes them.
netns_add() {
  local ns
  for ns in "$@"; do
    ip netns add "$ns"
    NETNS+=("$ns")
    ip -n "$ns" link set lo up
  done
}
# netns_link NS1 IF1 ADDR1/LEN NS2 IF2 ADDR2/LEN: a veth pair between two namespaces.
netns_link() {
  ip link add "$2" type veth peer name "$5"
  ip link set "$2" netns "$1"
  ip link set "$5" netns "$4"
  ip -n "$1" addr add "$3" dev "$2"
  ip -n "$4" addr add "$6" dev "$5"
  ip -n "$1" link set "$2" up
  ip -n "$4" link set "$5" up
}
# netns_cleanup: kill whatever still runs in the namespaces, then delete them (their veth
# ends and tun devices go with them).
netns_cleanup() {
  local ns p
  for ns in "${NETNS[@]}"; do
    for p in $(ip netns pids "$ns" 2>/dev/null); do kill -KILL "$p" 2>/dev/null || true; done
    ip netns del "$ns" 2>/dev/null || true
  done
  NETNS=()
}
# need_vpn_tools: what openvpn/ and the namespaces need.
need_vpn_tools() {
  need_cmd openvpn openvpn
  need_cmd easyrsa easy-rsa
  need_cmd openssl openssl
  need_cmd envsubst gettext-base
  need_cmd ip iproute2
  need_tun
}
need_tun() {
  [ -c /dev/net/tun ] && return 0
  mkdir -p /dev/net && mknod /dev/net/tun c 10 200 && chmod 0666 /dev/net/tun
}

# ---- OpenVPN with openvpn/*.conf (openvpn_test.sh, topology_test.sh) ----
# vpn_server_start NS PKI DIR: DIR laid out like /etc/openvpn/server (pesquisa.conf and
# pesquisa/ with the server bundle of PKI and the project's ccd/), openvpn in NS, logging
# to DIR/server.log. Sets VPN_SERVER_PID. DIR is 0755: the server re-reads crl.pem and
# ccd/ as user nobody.
vpn_server_start() {
  local ns=$1 pki=$2 dir=$3
  install -d -m 0755 "$dir" "$dir/pesquisa" "$dir/pesquisa/ccd"
  cp "$pki"/server/* "$dir/pesquisa/"
  cp "$REPO_ROOT"/openvpn/ccd/* "$dir/pesquisa/ccd/"
  cp "$REPO_ROOT/openvpn/server.conf" "$dir/pesquisa.conf"
  ip netns exec "$ns" openvpn --cd "$dir" --config pesquisa.conf --log "$dir/server.log" &
  # shellcheck disable=SC2034  # for the caller
  VPN_SERVER_PID=$!
}
# vpn_client_start NS PKI NAME SERVER_ADDR DIR: client NAME's bundle laid out like
# /etc/openvpn/client in DIR (emptied first), client.conf rendered for SERVER_ADDR,
# openvpn in NS, logging to DIR/client.log. Sets VPN_CLIENT_PID.
vpn_client_start() {
  local ns=$1 pki=$2 name=$3 server=$4 dir=$5
  rm -rf "$dir"
  install -d -m 0755 "$dir" "$dir/pesquisa"
  cp "$pki/clients/$name"/* "$dir/pesquisa/"
  # shellcheck disable=SC2016  # envsubst's list of names
  VPN_SERVER=$server envsubst '${VPN_SERVER}' <"$REPO_ROOT/openvpn/client.conf" >"$dir/pesquisa.conf"
  ip netns exec "$ns" openvpn --cd "$dir" --config pesquisa.conf --log "$dir/client.log" &
  # shellcheck disable=SC2034  # for the caller
  VPN_CLIENT_PID=$!
}
# vpn_up LOG: openvpn (server or client) logged that it is up.
vpn_up() { grep -q 'Initialization Sequence Completed' "$1" 2>/dev/null; }

# ---- The DB host from deploy/db-host/ (dbhost_test.sh, topology_test.sh) ----
# db_tls_certs DIR IP: a private CA (DIR/ca.pem, ca-key.pem) and a MariaDB server
# certificate for IP (DIR/server-cert.pem, server-key.pem), as docs/deploy.md makes them.
db_tls_certs() {
  local d=$1 ip=$2
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
    -keyout "$d/ca-key.pem" -out "$d/ca.pem" -subj "/CN=pesquisa test DB CA" >/dev/null 2>&1
  openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
    -keyout "$d/server-key.pem" -out "$d/server.csr" -subj "/CN=$ip" >/dev/null 2>&1
  printf 'subjectAltName=IP:%s\nextendedKeyUsage=serverAuth\n' "$ip" >"$d/ext.cnf"
  openssl x509 -req -in "$d/server.csr" -CA "$d/ca.pem" -CAkey "$d/ca-key.pem" -CAcreateserial \
    -days 2 -extfile "$d/ext.cnf" -out "$d/server-cert.pem" >/dev/null 2>&1
}

# in_ns NS COMMAND...: COMMAND in network namespace NS, or right here when NS is empty.
in_ns() {
  local ns=$1; shift
  if [ -n "$ns" ]; then ip netns exec "$ns" "$@"; else "$@"; fi
}

# mariadb_start DIR NS [OVERRIDES]: the project's mariadb.cnf, then this instance's paths
# under DIR (datadir, socket DIR/mysqld.sock, logs, TLS from db_tls_certs) and OVERRIDES
# (lines; the last setting of an option wins), in DIR/my.cnf; a fresh datadir; mariadbd in
# NS (empty: here). Returns once root answers on the socket (30 s at most). Sets
# MYSQLD_PID and MYSQL_SOCK.
mariadb_start() {
  local d=$1 ns=$2 extra=${3:-}
  grep -q '^bind-address = 10.8.0.1$' "$REPO_ROOT/deploy/db-host/mariadb.cnf" ||
    { echo "mariadb.cnf: bind-address is not 10.8.0.1" >&2; return 1; }
  MYSQL_SOCK="$d/mysqld.sock"
  {
    cat "$REPO_ROOT/deploy/db-host/mariadb.cnf"
    cat <<CNF

# ---- test overrides ----
[mariadb]
socket = $MYSQL_SOCK
datadir = $d/data
pid-file = $d/mysqld.pid
log-error = $d/mysqld.err
ssl-ca = $d/ca.pem
ssl-cert = $d/server-cert.pem
ssl-key = $d/server-key.pem
log_bin = $d/binlog/mariadb-bin
innodb_buffer_pool_size = 32M
user = root
$extra
CNF
  } >"$d/my.cnf"
  mkdir -p "$d/binlog"
  mariadb-install-db --no-defaults --datadir="$d/data" --user=root --skip-test-db \
    --auth-root-authentication-method=socket >"$d/install-db.log" 2>&1 ||
    { cat "$d/install-db.log" >&2; return 1; }
  local pre=()
  [ -z "$ns" ] || pre=(ip netns exec "$ns")
  # A simple command, so that $! is mariadbd's own pid (ip netns exec execs it).
  "${pre[@]}" mariadbd --defaults-file="$d/my.cnf" >"$d/mysqld.out" 2>&1 &
  # shellcheck disable=SC2034  # for the caller
  MYSQLD_PID=$!
  if ! wait_until 30 mariadb --no-defaults -S "$MYSQL_SOCK" -uroot -e 'SELECT 1'; then
    cat "$d/mysqld.err" "$d/mysqld.out" >&2 2>/dev/null || true
    echo "private mariadbd did not start" >&2
    return 1
  fi
}

# redis_start DIR NS APP_PASSWORD ADMIN_PASSWORD [OVERRIDES]: the project's redis.conf
# with the two password hashes filled in (DIR/redis-base.conf), included by DIR/redis.conf
# with this instance's paths under DIR and OVERRIDES; redis-server in NS (empty: here).
# Sets REDIS_PID; the caller waits for it (it knows where it listens).
redis_start() {
  local d=$1 ns=$2 app=$3 adm=$4 extra=${5:-}
  sed -e "s/@APP_PASSWORD_SHA256@/$(sha256_hex "$app")/" \
      -e "s/@ADMIN_PASSWORD_SHA256@/$(sha256_hex "$adm")/" \
    "$REPO_ROOT/deploy/db-host/redis.conf" >"$d/redis-base.conf"
  grep -q '^bind 10.8.0.1$' "$d/redis-base.conf" || { echo "redis.conf: bind is not 10.8.0.1" >&2; return 1; }
  printf 'include %s\ndir %s\npidfile %s\nlogfile %s\nmaxmemory 16mb\ndaemonize no\n%s\n' \
    "$d/redis-base.conf" "$d" "$d/redis.pid" "$d/redis.log" "$extra" >"$d/redis.conf"
  local pre=()
  [ -z "$ns" ] || pre=(ip netns exec "$ns")
  "${pre[@]}" redis-server "$d/redis.conf" >"$d/redis.out" 2>&1 &
  # shellcheck disable=SC2034  # for the caller
  REDIS_PID=$!
}
sha256_hex() { printf %s "$1" | sha256sum | cut -d' ' -f1; }

# users_sql SOCKET APP_PW MIGRATE_PW ANALYST_PW ANALYST_PD_PW [CLIENT_HOSTS]:
# deploy/db-host/users.sql as docs/deploy.md runs it (root over the socket, passwords as
# user variables); fails when any statement of the file fails.
users_sql() {
  # shellcheck disable=SC2016  # SQL quotes in a heredoc, expanded by bash
  mariadb --no-defaults --abort-source-on-error -S "$1" -uroot -N -B <<SQL
SET @app_password = '$2';
SET @migrate_password = '$3';
SET @analyst_password = '$4';
SET @analyst_pd_password = '$5';
${6:+SET @client_hosts = '$6';}
SOURCE $REPO_ROOT/deploy/db-host/users.sql
SQL
}
