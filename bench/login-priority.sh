#!/usr/bin/env bash
# The hashing threads' CPU priority against /healthz latency during log-ins: one server,
# one setting, 3 runs of log-ins at -c16 with the paced /healthz probe alongside (as in
# bench/run.sh), after one idle probe run. Prints the idle p99, then per run the probe's
# p50 and p99 and the log-ins/s.
#
# usage: bench/login-priority.sh [BIN] [SECS=10]
#   HASHING=idle  (default) passwords.hashing_sched_idle = true, hashing_nice = 10
#   HASHING=N     SCHED_IDLE off, hashing_nice = N (0-19)
#   OTHERS=normal (default) everything else at normal priority, as in bench/run.sh
#   OTHERS=wrk    the log-in load generator (wrk) under SCHED_IDLE
#   OTHERS=idle   the log-in wrk, mariadbd and redis-server under SCHED_IDLE for the runs
#                 (restored at exit): only the server's own request handling and the
#                 probe stay at normal priority, as on an app VM whose clients and
#                 databases are other machines
#   LOGIN_PACE_MS=N each log-in connection waits N ms between requests (bench/login-paced.lua;
#                 16 connections at 290 ms: about 55 log-ins/s); with
#                 PESQUISA_PASSWORDS__MEMORY_KIB=8 PESQUISA_PASSWORDS__ITERATIONS=1 in the
#                 environment the same traffic runs with an almost free hash
# Needs MariaDB (root without password on 127.0.0.1) and Redis, as bench/run.sh; uses
# the database pesquisa_bench_prio and its own Redis key prefix, removed at the end.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${1:-target/x86_64-unknown-linux-musl/release/pesquisa}
secs=${2:-10}
hashing=${HASHING:-idle}
others=${OTHERS:-normal}
beside=${BESIDE:-}
ceiling=bench/floor/target/release/argon2-ceiling
case "$beside" in ""|ceiling) ;; *) echo "login-priority: BESIDE=$beside (ceiling or unset)" >&2; exit 2 ;; esac
if [ -n "$beside" ] && [ ! -x "$ceiling" ]; then
  echo "login-priority: $ceiling not built (cargo build --release --manifest-path bench/floor/Cargo.toml)" >&2; exit 2
