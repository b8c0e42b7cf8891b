#!/usr/bin/env bash
# systemd/pesquisa.service, checked without running it (no systemd is needed as PID 1):
# `systemd-analyze verify` must print nothing, `systemd-analyze security --offline=true`
# must score it at most 1.5, and the directives the binary relies on must be there.
#
# verify checks that ExecStart's program exists. /usr/local/bin/pesquisa is not installed
# on a build machine, so a copy of the unit with ExecStart pointing at the built binary
# (or /bin/true when none is built) is verified instead; nothing else is changed.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

need_cmd systemd-analyze systemd
need_cmd strace strace
need_cmd pgrep procps
need_cmd python3 python3

UNIT=${UNIT:-$REPO_ROOT/systemd/pesquisa.service}
MAX_SCORE=${MAX_SCORE:-1.5}
T=$(mktemp -d /tmp/pesquisa-systemd-test.XXXXXX)
trap 'rm -rf "$T"' EXIT

exe=/usr/local/bin/pesquisa
if [ ! -x "$exe" ]; then
  exe=$(cd "$REPO_ROOT" && ls -t target/x86_64-unknown-linux-musl/release/pesquisa \
    target/release/pesquisa target/debug/pesquisa 2>/dev/null | head -n 1) || true
  if [ -n "$exe" ]; then exe="$REPO_ROOT/$exe"; else exe=/bin/true; fi
fi
sed "s#^ExecStart=/usr/local/bin/pesquisa #ExecStart=$exe #" "$UNIT" >"$T/pesquisa.service"
check "the verified copy differs from the unit only in ExecStart's path" \
  test "$(diff "$UNIT" "$T/pesquisa.service" | grep -c '^[<>]')" = 2

verify_clean() {
  # Unknown or misspelt directives are only warnings (exit 0): any output is a failure.
  if (cd "$T" && systemd-analyze verify ./pesquisa.service) >"$T/verify.out" 2>&1 \
    && [ ! -s "$T/verify.out" ]; then
    return 0
  fi
  sed 's/^/    /' "$T/verify.out" >&2
  return 1
}
check "systemd-analyze verify: no error or warning" verify_clean

systemd-analyze security --offline=true "$UNIT" >"$T/security.out" 2>&1 || true
score=$(sed -n 's/.*Overall exposure level for pesquisa.service: \([0-9.]*\).*/\1/p' "$T/security.out")
score_ok() { [ -n "$score" ] && awk -v s="$score" -v m="$MAX_SCORE" 'BEGIN { exit !(s <= m) }'; }
check "systemd-analyze security --offline: exposure ${score:-?} <= $MAX_SCORE" score_ok
# The same limit as systemd's own test mode (0-100 scale).
threshold_ok() { systemd-analyze security --offline=true --threshold=15 "$UNIT" >/dev/null 2>&1; }
check "systemd-analyze security --threshold=15 passes" threshold_ok

has() { grep -Eq "^$1\$" "$UNIT"; }
check "Type=notify with NotifyAccess=main" bash -c "grep -qx 'Type=notify' '$UNIT' && grep -qx 'NotifyAccess=main' '$UNIT'"
check "WatchdogSec is set" has 'WatchdogSec=[0-9]+s?'
check "DynamicUser=yes" has 'DynamicUser=yes'
for c in database_password redis_password session_secret; do
  check "LoadCredential=$c" has "LoadCredential=$c:/etc/pesquisa/credentials/$c"
done
check "StateDirectory=pesquisa with WorkingDirectory=/var/lib/pesquisa (SQLite mode)" \
  bash -c "grep -qx 'StateDirectory=pesquisa' '$UNIT' && grep -qx 'WorkingDirectory=/var/lib/pesquisa' '$UNIT'"
check "ConfigurationDirectory=pesquisa" has 'ConfigurationDirectory=pesquisa'
check "Restart=on-failure" has 'Restart=on-failure'
stop_secs=$(sed -n 's/^TimeoutStopSec=\([0-9]*\)s\{0,1\}$/\1/p' "$UNIT")
check "TimeoutStopSec (${stop_secs:-?}s) above the default drain grace of 20 s" test "${stop_secs:-0}" -gt 20
check "no ExecStartPre (migrations are a deploy step)" bash -c "! grep -q '^ExecStartPre' '$UNIT'"
check "IPAddressDeny=any with loopback, LB and VPN ranges allowed" \
  bash -c "grep -qx 'IPAddressDeny=any' '$UNIT' && grep -qx 'IPAddressAllow=localhost' '$UNIT' && grep -qx 'IPAddressAllow=10.8.0.0/24' '$UNIT'"
