#!/usr/bin/env bash
# Browser tests: a respondent on a phone, in Debian's headless Chromium.
#
# Idempotent. On a fresh Debian machine (root, node and npm present) it installs what is
# missing — Chromium from Debian, the npm packages from the lockfile, the pesquisa binary
# (cargo build) — then starts `pesquisa serve` on a free loopback port in a fresh temp
# directory (its own SQLite file, in-memory sessions, no config), runs against it
#   respondent.mjs     sign-up (refused, then accepted), my account, log-out, log-in
#   questionnaire.mjs  the whole questionnaire: refused pages, keyboard, review, submit,
#                      answers shown afterwards, a change, English (questionnaire v3: the
#                      screener, the soft check); a non-shopper and a screened-out respondent
#   report.mjs         the standalone `pesquisa report` file (no network requests) and
#                      /admin/results as an analyst, on REPORT_RESPONSES (default 2000)
#                      synthetic responses
#   email_access.mjs   password reset and sign-in by e-mail code (messages read from the
#                      loopback SMTP server, MAIL_DIR)
#   oidc.mjs           log-in through a real OpenID provider (tests/oidc, started here
#                      on loopback): a new person signs up, an existing one is linked
#   two_factor.mjs     staff two-step verification: enrolment (QR code, key, recovery
#                      codes) and a log-in with the code, as an admin
#   staff.mjs          staff landings (admin -> /admin, analyst -> /admin/results) and the
#                      admin dashboard /admin at 360 and 1280 px, with their own accounts
#   quotas.mjs         the quota fill table on /admin and /admin/results at 360 and 1280 px
#                      (two `warn` quotas in the config: nobody is turned away)
# (each with its own fresh browser profile and account), and stops the server.
# Mail is real: a loopback SMTP server (tests/smtp/sink.py, Debian's python3-aiosmtpd,
# installed if missing) receives what the server's mail worker sends, one JSON file per
# message in $MAIL_DIR; journeys read them with lib.mjs's waitForMail(to, {kind|subject}).
#
# Environment:
#   SCREENSHOT_DIR  where the PNGs go (default tests/browser/screenshots/)
#   PESQUISA_BIN    the binary to serve (default target/debug/pesquisa, built if missing)
#   REBUILD=1       run `cargo build` even when the binary exists
#   BROWSER_SCRIPTS the scripts to run, space-separated (default: all of them)
#
# Output: each script's "ok"/"FAIL" lines; the last line is the sum over all scripts,
# "N passed, M failed". Exit status: 0 when every check passed, 1 when some failed, 2
# when a script crashed or timed out, other non-zero when the set-up failed.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
bin="${PESQUISA_BIN:-$root/target/debug/pesquisa}"
chromium="${CHROMIUM:-/usr/bin/chromium}"
export SCREENSHOT_DIR="${SCREENSHOT_DIR:-$here/screenshots}"

log() { echo "browser-test: $*" >&2; }

workdir=""
server_pid=""
provider_pid=""
smtp_pid=""
scripts_ran=0
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
  if [ -n "$provider_pid" ]; then
    kill -TERM "$provider_pid" 2>/dev/null || true
    wait "$provider_pid" 2>/dev/null || true
  fi
  if [ -n "$smtp_pid" ] && kill -0 "$smtp_pid" 2>/dev/null; then
    kill -TERM "$smtp_pid" 2>/dev/null || true
    wait "$smtp_pid" 2>/dev/null || true
  fi
  if [ -n "$workdir" ] && [ -d "$workdir" ]; then
    if [ "$status" -ne 0 ] && [ "$scripts_ran" = 0 ] && [ -f "$server_log" ]; then
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

# 1b. The SMTP server the mail goes to (Debian's aiosmtpd, under Debian's python3: a
# python3 earlier on PATH, e.g. pyenv's, does not see Debian's modules).
python="${SMTP_PYTHON:-/usr/bin/python3}"
if ! "$python" -c 'import aiosmtpd' 2>/dev/null; then
  log "installing python3-aiosmtpd (apt-get)"
  export DEBIAN_FRONTEND=noninteractive
  timeout 600 apt-get update -qq
  timeout 900 apt-get install -y -qq --no-install-recommends python3-aiosmtpd >/dev/null
