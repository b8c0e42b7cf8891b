#!/bin/sh
# The load balancer's upstream servers: which app VMs nginx sends requests to, and taking
# one out of service (and back) around its restart, so that no request is lost.
#
# usage: lb-upstream.sh [render]         write UPSTREAM_FILE with every APPn_ADDR in service
#        lb-upstream.sh drain NAME       mark NAME (app1, app2, ...) `down`, reload nginx and
#                                        wait until the old workers have finished every
#                                        request they had (so nothing is on its way to NAME)
#        lb-upstream.sh undrain NAME     put NAME back in service, reload, wait the same way
#        lb-upstream.sh status           one line per server: NAME ADDRESS up|down
#
# Where it runs: inside the nginx container on the LB VM (POSIX sh, no bash needed).
# deploy/docker-compose.yml mounts it as /docker-entrypoint.d/40-pesquisa-upstream.sh: the
# image's entrypoint runs it without arguments at every container start, after rendering
# nginx.conf, and it writes upstream.conf beside nginx.conf (nginx.conf includes it) with
# every server in service. A drain lasts until `undrain` or the next container start.
# From the admin's machine (deploy/rolling-restart.sh's DRAIN_CMD/UNDRAIN_CMD):
#   ssh lb docker exec pesquisa-lb /docker-entrypoint.d/40-pesquisa-upstream.sh drain app1
#
# Why: an app VM that is stopping closes its listening socket at some point; a request
# that nginx has just sent there on a new connection is then reset, and nginx must not
# retry it on the other VM when it is a POST (it may have been committed). A server marked
# `down` gets no new request at all once the reload is done, and the app then stops with
# nothing in flight. (A reload starts new workers with the new list; the old ones finish
# the requests they have, then exit: this script waits for exactly that.)
# It refuses to drain the last server in service.
#
# Environment:
#   APP1_ADDR, APP2_ADDR, ...  host:port of each app VM (the .env of docker-compose.yml);
#                              APPn_ADDR is server "appn"
#   UPSTREAM_FILE   default: $NGINX_ENVSUBST_OUTPUT_DIR/upstream.conf (the image sets that
#                   directory; /etc/nginx without it)
#   SERVER_PARAMS   default: "max_fails=3 fail_timeout=10s"
#   NGINX_CONF      the running configuration (default: nginx.conf beside UPSTREAM_FILE)
#   NGINX_PID_FILE  the master's pid file (default: /var/run/nginx.pid)
#   NGINX_PREFIX    passed to `nginx -t` as -p when set (tests)
#   DRAIN_TIMEOUT   seconds to wait for the old workers (default 60; nginx.conf's
#                   proxy_read_timeout is 35 s)
set -eu

out_dir=${NGINX_ENVSUBST_OUTPUT_DIR:-/etc/nginx}
UPSTREAM_FILE=${UPSTREAM_FILE:-$out_dir/upstream.conf}
SERVER_PARAMS=${SERVER_PARAMS:-max_fails=3 fail_timeout=10s}
NGINX_CONF=${NGINX_CONF:-$(dirname "$UPSTREAM_FILE")/nginx.conf}
NGINX_PID_FILE=${NGINX_PID_FILE:-/var/run/nginx.pid}
DRAIN_TIMEOUT=${DRAIN_TIMEOUT:-60}

say() { echo "lb-upstream: $*" >&2; }
die() { say "ERROR: $*"; exit 1; }

# The servers from the environment: "NAME ADDRESS" lines, app1 first.
servers() {
  env | sed -n 's/^APP\([0-9][0-9]*\)_ADDR=\(..*\)$/\1 \2/p' | sort -n | sed 's/^/app/'
}

render() {
  list=$(servers)
  [ -n "$list" ] || die "no APP1_ADDR, APP2_ADDR, ... in the environment"
  tmp="$UPSTREAM_FILE.tmp.$$"
  {
    echo "# Written by lb-upstream.sh; change it with: lb-upstream.sh drain|undrain NAME"
    echo "$list" | while read -r name addr; do
      echo "server $addr $SERVER_PARAMS;  # $name"
    done
  } >"$tmp"
  mv -f "$tmp" "$UPSTREAM_FILE"
  say "$UPSTREAM_FILE: $(echo "$list" | tr '\n' ' ')"
}

