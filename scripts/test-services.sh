#!/usr/bin/env bash
# Make sure what the test suite needs is installed and running on this machine:
# MariaDB and Redis (installed from Debian's packages if missing, started if stopped),
# Debian's python3-aiosmtpd (the SMTP server the mail tests send to, tests/smtp/sink.py),
# Debian's pspp and r-base-core (they read the labelled exports for SPSS and R),
# the MariaDB test user `pesquisa_test`, allowed to create databases `pesquisa_t_*`, and
# the npm packages of the test OpenID provider (tests/oidc).
# Idempotent; needs root (as on CI and the development VMs).
set -euo pipefail

log() { echo "test-services: $*" >&2; }

missing=()
command -v mariadbd >/dev/null 2>&1 || [ -x /usr/sbin/mariadbd ] || missing+=(mariadb-server mariadb-client)
command -v redis-server >/dev/null 2>&1 || missing+=(redis-server redis-tools)
# Debian's python3 (not a pyenv one earlier on PATH) with aiosmtpd; openssl makes the
# mail tests' private CA.
/usr/bin/python3 -c 'import aiosmtpd' >/dev/null 2>&1 || missing+=(python3-aiosmtpd)
command -v openssl >/dev/null 2>&1 || missing+=(openssl)
if [ ${#missing[@]} -gt 0 ]; then
  log "installing ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi
# PSPP and R read the labelled exports in tests/api/labelled_export.rs (about 44 MB, 20 s
# to install from the Debian mirror; without recommends: no GUI, no R dev toolchain).
stats=()
command -v pspp >/dev/null 2>&1 || stats+=(pspp)
command -v Rscript >/dev/null 2>&1 || stats+=(r-base-core)
if [ ${#stats[@]} -gt 0 ]; then
  log "installing ${stats[*]}"
  [ ${#missing[@]} -gt 0 ] || apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${stats[@]}" >/dev/null
fi

if ! mariadb-admin --protocol=tcp -h127.0.0.1 -uroot ping >/dev/null 2>&1 \
   && ! mariadb-admin ping >/dev/null 2>&1; then
  log "starting MariaDB"
  mkdir -p /run/mysqld && chown mysql:mysql /run/mysqld 2>/dev/null || true
  start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd
  for _ in $(seq 1 60); do
    mariadb-admin ping >/dev/null 2>&1 && break
    sleep 0.5
  done
fi
mariadb-admin ping >/dev/null 2>&1 || { log "MariaDB did not start"; exit 1; }

if ! redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1; then
  log "starting Redis"
  mkdir -p /var/lib/redis /var/log/redis
  redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no \
    --dir /var/lib/redis --logfile /var/log/redis/ci.log
  for _ in $(seq 1 40); do
    redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1 && break
    sleep 0.25
  done
fi
redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null || { log "Redis did not start"; exit 1; }

# The test user: only databases whose names start with pesquisa_t_.
mariadb -uroot <<'SQL'
CREATE USER IF NOT EXISTS 'pesquisa_test'@'127.0.0.1' IDENTIFIED BY 'pesquisa_test';
CREATE USER IF NOT EXISTS 'pesquisa_test'@'localhost' IDENTIFIED BY 'pesquisa_test';
GRANT ALL PRIVILEGES ON `pesquisa\_t\_%`.* TO 'pesquisa_test'@'127.0.0.1';
GRANT ALL PRIVILEGES ON `pesquisa\_t\_%`.* TO 'pesquisa_test'@'localhost';
-- A read-only analyst (SELECT only) on the same databases: export and report must work
-- with it (tests/api/report.rs).
CREATE USER IF NOT EXISTS 'pesquisa_ro_test'@'%' IDENTIFIED BY 'pesquisa_ro_test';
GRANT SELECT ON `pesquisa\_t\_%`.* TO 'pesquisa_ro_test'@'%';
-- config/pesquisa.dev.toml's database.
GRANT ALL PRIVILEGES ON `pesquisa\_dev`.* TO 'pesquisa_test'@'127.0.0.1';
SQL
# Leftovers of interrupted test runs.
for db in $(mariadb -uroot -N -e "SHOW DATABASES LIKE 'pesquisa\\_t\\_%'"); do
  mariadb -uroot -e "DROP DATABASE \`$db\`"
done
log "MariaDB and Redis ready"

# The OpenID provider of the log-in tests (tests/api/oidc.rs): oidc-provider from npm,
# pinned by tests/oidc/package-lock.json. Node comes from Debian when missing.
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
if ! command -v npm >/dev/null 2>&1; then
  log "installing nodejs and npm"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm >/dev/null
fi
if [ ! -f "$root/tests/oidc/node_modules/oidc-provider/package.json" ]; then
  log "installing the test OpenID provider (npm ci in tests/oidc)"
  (cd "$root/tests/oidc" && timeout 600 npm ci --no-audit --no-fund >/dev/null)
fi
log "OpenID provider ready"
