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

# The python3 that starts fastest (a pyenv shim adds ~100 ms to every backend restart).
python_bin() {
  if [ -x /usr/bin/python3 ]; then echo /usr/bin/python3; else command -v python3; fi
}

# ---- The load-balancer stack of nginx_test.sh and rolling_test.sh ----
# lb_start DIR: render nginx.conf for loopback, make a self-signed certificate, start two
# stand-in backends (app1, app2) and nginx with a private prefix, pid and logs in DIR.
# Sets LB_HTTP_PORT, LB_HTTPS_PORT, LB_NAME, LB_CONF, LB_NGINX_PID; app ports in DIR/*.port.
LB_NAME=pesquisa.test
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
  done
  return 0
}

# lbcurl PATH [CURL ARGS...]: a request to the TLS server, verifying the test certificate.
lbcurl() {
  local path=$1; shift
  curl -sS --noproxy '*' -m 5 --cacert "$LB_DIR/cert.pem" \
    --resolve "$LB_NAME:$LB_HTTPS_PORT:127.0.0.1" "$@" "https://$LB_NAME:$LB_HTTPS_PORT$path"
}