check "AF_UNIX allowed (sd_notify needs it)" has 'RestrictAddressFamilies=.*AF_UNIX.*'

# ---- The binary's system calls against the unit's SystemCallFilter= ----
# No systemd runs as PID 1 here, so the filter cannot be enforced; instead the built
# binary serves a few requests (SQLite mode, as an unprivileged user like DynamicUser=)
# under strace, and every system call it made must be in the set the unit allows. A
# call outside it would kill the service with SIGSYS... or here, fail this check.
if [ "$exe" != /bin/true ] && have strace; then
  run="$T/run"; mkdir -p "$run"; chmod 0755 "$T"; chown 65534:65534 "$run"
  port=$(free_port 28900)
  (cd "$run" && exec strace -f -qq -o "$T/trace" -u nobody \
     env -i PATH=/usr/bin:/bin PESQUISA_SERVER__LISTEN="127.0.0.1:$port" \
       PESQUISA_SERVER__SHUTDOWN_GRACE_SECS=2 "$exe" serve) \
    >"$T/serve.log" 2>&1 &
  spid=$!
  if wait_until 30 curl -fsS --noproxy '*' -m 1 -o /dev/null "http://127.0.0.1:$port/healthz"; then
    for path in / /healthz /readyz /login /register /no-such-page; do
      curl -s --noproxy '*' -m 5 -o /dev/null -c "$T/cookies" -b "$T/cookies" "http://127.0.0.1:$port$path" || true
    done
    curl -s --noproxy '*' -m 5 -o /dev/null -b "$T/cookies" -d 'email=a%40b.example&password=x' \
      "http://127.0.0.1:$port/login" || true
  fi
  # SIGTERM to the app itself (strace's child), so its graceful stop is traced too.
  app_pid=$(pgrep -P "$spid" | head -n 1) || true
  kill -TERM "${app_pid:-$spid}" 2>/dev/null || true
  wait_until 10 bash -c "! kill -0 $spid 2>/dev/null" || kill -KILL "$spid" 2>/dev/null || true
  wait "$spid" 2>/dev/null || true
  syscalls_allowed() {
    python3 - "$UNIT" "$T/trace" <<'PY'
import re, subprocess, sys
unit, trace = sys.argv[1], sys.argv[2]
def expand(name):
    out = subprocess.run(["systemd-analyze", "syscall-filter", name],
                         capture_output=True, text=True, check=True).stdout
    calls = set()
    for line in out.splitlines()[1:]:
        word = line.strip()
        if not word or word.startswith("#"):
            continue
        calls |= expand(word) if word.startswith("@") else {word}
    return calls
def names(words):
    calls = set()
    for w in words:
        calls |= expand(w) if w.startswith("@") else {w}
    return calls
# systemd's order: the first line sets an allow list; later lines remove (~) from it or
# add to it, in the order written.
allowed = None
for line in open(unit):
    m = re.match(r"SystemCallFilter=(~?)(.*)", line.strip())
    if m:
        group = names(m.group(2).split())
        if m.group(1):
            allowed = (allowed or set()) - group
        else:
            allowed = group if allowed is None else allowed | group
used = set()
for line in open(trace):
    m = re.match(r"\d+\s+([a-z0-9_]+)\(", line)
    if m:
        used.add(m.group(1))
bad = sorted(c for c in used if c not in (allowed or set()))
print(f"{len(used)} distinct system calls; outside the filter: {' '.join(bad) or 'none'}")
sys.exit(1 if bad or len(used) < 20 else 0)
PY
  }
  result=$(syscalls_allowed 2>&1) && ok=1 || ok=0
  check "every system call of \`pesquisa serve\` under a small load is allowed by SystemCallFilter= ($result)" \
    test "$ok" = 1
else
  echo "SKIP: system calls vs SystemCallFilter= (needs a built binary and strace)"
fi

finish
