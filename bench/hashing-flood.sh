#!/usr/bin/env bash
# Another account's log-in latency while one account floods the password check (security
# issue 16, finding 5): one server; a victim account logs in every 250 ms for SECS seconds,
# first alone, then while a second, logged-in account posts wrong current passwords to
# /account/password from 100 connections (wrk -c100, each waiting FLOOD_PACE_MS, default
# 100, between attempts). Prints the victim's log-in p50, p90 and max, each alone and
# under the flood, and the flood's statuses.
#
# usage: bench/hashing-flood.sh BIN [SECS=15]
#   Run it with the binary before and after a change (the same build profile for both).
# Needs MariaDB (root without password on 127.0.0.1) and Redis, as bench/run.sh; uses the
# database pesquisa_bench_flood and its own Redis key prefix, removed at the end.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${1:?usage: bench/hashing-flood.sh BIN [SECS]}
secs=${2:-15}
[ -x "$bin" ] || { echo "hashing-flood: $bin is not an executable" >&2; exit 2; }
command -v wrk >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null; }
work=$(mktemp -d); port=18668; base="http://127.0.0.1:$port"; db=pesquisa_bench_flood
prefix="pesquisa-flood-$$:"; pid=""
cleanup() {
  [ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null || true
  mariadb -uroot -e "DROP DATABASE IF EXISTS $db" || true
  redis-cli --scan --pattern "$prefix*" | xargs -r -n 500 redis-cli del >/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
mariadb -uroot -e "DROP DATABASE IF EXISTS $db; CREATE DATABASE $db"
export PESQUISA_DATABASE__URL="mysql://root@127.0.0.1:3306/$db" PESQUISA_SERVER__LISTEN="127.0.0.1:$port"
export PESQUISA_DATABASE__POOL_SIZE=16 PESQUISA_REDIS__URL="redis://127.0.0.1:6379"
export PESQUISA_REDIS__KEY_PREFIX="$prefix" PESQUISA_LOGGING__LEVEL=error PESQUISA_SERVER__DRAIN_SECS=0
export PESQUISA_SESSION__SECRET="bench-secret-bench-secret-bench-secret"
# The per-network log-in limit is not what is measured: every request comes from 127.0.0.1.
export PESQUISA_RATE_LIMIT__LOGIN_PER_IP=100000000 PESQUISA_RATE_LIMIT__REGISTER_PER_IP=100000000
"$bin" migrate >/dev/null
"$bin" serve 2>"$work/serve.log" & pid=$!
for _ in $(seq 1 100); do curl -sf -o /dev/null "$base/readyz" && break; sleep 0.1; done

password="cavalo correto bateria bench"
csrf_of() { grep -o 'name="csrf_token" value="[^"]*"' | head -1 | sed 's/.*value="//;s/"$//'; }
register() { # email jar
  local token; token=$(curl -s -c "$2" -b "$2" "$base/register" | csrf_of)
  curl -s -o /dev/null -c "$2" -b "$2" --data-urlencode "csrf_token=$token" --data-urlencode "nome=Bench" \
    --data-urlencode "sobrenome=Mark" --data-urlencode "email=$1" --data-urlencode "bairro=JARDIM SÃO JOSÉ" \
    --data-urlencode "password=$password" --data-urlencode "password_confirm=$password" \
    --data-urlencode "adult=1" --data-urlencode "accept_terms=1" "$base/register"
  # Sign-up mails a link and logs nobody in; the password logs in before verification.
  token=$(curl -s -c "$2" -b "$2" "$base/login" | csrf_of)
  curl -s -o /dev/null -c "$2" -b "$2" --data-urlencode "csrf_token=$token" --data-urlencode "email=$1" \
    --data-urlencode "password=$password" "$base/login"
}
register vitima@exemplo.com.br "$work/victim-signup"
register inunda@exemplo.com.br "$work/flooder"
flood_cookie=$(awk '$6=="pesquisa_sid"{print $7}' "$work/flooder")
flood_token=$(curl -s -b "$work/flooder" "$base/account" | csrf_of)

# One log-in of the victim, from a fresh visitor (form, then post): its time in ms.
victim_login() {
  local jar=$work/v.$$ token
  rm -f "$jar"; token=$(curl -s -c "$jar" -b "$jar" "$base/login" | csrf_of)
  curl -s -o /dev/null -b "$jar" -w '%{http_code} %{time_total}\n' --data-urlencode "csrf_token=$token" \
    --data-urlencode "email=vitima@exemplo.com.br" --data-urlencode "password=$password" "$base/login"
}
victim_series() { # out
  local end=$((SECONDS + secs))
  while [ $SECONDS -lt $end ]; do victim_login >> "$1"; sleep 0.25; done
}
summary() { # file
  awk '{n++; if ($1 != 303) bad++; print $2 * 1000}' "$1" | sort -n | awk -v bad="$(awk '$1!=303' "$1" | wc -l)" '
    {v[NR]=$1} END {printf "%d log-ins (not 303: %d): p50 %.0f ms, p90 %.0f ms, max %.0f ms\n",
      NR, bad, v[int(NR*0.5)+1], v[int(NR*0.9)+1], v[NR]}'
}

echo "$("$bin" --version); victim log-ins every 250 ms for ${secs}s"
victim_series "$work/alone"
echo "alone:       $(summary "$work/alone")"
FLOOD_COOKIE=$flood_cookie FLOOD_TOKEN=$flood_token \
  wrk -t2 -c100 -d"$((secs + 2))s" -s bench/password-flood.lua "$base/account/password" > "$work/flood.txt" 2>&1 &
w=$!
sleep 1
victim_series "$work/flooded"
wait "$w"
echo "under flood: $(summary "$work/flooded")"
echo "flood: $(awk '/Requests\/sec/{print $2}' "$work/flood.txt") requests/s; $(grep -E '^status' "$work/flood.txt" | sort | tr '\n' ' ')"
