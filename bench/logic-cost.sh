#!/usr/bin/env bash
# What the questionnaire logic costs per request (issue 18: "logged-in GET and page save
# throughput within 10 % of today's"). Two binaries, each serving its own embedded
# questionnaire on MariaDB + Redis: OLD from before the expression language (5e34610^,
# four pages, no conditions) and NEW (seven pages, show_if, a screen-out, a check, a
# shuffled multi, a grid). For each binary, four wrk loads (-t2 -c16):
#   get-1       logged-in GET /survey/1
#   save-1      saving page 1 (bench/save_page.lua, 64 respondents)
#   get-spend   logged-in GET of the spend page (OLD /survey/3; NEW /survey/5, whose
#               questions carry show_if and whose page has a consistency check)
#   save-spend  saving the spend page (bench/save_spend.lua, 64 respondents)
# Every respondent has answered every page up to the spend page first, so the flow is
# evaluated over real answers. The machine is shared with compilers, so wall-clock
# requests/s is noisy: the number compared is the server's CPU time per request
# (utime + stime of the server process from /proc over the wrk run, divided by the
# requests wrk counted). Rounds alternate OLD and NEW; medians over the rounds.
#
# With CALLGRIND=SECONDS (e.g. 5) it then also counts instructions per request: each
# server once more under valgrind --tool=callgrind, counters zeroed before and dumped
# after each load (wrk -t1 -c1 for that long), Ir divided by the requests. Instructions
# do not depend on what else runs on the machine (they leave out the kernel, MariaDB and
# Redis); dumps in bench/raw/logic-cost/ for callgrind_annotate.
#
# usage: bench/logic-cost.sh OLD_BIN NEW_BIN [SECONDS=10] [ROUNDS=3]
# OLD_DEFINITION=FILE / NEW_DEFINITION=FILE serve that questionnaire (survey.definition)
# instead of the binary's embedded one, e.g. one binary against itself with a copy of its
# questionnaire stripped of show_if, screen-outs, checks and shuffle: what the logic alone
# costs on the same pages.
# Build both as release without fat LTO, each in its own target dir:
#   CARGO_PROFILE_RELEASE_LTO=false CARGO_PROFILE_RELEASE_CODEGEN_UNITS=16 \
#     cargo build --release --locked
# Needs MariaDB (root without password on 127.0.0.1) and Redis on 127.0.0.1:6379, wrk;
# uses the databases pesquisa_bench18_old / _new and a Redis key prefix of its own,
# removed at the end. Raw wrk output in bench/raw/logic-cost/ (not committed).
set -euo pipefail
cd "$(dirname "$0")/.."
old=${1:?usage: bench/logic-cost.sh OLD_BIN NEW_BIN [SECONDS] [ROUNDS]}
new=${2:?usage: bench/logic-cost.sh OLD_BIN NEW_BIN [SECONDS] [ROUNDS]}
secs=${3:-10}
rounds=${4:-3}
OLD_DEFINITION=${OLD_DEFINITION:-}; NEW_DEFINITION=${NEW_DEFINITION:-}
for b in "$old" "$new"; do
  [ -x "$b" ] || { echo "logic-cost: $b is not an executable" >&2; exit 2; }
