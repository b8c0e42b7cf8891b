#!/usr/bin/env bash
# deploy/rolling-restart.sh against the nginx.conf stack of nginx_test.sh (Debian's nginx,
# two stand-in backends on loopback): under a steady stream of requests through the load
# balancer, restart both backends with the helper as in production (DRAIN_CMD/UNDRAIN_CMD
# run deploy/app-drain.sh around each restart) and expect not one failed request, GET or
# POST; then check that it stops with an error, touching nothing further, when an
# instance does not come back, and that it refuses to start while an instance is
# already down.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

need_cmd nginx nginx
need_cmd openssl openssl
need_cmd envsubst gettext-base
need_cmd curl curl
need_cmd python3 python3
need_cmd ss iproute2
need_cmd nft nftables

T=$(mktemp -d /tmp/pesquisa-rolling-test.XXXXXX)
LOAD_PID=
cleanup() {
  touch "$T/stop-load"
  [ -n "$LOAD_PID" ] && { kill "$LOAD_PID" 2>/dev/null || true; wait "$LOAD_PID" 2>/dev/null || true; }
  lb_stop || true
  rm -rf "$T"
}
trap cleanup EXIT

lb_start "$T"
ctl="bash $REPO_ROOT/tests/deploy/backend-ctl.sh $T"
pid_of() { cat "$T/$1.pid"; }

# The helper's knobs: local restarts and readiness instead of ssh.
export RESTART_CMD="$ctl restart {}"
export READY_CMD="$ctl ready {}"
export LB_URL="https://$LB_NAME:$LB_HTTPS_PORT/healthz"
export LB_CURL_OPTS="--noproxy $LB_NAME --cacert $T/cert.pem --resolve $LB_NAME:$LB_HTTPS_PORT:127.0.0.1"
export TIMEOUT=20 INTERVAL=0.2

# Steady load: one request after another through the LB, each status on its own line;
# every other one a POST (not retried by nginx once sent).
load() {
  local n=0
  rm -f "$T/stop-load"
  while [ ! -e "$T/stop-load" ]; do
    n=$((n + 1))
    if [ $((n % 2)) = 0 ]; then
      lbcurl /answers -o /dev/null -w '%{http_code}\n' -X POST -d "n=$n" 2>/dev/null || echo "curl-error"
    else
      lbcurl /echo -o /dev/null -w '%{http_code}\n' 2>/dev/null || echo "curl-error"
    fi
  done >"$T/load.codes"
}

# rolling NAME: rolling-restart.sh app1 app2 under load; sets rc, took, total, bad.
rolling() {
  load &
  LOAD_PID=$!
  old1=$(pid_of app1) old2=$(pid_of app2)
  local start; start=$(date +%s)
  rc=0
  "$REPO_ROOT/deploy/rolling-restart.sh" app1 app2 2>"$T/$1.log" || rc=$?
  took=$(( $(date +%s) - start ))
  touch "$T/stop-load"; wait "$LOAD_PID" || true; LOAD_PID=
  sed 's/^/    /' "$T/$1.log" >&2
  total=$(wc -l <"$T/load.codes")
  bad=$(grep -vc '^200$' "$T/load.codes" || true)
}
restarted() { test "$(pid_of app1)" != "$old1" -a "$(pid_of app2)" != "$old2"; }

# ---- As in production: each instance drained around its restart ----
# drain on|off NAME: deploy/app-drain.sh for NAME's port (lib.sh test_drain), and a log of
# the hooks in order.
drain() { echo "$1 $2" >>"$T/hooks"; test_drain "$1" "$(cat "$T/$2.port")"; }
export T REPO_ROOT
export -f drain test_drain
DRAIN_CMD='drain on {}' UNDRAIN_CMD='drain off {}' rolling rolling
check "rolling-restart.sh app1 app2 with DRAIN_CMD/UNDRAIN_CMD succeeds (${took}s)" test "$rc" = 0
check "both instances were restarted (new pids)" restarted
check "each was drained before its restart and undrained after it was ready" \
  grep -qzE 'app1: draining.*app1: restarting.*app1: ready.*app1: undraining.*app2: draining.*app2: restarting.*app2: ready.*app2: undraining' "$T/rolling.log"
check "... in that order, once each ($(tr '\n' ',' <"$T/hooks"))" \
  test "$(tr '\n' ',' <"$T/hooks")" = "on app1,off app1,on app2,off app2,"
check "no failed request (GET or POST) through the LB during the rolling restart ($bad of $total)" \
  test "$bad" = 0 -a "$total" -gt 50
check "it waited out nginx's fail_timeout after each restart (took ${took}s >= 22s)" test "$took" -ge 22

# An instance that does not come back: the helper must fail and leave app2 alone.
old2=$(pid_of app2)
rc=0
RESTART_CMD="$ctl kill {}" TIMEOUT=2 "$REPO_ROOT/deploy/rolling-restart.sh" app1 app2 2>"$T/rolling2.log" || rc=$?
sed 's/^/    /' "$T/rolling2.log" >&2
check "an instance that does not come back: non-zero exit ($rc)" test "$rc" != 0
check "... and the next instance is left untouched" test "$(pid_of app2)" = "$old2"
check "... and the error names the instance" grep -q 'app1: not ready after 2s' "$T/rolling2.log"

# app1 is down now: starting a rolling restart would take the whole service down.
rc=0
TIMEOUT=2 "$REPO_ROOT/deploy/rolling-restart.sh" app1 app2 2>"$T/rolling3.log" || rc=$?
check "refuses to start while an instance is already down ($rc)" \
  bash -c '[ "$1" != 0 ] && grep -q "app1 is not ready before the restart" "$2"' _ "$rc" "$T/rolling3.log"
check "... without restarting anything" test "$(pid_of app2)" = "$old2"

finish
