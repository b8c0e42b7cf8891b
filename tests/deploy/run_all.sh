#!/usr/bin/env bash
# All deploy checks: the systemd unit, nginx.conf, the rolling restart helper, OpenVPN,
# the DB host configuration and, with the built binary, failover behind nginx and the
# whole topology in network namespaces.
# Each script prints its own PASS/FAIL lines (indented here), then one line per script;
# the last line is "N passed, M failed" (scripts).
# Needs root (network namespaces, private daemons); installs missing Debian packages.
# Environment: DEPLOY_TESTS_E2E=1 adds what runs the built `pesquisa` binary
# ($PESQUISA_BIN, else the newest of target/*/pesquisa): the end-to-end part of
# dbhost_test.sh, failover_test.sh (two instances behind nginx under wrk load: kill -9,
# rolling restart; needs MariaDB on 127.0.0.1:3306 with the pesquisa_test user and Redis on
# 127.0.0.1:6379, as scripts/test-services.sh sets up), topology_test.sh (DB host and
# two app VMs in network namespaces, connected only through OpenVPN) and faults_test.sh
# (two instances under load on a private MariaDB and Redis while they are frozen,
# killed, filled and cut off; prints the fault table).
# SCRIPT_TIMEOUT (default 150 s) bounds each script, FAILOVER_TIMEOUT (default 240 s)
# failover_test.sh, FAULTS_TIMEOUT (default 300 s) faults_test.sh.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
. "$here/lib.sh"

if [ "$(id -u)" != 0 ]; then
  echo "FAIL: tests/deploy needs root (network namespaces, private mariadbd/redis/nginx)"
  echo "0 passed, 1 failed"
  exit 1
fi

# Install everything missing in one apt-get run, without starting any system service.
declare -A pkg_for=(
  [nginx]=nginx [openvpn]=openvpn [easyrsa]=easy-rsa [openssl]=openssl [ip]=iproute2
  [ss]=iproute2 [ping]=iputils-ping [systemd-analyze]=systemd [mariadbd]=mariadb-server
  [mariadb]=mariadb-client [mariadb-install-db]=mariadb-server [redis-server]=redis-server
  [redis-cli]=redis-tools [envsubst]=gettext-base [curl]=curl [python3]=python3
  [setsid]=util-linux [timeout]=coreutils [nft]=nftables [strace]=strace [pgrep]=procps [gzip]=gzip
  [wrk]=wrk
)
missing=()
for cmd in "${!pkg_for[@]}"; do
  have "$cmd" || missing+=("${pkg_for[$cmd]}")
done
if [ ${#missing[@]} -gt 0 ]; then
  mapfile -t missing < <(printf '%s\n' "${missing[@]}" | sort -u)
  log "installing ${missing[*]}"
  apt_install "${missing[@]}"
fi

SCRIPT_TIMEOUT=${SCRIPT_TIMEOUT:-150}
FAILOVER_TIMEOUT=${FAILOVER_TIMEOUT:-240}
FAULTS_TIMEOUT=${FAULTS_TIMEOUT:-300}
passed=0 failed=0
started=$(date +%s)
tests=(systemd_test nginx_test rolling_test openvpn_test dbhost_test)
if [ "${DEPLOY_TESTS_E2E:-0}" = 1 ]; then
  tests+=(failover_test topology_test faults_test)
else
  echo "SKIP: failover_test, topology_test, faults_test (they run the pesquisa binary: set DEPLOY_TESTS_E2E=1)"
fi
for t in "${tests[@]}"; do
  echo "== $t"
  limit=$SCRIPT_TIMEOUT
  [ "$t" = failover_test ] && limit=$FAILOVER_TIMEOUT
  [ "$t" = faults_test ] && limit=$FAULTS_TIMEOUT
  t0=$(date +%s)
  rc=0
  out=$(mktemp /tmp/pesquisa-deploy-test.XXXXXX)
  timeout --kill-after=10 "$limit" bash "$here/$t.sh" >"$out" 2>&1 || rc=$?
  secs=$(( $(date +%s) - t0 ))
  # Indented, so that the only "N passed, M failed" line alone on a line is the last one.
  sed 's/^/    /' "$out"
  summary=$(tail -n 1 "$out" | grep -E '^[0-9]+ passed, [0-9]+ failed' || echo "no summary")
  rm -f "$out"
  if [ "$rc" = 0 ]; then
    passed=$((passed + 1)); echo "PASS: $t ($summary; ${secs}s)"
  else
    failed=$((failed + 1))
    [ "$rc" = 124 ] && summary="timed out after ${limit}s"
    echo "FAIL: $t ($summary; exit $rc; ${secs}s)"
  fi
done
echo "total $(( $(date +%s) - started ))s"
echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
