#!/usr/bin/env bash
# Raking time (issue 19): `pesquisa dev bench-raking` rakes N synthetic responses
# (default 200,000) to three margins (20 bairros, 2 sexes, 6 age bands; the sample leans
# young, female and to some bairros) with the configured trimming, RUNS times, and prints
# each time and the median. Target: under 1 s in a release build. No database needed.
#
# usage: bench/raking.sh [BIN] [N=200000] [RUNS=5]
#   BIN defaults to a release build made here (cargo build --release).
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${1:-}
n=${2:-200000}
runs=${3:-5}
if [ -z "$bin" ]; then
  cargo build --release --quiet
  bin=${CARGO_TARGET_DIR:-target}/release/pesquisa
fi
[ -x "$bin" ] || { echo "raking: $bin is not an executable" >&2; exit 2; }
times=()
for seed in $(seq 1 "$runs"); do
  t=$("$bin" dev bench-raking --n "$n" --seed "$seed")
  times+=("$t")
done
printf '%s\n' "${times[@]}" | sort -n | awk -v n="$n" '
  { t[NR] = $1 } END { printf "raking %d responses × 3 margins: median %.3f s (min %.3f, max %.3f, %d runs)\n", n, t[int((NR + 1) / 2)], t[1], t[NR], NR }'