fi

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
: >"$workdir/pesquisa.toml" # our own config file: never /etc/pesquisa/pesquisa.toml
# The OpenID provider of oidc.mjs, on loopback, and its entry in the config file.
oidc_dir="$root/tests/oidc"
if [ ! -f "$oidc_dir/node_modules/oidc-provider/package.json" ]; then
  log "installing the test OpenID provider (npm ci in tests/oidc)"
  (cd "$oidc_dir" && timeout 600 npm ci --no-audit --no-fund)
fi
(cd "$oidc_dir" && exec env OIDC_KEEP_RUNNING=1 OIDC_REDIRECT_URIS="$base_url/auth/test/callback" \
  node provider.mjs </dev/null >"$workdir/oidc.out" 2>"$workdir/oidc.err") &
provider_pid=$!
for _ in $(seq 1 40); do
  grep -q '^listening ' "$workdir/oidc.out" 2>/dev/null && break
  sleep 0.25
done
oidc_issuer="$(sed -n 's/^listening //p' "$workdir/oidc.out")"
[ -n "$oidc_issuer" ] || { log "the OpenID provider did not start"; cat "$workdir/oidc.err" >&2; exit 1; }
smtp_port="$(node -e '
  const s = require("net").createServer();
  s.listen(0, "127.0.0.1", () => { const p = s.address().port; s.close(() => console.log(p)); });
')"
export MAIL_DIR="$workdir/mailbox"
# Our own config file, never /etc/pesquisa/pesquisa.toml: defaults, except that mail goes
# to the loopback SMTP server (plain SMTP: it is on loopback).
cat >"$workdir/pesquisa.toml" <<TOML
[server]
public_url = "$base_url"

[mail]
host = "127.0.0.1"
port = $smtp_port
security = "none"
from = "Pesquisa <pesquisa@pesquisa.test>"

[[oidc.providers]]
id = "test"
label = "Provedor Teste"
issuer = "$oidc_issuer"
client_id = "pesquisa-test"
client_secret = "pesquisa-test-secret"
redirect_url = "$base_url/auth/test/callback"

# quotas.mjs: "warn" quotas turn nobody away, so the other journeys are unaffected.
[[quotas.quota]]
name = "bairros"
by = ["bairro"]
mode = "warn"
targets = { "EUGÊNIO DE MELO" = 150, "JARDIM AMERICANO" = 120, "JARDIM HELENA" = 90 }

[[quotas.quota]]
name = "sexo_idade"
by = ["sexo", "faixa_etaria"]
mode = "warn"
cells = [
  { cell = { sexo = "feminino", faixa_etaria = "18-29" }, target = 200 },
  { cell = { sexo = "masculino", faixa_etaria = "18-29" }, target = 180 },
]
TOML
# Drop any PESQUISA_* (e.g. a database or Redis of the API tests) and systemd credentials
# from the environment, so the server runs on its defaults: SQLite here, memory sessions.
unset_args=()
while IFS= read -r name; do unset_args+=(-u "$name"); done < <(compgen -e | grep -E '^(PESQUISA_|CREDENTIALS_DIRECTORY$)' || true)
mkdir -p "$SCREENSHOT_DIR"
# Data for the analysts' checks (report.mjs): synthetic responses, an analyst account and
# the standalone report file, made with the same binary and configuration.
analyst_email="analista@exemplo.com.br"
analyst_password="relatorio de mercado 2026"
smtp_log="$SCREENSHOT_DIR/smtp.log"
"$python" "$here/../smtp/sink.py" --listen "127.0.0.1:$smtp_port" --dir "$MAIL_DIR" >"$smtp_log" 2>&1 &
smtp_pid=$!
for _ in $(seq 1 50); do
  grep -q '^READY' "$smtp_log" 2>/dev/null && break
  kill -0 "$smtp_pid" 2>/dev/null || { log "the SMTP server exited:"; cat "$smtp_log" >&2; exit 1; }
  sleep 0.1
