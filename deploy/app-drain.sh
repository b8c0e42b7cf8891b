#!/bin/sh
# Take this app VM out of the load balancer's rotation (and back) around a restart, on the
# app VM itself, without touching the load balancer.
#
# usage (as root on the app VM):  app-drain.sh on | off | status
#   on      new TCP connections to the app's port from other hosts (nginx on the LB VM)
#           are refused with a reset; connections already open, and loopback (the
#           readiness check on 127.0.0.1), are not affected
#   off     remove that again
#   status  "drained" or "in service" (exit 0 either way)
# Installed as /usr/local/sbin/pesquisa-drain (docs/deploy.md, section 2) and run by
# deploy/rolling-restart.sh through DRAIN_CMD/UNDRAIN_CMD:
#   DRAIN_CMD='ssh {} pesquisa-drain on' UNDRAIN_CMD='ssh {} pesquisa-drain off'
#
# Why: an instance that stops closes its listening socket at some point. Until then nginx
# keeps opening connections to it, and a connection that the stopping app never accepts is
# reset after nginx has sent the request on it. nginx retries such a request on the other
# VM only when it is idempotent (nginx.conf, on purpose: a POST may have been committed),
# so a saved questionnaire page would fail with 502. A connection refused at once instead
# carries no request yet: nginx sends that request, even a POST, to the other VM, and
# after max_fails=3 leaves this one out for fail_timeout (10 s). The requests already on
# open connections finish, and the app's own SIGTERM drain closes those connections. So
# once drained, the instance can be stopped with nothing on its way to it.
#
# The rule lives in a table of its own (priority -10, before the host's own filter
# table), so the host's nftables.conf is not edited; `nft list ruleset` shows it.
# Environment (for tests): DRAIN_PORT (default 8000), DRAIN_TABLE (default
# pesquisa_drain), DRAIN_MATCH (nft expression selecting whom to refuse; default
# 'iifname != "lo"').
set -eu

PORT=${DRAIN_PORT:-8000}
TABLE=${DRAIN_TABLE:-pesquisa_drain}
MATCH=${DRAIN_MATCH:-iifname != \"lo\"}

drained() { nft list table inet "$TABLE" >/dev/null 2>&1; }

case "${1:-}" in
  on)
    if drained; then echo "pesquisa-drain: already drained (table inet $TABLE)" >&2; exit 0; fi
    # One transaction: table, chain and rule appear together or not at all. Only a bare
    # SYN (a new connection) is refused.
    nft -f - <<EOF
table inet $TABLE {
  chain input {
    type filter hook input priority -10; policy accept;
    $MATCH tcp dport $PORT tcp flags & (syn | ack) == syn reject with tcp reset
  }
}
EOF
    echo "pesquisa-drain: new connections to port $PORT refused ($MATCH)" >&2 ;;
  off)
    if drained; then nft delete table inet "$TABLE"; fi
    echo "pesquisa-drain: port $PORT in service" >&2 ;;
  status)
    if drained; then echo drained; else echo "in service"; fi ;;
  -h|--help) sed -n '2,/^set -eu/p' "$0" | sed '$d; s/^# \{0,1\}//' ;;
  *) echo "usage: app-drain.sh on|off|status" >&2; exit 2 ;;
esac
