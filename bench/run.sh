#!/usr/bin/env bash
# The benchmark suite: one command, scenarios and their baselines measured in the same run.
# Needs root: starts MariaDB and Redis through scripts/test-services.sh when they are not
# running, installs wrk and GNU time when missing, creates the MariaDB user pesquisa_bench
# and creates and drops the pesquisa_bench* databases through the socket.
#
# Builds the static binary (the one the app VMs run) and the baseline binaries
# (bench/floor), then measures, each
# load with wrk -t2 -c16 after a 2 s warm-up, 3 runs, median reported:
#   baselines   floor-http (minimal salvo + maud page), db-floor (single-row INSERT
#               transactions MariaDB sustains at -c16), argon2-ceiling (verifications/s
#               with the configured cost, all cores), mariadb --batch reading the rows an
#               export reads
#   scenarios   logged-in GET /survey/1; saving questionnaire page 1 (MariaDB, 64
#               respondents); log-ins with GET /healthz latency measured meanwhile vs idle
#               (a paced probe, bench/paced.lua);
#               export of 50k and 200k responses to CSV (time, peak RSS); idle RSS and
#               start-up to ready; size of the static (musl) binary
# Writes bench/RESULTS.md (table against targets, machine description) and raw output to
# bench/raw/. About 8 minutes with the default 10 s runs, plus the builds.
#
# Usage: bench/run.sh [seconds per run, default 10]
# Environment: BENCH_STATIC=0  do not (re)build the musl binary with deploy/build-static.sh;
#                              measure a glibc release build instead; the static size is
#                              then taken from an existing build, if any
#              CARGO_TARGET_DIR  honoured for the release builds
#              BENCH_BIN=PATH    measure this pesquisa binary instead of building one
set -euo pipefail
cd "$(dirname "$0")/.."
secs="${1:-10}"
static="${BENCH_STATIC:-1}"
port=18181
floor_port=18190
start_port=18182
base="http://127.0.0.1:$port"
raw=bench/raw; rm -rf "$raw"; mkdir -p "$raw"
export BENCH_RAW=$raw
work=$(mktemp -d)
# Own user and databases: scripts/test-services.sh drops every pesquisa_t_* database it
# finds, which would pull the floor out from under a benchmark running beside a test run.
db=pesquisa_bench
floor_db=pesquisa_bench_floor
start_db=pesquisa_bench_start
export_db=pesquisa_bench_export
prefix="pesquisa-bench-$$:"
mysql_base="mysql://pesquisa_bench:pesquisa_bench@127.0.0.1:3306"
pid="" floor_pid="" sampler_pid=""
stop() { # pid: SIGTERM, then wait
  [ -n "$1" ] && kill "$1" 2>/dev/null && wait "$1" 2>/dev/null || true
}
cleanup() {
  stop "$pid"; stop "$floor_pid"; stop "$sampler_pid"
  for d in $db $floor_db $start_db $export_db; do
    mariadb -uroot -e "DROP DATABASE IF EXISTS $d" 2>/dev/null || true
  done
  redis-cli --scan --pattern "$prefix*" | xargs -r -n 500 redis-cli del >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT
log() { echo "== $*" >&2; }

command -v wrk >/dev/null && [ -x /usr/bin/time ] || {
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk time >/dev/null
}

# MariaDB and Redis: scripts/test-services.sh when either is not answering (it also drops
# leftover pesquisa_t_* databases, which a test run could be using). Then the bench user.
if ! mariadb -uroot -e 'SELECT 1' >/dev/null 2>&1 || ! redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1; then
  scripts/test-services.sh
fi
mariadb -uroot <<'SQL'
CREATE USER IF NOT EXISTS 'pesquisa_bench'@'127.0.0.1' IDENTIFIED BY 'pesquisa_bench';
GRANT ALL PRIVILEGES ON `pesquisa\_bench%`.* TO 'pesquisa_bench'@'127.0.0.1';
SQL

# ---------------------------------------------------------------------------- builds
log "building (release)"
cargo build --release --locked --manifest-path bench/floor/Cargo.toml 2>&1 | tail -1
floor_bin="${CARGO_TARGET_DIR:-bench/floor/target}/release"
musl_bin=target/x86_64-unknown-linux-musl/release/pesquisa
if [ "$static" != 0 ]; then
  log "building the static binary (deploy/build-static.sh; BENCH_STATIC=0 skips)"
  # Built under ./target (CARGO_TARGET_DIR unset), where musl_bin points.
  env -u CARGO_TARGET_DIR deploy/build-static.sh > "$raw/build-static.txt" 2>&1 \
    || { cat "$raw/build-static.txt" >&2; exit 1; }
elif [ -f "$musl_bin" ]; then
  env -u CARGO_TARGET_DIR deploy/build-static.sh --check > "$raw/build-static.txt" 2>&1 || true
fi
# The binary measured: the given one, else the static build (what the app VMs run),
# else a glibc release build when the static one is skipped.
if [ -n "${BENCH_BIN:-}" ]; then
  bin=$BENCH_BIN
elif [ "$static" != 0 ]; then
  bin=$musl_bin
else
  cargo build --release --locked 2>&1 | tail -1
  bin="${CARGO_TARGET_DIR:-target}/release/pesquisa"
fi

# ------------------------------------------------------------------ helpers (parsing)
median() { sort -g | awk '{a[NR]=$1} END {if (NR) print a[int((NR+1)/2)]; else print "-"}'; }
rps_of() { awk '/Requests\/sec/{print $2}' "$1"; }
# percentile (50% or 99%) in ms from a wrk --latency output
pct_of() { awk -v p="$2" '$1==p{v=$2; if (v ~ /us$/) {sub("us","",v); v=v/1000} else if (v ~ /ms$/) {sub("ms","",v)} else if (v ~ /s$/) {sub("s","",v); v=v*1000}; print v}' "$1"; }
# socket errors (connect, read, write, timeout) and non-2xx/3xx responses
errors_of() { awk '/Non-2xx or 3xx/{n+=$NF} /Socket errors/{gsub(",","");n+=$4+$6+$8+$10} END{print n+0}' "$1"; }
# responses whose status is not the expected one (from bench/status.lua's lines)
unexpected_of() { awk -v want="$2" '/^status [0-9]+:/{s=$2; sub(":","",s); if (s!=want) n+=$3} END{print n+0}' "$1"; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN{ if (b+0 == 0) print "-"; else printf "%.2f", a/b }'; }
pct() { awk -v a="$1" -v b="$2" 'BEGIN{ if (b+0 == 0) print "-"; else printf "%.0f %%", 100*a/b }'; }
yes_if() { awk "BEGIN{ exit !($1) }" && echo "yes" || echo "**no**"; }
mb() { awk -v k="$1" 'BEGIN{printf "%.1f", k/1024}'; }

# wrk scenario: name, expected status ("" = any 2xx/3xx), then wrk args. Appends
# "name rps p50 p99 errors" to $work/results.
run_wrk() {
  local name=$1 want=$2; shift 2
  wrk "$@" -d2s >/dev/null 2>&1 || true   # warm-up
  local rps=() p50=() p99=() errs=0
  for i in 1 2 3; do
    local out="$raw/$name-$i.txt"
    wrk "$@" -d"${secs}s" --latency > "$out" 2>&1
    rps+=("$(rps_of "$out")"); p50+=("$(pct_of "$out" 50%)"); p99+=("$(pct_of "$out" 99%)")
    errs=$((errs + $(errors_of "$out")))
    [ -n "$want" ] && errs=$((errs + $(unexpected_of "$out" "$want")))
  done
  echo "$name $(printf '%s\n' "${rps[@]}" | median) $(printf '%s\n' "${p50[@]}" | median) $(printf '%s\n' "${p99[@]}" | median) $errs" \
    | tee -a "$work/results" >&2
}
get() { awk -v n="$1" '$1==n{print $'"$2"'}' "$work/results"; }

# ----------------------------------------------------------------- the environment
export PESQUISA_DATABASE__POOL_SIZE=16
export PESQUISA_REDIS__URL="redis://127.0.0.1:6379"
export PESQUISA_REDIS__KEY_PREFIX="$prefix"
export PESQUISA_SESSION__SECRET="bench-secret-bench-secret-bench-secret"
export PESQUISA_SERVER__DRAIN_SECS=0
export PESQUISA_LOGGING__LEVEL=warn
# The benchmark logs in thousands of times from one address.
export PESQUISA_RATE_LIMIT__LOGIN_PER_IP=100000000
export PESQUISA_RATE_LIMIT__LOGIN_FREE_FAILURES=100000000
export PESQUISA_RATE_LIMIT__REGISTER_PER_IP=100000000
read -r pw_m pw_t pw_p < <("$bin" check-config 2>/dev/null | awk -F' *= *' '
  /^\[/{sec=$0} sec=="[passwords]" && $1=="memory_kib"{m=$2} sec=="[passwords]" && $1=="iterations"{t=$2}
  sec=="[passwords]" && $1=="parallelism"{p=$2} END{print (m?m:19456), (t?t:2), (p?p:1)}')

# Other work on the machine while measuring (the results are only comparable within a run).
( while :; do echo "$(date +%s) $(cut -d' ' -f1 /proc/loadavg) $(ps -e -o comm= | grep -cE '^(rustc|cc1|cc1plus|ld|chrome|chromium|node)$')"; sleep 5; done ) > "$raw/load.txt" &
sampler_pid=$!
started_at=$(date -u +%Y-%m-%dT%H:%MZ); t_start=$(date +%s)

# ------------------------------------------------- start-up to ready, idle RSS
# Fresh database each time. "migrated": `pesquisa migrate` first, as in production;
# "auto": serve applies the migrations itself (database.auto_migrate).
log "start-up to ready and idle RSS"
for mode in migrated auto; do
  for i in 1 2 3; do
    mariadb -uroot -e "DROP DATABASE IF EXISTS $start_db; CREATE DATABASE $start_db"
    (
      export PESQUISA_DATABASE__URL="$mysql_base/$start_db" PESQUISA_SERVER__LISTEN="127.0.0.1:$start_port"
      if [ $mode = migrated ]; then "$bin" migrate >/dev/null; else export PESQUISA_DATABASE__AUTO_MIGRATE=true; fi
      python3 bench/startup.py "$bin" "http://127.0.0.1:$start_port"
    ) >> "$raw/startup-$mode.txt"
  done
done
ready_ms=$(awk '{print $1}' "$raw/startup-migrated.txt" | median)
ready_auto_ms=$(awk '{print $1}' "$raw/startup-auto.txt" | median)
idle_rss_kib=$(awk '{print $2}' "$raw/startup-migrated.txt" | median)
log "ready ${ready_ms} ms (auto-migrate ${ready_auto_ms} ms), idle RSS ${idle_rss_kib} KiB"

# ------------------------------------------------------------- the server under test
mariadb -uroot -e "DROP DATABASE IF EXISTS $db; CREATE DATABASE $db"
export PESQUISA_DATABASE__URL="$mysql_base/$db"
export PESQUISA_SERVER__LISTEN="127.0.0.1:$port"
"$bin" migrate >/dev/null
"$bin" serve 2>"$raw/serve.log" & pid=$!
for _ in $(seq 1 100); do curl -sf "$base/readyz" >/dev/null && break; sleep 0.1; done

csrf_of() { grep -o 'name="csrf_token" value="[^"]*"' | head -1 | sed 's/.*value="//;s/"$//'; }
# One anonymous visitor: prints "pre-session cookie, token" (log-in forms store nothing).
anon_session() {
  local jar; jar=$(mktemp -p "$work")
  local token
  token=$(curl -s -c "$jar" "$base/login" | csrf_of)
  echo "$(awk '$6=="pesquisa_sid_pre"{print $7}' "$jar") $token"
  rm -f "$jar"
}
# Sign up a respondent; prints "cookie token" of the logged-in session.
signup() {
  local email=$1 jar; jar=$(mktemp -p "$work")
  local token
  token=$(curl -s -c "$jar" -b "$jar" "$base/register" | csrf_of)
  curl -s -o /dev/null -c "$jar" -b "$jar" --data-urlencode "csrf_token=$token" --data-urlencode "nome=Bench" \
    --data-urlencode "sobrenome=Mark" --data-urlencode "email=$email" --data-urlencode "bairro=JARDIM SÃO JOSÉ" \
    --data-urlencode "password=cavalo correto bateria bench" --data-urlencode "password_confirm=cavalo correto bateria bench" \
    --data-urlencode "adult=1" --data-urlencode "accept_terms=1" "$base/register"
  # Sign-up mails a link and logs nobody in; the password logs in before verification.
  token=$(curl -s -c "$jar" -b "$jar" "$base/login" | csrf_of)
  curl -s -o /dev/null -c "$jar" -b "$jar" --data-urlencode "csrf_token=$token" --data-urlencode "email=$email" \
    --data-urlencode "password=cavalo correto bateria bench" "$base/login"
  token=$(curl -s -b "$jar" "$base/survey/1" | csrf_of)
  echo "$(awk '$6=="pesquisa_sid"{print $7}' "$jar") $token"
  rm -f "$jar"
}
export -f anon_session signup csrf_of; export base work

log "preparing sessions"
signup "bench@exemplo.com.br" > "$work/main.session"
seq 1 64 | xargs -P4 -I{} bash -c 'signup "bench{}@exemplo.com.br"' > "$work/sessions"
read -r cookie token < "$work/main.session"
survey_status() { curl -s -o /dev/null -w '%{http_code}' -H "Cookie: pesquisa_sid=$cookie" "$base/survey/1"; }
[ "$(survey_status)" = 200 ] || { echo "bench: the logged-in session does not get GET /survey/1" >&2; exit 1; }
page_bytes=$(curl -s -H "Cookie: pesquisa_sid=$cookie" "$base/survey/1" | wc -c)

# ----------------------------------------------- framework floor vs GET /survey/1
log "floor-http (salvo + maud, no state; then with one Redis GET and one MariaDB SELECT)"
mariadb -uroot -e "DROP DATABASE IF EXISTS $floor_db; CREATE DATABASE $floor_db"
"$floor_bin/floor-http" "$floor_port" "$mysql_base/$floor_db" "redis://127.0.0.1:6379" & floor_pid=$!
for _ in $(seq 1 50); do curl -sf -o /dev/null "http://127.0.0.1:$floor_port/db/1" && break; sleep 0.1; done
floor_bytes=$(curl -s "http://127.0.0.1:$floor_port/survey/1" | wc -c)
run_wrk floor-http "" -t2 -c16 "http://127.0.0.1:$floor_port/survey/1"
run_wrk floor-http-session "" -t2 -c16 "http://127.0.0.1:$floor_port/session/1"
run_wrk floor-http-cached "" -t2 -c16 "http://127.0.0.1:$floor_port/cached/1"
run_wrk floor-http-data "" -t2 -c16 "http://127.0.0.1:$floor_port/db/1"
run_wrk floor-http-save "" -t2 -c16 "http://127.0.0.1:$floor_port/save/1"
stop "$floor_pid"; floor_pid=""
redis-cli del floor:session floor:answers >/dev/null
log "GET /survey/1 (logged in)"
run_wrk survey-get "" -t2 -c16 -H "Cookie: pesquisa_sid=$cookie" "$base/survey/1"
[ "$(survey_status)" = 200 ] || echo "survey-get 0 0 0 1" >> "$work/results"   # session lost: count it

# ------------------------------------------- database floor vs saving a page
log "db-floor (BEGIN; INSERT; COMMIT at -c16)"
mariadb -uroot -e "DROP DATABASE IF EXISTS $floor_db; CREATE DATABASE $floor_db"
"$floor_bin/db-floor" "$mysql_base/$floor_db" 16 2 > /dev/null
for i in 1 2 3; do "$floor_bin/db-floor" "$mysql_base/$floor_db" 16 "$secs" | tee "$raw/db-floor-$i.txt" >&2; done
echo "db-floor $(cat "$raw"/db-floor-*.txt | awk '{print $1}' | median) $(cat "$raw"/db-floor-*.txt | awk '{print $2}' | median) $(cat "$raw"/db-floor-*.txt | awk '{print $3}' | median) $(cat "$raw"/db-floor-*.txt | awk '{n+=$4} END{print n+0}')" >> "$work/results"
log "POST /survey/1 (saving page 1, 64 respondents)"
export SESSIONS_FILE=$work/sessions
run_wrk survey-save 303 -t2 -c16 -s bench/save_page.lua "$base/survey/1"

# ------------------------------------------------ argon2 ceiling vs log-ins
log "argon2-ceiling (m=$pw_m t=$pw_t p=$pw_p, $(nproc) threads), alternating with GET /healthz idle and log-ins with GET /healthz meanwhile"
wrk -t1 -c1 -d2s -s bench/paced.lua "$base/healthz" >/dev/null 2>&1   # warm-up
"$floor_bin/argon2-ceiling" "$pw_m" "$pw_t" "$pw_p" 2 > /dev/null
# A successful log-in retires its session: every request needs a fresh one.
login_sessions() { # seconds hashes_per_second
  seq 1 "$(awk -v c="$2" -v s="$1" 'BEGIN{printf "%d", c*1.5*s + 200}')" \
    | xargs -P8 -I{} bash -c anon_session > "$work/logins"
}
export LOGIN_FILE=$work/logins
login_sessions 2 150
wrk -t2 -c16 -d2s -s bench/login.lua "$base/login" >/dev/null 2>&1   # warm-up
# The ceiling drifts by up to a fifth between runs minutes apart (other tenants of the
# host), and so does the idle /healthz p99 (0.20-0.34 ms): each log-in run follows its own
# idle probe and ceiling run, so every median comes from the same stretch of time.
for i in 1 2 3; do
  wrk -t1 -c1 -d"$((secs - 2))s" --latency -s bench/paced.lua "$base/healthz" > "$raw/healthz-idle-$i.txt" 2>&1
  "$floor_bin/argon2-ceiling" "$pw_m" "$pw_t" "$pw_p" "$secs" | tee "$raw/argon2-ceiling-$i.txt" >&2
  login_sessions "$secs" "$(awk '{print $1}' "$raw/argon2-ceiling-$i.txt")"
  wrk -t2 -c16 -d"${secs}s" --latency -s bench/login.lua "$base/login" > "$raw/login-$i.txt" 2>&1 &
  wrk_pid=$!
  sleep 1
  wrk -t1 -c1 -d"$((secs - 2))s" --latency -s bench/paced.lua "$base/healthz" > "$raw/healthz-under-login-$i.txt" 2>&1
  wait $wrk_pid
done
ceiling=$(awk '{print $1}' "$raw"/argon2-ceiling-*.txt | median)
echo "argon2-ceiling $ceiling - - 0" >> "$work/results"
m_of() { for i in 1 2 3; do "$1" "$raw/$2-$i.txt" ${3:+"$3"}; done | median; }
login_errs=0; for i in 1 2 3; do
  login_errs=$((login_errs + $(errors_of "$raw/login-$i.txt") + $(unexpected_of "$raw/login-$i.txt" 303)))
done
echo "log-in $(m_of rps_of login) $(m_of pct_of login 50%) $(m_of pct_of login 99%) $login_errs" >> "$work/results"
idle_errs=0; for i in 1 2 3; do idle_errs=$((idle_errs + $(errors_of "$raw/healthz-idle-$i.txt"))); done
echo "healthz-idle $(m_of rps_of healthz-idle) $(m_of pct_of healthz-idle 50%) $(m_of pct_of healthz-idle 99%) $idle_errs" >> "$work/results"
hz_errs=0; for i in 1 2 3; do hz_errs=$((hz_errs + $(errors_of "$raw/healthz-under-login-$i.txt"))); done
echo "healthz-under-login $(m_of rps_of healthz-under-login) $(m_of pct_of healthz-under-login 50%) $(m_of pct_of healthz-under-login 99%) $hz_errs" >> "$work/results"
tail -2 "$work/results" >&2
busy_rss_kib=$(awk '/VmHWM/{print $2}' "/proc/$pid/status")
stop "$pid"; pid=""

# -------------------------------------------------- export vs mariadb --batch
# The columns and rows `pesquisa export` reads (src/export/mod.rs: Response::as_select()
# by ascending id, no personal data so no users join).
export_sql="SELECT id, user_id, definition_id, definition_version, answers, bairro, current_page, revision, created_at, updated_at, submitted_at FROM responses ORDER BY id"
export_rows=()
elapsed_s() { # seconds from GNU time -v's "Elapsed (wall clock) time (h:mm:ss or m:ss): X"
  awk -F': ' '/Elapsed \(wall clock\)/{n=split($2,a,":"); s=0; for(i=1;i<=n;i++) s=s*60+a[i]; print s}' "$1"
}
maxrss_kib() { awk -F': ' '/Maximum resident set size/{print $2}' "$1"; }
export_scenario() {
  if ! "$bin" dev generate-responses --help >/dev/null 2>&1; then
    echo "SKIPPED: export scenario: this binary has no \`pesquisa dev generate-responses\`" | tee "$raw/export-skipped.txt" >&2
    return 0
  fi
  mariadb -uroot -e "DROP DATABASE IF EXISTS $export_db; CREATE DATABASE $export_db"
  export PESQUISA_DATABASE__URL="$mysql_base/$export_db"
  "$bin" migrate >/dev/null
  local have=0
  for n in 50000 200000; do
    log "export: generating up to $n responses"
    "$bin" dev generate-responses --count $((n - have)) --seed "$n" $([ "$have" -gt 0 ] && echo --append) > "$raw/generate-$n.txt" 2>&1
    have=$(mariadb -uroot -N -e "SELECT COUNT(*) FROM $export_db.responses")
    if [ "$have" != "$n" ]; then   # the generator did not add to what was there: start over
      mariadb -uroot -e "DELETE FROM $export_db.responses"
      "$bin" dev generate-responses --count "$n" >> "$raw/generate-$n.txt" 2>&1
      have=$(mariadb -uroot -N -e "SELECT COUNT(*) FROM $export_db.responses")
    fi
    log "export: $have responses"
    for i in 1 2 3; do
      /usr/bin/time -v mariadb --batch -upesquisa_bench -ppesquisa_bench -h127.0.0.1 -P3306 "$export_db" \
        -e "$export_sql" > "$work/batch.tsv" 2> "$raw/mariadb-batch-$n-$i.txt"
      /usr/bin/time -v "$bin" export --format csv --output "$work/export.csv" \
        > /dev/null 2> "$raw/export-$n-$i.txt"
    done
    local lines; lines=$(($(wc -l < "$work/export.csv") - 1))
    echo "export-$n $have $lines $(for i in 1 2 3; do elapsed_s "$raw/export-$n-$i.txt"; done | median) $(for i in 1 2 3; do maxrss_kib "$raw/export-$n-$i.txt"; done | median) $(for i in 1 2 3; do elapsed_s "$raw/mariadb-batch-$n-$i.txt"; done | median) $(for i in 1 2 3; do maxrss_kib "$raw/mariadb-batch-$n-$i.txt"; done | median) $(stat -c %s "$work/export.csv") $(stat -c %s "$work/batch.tsv")" \
      | tee -a "$work/export" >&2
  done
}
export_scenario

stop "$sampler_pid"; sampler_pid=""
t_total=$(( $(date +%s) - t_start ))

# ---------------------------------------------------------------------- RESULTS.md
rel_size=$(stat -c %s "$bin")
musl_size=""; [ -f "$musl_bin" ] && musl_size=$(stat -c %s "$musl_bin")
others=$(awk '$3>0{n++} END{print n+0}' "$raw/load.txt"); samples=$(wc -l < "$raw/load.txt")
load_max=$(awk '{print $2}' "$raw/load.txt" | sort -g | tail -1)
all_errs=$(awk '{n+=$5} END{print n+0}' "$work/results")
x() { get "$1" "$2"; }
{
  echo "# Benchmark results"
  echo
  echo "- Machine: $(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')), $(free -g | awk '/Mem:/{print $2}') GiB RAM, Linux $(uname -r), $(. /etc/os-release; echo "$PRETTY_NAME")."
  echo "- MariaDB $(mariadb -uroot -N -e 'SELECT VERSION()') (innodb_flush_log_at_trx_commit=$(mariadb -uroot -N -e 'SELECT @@innodb_flush_log_at_trx_commit'), buffer pool $(( $(mariadb -uroot -N -e 'SELECT @@innodb_buffer_pool_size') / 1048576 )) MiB), Redis $(redis-server --version | grep -o 'v=[0-9.]*' | cut -c3-), $(rustc --version | cut -d' ' -f1-2), wrk $(wrk -v 2>&1 | head -1 | awk '{print $2}')."
  echo "- Code: $(git rev-parse --short HEAD)$(git diff --quiet HEAD -- src Cargo.toml Cargo.lock 2>/dev/null || echo ' with uncommitted changes to src/ or Cargo.*'). Run started $started_at, took ${t_total} s."
  echo "- Other work on the machine: compilers/browsers seen in $others of $samples samples taken every 5 s while measuring; highest 1-minute load average $load_max on $(nproc) cores. Load generator (wrk), MariaDB, Redis and the server share the same cores. Compare ratios within one run, not absolute numbers across runs."
  echo "- Command: \`bench/run.sh $secs\`: wrk -t2 -c16, 2 s warm-up, 3 runs of ${secs} s, medians. Raw output in \`bench/raw/\`."
  echo
  echo "## Targets"
  echo
  echo "| scenario | measured | baseline | ratio | target | met? |"
  echo "|---|---|---|---|---|---|"
  echo "| logged-in GET /survey/1, requests/s | $(x survey-get 2) | floor-http $(x floor-http 2) | $(pct "$(x survey-get 2)" "$(x floor-http 2)") | ≥ 40 % | $(yes_if "$(x survey-get 2) >= 0.4 * $(x floor-http 2)") |"
  echo "| (floor-http + 1 Redis GET, the session lookup alone, against floor-http) | $(x floor-http-session 2) | floor-http $(x floor-http 2) | $(pct "$(x floor-http-session 2)" "$(x floor-http 2)") | (bounds any logged-in page) | |"
  echo "| (floor-http + 2 Redis GETs, session and a Redis copy of the answers, against floor-http) | $(x floor-http-cached 2) | floor-http $(x floor-http 2) | $(pct "$(x floor-http-cached 2)" "$(x floor-http 2)") | (a page without MariaDB: findings) | |"
  echo "| (same, against floor-http + 1 Redis GET + 1 MariaDB SELECT) | $(x survey-get 2) | floor-http-data $(x floor-http-data 2) | $(pct "$(x survey-get 2)" "$(x floor-http-data 2)") | (explains the gap) | |"
  echo "| logged-in GET /survey/1, p99 | $(x survey-get 4) ms | floor-http $(x floor-http 4) ms | | ≤ 10 ms | $(yes_if "$(x survey-get 4) <= 10") |"
  echo "| saving questionnaire page 1 (MariaDB), requests/s | $(x survey-save 2) | db-floor $(x db-floor 2) tx/s | $(pct "$(x survey-save 2)" "$(x db-floor 2)") | ≥ 70 % | $(yes_if "$(x survey-save 2) >= 0.7 * $(x db-floor 2)") |"
  echo "| (same, against floor-http + 1 Redis GET + 1 SELECT + 1 UPDATE) | $(x survey-save 2) | floor-http-save $(x floor-http-save 2) | $(pct "$(x survey-save 2)" "$(x floor-http-save 2)") | (explains the gap) | |"
  echo "| log-ins/s (argon2id m=$pw_m, t=$pw_t, p=$pw_p) | $(x log-in 2) | argon2-ceiling $ceiling | $(pct "$(x log-in 2)" "$ceiling") | ≥ 90 % | $(yes_if "$(x log-in 2) >= 0.9 * $ceiling") |"
  echo "| GET /healthz p99 during log-ins | $(x healthz-under-login 4) ms | idle $(x healthz-idle 4) ms | $(ratio "$(x healthz-under-login 4)" "$(x healthz-idle 4)")× | ≤ 3× | $(yes_if "$(x healthz-under-login 4) <= 3 * $(x healthz-idle 4)") |"
  if [ -f "$work/export" ]; then
    read -r _ n50 l50 e50 r50 b50 br50 s50 bs50 < <(grep '^export-50000 ' "$work/export")
    read -r _ n200 l200 e200 r200 b200 br200 s200 bs200 < <(grep '^export-200000 ' "$work/export")
    echo "| export to CSV, $n50 responses | $e50 s | mariadb --batch $b50 s | $(ratio "$e50" "$b50")× | ≤ 1.0× | $(yes_if "$e50 <= $b50") |"
    echo "| export to CSV, $n200 responses | $e200 s | mariadb --batch $b200 s | $(ratio "$e200" "$b200")× | ≤ 1.0× | $(yes_if "$e200 <= $b200") |"
    echo "| export peak RSS, $n50 → $n200 responses | $(mb "$r50") → $(mb "$r200") MB | (mariadb --batch $(mb "$br50") → $(mb "$br200") MB) | $(ratio "$r200" "$r50")× | ≤ 64 MB, flat | $(yes_if "$r200 <= 65536 && $r200 <= 1.1 * $r50") |"
  else
    echo "| export to CSV, 50k and 200k responses | $(cat "$raw/export-skipped.txt") | | | ≤ 1.0× mariadb --batch; ≤ 64 MB, flat | not measured |"
  fi
  echo "| idle serve RSS (fresh start, MariaDB + Redis) | $(mb "$idle_rss_kib") MB | | | ≤ 20 MB | $(yes_if "$idle_rss_kib <= 20480") |"
  echo "| start-up to ready (READY=1), migrations applied by \`migrate\` | $ready_ms ms | | | ≤ 100 ms | $(yes_if "$ready_ms <= 100") |"
  echo "| start-up to ready, serve applying the migrations (auto_migrate) | $ready_auto_ms ms | | | (informative) | |"
  if [ -n "$musl_size" ]; then
    echo "| static (musl) binary size | $(awk -v b="$musl_size" 'BEGIN{printf "%.1f", b/1048576}') MiB | | | ≤ 16 MiB | $(yes_if "$musl_size <= 16*1048576") |"
  else
    echo "| static (musl) binary size | SKIPPED: no musl build (run without BENCH_STATIC=0) | | | ≤ 16 MiB | not measured |"
  fi
  echo "| errors + unexpected statuses, all wrk scenarios at -c16 | $all_errs | | | 0 | $(yes_if "$all_errs == 0") |"
  echo
  echo "## Every measurement"
  echo
  echo "| measurement | rate (/s) | p50 (ms) | p99 (ms) | errors, unexpected statuses |"
  echo "|---|---|---|---|---|"
  while read -r n r a b e; do echo "| $n | $r | $a | $b | $e |"; done < "$work/results"
  echo
  echo "- Pages: GET /survey/1 $page_bytes bytes, floor-http's page $floor_bytes bytes. floor-http-session: the same page after one Redis GET, nothing else. floor-http-cached: after two Redis GETs (the session, then the answers). floor-http-data: the same page after one Redis GET and one prepared MariaDB SELECT by a unique key (pools of 16), the round trips a logged-in page needs. floor-http-save: one Redis GET, one SELECT and one UPDATE (autocommit) of a respondent's row, 64 respondents in turn, a short 200: the round trips a save needs."
  echo "- db-floor: BEGIN; INSERT one row (prepared); COMMIT, 16 connections. survey-save: per request a session read from Redis, 1 SELECT (the user's bairro joined with the response) and 1 UPDATE (autocommit) on MariaDB, answer a 303."
  echo "- log-in: each request a fresh anonymous session, expected status 303; /healthz measured alongside with a paced probe (wrk -t1 -c1, one request every 10 ms: bench/paced.lua), idle the same way; each of the 3 rounds is an idle probe, a ceiling run and a log-in run, in that order. Server peak RSS after all loads: $(mb "$busy_rss_kib") MB."
  echo "- Binary measured: \`$bin\` ($(! readelf -l "$bin" 2>/dev/null | grep -q INTERP && echo 'static, musl: the shipped build' || echo 'dynamic, glibc')), $(awk -v b="$rel_size" 'BEGIN{printf "%.1f", b/1048576}') MiB."
  if [ -f "$work/export" ]; then
    echo "- Export: \`pesquisa export --format csv --output FILE\` vs \`mariadb --batch -e \"$export_sql\"\` over TCP as the same user, output to a file; times and peak RSS from GNU time, median of 3. Output $s50 / $s200 bytes (CSV) vs $bs50 / $bs200 bytes (TSV)."
  fi
  if [ -f bench/findings.md ]; then echo; cat bench/findings.md; fi
} > bench/RESULTS.md
cat bench/RESULTS.md
