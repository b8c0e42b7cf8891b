#!/usr/bin/env bash
# Browser test: a respondent on a phone, in Debian's headless Chromium.
#
# Idempotent. On a fresh Debian machine (root, node and npm present) it installs what is
# missing — Chromium from Debian, the npm packages from the lockfile, the pesquisa binary
# (cargo build) — then starts `pesquisa serve` on a free loopback port in a fresh temp
# directory (its own SQLite file, in-memory sessions, no config), runs respondent.mjs
# against it, and stops the server.
#
# Environment:
#   SCREENSHOT_DIR  where the PNGs go (default tests/browser/screenshots/)
#   PESQUISA_BIN    the binary to serve (default target/debug/pesquisa, built if missing)
#   REBUILD=1       run `cargo build` even when the binary exists
#
# Exit status: that of respondent.mjs (0 all checks passed, 1 some failed, 2 crash or
# time-out), or non-zero when the set-up failed.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
bin="${PESQUISA_BIN:-$root/target/debug/pesquisa}"
chromium="${CHROMIUM:-/usr/bin/chromium}"
export SCREENSHOT_DIR="${SCREENSHOT_DIR:-$here/screenshots}"

log() { echo "browser-test: $*" >&2; }

workdir=""
server_pid=""
respondent_ran=0
server_log="$SCREENSHOT_DIR/server.log"
cleanup() {
  local status=$?
  if [ -n "$server_pid" ] && kill -0 "$server_pid" 2>/dev/null; then
    kill -TERM "$server_pid" 2>/dev/null || true
    for _ in $(seq 1 50); do
      kill -0 "$server_pid" 2>/dev/null || break
      sleep 0.1
    done
    kill -KILL "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
  fi
  if [ -n "$workdir" ] && [ -d "$workdir" ]; then
    if [ "$status" -ne 0 ] && [ "$respondent_ran" = 0 ] && [ -f "$server_log" ]; then
      log "last lines of the server log ($server_log):"
      tail -n 30 "$server_log" >&2 || true
    fi
    rm -rf "$workdir"
  fi
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

started=$(date +%s)

# 1. Chromium from Debian (npm packages cannot download browsers here).
if [ ! -x "$chromium" ]; then
  log "installing chromium (apt-get)"
  export DEBIAN_FRONTEND=noninteractive
  timeout 600 apt-get update -qq
  # Fonts too: without recommends Chromium may come without any, and the screenshots
  # would show boxes instead of letters.
  timeout 900 apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core fonts-liberation >/dev/null
fi
"$chromium" --version 2>/dev/null | head -n 1 >&2 || { log "no working $chromium"; exit 1; }

# 2. npm packages, from the lockfile.
if [ ! -d "$here/node_modules/playwright-core" ] || [ ! -d "$here/node_modules/axe-core" ]; then
  log "installing npm packages"
  if [ -f "$here/package-lock.json" ]; then
    (cd "$here" && timeout 600 npm ci --no-audit --no-fund)
  else
    (cd "$here" && timeout 600 npm install --no-audit --no-fund)
  fi
fi

# 3. The binary.
if [ ! -x "$bin" ] || [ "${REBUILD:-0}" = 1 ]; then
  log "building pesquisa (cargo build)"
  (cd "$root" && timeout 3600 cargo build)
  [ -x "$bin" ] || { log "no executable $bin after cargo build"; exit 1; }
elif newer=$(find "$root/src" "$root/assets" "$root/migrations" -newer "$bin" -type f -print -quit 2>/dev/null) && [ -n "$newer" ]; then
  log "note: $bin is older than ${newer#"$root"/}; testing the old binary (REBUILD=1 to rebuild)"
fi

# 4. The server: free loopback port, fresh directory, nothing inherited.
workdir="$(mktemp -d "${TMPDIR:-/tmp}/pesquisa-browser.XXXXXX")"
port="$(node -e '
  const s = require("net").createServer();
  s.listen(0, "127.0.0.1", () => { const p = s.address().port; s.close(() => console.log(p)); });
')"
case "$port" in 8000|8080|'') log "bad port '$port'"; exit 1 ;; esac
base_url="http://127.0.0.1:$port"
: >"$workdir/pesquisa.toml" # an empty config file: never /etc/pesquisa/pesquisa.toml
# Drop any PESQUISA_* (e.g. a database or Redis of the API tests) and systemd credentials
# from the environment, so the server runs on its defaults: SQLite here, memory sessions.
unset_args=()
while IFS= read -r name; do unset_args+=(-u "$name"); done < <(compgen -e | grep -E '^(PESQUISA_|CREDENTIALS_DIRECTORY$)' || true)
mkdir -p "$SCREENSHOT_DIR"
(
  cd "$workdir"
  exec env "${unset_args[@]}" PESQUISA_SERVER__LISTEN="127.0.0.1:$port" NO_COLOR=1 \
    "$bin" --config "$workdir/pesquisa.toml" serve
) >"$server_log" 2>&1 &
server_pid=$!
log "server pid $server_pid on $base_url (in $workdir, log in $server_log)"

health() {
  node -e '
    const c = new AbortController(); setTimeout(() => c.abort(), 2000);
    fetch(process.argv[1], { signal: c.signal })
      .then((r) => process.exit(r.status === 200 ? 0 : 1), () => process.exit(1));
  ' "$base_url/healthz"
}
ready=0
for _ in $(seq 1 60); do # at most ~30 s
  if ! kill -0 "$server_pid" 2>/dev/null; then
    log "the server exited before it was ready"
    exit 1
  fi
  if health; then ready=1; break; fi
  sleep 0.5
done
[ "$ready" = 1 ] || { log "GET /healthz did not answer 200 within 30 s"; exit 1; }

# 5. The respondent.
# Its last line, "N passed, M failed", stays the last line of this script's output.
log "set-up took $(( $(date +%s) - started )) s; running respondent.mjs"
respondent_ran=1
set +e
(cd "$here" && BASE_URL="$base_url" CHROMIUM="$chromium" timeout 300 node respondent.mjs)
status=$?
set -e
if [ "$status" = 124 ]; then
  log "respondent.mjs was stopped after 300 s"
  echo "0 passed, 1 failed"
fi
exit "$status"
