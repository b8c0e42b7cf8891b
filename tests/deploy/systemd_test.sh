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

finish