done
grep -q '^READY' "$smtp_log" || { log "the SMTP server did not start"; exit 1; }
log "SMTP server pid $smtp_pid on 127.0.0.1:$smtp_port (messages in $MAIL_DIR)"
pq() { (cd "$workdir" && env "${unset_args[@]}" NO_COLOR=1 "$bin" --config "$workdir/pesquisa.toml" "$@"); }
pq migrate --create >/dev/null
# The illustrative census margins (the zero-config demo): the report and /admin/results
# are then weighted, and report.mjs checks the weighting section.
pq census import --illustrative >/dev/null
pq dev generate-responses --count "${REPORT_RESPONSES:-2000}" --seed 1 2>/dev/null
# The generator writes responses directly: count them into the quota cells.
pq quotas --recount >/dev/null 2>&1
printf '%s\n' "$analyst_password" | pq admin create-user --role analyst --email "$analyst_email" >/dev/null
admin_email="chefe@exemplo.com.br"
admin_password="duas etapas para a equipe"
printf '%s\n' "$admin_password" | pq admin create-user --role admin --email "$admin_email" >/dev/null
# staff.mjs's own accounts (two_factor.mjs and report.mjs enrol theirs first).
staff_admin_email="painel@exemplo.com.br"
staff_admin_password="painel da pesquisa para a equipe"
printf '%s\n' "$staff_admin_password" | pq admin create-user --role admin --email "$staff_admin_email" >/dev/null
staff_analyst_email="analista2@exemplo.com.br"
staff_analyst_password="resultados por bairro 2026"
printf '%s\n' "$staff_analyst_password" | pq admin create-user --role analyst --email "$staff_analyst_email" >/dev/null
quota_admin_email="cotas@exemplo.com.br"
quota_admin_password="metas por bairro e idade"
printf '%s\n' "$quota_admin_password" | pq admin create-user --role admin --email "$quota_admin_email" >/dev/null
pq report --households 12000 --output "$workdir/relatorio.html"
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

# 5. The scripts, one after the other (a failure in one does not skip the other).
# Each prints "N passed, M failed" last; those lines are summed into this script's last
# line, which is the only such line in the output.
# BROWSER_SCRIPTS="report.mjs two_factor.mjs" runs only those.
read -r -a scripts <<<"${BROWSER_SCRIPTS:-respondent.mjs questionnaire.mjs report.mjs email_access.mjs oidc.mjs two_factor.mjs staff.mjs quotas.mjs}"
total_passed=0
total_failed=0
worst=0
log "set-up took $(( $(date +%s) - started )) s"
scripts_ran=1
for script in "${scripts[@]}"; do
  log "running $script"
  script_started=$(date +%s)
  summary_file="$workdir/summary-$script"
  : >"$summary_file"
  set +e
  (cd "$here" && BASE_URL="$base_url" MAIL_DIR="$MAIL_DIR" OIDC_ISSUER="$oidc_issuer" CHROMIUM="$chromium" \
    REPORT_FILE="$workdir/relatorio.html" ANALYST_EMAIL="$analyst_email" ANALYST_PASSWORD="$analyst_password" \
    ADMIN_EMAIL="$admin_email" ADMIN_PASSWORD="$admin_password" \
    STAFF_ADMIN_EMAIL="$staff_admin_email" STAFF_ADMIN_PASSWORD="$staff_admin_password" \
    STAFF_ANALYST_EMAIL="$staff_analyst_email" STAFF_ANALYST_PASSWORD="$staff_analyst_password" \
    QUOTA_ADMIN_EMAIL="$quota_admin_email" QUOTA_ADMIN_PASSWORD="$quota_admin_password" \
    timeout 300 node "$script") 2>&1 |
    while IFS= read -r line; do
      if [[ "$line" =~ ^[0-9]+\ passed,\ [0-9]+\ failed$ ]]; then
        printf '%s\n' "$line" >"$summary_file"
      else
        printf '%s\n' "$line"
      fi
    done
  status=${PIPESTATUS[0]}
  set -e
  summary="$(cat "$summary_file")"
  if [[ "$summary" =~ ^([0-9]+)\ passed,\ ([0-9]+)\ failed$ ]]; then
    p="${BASH_REMATCH[1]}"
    f="${BASH_REMATCH[2]}"
  else
    p=0
    f=0
  fi
  if [ "$status" = 124 ]; then
    echo "FAIL  $script was stopped after 300 s"
    f=$((f + 1))
    status=2
  elif [ "$status" != 0 ] && [ "$f" = 0 ]; then
    echo "FAIL  $script exited with status $status without a failed check"
    f=$((f + 1))
  fi
  [ "$status" -gt 2 ] && status=2
  [ "$status" -gt "$worst" ] && worst=$status
  total_passed=$((total_passed + p))
  total_failed=$((total_failed + f))
  echo "== $script: $p passed, $f failed ($(( $(date +%s) - script_started )) s)"
  echo
done
log "total $(( $(date +%s) - started )) s"
echo "$total_passed passed, $total_failed failed"
if [ "$total_failed" != 0 ] && [ "$worst" = 0 ]; then worst=1; fi
exit "$worst"