done
command -v wrk >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null; }
raw=bench/raw/logic-cost; rm -rf "$raw"; mkdir -p "$raw"
export BENCH_RAW=$raw
work=$(mktemp -d); port=18418; base="http://127.0.0.1:$port"
prefix="pesquisa-bench18-$$:"; pid=""
stop_server() { if [ -n "$pid" ]; then kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; pid=""; fi; }
cleanup() {
  stop_server
  for t in old new; do mariadb -uroot -e "DROP DATABASE IF EXISTS pesquisa_bench18_$t" || true; done
  redis-cli --scan --pattern "$prefix*" | xargs -r -n 500 redis-cli del >/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

export PESQUISA_SERVER__LISTEN="127.0.0.1:$port" PESQUISA_DATABASE__POOL_SIZE=16
export PESQUISA_REDIS__URL="redis://127.0.0.1:6379" PESQUISA_REDIS__KEY_PREFIX="$prefix"
export PESQUISA_SESSION__SECRET="bench-secret-bench-secret-bench-secret"
export PESQUISA_SERVER__DRAIN_SECS=0 PESQUISA_LOGGING__LEVEL=warn PESQUISA_MAIL__DIR="$work/eml"
export PESQUISA_RATE_LIMIT__LOGIN_PER_IP=100000000 PESQUISA_RATE_LIMIT__LOGIN_FREE_FAILURES=100000000
export PESQUISA_RATE_LIMIT__REGISTER_PER_IP=100000000
# The sign-ups are set-up, not measured: the cheapest password hash both accept.
export PESQUISA_PASSWORDS__MEMORY_KIB=8 PESQUISA_PASSWORDS__ITERATIONS=1 PESQUISA_PASSWORDS__PARALLELISM=1

csrf_of() { grep -o 'name="csrf_token" value="[^"]*"' | head -1 | sed 's/.*value="//;s/"$//'; }
# The answers of a questionnaire page, chosen by the first field the page asks; the
# spend answers keep the consistency check quiet (2 trips x R$ 101-500 <= R$ 1.000).
body_for() { # page html -> form body without the token
  local html=$1
  if grep -q 'name="idade"' <<<"$html"; then echo "idade=35&moradores=3&renda_familiar=2a4sm"
  elif grep -q 'name="responsavel_compras"' <<<"$html"; then echo "responsavel_compras=sim&sexo=feminino"
  elif grep -q 'name="valor_compra"' <<<"$html"; then echo "valor_compra=101a500&gasto_mensal=601a1000&gasto_bairro=ate_100"
  elif grep -q 'value="ate_5km"' <<<"$html"; then   # OLD habitos: frequency, distance, factors
    echo "frequencia_supermercado=2x&distancia_supermercado=ate_5km&fatores_escolha=preco"
  elif grep -q 'name="frequencia_supermercado"' <<<"$html"; then echo "frequencia_supermercado=2x"
  elif grep -q 'name="distancia_supermercado"' <<<"$html"; then   # NEW onde_compra, with the grid
    local g=importancia_fatores
    echo "distancia_supermercado=500m_1km&fatores_escolha=preco&${g}__preco=3&${g}__distancia=4&${g}__qualidade=5&${g}__variedade=2&${g}__atendimento=3"
  fi
}
# Sign up and log in one respondent, answer every page up to the spend page; prints
# "cookie token spend_page_number".
respondent() {
  local email=$1 jar; jar=$(mktemp -p "$WORK")
  local token pw="cavalo correto bateria bench"
  token=$(curl -s -c "$jar" -b "$jar" "$BASE/register" | csrf_of)
  curl -s -o /dev/null -c "$jar" -b "$jar" --data-urlencode "csrf_token=$token" --data-urlencode "nome=Bench" \
    --data-urlencode "sobrenome=Mark" --data-urlencode "email=$email" --data-urlencode "bairro=JARDIM SÃO JOSÉ" \
    --data-urlencode "password=$pw" --data-urlencode "password_confirm=$pw" \
    --data-urlencode "adult=1" --data-urlencode "accept_terms=1" "$BASE/register"
  token=$(curl -s -c "$jar" -b "$jar" "$BASE/login" | csrf_of)
  curl -s -o /dev/null -c "$jar" -b "$jar" --data-urlencode "csrf_token=$token" --data-urlencode "email=$email" \
    --data-urlencode "password=$pw" "$BASE/login"
  local page=1 html body next
  for _ in 1 2 3 4 5 6 7 8; do
    html=$(curl -s -b "$jar" "$BASE/survey/$page")
    token=$(csrf_of <<<"$html")
    body=$(body_for "$html")
    [ -n "$body" ] || { echo "logic-cost: no answers for page $page" >&2; return 1; }
    if grep -q 'name="valor_compra"' <<<"$html"; then
      echo "$(awk '$6=="pesquisa_sid"{print $7}' "$jar") $token $page"
      rm -f "$jar"; return 0
    fi
    next=$(curl -s -o /dev/null -b "$jar" -w '%{http_code} %{redirect_url}' --data "csrf_token=$token&$body" "$BASE/survey/$page")
    [[ $next == 303\ */survey/[0-9]* ]] || { echo "logic-cost: page $page answered $next" >&2; return 1; }
    page=${next##*/survey/}
  done
  echo "logic-cost: no spend page" >&2; return 1
}
export -f respondent body_for csrf_of; export WORK=$work BASE=$base

ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
requests_of() { awk '/requests in/{print $1}' "$1"; }
rps_of() { awk '/Requests\/sec/{print $2}' "$1"; }
# statuses other than the expected one, from bench/status.lua's lines
unexpected_of() { awk -v want="$2" '/^status [0-9]+:/{s=$2; sub(":","",s); if (s!=want) n+=$3} END{print n+0}' "$1"; }
median() { sort -g | awk '{a[NR]=$1} END {if (NR) print a[int((NR+1)/2)]; else print "-"}'; }

start() { # tag bin [wrapper...]
  local tag=$1 bin=$2; shift 2
  mariadb -uroot -e "DROP DATABASE IF EXISTS pesquisa_bench18_$tag; CREATE DATABASE pesquisa_bench18_$tag"
  redis-cli --scan --pattern "$prefix*" | xargs -r -n 500 redis-cli del >/dev/null || true
  export PESQUISA_DATABASE__URL="mysql://root@127.0.0.1:3306/pesquisa_bench18_$tag"
  local definition=$OLD_DEFINITION; [ "$tag" = new ] && definition=$NEW_DEFINITION
  if [ -n "$definition" ]; then export PESQUISA_SURVEY__DEFINITION=$definition; else unset PESQUISA_SURVEY__DEFINITION; fi
  "$bin" migrate >/dev/null
  "$@" "$bin" serve 2>>"$raw/serve-$tag.log" & pid=$!
  for _ in $(seq 1 3000); do curl -sf -o /dev/null "$base/readyz" && break; sleep 0.1; done
  set -- "$tag" "$bin"
  seq 1 64 | xargs -P4 -I{} bash -c "respondent bench{}-$1@exemplo.com.br" > "$work/sessions-$1"
  [ "$(wc -l < "$work/sessions-$1")" = 64 ] || { echo "logic-cost: $1: not every respondent was set up" >&2; exit 1; }
  cut -d' ' -f1,2 "$work/sessions-$1" > "$work/pairs-$1"
  read -r cookie _ spend < "$work/sessions-$1"
  echo "$1: $("$2" --version 2>/dev/null), spend page /survey/$spend${definition:+, questionnaire $definition}" | tee -a "$work/pages" >&2
}

# One load: name tag round want wrk-args... ; appends "tag name round cpu_us_per_req rps bad"
load() {
  local name=$1 tag=$2 round=$3 want=$4; shift 4
  local out="$raw/$tag-$name-$round.txt" t0 t1
  wrk "$@" -d2s >/dev/null 2>&1 || true   # warm-up
  t0=$(ticks "$pid")
  wrk "$@" -d"${secs}s" > "$out" 2>&1
  t1=$(ticks "$pid")
  local n; n=$(requests_of "$out")
  local us; us=$(awk -v a="$t0" -v b="$t1" -v n="$n" -v hz="$(getconf CLK_TCK)" 'BEGIN{printf "%.1f", (b-a)*1e6/hz/n}')
  echo "$tag $name $round $us $(rps_of "$out") $(unexpected_of "$out" "$want")" | tee -a "$work/results" >&2
}

for round in $(seq 1 "$rounds"); do
  for tag in old new; do
    bin=$old; [ "$tag" = new ] && bin=$new
    start "$tag" "$bin"
    export SESSIONS_FILE=$work/pairs-$tag PAGE=$spend
    load get-1 "$tag" "$round" 200 -t2 -c16 -s bench/get_status.lua -H "Cookie: pesquisa_sid=$cookie" "$base/survey/1"
    load get-spend "$tag" "$round" 200 -t2 -c16 -s bench/get_status.lua -H "Cookie: pesquisa_sid=$cookie" "$base/survey/$spend"
    load save-1 "$tag" "$round" 303 -t2 -c16 -s bench/save_page.lua "$base/survey/1"
    load save-spend "$tag" "$round" 303 -t2 -c16 -s bench/save_spend.lua "$base/survey/$spend"
    stop_server
  done
done

# Instructions per request under callgrind: zero the counters, run the load, dump.
cg_load() { # name tag want wrk-args...
  local name=$1 tag=$2 want=$3; shift 3
  local out="$raw/cg-$tag-$name.txt" before
  callgrind_control -z "$pid" >/dev/null 2>&1
  wrk "$@" > "$out" 2>&1
  before=$(ls "$raw"/callgrind.out."$tag".* 2>/dev/null | wc -l)
  callgrind_control -d "$pid" >/dev/null 2>&1
  for _ in $(seq 1 100); do [ "$(ls "$raw"/callgrind.out."$tag".* 2>/dev/null | wc -l)" -gt "$before" ] && break; sleep 0.1; done
  local dump; dump=$(ls -t "$raw"/callgrind.out."$tag".* | head -1)
  mv "$dump" "$raw/cg-$tag-$name.callgrind"
  local ir; ir=$(awk '/^(summary|totals):/{print $2; exit}' "$raw/cg-$tag-$name.callgrind")
  echo "$tag $name $(awk -v i="$ir" -v n="$(requests_of "$out")" 'BEGIN{printf "%.0f", i/n}') $(requests_of "$out") $(unexpected_of "$out" "$want")" | tee -a "$work/cg" >&2
}
if [ -n "${CALLGRIND:-}" ]; then
  for tag in old new; do
    bin=$old; [ "$tag" = new ] && bin=$new
    start "$tag" "$bin" valgrind --tool=callgrind --callgrind-out-file="$raw/callgrind.out.$tag.%p"
    export SESSIONS_FILE=$work/pairs-$tag PAGE=$spend
    w=(-t1 -c1 -d"${CALLGRIND}s")
    wrk -t1 -c1 -d2s -s bench/get_status.lua -H "Cookie: pesquisa_sid=$cookie" "$base/survey/$spend" >/dev/null 2>&1 || true
    cg_load get-1 "$tag" 200 "${w[@]}" -s bench/get_status.lua -H "Cookie: pesquisa_sid=$cookie" "$base/survey/1"
    cg_load get-spend "$tag" 200 "${w[@]}" -s bench/get_status.lua -H "Cookie: pesquisa_sid=$cookie" "$base/survey/$spend"
    cg_load save-1 "$tag" 303 "${w[@]}" -s bench/save_page.lua "$base/survey/1"
    cg_load save-spend "$tag" 303 "${w[@]}" -s bench/save_spend.lua "$base/survey/$spend"
    stop_server
    rm -f "$raw"/callgrind.out."$tag".*
  done
fi

echo
echo "$("$old" --version 2>/dev/null || echo old) vs $("$new" --version 2>/dev/null || echo new); wrk -t2 -c16, ${secs} s x $rounds rounds; load now $(cut -d' ' -f1-3 /proc/loadavg)"
if [ -f "$work/results" ]; then
  printf '%-11s %14s %14s %8s %12s %12s %s\n' scenario "old CPU us/req" "new CPU us/req" "new/old" "old req/s" "new req/s" "unexpected statuses"
  for name in get-1 get-spend save-1 save-spend; do
    o=$(awk -v n="$name" '$1=="old" && $2==n {print $4}' "$work/results" | median)
    w=$(awk -v n="$name" '$1=="new" && $2==n {print $4}' "$work/results" | median)
    orps=$(awk -v n="$name" '$1=="old" && $2==n {print $5}' "$work/results" | median)
    nrps=$(awk -v n="$name" '$1=="new" && $2==n {print $5}' "$work/results" | median)
    bad=$(awk -v n="$name" '$2==n {s+=$6} END{print s+0}' "$work/results")
    printf '%-11s %14s %14s %8s %12s %12s %s\n' "$name" "$o" "$w" "$(awk -v a="$w" -v b="$o" 'BEGIN{printf "%.2f", a/b}')" "$orps" "$nrps" "$bad"
  done
fi
if [ -f "$work/cg" ]; then
  printf '%-11s %14s %14s %8s %s\n' scenario "old Ir/req" "new Ir/req" "new/old" "requests old/new, unexpected"
  for name in get-1 get-spend save-1 save-spend; do
    read -r _ _ oi on ob < <(awk -v n="$name" '$1=="old" && $2==n' "$work/cg")
    read -r _ _ ni nn nb < <(awk -v n="$name" '$1=="new" && $2==n' "$work/cg")
    printf '%-11s %14s %14s %8s %s\n' "$name" "$oi" "$ni" "$(awk -v a="$ni" -v b="$oi" 'BEGIN{printf "%.2f", a/b}')" "$on/$nn, $((ob + nb))"
  done
fi
sort -u "$work/pages"
if [ -f "$work/results" ]; then cp "$work/results" "$raw/results.txt"; fi
