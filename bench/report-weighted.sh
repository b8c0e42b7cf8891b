#!/usr/bin/env bash
# The full report with weights on many responses (issue 19): `dev generate-responses
# --with-accounts` fills a SQLite file once (kept in bench/raw/ between runs) with
# responses that have accounts, page visits and duplicate fingerprints, as a study's
# have (the data-quality flags read them), `census import
# --illustrative` stores margins for its bairros, then `pesquisa report --format json`
# runs RUNS times under /usr/bin/time -v. Prints each wall time and peak RSS, and the
# median. Target: under 3 s at 200,000 responses in a release build, memory flat (the
# peak RSS does not grow with the responses beyond a few bytes per response; compare the
# peaks at 50,000 and 200,000, bench/findings.md session 16).
#
# usage: bench/report-weighted.sh [BIN] [N=200000] [RUNS=5]
#   BIN defaults to a release build made here (nice cargo build --release).
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${1:-}
n=${2:-200000}
runs=${3:-5}
if [ -z "$bin" ]; then
  nice cargo build --release --quiet
  bin=${CARGO_TARGET_DIR:-target}/release/pesquisa
fi
[ -x "$bin" ] || { echo "report-weighted: $bin is not an executable" >&2; exit 2; }
bin=$(realpath "$bin")
dir=bench/raw/report-weighted-accounts-$n
mkdir -p "$dir"
cd "$dir"
if [ ! -e pesquisa.db ]; then
  echo "generating $n responses into $dir/pesquisa.db (once)" >&2
  "$bin" dev generate-responses --count "$n" --seed 19 --create --with-accounts >/dev/null
  "$bin" census import --illustrative >/dev/null
fi
for i in $(seq 1 "$runs"); do
  /usr/bin/time -v "$bin" report --format json >/dev/null 2>time.$i || { cat time.$i >&2; exit 1; }
  wall=$(awk -F': ' '/Elapsed \(wall clock\)/ { n = split($2, p, ":"); s = 0; for (k = 1; k <= n; k++) s = s * 60 + p[k]; print s }' time.$i)
  rss=$(awk -F': ' '/Maximum resident set size/ { print $2 }' time.$i)
  echo "$wall $rss"
done | sort -n | awk -v n="$n" '
  { t[NR] = $1; r[NR] = $2; if ($2 > maxr) maxr = $2 }
  END { printf "report --format json, %d responses, weighted: median %.2f s (min %.2f, max %.2f, %d runs), peak RSS max %.0f MiB\n", n, t[int((NR + 1) / 2)], t[1], t[NR], NR, maxr / 1024 }'
