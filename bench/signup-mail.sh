#!/usr/bin/env bash
# Sign-up latency with mail enabled vs without (issue 17: "sign-up's p99 with mail enabled
# within 10 % of today's"; the outbox, not SMTP, is on the request path). One server per
# mode on MariaDB + Redis, each taking N sign-ups (POST /register, the configured password
# cost) from P parallel clients:
#   no-smtp  no mail.host: the worker writes .eml files (the zero-config default)
#   smtp     [mail] pointed at a real SMTP server on loopback (tests/smtp/sink.py,
#            Debian's python3-aiosmtpd), the worker running and sending
# Each sign-up queues its verification mail in the same transaction; in smtp mode the
# worker sends them over SMTP beside the sign-ups.
#   smtp-remote [mail] pointed at bench/smtp-discard.py, a receiving SMTP server that only
#            counts: it stands in for the relay on another host, whose CPU is not this
#            machine's (the test sink decodes and stores each message, 15-20 % of a
#            sign-up's CPU on this machine's cores; bench/findings.md)
#   smtp-down [mail] pointed at a closed port (an SMTP outage): the worker fails and backs
#            off, so the run measures the request path (outbox row in the sign-up's
#            transaction) with almost no worker CPU beside it
# The clients are bench/signup-client.py's threads (a GET of the form, then the timed POST
# on the same connection); until 2026-12-07 they were curl from xargs, whose own CPU on
# the same two cores halved the rate and doubled the p99 (bench/findings.md, session 18),
# so numbers from before then are not comparable with later ones.
# Prints each mode's sign-ups/s, p50, p99 and max of the POST, the statuses other than
# 303, the CPU seconds the server (and the SMTP sink) spent per sign-up, and how many
# messages the SMTP server received.
#
# With CALLGRIND=1 each mode instead runs the server under valgrind's callgrind with the
# cheapest password hash (so argon2 does not drown the rest) and N sign-ups one at a time,
# and prints the instructions per sign-up (the server's, all threads, the GET of the form
# included; 2 s for the worker afterwards): a count that does not depend on the machine's
# load, to split what a sign-up costs besides its hash. Dumps in bench/raw/signup-cost/.
#
# usage: bench/signup-mail.sh BIN [N=200] [P=4]
#   MODES="no-smtp smtp smtp-remote smtp-down" (the default) picks and orders the modes.
#   BEFORE_MAIL=1 bench/signup-mail.sh OLD_BIN: a binary from before issue 17 (no [mail]
#   section, which its configuration would refuse): only the no-smtp mode, no mail keys.
#   A release build for numbers to compare with bench/RESULTS.md; a debug build shows the
#   ratio only. Needs MariaDB (root without password on 127.0.0.1) and Redis, as
#   bench/run.sh; uses the database pesquisa_bench_mail and its own Redis key prefix,
#   removed at the end.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${1:?usage: bench/signup-mail.sh BIN [N] [P]}
n=${2:-200}
par=${3:-4}
[ -x "$bin" ] || { echo "signup-mail: $bin is not an executable" >&2; exit 2; }
python=/usr/bin/python3
"$python" -c 'import aiosmtpd' 2>/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends python3-aiosmtpd >/dev/null; }
work=$(mktemp -d); port=18669; smtp_port=18670; base="http://127.0.0.1:$port"; db=pesquisa_bench_mail
prefix="pesquisa-mail-$$:"; pid=""; smtp_pid=""; discard_pid=""; discard_port=18672
stop_server() { if [ -n "$pid" ]; then kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; pid=""; fi; }
cleanup() {
  stop_server
  [ -n "$smtp_pid" ] && kill "$smtp_pid" 2>/dev/null && wait "$smtp_pid" 2>/dev/null || true
  [ -n "$discard_pid" ] && kill "$discard_pid" 2>/dev/null && wait "$discard_pid" 2>/dev/null || true
  mariadb -uroot -e "DROP DATABASE IF EXISTS $db" || true
  redis-cli --scan --pattern "$prefix*" | xargs -r -n 500 redis-cli del >/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
export PESQUISA_DATABASE__URL="mysql://root@127.0.0.1:3306/$db" PESQUISA_SERVER__LISTEN="127.0.0.1:$port"
export PESQUISA_DATABASE__POOL_SIZE=16 PESQUISA_REDIS__URL="redis://127.0.0.1:6379"
export PESQUISA_REDIS__KEY_PREFIX="$prefix" PESQUISA_LOGGING__LEVEL=warn PESQUISA_SERVER__DRAIN_SECS=0
export PESQUISA_SESSION__SECRET="bench-secret-bench-secret-bench-secret"
export PESQUISA_RATE_LIMIT__REGISTER_PER_IP=100000000 PESQUISA_RATE_LIMIT__LOGIN_PER_IP=100000000
export PESQUISA_MAIL__FROM="Pesquisa <pesquisa@pesquisa.test>" PESQUISA_MAIL__DIR="$work/eml"

"$python" tests/smtp/sink.py --listen "127.0.0.1:$smtp_port" --dir "$work/box" >"$work/smtp.log" 2>&1 & smtp_pid=$!
for _ in $(seq 1 50); do grep -q READY "$work/smtp.log" 2>/dev/null && break; sleep 0.1; done
"$python" bench/smtp-discard.py "127.0.0.1:$discard_port" "$work/discarded" >"$work/discard.log" 2>&1 & discard_pid=$!
for _ in $(seq 1 50); do grep -q READY "$work/discard.log" 2>/dev/null && break; sleep 0.1; done

# The client: P threads of Python, GET then POST on one connection (bench/signup-client.py
# says why not curl).
signups() { # count parallel email-prefix -> "status seconds" lines
  "$python" bench/signup-client.py "$base" "$1" "$2" "$3"
}

summary() { # file seconds
  sort -k2 -n "$1" | awk -v secs="$2" '{v[NR]=$2*1000; if ($1!=303) bad++}
    END {printf "%d sign-ups, %.1f/s, p50 %.0f ms, p99 %.0f ms, max %.0f ms, not 303: %d\n",
      NR, NR/secs, v[int(NR*0.5)+1], v[int(NR*0.99)+1], v[NR], bad+0}'
}

cpu_ticks() { # pid -> user + system clock ticks so far
  awk '{print $14 + $15}' "/proc/$1/stat" 2>/dev/null || echo 0
}
per_signup() { # ticks-before ticks-after -> ms per counted sign-up
  echo "($2 - $1) * 1000 / $(getconf CLK_TCK) / $n" | bc -l | xargs printf '%.1f'
}

run_callgrind() { # mode
  local raw=bench/raw/signup-cost out
  mkdir -p "$raw"; out="$raw/callgrind.out.$(basename "$bin").$1"
  PESQUISA_PASSWORDS__MEMORY_KIB=8 PESQUISA_PASSWORDS__ITERATIONS=1 PESQUISA_PASSWORDS__PARALLELISM=1 \
    valgrind --tool=callgrind --callgrind-out-file="$out.%p" "$bin" serve 2>"$work/serve-$1.log" & pid=$!
  for _ in $(seq 1 3000); do curl -sf -o /dev/null "$base/readyz" && break; sleep 0.1; done
  signups 8 1 "warm-$1-" >/dev/null
  sleep 2
  callgrind_control -z "$pid" >/dev/null
  signups "$n" 1 "bench-$1-" >"$work/$1.txt"
  sleep 2
  callgrind_control -d "$pid" >/dev/null
  sleep 1
  local dump ir; dump=$(ls -t "$out".* | head -1)
  ir=$(awk '/^(summary|totals):/{print $2; exit}' "$dump")
  printf '%-10s %s sign-ups, %s not 303, %s instructions per sign-up (%s)\n' "$1:" "$n" \
    "$(awk '$1!=303' "$work/$1.txt" | wc -l)" "$(( ir / n ))" "$dump"
  stop_server
}

run_mode() { # mode
  mariadb -uroot -e "DROP DATABASE IF EXISTS $db; CREATE DATABASE $db"
  redis-cli --scan --pattern "$prefix*" | xargs -r -n 500 redis-cli del >/dev/null || true
  local sink=$smtp_pid
  if [ "$1" = smtp ]; then
    export PESQUISA_MAIL__HOST=127.0.0.1 PESQUISA_MAIL__PORT=$smtp_port PESQUISA_MAIL__SECURITY=none
  elif [ "$1" = smtp-remote ]; then
    export PESQUISA_MAIL__HOST=127.0.0.1 PESQUISA_MAIL__PORT=$discard_port PESQUISA_MAIL__SECURITY=none
    sink=$discard_pid
  elif [ "$1" = smtp-down ]; then
    # Nothing listens there: every send is refused at once.
    export PESQUISA_MAIL__HOST=127.0.0.1 PESQUISA_MAIL__PORT=$((smtp_port + 1)) PESQUISA_MAIL__SECURITY=none
  else
    unset PESQUISA_MAIL__HOST PESQUISA_MAIL__PORT PESQUISA_MAIL__SECURITY
  fi
  "$bin" migrate >/dev/null
  if [ -n "${CALLGRIND:-}" ]; then
    run_callgrind "$1"
    return
  fi
  "$bin" serve 2>"$work/serve-$1.log" & pid=$!
  for _ in $(seq 1 100); do curl -sf -o /dev/null "$base/readyz" && break; sleep 0.1; done
  # Warm-up: a few sign-ups not counted.
  signups 8 "$par" "warm-$1-" >/dev/null
  local start end cpu0 sink0
  start=$(date +%s.%N); cpu0=$(cpu_ticks "$pid"); sink0=$(cpu_ticks "$sink")
  signups "$n" "$par" "bench-$1-" >"$work/$1.txt"
  end=$(date +%s.%N)
  sleep 2 # let the worker finish what was queued (its CPU counts too)
  printf '%-10s %s, CPU/sign-up: server %s ms, SMTP sink %s ms\n' "$1:" \
    "$(summary "$work/$1.txt" "$(echo "$end - $start" | bc)")" \
    "$(per_signup "$cpu0" "$(cpu_ticks "$pid")")" "$(per_signup "$sink0" "$(cpu_ticks "$sink")")"
  stop_server
}

echo "$("$bin" --version); $n sign-ups from $par clients per mode"
if [ "${BEFORE_MAIL:-0}" = 1 ]; then
  unset PESQUISA_MAIL__FROM PESQUISA_MAIL__DIR
  run_mode no-smtp
  exit 0
fi
for mode in ${MODES:-no-smtp smtp smtp-remote smtp-down}; do run_mode "$mode"; done
kill "$discard_pid"; wait "$discard_pid" 2>/dev/null || true; discard_pid=""
echo "SMTP server received $(find "$work/box" -name '*.json' 2>/dev/null | wc -l) messages; discarding server $(cat "$work/discarded" 2>/dev/null || echo 0); .eml files: $(find "$work/eml" -name '*.eml' 2>/dev/null | wc -l)"
