#!/usr/bin/env bash
# Start, stop or restart one stand-in backend (backend.py) of the nginx tests.
# usage: backend-ctl.sh DIR start NAME PORT | DIR stop|kill|restart|ready|alive NAME
# DIR keeps NAME.pid, NAME.port and NAME.log; the rolling-restart test uses this script
# as deploy/rolling-restart.sh's RESTART_CMD and READY_CMD.
set -euo pipefail
dir=$1 action=$2 name=$3
here="$(cd "$(dirname "$0")" && pwd)"
py=/usr/bin/python3; [ -x "$py" ] || py=$(command -v python3)

alive() {  # exists and is not a zombie (see lib.sh)
  local st; st=$(awk '/^State:/ {print $2}' "/proc/$1/status" 2>/dev/null) || return 1
  [ -n "$st" ] && [ "$st" != Z ]
}

# From 127.0.0.2, like a check on the VM itself: a drain (lib.sh test_drain) refuses only
# nginx's connections, which come from 127.0.0.1.
healthy() { curl -fsS --noproxy '*' -m 1 --interface 127.0.0.2 -o /dev/null "http://127.0.0.1:$(cat "$dir/$name.port")/$1" 2>/dev/null; }

start() {
  # setsid + redirects: the backend must not keep the caller's terminal or pipes open.
  setsid "$py" "$here/backend.py" "$(cat "$dir/$name.port")" "$name" "$dir" \
    </dev/null >>"$dir/$name.log" 2>&1 &
  echo $! >"$dir/$name.pid"
  for _ in $(seq 1 50); do healthy healthz && return 0; sleep 0.1; done
  echo "backend $name did not start" >&2; return 1
}

stop() {  # stop SIGNAL: and wait for the exit (SIGTERM: after backend.py's 5 s drain)
  local pid; pid=$(cat "$dir/$name.pid" 2>/dev/null) || return 0
  kill -"$1" "$pid" 2>/dev/null || return 0
  for _ in $(seq 1 100); do alive "$pid" || return 0; sleep 0.1; done
  kill -KILL "$pid" 2>/dev/null || true
}

case $action in
  start) echo "$4" >"$dir/$name.port"; start ;;
  stop) stop TERM ;;
  kill) stop KILL ;;
  restart) stop TERM; start ;;
  ready) healthy readyz ;;
  alive) alive "$(cat "$dir/$name.pid")" ;;
  *) echo "unknown action $action" >&2; exit 2 ;;
esac
