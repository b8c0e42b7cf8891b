#!/usr/bin/env bash
# Restart the pesquisa app instances one at a time without downtime.
#
# usage: deploy/rolling-restart.sh [-h] INSTANCE...
#   e.g. LB_URL=https://pesquisa.example.org/healthz DRAIN_CMD='ssh {} pesquisa-drain on' \
#          UNDRAIN_CMD='ssh {} pesquisa-drain off' deploy/rolling-restart.sh app1 app2
#
# For each INSTANCE, in order:
#   1. run DRAIN_CMD, if set: the instance refuses new connections from the load
#      balancer (deploy/app-drain.sh), so nginx sends every new request to the others;
#   2. run RESTART_CMD (default: ssh INSTANCE systemctl restart pesquisa): the app drains
#      its open connections and stops on SIGTERM, the new process starts;
#   3. wait until READY_CMD succeeds: the instance's own /readyz answers 200, i.e. it is
#      up AND reaches MariaDB and Redis;
#   4. run UNDRAIN_CMD, if set: the instance accepts connections from the LB again;
#   5. wait until LB_URL answers 200 LB_OK_COUNT times in a row AND at least SETTLE
#      seconds have passed since step 3.
# Only then is the next instance touched. Any step that does not finish within TIMEOUT
# seconds stops the script with a non-zero exit, leaving the remaining instances alone
# (and a drained instance drained: run UNDRAIN_CMD for it once it is ready).
#
# Why step 1: an instance that stops closes its listening socket at some point, and until
# then nginx keeps opening connections to it. A connection the stopping app never accepts
# is reset after nginx has sent the request on it; nginx retries that request on another
# instance only if it is idempotent (nginx.conf, on purpose: a POST may have been
# committed), so a saved questionnaire page fails with 502. A connection refused at once
# carries no request yet, and nginx sends the request, even a POST, elsewhere.
#
# Why step 5 waits SETTLE seconds: while an instance is drained or restarting, nginx sees
# refused connections to it and, after max_fails=3, leaves it out for fail_timeout=10s
# (nginx.conf), even though it is ready again. Draining or restarting the next instance
# inside that window leaves nginx with no live upstream: every request fails ("no live
# upstreams") for seconds. Open-source nginx does not report upstream state, so the script
# waits out fail_timeout (+ margin). Keep SETTLE above fail_timeout if you change it there.
#
# Before anything is restarted, every instance must already be ready and the LB must
# answer: a rolling restart while another instance is down would be an outage.
#
# Environment (commands are run with bash -c; every {} is replaced by the instance):
#   DRAIN_CMD     empty by default (no drain: a few requests in flight at each stop may
#                 fail); with deploy/app-drain.sh installed as pesquisa-drain on the app
#                 VMs: ssh {} pesquisa-drain on
#   UNDRAIN_CMD   ssh {} pesquisa-drain off; set both or neither
#   RESTART_CMD   default: ssh {} systemctl restart pesquisa
#   READY_CMD     default: ssh {} curl -fsS -m 3 -o /dev/null http://127.0.0.1:8000/readyz
#                 (curl on the VM itself: the unit's IPAddressAllow= may not admit the
#                 operator's address, and a drain refuses everything but loopback)
#   LB_URL        required, e.g. https://pesquisa.example.org/healthz
#   LB_CURL_OPTS  extra curl options for LB_URL (e.g. --resolve ..., --cacert ...)
#   TIMEOUT       seconds allowed for each step, per instance (default 120)
#   SETTLE        seconds, see above (default 12; nginx's fail_timeout is 10)
#   LB_OK_COUNT   consecutive LB successes required (default 5)
#   INTERVAL      seconds between checks (default 0.5)
set -euo pipefail