fi
case "$others" in normal|wrk|idle) ;; *) echo "login-priority: OTHERS=$others (normal|wrk|idle)" >&2; exit 2 ;; esac
[ -x "$bin" ] || { echo "login-priority: $bin not built (deploy/build-static.sh)" >&2; exit 2; }
work=$(mktemp -d); port=18667; base="http://127.0.0.1:$port"; db=pesquisa_bench_prio
prefix="pesquisa-prio-$$:"; pid=""
# SCHED_OTHER back on every thread of the shared MariaDB and Redis (OTHERS=idle).
databases_at() { # -o | -i
  local p; for p in $(pgrep -x mariadbd) $(pgrep -x redis-server); do chrt -a "$1" -p 0 "$p" >/dev/null; done
}
cleanup() {
  [ "$others" = idle ] && databases_at -o
  [ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null || true
  mariadb -uroot -e "DROP DATABASE IF EXISTS $db" || true
  redis-cli --scan --pattern "$prefix*" | xargs -r -n 500 redis-cli del >/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
mariadb -uroot -e "DROP DATABASE IF EXISTS $db; CREATE DATABASE $db"
export PESQUISA_DATABASE__URL="mysql://root@127.0.0.1:3306/$db" PESQUISA_SERVER__LISTEN="127.0.0.1:$port"
export PESQUISA_DATABASE__POOL_SIZE=16 PESQUISA_REDIS__URL="redis://127.0.0.1:6379"
export PESQUISA_REDIS__KEY_PREFIX="$prefix" PESQUISA_LOGGING__LEVEL=warn PESQUISA_SERVER__DRAIN_SECS=0
export PESQUISA_SESSION__SECRET="bench-secret-bench-secret-bench-secret"
export PESQUISA_RATE_LIMIT__LOGIN_PER_IP=100000000 PESQUISA_RATE_LIMIT__LOGIN_FREE_FAILURES=100000000
export PESQUISA_RATE_LIMIT__REGISTER_PER_IP=100000000
if [ "$hashing" != idle ]; then
  export PESQUISA_PASSWORDS__HASHING_SCHED_IDLE=false PESQUISA_PASSWORDS__HASHING_NICE="$hashing"
fi
"$bin" migrate >/dev/null
"$bin" serve 2>"$work/serve.log" & pid=$!
for _ in $(seq 1 50); do curl -sf -o /dev/null "$base/readyz" && break; sleep 0.1; done

csrf_of() { grep -o 'name="csrf_token" value="[^"]*"' | head -1 | sed 's/.*value="//;s/"$//'; }
anon_session() {
  local jar token; jar=$(mktemp -p "$work")
  token=$(curl -s -c "$jar" "$base/login" | csrf_of)
  echo "$(awk '$6=="pesquisa_sid_pre"{print $7}' "$jar") $token"; rm -f "$jar"
}
export -f anon_session csrf_of; export base work
# The 64 accounts bench/login.lua logs in to, in turn.
signup() {
  local jar token; jar=$(mktemp -p "$work"); token=$(curl -s -c "$jar" -b "$jar" "$base/register" | csrf_of)
  curl -s -o /dev/null -c "$jar" -b "$jar" --data-urlencode "csrf_token=$token" --data-urlencode "nome=Bench" \
    --data-urlencode "sobrenome=Mark" --data-urlencode "email=$1" --data-urlencode "bairro=JARDIM SÃO JOSÉ" \
    --data-urlencode "password=cavalo correto bateria bench" --data-urlencode "password_confirm=cavalo correto bateria bench" \
    --data-urlencode "adult=1" --data-urlencode "accept_terms=1" "$base/register"
  rm -f "$jar"
}
export -f signup
seq 1 64 | xargs -P4 -I{} bash -c 'signup "bench{}@exemplo.com.br"'
export LOGIN_FILE=$work/logins
sessions() { seq 1 $((200 * secs + 200)) | xargs -P8 -I{} bash -c anon_session > "$LOGIN_FILE"; }
p99() { awk '$1=="99%"{print $2}'; }
# Busy, stolen (by the VM's host) and total jiffies of all cores (/proc/stat), to report
# how many cores were busy during the probe.
cpu_ticks() { awk '/^cpu /{print $2+$3+$4+$7+$8, $9, $2+$3+$4+$5+$6+$7+$8+$9}' /proc/stat; }

echo "hashing: $hashing; others: $others; beside: ${beside:-nothing}; $("$bin" --version)"
echo "idle /healthz p99: $(wrk -t1 -c1 -d"${secs}s" --latency -s bench/paced.lua "$base/healthz" | p99)"
login_wrk=(); [ "$others" = normal ] || login_wrk=(chrt -i 0)
login_lua=bench/login.lua; [ -n "${LOGIN_PACE_MS:-}" ] && login_lua=bench/login-paced.lua
for i in 1 2 3; do
  sessions
  [ "$others" = idle ] && databases_at -i
  "${login_wrk[@]}" wrk -t2 -c16 -d"${secs}s" --latency -s "$login_lua" "$base/login" > "$work/login-$i.txt" 2>&1 &
  w=$!; b=""
  if [ -n "$beside" ]; then chrt -i 0 "$ceiling" 19456 2 1 "$secs" > "$work/beside-$i.txt" & b=$!; fi
  sleep 1
  read -r busy0 stolen0 all0 < <(cpu_ticks)
  probe=$(wrk -t1 -c1 -d"$((secs - 2))s" --latency -s bench/paced.lua "$base/healthz")
  read -r busy1 stolen1 all1 < <(cpu_ticks)
  wait "$w"; if [ -n "$b" ]; then wait "$b"; fi
  [ "$others" = idle ] && databases_at -o
  echo "run $i: /healthz p50 $(awk '$1=="50%"{print $2}' <<<"$probe") p99 $(p99 <<<"$probe");" \
    "log-ins/s $(awk '/Requests\/sec/{print $2}' "$work/login-$i.txt")" \
    "($(grep -E '^status' "$work/login-$i.txt" | tr '\n' ' '))" \
    "$(awk -v b=$((busy1 - busy0)) -v s=$((stolen1 - stolen0)) -v a=$((all1 - all0)) -v n="$(nproc)" \
      'BEGIN{printf "cores busy %.2f of %d (stolen %.2f)", n*b/a, n, n*s/a}')" \
    "${beside:+beside: $(cut -d' ' -f1 "$work/beside-$i.txt") hashes/s}"
done