status() {
  [ -f "$UPSTREAM_FILE" ] || die "$UPSTREAM_FILE does not exist (run: lb-upstream.sh render)"
  sed -n 's/^server \([^ ]*\) .*;  # \(.*\)$/\2 \1/p' "$UPSTREAM_FILE" | while read -r name addr; do
    if grep -q " down;  # $name\$" "$UPSTREAM_FILE"; then echo "$name $addr down"; else echo "$name $addr up"; fi
  done
}

# The master's worker processes (children), one pid a line.
workers() {
  if [ -r "/proc/$1/task/$1/children" ]; then
    tr ' ' '\n' <"/proc/$1/task/$1/children" | grep . || true
  else
    for s in /proc/[0-9]*/status; do
      awk -v m="$1" '/^PPid:/ { if ($2 == m) { split(FILENAME, p, "/"); print p[3] } exit }' "$s" 2>/dev/null || true
    done
  fi
}

# Reload nginx, then wait until the workers it had before have all exited: they finish
# their in-flight requests first, and by then every request goes by the new list.
reload_and_wait() {
  [ -s "$NGINX_PID_FILE" ] || die "no nginx pid in $NGINX_PID_FILE"
  master=$(cat "$NGINX_PID_FILE")
  old=$(workers "$master")
  kill -HUP "$master" || die "cannot signal nginx (pid $master)"
  waited=0
  for pid in $old; do
    while [ -d "/proc/$pid" ] && grep -q "^PPid:[[:space:]]*$master\$" "/proc/$pid/status" 2>/dev/null; do
      [ "$waited" -lt $((DRAIN_TIMEOUT * 10)) ] ||
        die "old nginx worker $pid still busy after ${DRAIN_TIMEOUT}s (a reload error? see nginx's log)"
      sleep 0.1
      waited=$((waited + 1))
    done
  done
  say "nginx reloaded; the old workers finished within $((waited * 100)) ms"
}

# set_state NAME down|up: rewrite NAME's line, check the configuration, reload.
set_state() {
  name=$1 want=$2
  [ -f "$UPSTREAM_FILE" ] || die "$UPSTREAM_FILE does not exist (run: lb-upstream.sh render)"
  case $name in app[0-9]*) ;; *) die "bad server name '$name' (app1, app2, ...)" ;; esac
  [ "$(grep -c "  # $name\$" "$UPSTREAM_FILE")" = 1 ] || die "$name is not in $UPSTREAM_FILE"
  if [ "$want" = down ]; then
    others_up=$(grep '^server ' "$UPSTREAM_FILE" | grep -v "  # $name\$" | grep -vc ' down;  # ' || true)
    [ "$others_up" -gt 0 ] || die "$name is the last server in service; not draining it"
  fi
  tmp="$UPSTREAM_FILE.tmp.$$"
  # First take any " down" off NAME's line, then put it back when draining.
  mark=""
  [ "$want" = up ] || mark="/  # $name\$/ s/;  #/ down;  #/"
  sed -e "/  # $name\$/ s/ down;  #/;  #/" -e "$mark" "$UPSTREAM_FILE" >"$tmp"
  if cmp -s "$tmp" "$UPSTREAM_FILE"; then
    rm -f "$tmp"; say "$name is already $want"; return 0
  fi
  cp -p "$UPSTREAM_FILE" "$UPSTREAM_FILE.prev"
  mv -f "$tmp" "$UPSTREAM_FILE"
  if ! nginx -t -q -c "$NGINX_CONF" ${NGINX_PREFIX:+-p "$NGINX_PREFIX"}; then
    mv -f "$UPSTREAM_FILE.prev" "$UPSTREAM_FILE"
    die "nginx -t refused the new upstream list; nothing changed"
  fi
  rm -f "$UPSTREAM_FILE.prev"
  say "$name: $want"
  reload_and_wait
}

case "${1:-}" in
  "")
    # The image's entrypoint: render at start. By hand, with a list in place: the status.
    if [ -f "$UPSTREAM_FILE" ]; then status; else render; fi ;;
  render) render ;;
  status) status ;;
  drain) [ $# -eq 2 ] || die "usage: lb-upstream.sh drain NAME"; set_state "$2" down ;;
  undrain) [ $# -eq 2 ] || die "usage: lb-upstream.sh undrain NAME"; set_state "$2" up ;;
  -h|--help) sed -n '2,/^set -eu/p' "$0" | sed '$d; s/^# \{0,1\}//' ;;
  *) die "unknown command '$1' (render, drain NAME, undrain NAME, status)" ;;
esac