# The header above is the help text.
help() { sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; }
if [ "${1:-}" = "-h" ] || [ "${1:-}" = "--help" ]; then help; exit 0; fi
if [ $# -eq 0 ]; then sed -n '4,6p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; fi

RESTART_CMD=${RESTART_CMD:-'ssh {} systemctl restart pesquisa'}
READY_CMD=${READY_CMD:-'ssh {} curl -fsS -m 3 -o /dev/null http://127.0.0.1:8000/readyz'}
LB_URL=${LB_URL:?set LB_URL to the load balancer URL to check, e.g. https://pesquisa.example.org/healthz}
LB_CURL_OPTS=${LB_CURL_OPTS:-}
DRAIN_CMD=${DRAIN_CMD:-}
UNDRAIN_CMD=${UNDRAIN_CMD:-}
TIMEOUT=${TIMEOUT:-120}
SETTLE=${SETTLE:-12}
LB_OK_COUNT=${LB_OK_COUNT:-5}
INTERVAL=${INTERVAL:-0.5}

if { [ -n "$DRAIN_CMD" ] && [ -z "$UNDRAIN_CMD" ]; } || { [ -z "$DRAIN_CMD" ] && [ -n "$UNDRAIN_CMD" ]; }; then
  echo "rolling-restart: set both DRAIN_CMD and UNDRAIN_CMD, or neither" >&2
  exit 2
fi

say() { printf '%s rolling-restart: %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
now() { date +%s; }

# run TEMPLATE INSTANCE: the command with {} replaced, bounded by TIMEOUT.
run() {
  local cmd="${1//\{\}/$2}"
  timeout --kill-after=5 "$TIMEOUT" bash -c "$cmd"
}

ready() { timeout 10 bash -c "${READY_CMD//\{\}/$1}" >/dev/null 2>&1; }

lb_ok() {
  # LB_CURL_OPTS is split into words on purpose: it holds several options.
  # shellcheck disable=SC2086
  curl -fsS -m 3 -o /dev/null $LB_CURL_OPTS "$LB_URL" 2>/dev/null
}

# Refuse to start unless every instance is ready and the LB answers.
for inst in "$@"; do
  if ! ready "$inst"; then
    say "ERROR: $inst is not ready before the restart; not restarting anything"
    exit 1
  fi
done
if ! lb_ok; then
  say "ERROR: the load balancer ($LB_URL) does not answer; not restarting anything"
  exit 1
fi

for inst in "$@"; do
  if [ -n "$DRAIN_CMD" ]; then
    say "$inst: draining (taking it out of the load balancer)"
    if ! run "$DRAIN_CMD" "$inst"; then
      say "ERROR: $inst: drain command failed; stopping here (check the load balancer's state)"
      exit 1
    fi
  fi
  say "$inst: restarting"
  if ! run "$RESTART_CMD" "$inst"; then
    say "ERROR: $inst: restart command failed; stopping here${DRAIN_CMD:+ ($inst stays drained)}"
    exit 1
  fi

  deadline=$(( $(now) + TIMEOUT ))
  until ready "$inst"; do
    if [ "$(now)" -ge "$deadline" ]; then
      say "ERROR: $inst: not ready after ${TIMEOUT}s; stopping here, later instances untouched${DRAIN_CMD:+ ($inst stays drained)}"
      exit 1
    fi
    sleep "$INTERVAL"
  done
  ready_at=$(now)
  say "$inst: ready"
  if [ -n "$UNDRAIN_CMD" ]; then
    say "$inst: undraining (putting it back into the load balancer)"
    if ! run "$UNDRAIN_CMD" "$inst"; then
      say "ERROR: $inst: undrain command failed; stopping here ($inst is ready but may still be drained)"
      exit 1
    fi
  fi
  say "$inst: waiting for the load balancer (at least ${SETTLE}s, $LB_OK_COUNT good answers in a row)"

  deadline=$(( ready_at + SETTLE + TIMEOUT ))
  ok=0
  while :; do
    if lb_ok; then ok=$((ok + 1)); else ok=0; fi
    if [ "$ok" -ge "$LB_OK_COUNT" ] && [ $(( $(now) - ready_at )) -ge "$SETTLE" ]; then
      break
    fi
    if [ "$(now)" -ge "$deadline" ]; then
      say "ERROR: $inst: the load balancer did not answer steadily within ${TIMEOUT}s; stopping here"
      exit 1
    fi
    sleep "$INTERVAL"
  done
  say "$inst: serving through the load balancer"
done
say "all instances restarted: $*"
