#!/usr/bin/env bash
# Instruction counts per request under callgrind (this VM has no perf counters): the
# server runs under valgrind, one keep-alive client sends a fixed number of requests of
# one scenario, and only those are counted (counters zeroed after a warm-up).
#
# Usage: bench/profile.sh BIN SCENARIO [REQUESTS=300]
#   BIN       a release build with line tables, e.g.
#             CARGO_PROFILE_RELEASE_DEBUG=line-tables-only CARGO_PROFILE_RELEASE_STRIP=false \
#               cargo build --release
#   SCENARIO  get (logged-in GET /survey/1) | save (POST /survey/1) | healthz
# Prints instructions per request and the top functions (inclusive) to stdout; the
# callgrind output stays in bench/raw/callgrind.<scenario>.out for callgrind_annotate.
# Needs root (creates the MariaDB database pesquisa_bench_prof), valgrind, curl.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=$1 scenario=$2 n=${3:-300}
port=18281 base="http://127.0.0.1:18281"
db=pesquisa_bench_prof
command -v valgrind >/dev/null || { apt-get update -qq && apt-get install -y -qq valgrind >/dev/null; }
mkdir -p bench/raw
work=$(mktemp -d)
out="bench/raw/callgrind.$scenario.out"
pid=""
cleanup() {
  [ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
  mariadb -uroot -e "DROP DATABASE IF EXISTS $db" || true
  redis-cli --scan --pattern "pesquisa-prof:*" | xargs -r redis-cli del >/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
mariadb -uroot <<SQL
CREATE USER IF NOT EXISTS 'pesquisa_bench'@'127.0.0.1' IDENTIFIED BY 'pesquisa_bench';
GRANT ALL PRIVILEGES ON \`pesquisa\\_bench%\`.* TO 'pesquisa_bench'@'127.0.0.1';
DROP DATABASE IF EXISTS $db; CREATE DATABASE $db;
SQL
export PESQUISA_DATABASE__URL="mysql://pesquisa_bench:pesquisa_bench@127.0.0.1:3306/$db"
export PESQUISA_REDIS__URL="redis://127.0.0.1:6379" PESQUISA_REDIS__KEY_PREFIX="pesquisa-prof:"
export PESQUISA_SERVER__LISTEN="127.0.0.1:$port" PESQUISA_SESSION__SECRET="profile-secret-profile-secret-0123"
"$bin" migrate >/dev/null
valgrind --tool=callgrind --callgrind-out-file="$out" --collect-atstart=yes "$bin" serve 2>"$work/vg.log" &
pid=$!
for _ in $(seq 1 300); do curl -sf -o /dev/null "$base/readyz" && break; sleep 0.2; done

csrf_of() { grep -o 'name="csrf_token" value="[^"]*"' | head -1 | sed 's/.*value="//;s/"$//'; }
jar="$work/jar"
token=$(curl -s -c "$jar" -b "$jar" "$base/register" | csrf_of)
curl -s -o /dev/null -c "$jar" -b "$jar" --data-urlencode "csrf_token=$token" --data-urlencode "nome=Prof" \
  --data-urlencode "sobrenome=Ile" --data-urlencode "email=prof@exemplo.com.br" --data-urlencode "bairro=JARDIM SÃO JOSÉ" \
  --data-urlencode "password=cavalo correto bateria prof" --data-urlencode "password_confirm=cavalo correto bateria prof" \
  --data-urlencode "adult=1" --data-urlencode "accept_terms=1" "$base/register"
# Sign-up mails a link and logs nobody in; the password logs in before verification.
token=$(curl -s -c "$jar" -b "$jar" "$base/login" | csrf_of)
curl -s -o /dev/null -c "$jar" -b "$jar" --data-urlencode "csrf_token=$token" --data-urlencode "email=prof@exemplo.com.br" \
  --data-urlencode "password=cavalo correto bateria prof" "$base/login"
token=$(curl -s -b "$jar" "$base/survey/1" | csrf_of)
cookie="pesquisa_sid=$(awk '$6=="pesquisa_sid"{print $7}' "$jar")"

# One curl process, one connection, n requests (curl reuses the connection across
# --next; each request gets its own options, or --data would accumulate).
args=() warm=()
for i in $(seq 1 "$n"); do
  [ "$i" -gt 1 ] && args+=(--next)
  args+=(-s -o /dev/null -w '%{http_code}\n' -H "Cookie: $cookie")
  case $scenario in
    get) args+=("$base/survey/1") ;;
    healthz) args+=("$base/healthz") ;;
    save) args+=(--data "csrf_token=$token&idade=$((18 + i % 80))&moradores=3&renda_familiar=2a4sm" "$base/survey/1") ;;
    *) echo "profile: unknown scenario $scenario" >&2; exit 2 ;;
  esac
done
for i in $(seq 1 20); do warm+=(-o /dev/null "$base/survey/1"); done
curl -s -H "Cookie: $cookie" "${warm[@]}"
callgrind_control -z "$pid" >/dev/null
curl "${args[@]}" | sort | uniq -c | sed 's/^/status counts: /' 
callgrind_control -d "$pid" >/dev/null
sleep 1
part=$(ls -t "$out".* 2>/dev/null | head -1)
total=$(callgrind_annotate "$part" 2>/dev/null | awk '/PROGRAM TOTALS/{gsub(",","",$1); print $1}')
echo "scenario $scenario: $n requests, $((total / n)) instructions per request (server process)"
callgrind_annotate --inclusive=yes "$part" 2>/dev/null | sed -n '1,/^--.*$/d; p' | head -60
