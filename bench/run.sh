#!/usr/bin/env bash
# Benchmarks against a release build on MariaDB + Redis (run scripts/test-services.sh
# first). Scenarios, each with wrk at -c16 after a warm-up, 3 runs, median reported:
#   - logged-in GET /survey/1 (session read from Redis, page rendered)
#   - saving questionnaire page 1 (one UPDATE per request, 64 respondents)
#   - log-ins (argon2id at the default cost), with GET /healthz latency measured meanwhile
#     and compared with its idle latency
# Writes a Markdown table to bench/RESULTS.md (and raw wrk output to bench/raw/).
# Usage: bench/run.sh [seconds per run, default 10]
set -euo pipefail
cd "$(dirname "$0")/.."
secs="${1:-10}"
port=18181
base="http://127.0.0.1:$port"
raw=bench/raw; mkdir -p "$raw"
work=$(mktemp -d)
db=pesquisa_t_bench
prefix="pesquisa-bench-$$:"
pid=""
cleanup() {
  [ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
  mariadb -uroot -e "DROP DATABASE IF EXISTS $db" 2>/dev/null || true
  redis-cli --scan --pattern "$prefix*" | xargs -r redis-cli del >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT
command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk >/dev/null; }

cargo build --release --locked 2>&1 | tail -1
bin=target/release/pesquisa
mariadb -uroot -e "DROP DATABASE IF EXISTS $db; CREATE DATABASE $db"
export PESQUISA_DATABASE__URL="mysql://pesquisa_test:pesquisa_test@127.0.0.1:3306/$db"
export PESQUISA_DATABASE__POOL_SIZE=16
export PESQUISA_REDIS__URL="redis://127.0.0.1:6379"
export PESQUISA_REDIS__KEY_PREFIX="$prefix"
export PESQUISA_SESSION__SECRET="bench-secret-bench-secret-bench-secret"
export PESQUISA_SERVER__LISTEN="127.0.0.1:$port"
# The benchmark logs in thousands of times from one address.
export PESQUISA_RATE_LIMIT__LOGIN_PER_IP=100000000
export PESQUISA_RATE_LIMIT__LOGIN_FAILURES_PER_ACCOUNT=100000000
export PESQUISA_RATE_LIMIT__REGISTER_PER_IP=100000000
"$bin" migrate >/dev/null
"$bin" serve 2>"$work/serve.log" & pid=$!
for _ in $(seq 1 100); do curl -sf "$base/readyz" >/dev/null && break; sleep 0.1; done

# One anonymous session: prints "cookie token".
anon_session() {
  local jar; jar=$(mktemp -p "$work")
  local token
  token=$(curl -s -c "$jar" "$base/login" | grep -o 'name="csrf_token" value="[^"]*"' | head -1 | sed 's/.*value="//;s/"$//')
  echo "$(awk '$6=="pesquisa_sid"{print $7}' "$jar") $token"
  rm -f "$jar"
}
# Sign up a respondent; prints "cookie token" of the logged-in session.
signup() {
  local email=$1 jar; jar=$(mktemp -p "$work")
  local token
  token=$(curl -s -c "$jar" -b "$jar" "$base/register" | grep -o 'name="csrf_token" value="[^"]*"' | head -1 | sed 's/.*value="//;s/"$//')
  curl -s -o /dev/null -c "$jar" -b "$jar" --data-urlencode "csrf_token=$token" --data-urlencode "nome=Bench" \
    --data-urlencode "sobrenome=Mark" --data-urlencode "email=$email" --data-urlencode "bairro=JARDIM SÃO JOSÉ" \
    --data-urlencode "password=cavalo correto bateria bench" --data-urlencode "password_confirm=cavalo correto bateria bench" \
    --data-urlencode "adult=1" --data-urlencode "accept_terms=1" "$base/register"
  token=$(curl -s -b "$jar" "$base/survey/1" | grep -o 'name="csrf_token" value="[^"]*"' | head -1 | sed 's/.*value="//;s/"$//')
  echo "$(awk '$6=="pesquisa_sid"{print $7}' "$jar") $token"
  rm -f "$jar"
}
export -f anon_session signup; export base work

echo "preparing sessions" >&2
signup "bench@exemplo.com.br" > "$work/main.session"
seq 1 64 | xargs -P4 -I{} bash -c 'signup "bench{}@exemplo.com.br"' > "$work/sessions"
read -r cookie token < "$work/main.session"

median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
# rps and p99 (ms) from one wrk --latency output
rps_of() { awk '/Requests\/sec/{print $2}' "$1"; }
p99_of() { awk '$1=="99%"{v=$2; if (v ~ /us$/) {sub("us","",v); v=v/1000} else if (v ~ /ms$/) {sub("ms","",v)} else if (v ~ /s$/) {sub("s","",v); v=v*1000}; print v}' "$1"; }
errors_of() { awk '/Non-2xx or 3xx/{n+=$NF} /Socket errors/{gsub(",","");n+=$4+$6+$8+$10} END{print n+0}' "$1"; }

run_scenario() { # name, then wrk args
  local name=$1; shift
  wrk "$@" -d2s >/dev/null 2>&1 || true   # warm-up
  local rps=() p99=() errs=0
  for i in 1 2 3; do
    local out="$raw/$name-$i.txt"
    wrk "$@" -d"${secs}s" --latency > "$out" 2>&1
    rps+=("$(rps_of "$out")"); p99+=("$(p99_of "$out")"); errs=$((errs + $(errors_of "$out")))
  done
  echo "$name $(printf '%s\n' "${rps[@]}" | median) $(printf '%s\n' "${p99[@]}" | median) $errs"
}

results=()
echo "GET /survey/1" >&2
results+=("$(run_scenario survey-get -t2 -c16 -H "Cookie: pesquisa_sid=$cookie" "$base/survey/1")")
echo "POST /survey/1" >&2
export SESSIONS_FILE=$work/sessions LOGIN_FILE=$work/logins
results+=("$(run_scenario survey-save -t2 -c16 -s bench/save_page.lua "$base/survey/1")")

echo "idle /healthz" >&2
wrk -t1 -c1 -d"${secs}s" --latency "$base/healthz" > "$raw/healthz-idle.txt" 2>&1
idle_p99=$(p99_of "$raw/healthz-idle.txt")
echo "log-ins" >&2
needed=$(( secs * 4 * 150 + 600 ))
seq 1 "$needed" | xargs -P8 -I{} bash -c anon_session > "$work/logins"
wrk -t2 -c16 -d"${secs}s" --latency -s bench/login.lua "$base/login" > "$raw/login.txt" 2>&1 &
wrk_pid=$!
sleep 1
wrk -t1 -c1 -d"$((secs - 2))s" --latency "$base/healthz" > "$raw/healthz-under-login.txt" 2>&1
wait $wrk_pid
login_rps=$(rps_of "$raw/login.txt"); login_errs=$(errors_of "$raw/login.txt")
busy_p99=$(p99_of "$raw/healthz-under-login.txt")

{
  echo "# Benchmark results"
  echo
  echo "Machine: $(nproc) cores, $(free -g | awk '/Mem:/{print $2}') GiB, $(uname -r); MariaDB $(mariadb -V | grep -o '[0-9]*\.[0-9]*\.[0-9]*-MariaDB' | head -1), Redis $(redis-server --version | grep -o 'v=[0-9.]*'); $(date -u +%Y-%m-%dT%H:%MZ)."
  echo "Command: \`bench/run.sh $secs\` (wrk -c16 -t2, 2 s warm-up, 3 runs of ${secs} s, median). Raw output in bench/raw/."
  echo
  echo "| scenario | requests/s | p99 (ms) | errors or non-2xx/3xx |"
  echo "|---|---|---|---|"
  for r in "${results[@]}"; do set -- $r; echo "| $1 | $2 | $3 | $4 |"; done
  echo "| log-in (argon2id m=19456,t=2,p=1) | $login_rps | $(p99_of "$raw/login.txt") | $login_errs |"
  echo
  echo "\`GET /healthz\` p99: idle ${idle_p99} ms; during the log-in load ${busy_p99} ms."
} | tee bench/RESULTS.md
grep -c " 303 \| 200 " "$work/serve.log" >/dev/null || true
