#!/usr/bin/env bash
# deploy/db-host/: a private MariaDB (own datadir, port and socket under a temp dir, TLS
# from a CA made here) started with mariadb.cnf, users.sql applied to it, and a private
# Redis started with redis.conf; the VPN address 10.8.0.1 swapped for 127.0.0.1 in both.
# Checks what each user can and cannot do. Touches no system service or data.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

need_cmd mariadbd mariadb-server
need_cmd mariadb mariadb-client
need_cmd redis-server redis-server
need_cmd redis-cli redis-tools
need_cmd openssl openssl
need_cmd ss iproute2
need_cmd nft nftables

T=$(mktemp -d /tmp/pesquisa-dbhost-test.XXXXXX)
MYSQLD_PID="" REDIS_PID=""
cleanup() {
  stop_pid "$MYSQLD_PID"; stop_pid "$REDIS_PID"
  if [ -n "${KEEP_TMP:-}" ]; then echo "kept $T" >&2; else rm -rf "$T"; fi
}
trap cleanup EXIT

DB_PORT=$(free_port 28306)
REDIS_PORT=$(free_port 28379)
APP_PW="app-$(openssl rand -hex 12)"
MIG_PW="mig-$(openssl rand -hex 12)"
ANA_PW="ana-$(openssl rand -hex 12)"
APD_PW="apd-$(openssl rand -hex 12)"
RADM_PW="adm-$(openssl rand -hex 12)"

# ---- TLS: a CA and a server certificate for 127.0.0.1 ----
db_tls_certs "$T" 127.0.0.1

# ---- MariaDB: the project's mariadb.cnf, then overrides for this private instance ----
mariadb_start "$T" "" "bind-address = 127.0.0.1
port = $DB_PORT" || exit 1
SOCK=$MYSQL_SOCK
root_sql() { mariadb --no-defaults -S "$SOCK" -uroot -N -B "$@"; }

# ---- Redis: the project's redis.conf with hashes filled in, then overrides ----
redis_start "$T" "" "$APP_PW" "$RADM_PW" "bind 127.0.0.1
port $REDIS_PORT" || exit 1
radm() { redis-cli --no-auth-warning -p "$REDIS_PORT" --user admin --pass "$RADM_PW" "$@"; }
if ! wait_until 10 bash -c "[ \"\$(redis-cli --no-auth-warning -p $REDIS_PORT --user admin --pass $RADM_PW ping)\" = PONG ]"; then
  cat "$T/redis.log" "$T/redis.out" >&2 || true
  echo "private redis-server did not start" >&2; exit 1
fi

# ==== Firewall ====
# nft -c parses and checks the ruleset without applying it; in a private namespace so
# that even a bug here could not touch this machine's own rules.
NFT_NS="pq-nft-$$"
nft_ok() {
  ip netns add "$NFT_NS" && ip netns exec "$NFT_NS" nft -c -f "$REPO_ROOT/deploy/db-host/nftables.conf"
  local rc=$?; ip netns del "$NFT_NS" 2>/dev/null || true; return $rc
}
check "nftables.conf for the DB host parses (nft -c)" nft_ok

# ==== MariaDB checks ====
check "users.sql refuses to run without the passwords" \
  bash -c '! mariadb --no-defaults -S "$1" -uroot <"$2" 2>/dev/null' _ "$SOCK" "$REPO_ROOT/deploy/db-host/users.sql"
# users.sql as docs/deploy.md runs it: root over the socket, the passwords as user
# variables, SOURCE with --abort-source-on-error (without it mariadb exits 0 even when the
# sourced file fails). Its output (the `note` row) goes to $T/users-sql.out.
apply_users() {  # apply_users [ANALYST_PD_PASSWORD]
  mariadb --no-defaults --abort-source-on-error -S "$SOCK" -uroot -N -B >"$T/users-sql.out" <<SQL
SET @app_password = '$APP_PW';
SET @migrate_password = '$MIG_PW';
SET @analyst_password = '$ANA_PW';
SET @analyst_pd_password = '${1-$APD_PW}';
SET @client_hosts = '127.0.0.1';
SOURCE $REPO_ROOT/deploy/db-host/users.sql
SQL
}
without_pd_password() { ! apply_users "" 2>/dev/null; }
check "users.sql refuses to run without the personal-data analyst's password" without_pd_password
check "users.sql applies" apply_users
check "users.sql applies a second time (idempotent)" apply_users
# Before the first migrate: no table for the analysts' grants, and users.sql says so.
check "users.sql on a schema without tables: a note says to run it again after pesquisa migrate" \
  grep -q 'no analyst grants on __diesel_schema_migrations, responses, users, audit_log, census_import, census_households, census_adults, page_visits, respondent_fingerprints, quota_cells .*run users.sql again after `pesquisa migrate`' "$T/users-sql.out"

# as USER PASSWORD SQL: a TCP connection with TLS, the server certificate verified.
as() {
  MYSQL_PWD="$2" mariadb --no-defaults -h 127.0.0.1 -P "$DB_PORT" -u "$1" -N -B \
    --ssl --ssl-ca="$T/ca.pem" --ssl-verify-server-cert pesquisa -e "$3" 2>>"$T/client-errors.log"
}
no() { ! as "$@" >/dev/null; }
# eq WANT COMMAND...: the command's output is exactly WANT.
eq() { local want=$1; shift; [ "$("$@")" = "$want" ]; }
# outputs PATTERN COMMAND...: the command's output matches the extended regex.
outputs() { local re=$1; shift; "$@" | grep -Eq -- "$re"; }

check "migration user (TLS) can CREATE, ALTER and INDEX tables in the schema" \
  as pesquisa_migrate "$MIG_PW" "CREATE TABLE t (id INT PRIMARY KEY, v VARCHAR(20)); ALTER TABLE t ADD COLUMN w INT; CREATE INDEX t_v ON t (v); CREATE TABLE t2 (id INT PRIMARY KEY, t_id INT, FOREIGN KEY (t_id) REFERENCES t (id)); DROP TABLE t2;"
check "migration user cannot create another database" no pesquisa_migrate "$MIG_PW" "CREATE DATABASE other"
check "migration user cannot grant" no pesquisa_migrate "$MIG_PW" "GRANT SELECT ON pesquisa.* TO 'pesquisa_analyst'@'127.0.0.1'"

check "app user (TLS) can INSERT, SELECT, UPDATE, DELETE in the schema" \
  eq $'2\tb' as pesquisa_app "$APP_PW" \
  "INSERT INTO t (id, v) VALUES (1, 'a'), (2, 'b'), (3, 'c'); UPDATE t SET v = 'x' WHERE id = 1; DELETE FROM t WHERE id IN (1, 3); SELECT id, v FROM t;"
check "app user's connection is TLS 1.2+" \
  outputs 'TLSv1\.[23]' as pesquisa_app "$APP_PW" "SHOW STATUS LIKE 'Ssl_version'"
check "app user cannot CREATE TABLE" no pesquisa_app "$APP_PW" "CREATE TABLE evil (id INT)"
check "app user cannot ALTER or DROP" no pesquisa_app "$APP_PW" "ALTER TABLE t ADD COLUMN z INT"
check "app user cannot DROP a table" no pesquisa_app "$APP_PW" "DROP TABLE t"
root_sql -e "CREATE DATABASE other; CREATE TABLE other.secret (id INT); INSERT INTO other.secret VALUES (42);"
check "app user cannot read another schema" no pesquisa_app "$APP_PW" "SELECT * FROM other.secret"
check "app user cannot write another schema" no pesquisa_app "$APP_PW" "INSERT INTO other.secret VALUES (1)"
check "app user cannot read the mysql schema" no pesquisa_app "$APP_PW" "SELECT user FROM mysql.user"
check "app user has no FILE privilege (LOAD_FILE gives NULL)" \
  eq NULL as pesquisa_app "$APP_PW" "SELECT LOAD_FILE('/etc/hostname')"

no_tls() {  # no_tls USER PASSWORD
  ! MYSQL_PWD="$2" mariadb --no-defaults -h 127.0.0.1 -P "$DB_PORT" -u "$1" --skip-ssl \
    -e 'SELECT 1' >/dev/null 2>>"$T/client-errors.log"
}
check "a TCP connection without TLS is refused (app user)" no_tls pesquisa_app "$APP_PW"
# require-secure-transport, not just the REQUIRE SSL clause: a user created by hand
# without it must not get in over plain TCP either.
root_sql -e "CREATE USER 'plain'@'127.0.0.1' IDENTIFIED BY 'plain-password-1234'"
check "a TCP connection without TLS is refused even for a user without REQUIRE SSL" \
  no_tls plain plain-password-1234
check "... while the same user gets in with TLS" \
  eq 1 env MYSQL_PWD=plain-password-1234 mariadb --no-defaults -h 127.0.0.1 -P "$DB_PORT" -u plain -N -B \
    --ssl --ssl-ca="$T/ca.pem" --ssl-verify-server-cert -e 'SELECT 1'
root_sql -e "DROP USER 'plain'@'127.0.0.1'"
check "a wrong password is refused" no pesquisa_app "wrong-password-123" "SELECT 1"

# ---- The two analysts, on the real schema ----
# The tables as `pesquisa migrate` makes them (migrations/mysql/*/up.sql, in order, and
# diesel's bookkeeping table), made here as root; then users.sql again, as after the
# first migrate. A respondent with a response, for the reads below.
real_schema() {
  local f
  for f in "$REPO_ROOT"/migrations/mysql/*/up.sql; do root_sql pesquisa <"$f" || return 1; done
  root_sql pesquisa -e "CREATE TABLE __diesel_schema_migrations (
      version VARCHAR(50) PRIMARY KEY NOT NULL, run_on TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP);
    INSERT INTO __diesel_schema_migrations (version) VALUES ('20261127000001');" &&
    seed_respondent
}
seed_respondent() {  # as root: a respondent (personal data) with a response
  root_sql pesquisa -e "
    INSERT INTO users (email, password_hash, nome, sobrenome, telefone, bairro, created_at, updated_at)
      VALUES ('maria@example.com', '\$argon2id\$secret', 'Maria', 'Silva', '11987654321', 'Centro', NOW(6), NOW(6));
    INSERT INTO responses (user_id, definition_id, definition_version, answers, bairro, created_at, updated_at)
      VALUES (LAST_INSERT_ID(), 'd', 1, '{}', 'Centro', NOW(6), NOW(6));
    INSERT INTO audit_log (at, action, detail) VALUES (NOW(6), 'user.login', 'before');"
}
check "the tables of migrations/mysql/*/up.sql, made as root" real_schema
applies_quietly() { apply_users && [ ! -s "$T/users-sql.out" ]; }
check "users.sql after the schema exists: applies, no note" applies_quietly
# refused USER PASSWORD SQL: the statement fails with a privilege error (1142: table,
# 1143: column), not because the user cannot log in or the statement is wrong.
refused() {
  local err
  err=$(MYSQL_PWD="$2" mariadb --no-defaults -h 127.0.0.1 -P "$DB_PORT" -u "$1" -N -B \
    --ssl --ssl-ca="$T/ca.pem" --ssl-verify-server-cert pesquisa -e "$3" 2>&1 >/dev/null) && return 1
  grep -Eq 'ERROR 114[23] .*command denied' <<<"$err"
}
# refused_all USER PASSWORD SQL...: each statement is refused.
refused_all() {
  local u=$1 pw=$2 q; shift 2
  for q in "$@"; do refused "$u" "$pw" "$q" || { echo "not refused for $u: $q" >&2; return 1; }; done
}
RESPONSE_COLS="id, user_id, definition_id, definition_version, answers, bairro, current_page, revision, created_at, updated_at, submitted_at, screened_out, confirmed_checks"
PERSON_COLS="id, nome, sobrenome, email, telefone"
grants_of() {  # every table-, column- and schema-level privilege of the two analysts
  root_sql -e "
    SELECT CONCAT(GRANTEE, ' ', PRIVILEGE_TYPE, ' ', TABLE_NAME) FROM information_schema.TABLE_PRIVILEGES
      WHERE GRANTEE LIKE '%analyst%'
    UNION ALL SELECT CONCAT(GRANTEE, ' ', PRIVILEGE_TYPE, ' ', TABLE_NAME, ' (',
        GROUP_CONCAT(COLUMN_NAME ORDER BY COLUMN_NAME SEPARATOR ','), ')')
      FROM information_schema.COLUMN_PRIVILEGES WHERE GRANTEE LIKE '%analyst%'
      GROUP BY GRANTEE, PRIVILEGE_TYPE, TABLE_NAME
    UNION ALL SELECT CONCAT(GRANTEE, ' ', PRIVILEGE_TYPE, ' ', TABLE_SCHEMA, '.*') FROM information_schema.SCHEMA_PRIVILEGES
      WHERE GRANTEE LIKE '%analyst%'" | LC_ALL=C sort
}
R="answers,bairro,confirmed_checks,created_at,current_page,definition_id,definition_version,id,revision,screened_out,submitted_at,updated_at,user_id"
check "the analysts' privileges are exactly these (no schema-wide SELECT)" eq \
"'pesquisa_analyst'@'127.0.0.1' SELECT __diesel_schema_migrations (version)
'pesquisa_analyst'@'127.0.0.1' SELECT census_adults
'pesquisa_analyst'@'127.0.0.1' SELECT census_households
'pesquisa_analyst'@'127.0.0.1' SELECT census_import
'pesquisa_analyst'@'127.0.0.1' SELECT page_visits
'pesquisa_analyst'@'127.0.0.1' SELECT quota_cells
'pesquisa_analyst'@'127.0.0.1' SELECT respondent_fingerprints
'pesquisa_analyst'@'127.0.0.1' SELECT responses ($R)
'pesquisa_analyst'@'127.0.0.1' SELECT users (email_verified_at,id,role)
'pesquisa_analyst_pd'@'127.0.0.1' INSERT audit_log
'pesquisa_analyst_pd'@'127.0.0.1' SELECT __diesel_schema_migrations (version)
'pesquisa_analyst_pd'@'127.0.0.1' SELECT census_adults
'pesquisa_analyst_pd'@'127.0.0.1' SELECT census_households
'pesquisa_analyst_pd'@'127.0.0.1' SELECT census_import
'pesquisa_analyst_pd'@'127.0.0.1' SELECT page_visits
'pesquisa_analyst_pd'@'127.0.0.1' SELECT quota_cells
'pesquisa_analyst_pd'@'127.0.0.1' SELECT respondent_fingerprints
'pesquisa_analyst_pd'@'127.0.0.1' SELECT responses ($R)
'pesquisa_analyst_pd'@'127.0.0.1' SELECT users (email,email_verified_at,id,nome,role,sobrenome,telefone)" grants_of

check "analyst can SELECT responses (the columns of Response::as_select)" \
  eq $'1\tCentro' as pesquisa_analyst "$ANA_PW" "SELECT COUNT(*), MAX(bairro) FROM (SELECT $RESPONSE_COLS FROM responses) r"
check "analyst can SELECT the quota counters (pesquisa quotas)" \
  eq 0 as pesquisa_analyst "$ANA_PW" "SELECT COUNT(*) FROM (SELECT quota, cell, filled FROM quota_cells) q"
check "analyst can SELECT version FROM __diesel_schema_migrations" \
  eq 20261127000001 as pesquisa_analyst "$ANA_PW" "SELECT version FROM __diesel_schema_migrations"
check "analyst cannot SELECT users.email" refused pesquisa_analyst "$ANA_PW" "SELECT email FROM users"
check "analyst cannot SELECT users.password_hash" refused pesquisa_analyst "$ANA_PW" "SELECT password_hash FROM users"
check "analyst cannot SELECT any personal users column (nome, sobrenome, telefone, SELECT *)" \
  refused_all pesquisa_analyst "$ANA_PW" "SELECT nome FROM users" "SELECT sobrenome FROM users" \
  "SELECT telefone FROM users" "SELECT * FROM users"
check "analyst can SELECT users' id and email_verified_at (accounts.require_verified_email)" \
  eq 1 as pesquisa_analyst "$ANA_PW" "SELECT COUNT(*) FROM users WHERE id > 0 AND email_verified_at IS NULL"
check "analyst can SELECT what the data-quality flags read (users.role, page_visits, respondent_fingerprints)" \
  as pesquisa_analyst "$ANA_PW" "SELECT COUNT(*) FROM users WHERE role = 'respondent'; SELECT user_id, page, first_viewed_at, first_saved_at, last_saved_at, saves FROM page_visits; SELECT user_id, phone, name_bairro FROM respondent_fingerprints"
check "analyst cannot read audit_log" refused pesquisa_analyst "$ANA_PW" "SELECT * FROM audit_log"
check "analyst cannot read consents or consent_documents" \
  refused_all pesquisa_analyst "$ANA_PW" "SELECT * FROM consents" "SELECT * FROM consent_documents"
check "analyst cannot read other tables of the schema (t)" refused pesquisa_analyst "$ANA_PW" "SELECT * FROM t"
check "analyst cannot INSERT into audit_log (so no personal-data export)" \
  refused pesquisa_analyst "$ANA_PW" "INSERT INTO audit_log (at, action, detail) VALUES (NOW(6), 'export.personal_data', 'x')"
check "analyst cannot INSERT, UPDATE or DELETE responses" \
  refused_all pesquisa_analyst "$ANA_PW" "INSERT INTO responses (definition_id, definition_version, answers, created_at, updated_at) VALUES ('d', 1, '{}', NOW(), NOW())" \
  "UPDATE responses SET bairro = 'x'" "DELETE FROM responses"

check "personal-data analyst can SELECT responses and migration versions" \
  eq $'1\n1' as pesquisa_analyst_pd "$APD_PW" \
  "SELECT COUNT(*) FROM (SELECT $RESPONSE_COLS FROM responses) r; SELECT COUNT(*) > 0 FROM (SELECT version FROM __diesel_schema_migrations) m"
check "personal-data analyst can SELECT users' id, nome, sobrenome, email, telefone" \
  outputs $'^[0-9]+\tMaria\tSilva\tmaria@example.com\t11987654321$' as pesquisa_analyst_pd "$APD_PW" \
  "SELECT $PERSON_COLS FROM users WHERE id IN (1, 2, 3)"
check "personal-data analyst can INSERT into audit_log (the export's entry)" \
  as pesquisa_analyst_pd "$APD_PW" \
  "INSERT INTO audit_log (at, actor_id, action, subject_id, detail) VALUES (NOW(6), NULL, 'export.personal_data', NULL, 'csv 1 rows')"
check "personal-data analyst cannot SELECT users.password_hash" \
  refused pesquisa_analyst_pd "$APD_PW" "SELECT password_hash FROM users"
check "personal-data analyst cannot SELECT other users columns (SELECT *, bairro, last_login_at)" \
  refused_all pesquisa_analyst_pd "$APD_PW" "SELECT * FROM users" \
  "SELECT bairro FROM users" "SELECT last_login_at FROM users"
check "personal-data analyst cannot read audit_log (INSERT only)" \
  refused_all pesquisa_analyst_pd "$APD_PW" "SELECT * FROM audit_log" "SELECT COUNT(*) FROM audit_log"
check "personal-data analyst cannot read consents or consent_documents" \
  refused_all pesquisa_analyst_pd "$APD_PW" "SELECT * FROM consents" "SELECT * FROM consent_documents"
check "personal-data analyst cannot UPDATE or DELETE anything (audit_log, users, responses)" \
  refused_all pesquisa_analyst_pd "$APD_PW" \
  "UPDATE audit_log SET detail = 'x'" "DELETE FROM audit_log" \
  "UPDATE users SET email = 'x@example.com'" "DELETE FROM users" \
  "UPDATE responses SET bairro = 'x'" "DELETE FROM responses" \
  "INSERT INTO users (email, password_hash, nome, sobrenome, created_at, updated_at) VALUES ('y@example.com', 'h', 'n', 's', NOW(), NOW())"
check "both analysts' writes left the rows as they were (1 user, 1 response, 2 audit rows)" \
  eq $'1\t1\t2' root_sql pesquisa -e "SELECT (SELECT COUNT(*) FROM users), (SELECT COUNT(*) FROM responses), (SELECT COUNT(*) FROM audit_log)"

check "no user has any global privilege (nothing on *.*)" \
  eq "" root_sql -e "SELECT GRANTEE, PRIVILEGE_TYPE FROM information_schema.USER_PRIVILEGES
                     WHERE GRANTEE LIKE '%pesquisa%' AND PRIVILEGE_TYPE <> 'USAGE'"
check "all four users REQUIRE SSL and have a connection cap" \
  eq 4 root_sql -e "SELECT COUNT(*) FROM mysql.user WHERE User LIKE 'pesquisa\\_%'
                    AND ssl_type = 'ANY' AND max_user_connections > 0"
# Backup and restore as docs/deploy.md describes them (over the socket, as root).
backup_restore() {
  mariadb-dump --no-defaults -S "$SOCK" -uroot --single-transaction --quick --routines \
    --triggers --events --hex-blob pesquisa | gzip >"$T/pesquisa.sql.gz" || return 1
  root_sql -e "CREATE DATABASE pesquisa_restore" || return 1
  gunzip -c "$T/pesquisa.sql.gz" | root_sql pesquisa_restore || return 1
  [ "$(root_sql -e 'SELECT id, v FROM pesquisa_restore.t')" = "$(root_sql -e 'SELECT id, v FROM pesquisa.t')" ]
}
check "mariadb-dump --single-transaction, then restore into another schema: same rows" backup_restore
check "server settings: require_secure_transport, skip_name_resolve, local_infile off" \
  eq "ON,ON,OFF" root_sql -e "SELECT CONCAT_WS(',', @@require_secure_transport, @@skip_name_resolve, @@local_infile)"

# ==== Redis checks ====
rapp() { redis-cli --no-auth-warning -p "$REDIS_PORT" --user pesquisa_app --pass "$APP_PW" "$@" 2>&1; }
denied() { "$@" | grep -q NOPERM; }

check "redis app user: SET with EX and GET under pesquisa:" \
  bash -c '[ "$1" = OK ] && [ "$2" = v1 ]' _ "$(rapp SET pesquisa:s:1 v1 EX 60)" "$(rapp GET pesquisa:s:1)"
check "redis app user: INCR, INCRBY (the client library's incr), PEXPIRE, PTTL, EXPIRE, DEL" \
  bash -c '[ "$(printf "%s " "$@")" = "1 2 1 1 1 " ]' _ "$(rapp INCR pesquisa:rl:1)" "$(rapp INCRBY pesquisa:rl:1 1)" "$(rapp PEXPIRE pesquisa:rl:1 5000)" "$(rapp EXPIRE pesquisa:rl:1 9)" "$(rapp DEL pesquisa:rl:1)"
check "redis app user: SADD, SMEMBERS, SREM" \
  bash -c '[ "$1" = 1 ] && [ "$2" = a ] && [ "$3" = 1 ]' _ "$(rapp SADD pesquisa:u:1 a)" "$(rapp SMEMBERS pesquisa:u:1)" "$(rapp SREM pesquisa:u:1 a)"
multi_exec() { printf 'MULTI\nINCR pesquisa:m\nPEXPIRE pesquisa:m 1000\nEXEC\n' | rapp | tr '\n' ' ' | grep -q 'OK QUEUED QUEUED 1 1'; }
check "redis app user: MULTI/EXEC pipeline" multi_exec
check "redis app user: PING and HELLO 3" bash -c '[ "$1" = PONG ] && grep -q "proto" <<<"$2"' _ "$(rapp PING)" "$(rapp HELLO 3)"
check "redis app user: refused outside the prefix (SET other:x)" denied rapp SET other:x 1
check "redis app user: refused outside the prefix (GET sess:x)" denied rapp GET sess:x
check "redis app user: FLUSHALL refused" denied rapp FLUSHALL
check "redis app user: CONFIG refused" denied rapp CONFIG GET '*'
check "redis app user: KEYS refused" denied rapp KEYS '*'
check "redis app user: EVAL refused" denied rapp EVAL 'return 1' 0
check "redis app user: SUBSCRIBE refused (no channels)" denied timeout 3 redis-cli --no-auth-warning -p "$REDIS_PORT" --user pesquisa_app --pass "$APP_PW" SUBSCRIBE news
check "redis default user is off (no command without AUTH)" \
  bash -c 'redis-cli -p "$1" PING 2>&1 | grep -q NOAUTH' _ "$REDIS_PORT"
check "redis default user cannot authenticate" \
  bash -c 'redis-cli -p "$1" AUTH "" 2>&1 | grep -qiE "WRONGPASS|invalid|error"' _ "$REDIS_PORT"
check "redis wrong password refused" \
  bash -c 'redis-cli --no-auth-warning -p "$1" --user pesquisa_app --pass nope PING 2>&1 | grep -q WRONGPASS' _ "$REDIS_PORT"
check "redis: append-only file on" eq $'appendonly\nyes' radm CONFIG GET appendonly
check "redis: protected mode on" eq $'protected-mode\nyes' radm CONFIG GET protected-mode
hash_only() { ! grep -q "$APP_PW" "$T/redis-base.conf" && radm ACL GETUSER pesquisa_app | grep -q "$(sha256_hex "$APP_PW")"; }
check "redis: only the hash of the app password is stored" hash_only

# ==== The real binary against these users (opt-in: DEPLOY_TESTS_E2E=1) ====
# Proves the grants are enough for `pesquisa migrate` (migration user), `pesquisa serve`
# (app user) and `pesquisa export`/`report` (the analysts; personal data only for
# pesquisa_analyst_pd), and the Redis ACL for the commands the app really sends.
# Credentials come through $CREDENTIALS_DIRECTORY, as under systemd's LoadCredential=
# (the analysts' database passwords through the environment). Opt-in because it
# needs a built binary (PESQUISA_BIN, else the newest of target/*/pesquisa).
# The database URL's TLS parameters: mysql_async checks the server certificate against
# its built-in public roots, which cannot know the DB host's private CA, so verification
# is off here (the tunnel authenticates the DB host); see docs/deploy.md.
BIN=$(pesquisa_bin)
if [ "${DEPLOY_TESTS_E2E:-0}" = 1 ] && [ -n "$BIN" ] && [ -x "$BIN" ]; then
  log "end-to-end with $BIN"
  APP_PORT=$(free_port 28700)
  mkdir -p "$T/app/creds-migrate" "$T/app/creds-serve"
  printf %s "$MIG_PW" >"$T/app/creds-migrate/database_password"
  printf %s "$APP_PW" >"$T/app/creds-serve/database_password"
  for d in creds-migrate creds-serve; do
    printf %s "$APP_PW" >"$T/app/$d/redis_password"
    openssl rand -base64 48 | tr -d '\n' >"$T/app/$d/session_secret"
  done
  app_toml() {  # app_toml DB_USER
    printf '[server]\nlisten = "127.0.0.1:%s"\nshutdown_grace_secs = 2\n' "$APP_PORT"
    # TLS verified against the DB host's private CA (database.tls_ca_file), not disabled.
    printf '[database]\nurl = "mysql://%s@127.0.0.1:%s/pesquisa?%s"\ntls_ca_file = "%s"\n' \
      "$1" "$DB_PORT" "${DBHOST_TEST_DB_PARAMS:-require_ssl=true}" "$T/ca.pem"
    printf '[redis]\nurl = "redis://127.0.0.1:%s/0"\nusername = "pesquisa_app"\n' "$REDIS_PORT"
    printf '[logging]\nformat = "text"\n'
  }
  app_toml pesquisa_migrate >"$T/app/migrate.toml"
  app_toml pesquisa_app >"$T/app/serve.toml"
  # A clean environment: no PESQUISA_* of the caller's may change the configuration.
  run_app() {  # run_app CREDS_DIR TOML ARGS...
    (cd "$T/app" && exec env -i PATH="$PATH" CREDENTIALS_DIRECTORY="$T/app/$1" "$BIN" --config "$2" "${@:3}")
  }
  # A fresh schema, as on a new DB host: users.sql, migrate, users.sql again.
  fresh_schema() { root_sql -e "DROP DATABASE pesquisa" && apply_users && grep -q 'run users.sql again after' "$T/users-sql.out"; }
  check "users.sql on an empty schema: applies, and says to run it again after migrate" fresh_schema
  migrate_ok() { run_app creds-migrate migrate.toml migrate >"$T/app/migrate.log" 2>&1; }
  check "pesquisa migrate succeeds as the migration user" migrate_ok
  check "users.sql again after pesquisa migrate: applies, no note (the analysts' grants made)" applies_quietly
  radm FLUSHALL >/dev/null   # only the app's own keys from here on
  # A subshell that execs: $! is then the app's own pid, which the kill below needs.
  (cd "$T/app" && exec env -i PATH="$PATH" CREDENTIALS_DIRECTORY="$T/app/creds-serve" \
    "$BIN" --config serve.toml serve) >"$T/app/serve.log" 2>&1 &
  APP_PID=$!
  app_ready() { curl -fsS --noproxy '*' -m 2 -o /dev/null "http://127.0.0.1:$APP_PORT/readyz"; }
  app_settled() { app_ready || ! kill -0 "$APP_PID" 2>/dev/null; }
  wait_until 30 app_settled || true
  check "pesquisa serve as the app user: /readyz answers 200 (MariaDB read and write, Redis)" app_ready
  check "the log-in page answers 200 (a visitor's form stores nothing in Redis)" \
    curl -fsS --noproxy '*' -m 5 -o /dev/null "http://127.0.0.1:$APP_PORT/login"
  # A log-in attempt counts against the rate limits (INCRBY, PEXPIRE, PTTL in a MULTI).
  login_attempt() {  # prints the status of a wrong-password POST /login
    local jar="$T/app/jar" csrf
    csrf=$(curl -fsS --noproxy '*' -m 5 -c "$jar" -b "$jar" "http://127.0.0.1:$APP_PORT/login" |
      grep -o 'name="csrf_token" value="[^"]*"' | head -n 1 | cut -d'"' -f4) || true
    curl -sS --noproxy '*' -m 5 -c "$jar" -b "$jar" -o /dev/null -w '%{http_code}' \
      --data-urlencode "email=nobody@example.com" --data-urlencode "password=wrong password here" \
      --data-urlencode "csrf_token=$csrf" "http://127.0.0.1:$APP_PORT/login" || true
  }
  code=$(login_attempt)
  check "a wrong password at log-in gets 422, not 503 (rate-limit counters through the Redis ACL: $code)" \
    test "$code" = 422
  only_prefixed() { [ -n "$(radm --scan)" ] && ! radm --scan | grep -qv '^pesquisa:'; }
  check "every Redis key the app wrote starts with pesquisa:" only_prefixed
  check "no NOPERM (command refused by the Redis ACL) in the app's log" \
    bash -c '! grep -qi "noperm" "$1"' _ "$T/app/serve.log"
  kill -TERM "$APP_PID" 2>/dev/null || true
  wait_until 10 bash -c "! kill -0 $APP_PID 2>/dev/null" || kill -KILL "$APP_PID" 2>/dev/null || true

  # `pesquisa export` and `report` as the two analysts, as docs/deploy.md runs them on an
  # app VM: its configuration and credentials (session secret: the same pseudonymous ids),
  # with the analyst's URL and password from the environment.
  as_analyst() {  # as_analyst USER PASSWORD ARGS...
    (cd "$T/app" && exec env -i PATH="$PATH" CREDENTIALS_DIRECTORY="$T/app/creds-serve" \
      PESQUISA_DATABASE__URL="mysql://$1@127.0.0.1:$DB_PORT/pesquisa?${DBHOST_TEST_DB_PARAMS:-require_ssl=true}" \
      PESQUISA_DATABASE__PASSWORD="$2" "$BIN" --config serve.toml "${@:3}")
  }
  check "a respondent with a response, inserted as root" seed_respondent
  A="$T/app"
  pseudo_export() {
    as_analyst pesquisa_analyst "$ANA_PW" export --format csv -o "$A/pseudo.csv" \
      --manifest "$A/pseudo.json" 2>"$A/pseudo.err" &&
      grep -q '"rows":1,' "$A/pseudo.json" && grep -q Centro "$A/pseudo.csv" &&
      ! grep -Eq 'maria@example.com|Silva|11987654321' "$A/pseudo.csv"
  }
  check "pesquisa export --format csv as pesquisa_analyst: the response, no personal data" pseudo_export
  analyst_report() {
    as_analyst pesquisa_analyst "$ANA_PW" report --format text -o "$A/report.txt" 2>"$A/report.err" &&
      [ -s "$A/report.txt" ]
  }
  check "pesquisa report --format text as pesquisa_analyst" analyst_report
  pd_refused() {
    ! as_analyst pesquisa_analyst "$ANA_PW" export --format csv --include-personal-data \
      -o "$A/pd-refused.csv" 2>"$A/pd-refused.err" && [ ! -e "$A/pd-refused.csv" ] &&
      grep -q 'refusing to export personal data' "$A/pd-refused.err"
  }
  check "pesquisa export --include-personal-data as pesquisa_analyst fails: non-zero, no output file" pd_refused
  check "... and no export.personal_data entry in audit_log" \
    eq 0 root_sql pesquisa -e "SELECT COUNT(*) FROM audit_log WHERE action = 'export.personal_data'"
  pd_export() {
    as_analyst pesquisa_analyst_pd "$APD_PW" export --format csv --include-personal-data \
      -o "$A/pd.csv" 2>"$A/pd.err" &&
      grep -q 'maria@example.com' "$A/pd.csv" && grep -q 'Silva' "$A/pd.csv" && grep -q 11987654321 "$A/pd.csv"
  }
  check "pesquisa export --include-personal-data as pesquisa_analyst_pd: nome, sobrenome, email, telefone" pd_export
  check "... and its audit entry is in audit_log (export.personal_data, csv 1 rows)" \
    eq $'export.personal_data\tcsv 1 rows' root_sql pesquisa -e \
    "SELECT action, detail FROM audit_log WHERE action = 'export.personal_data'"
  if [ "$TESTS_FAILED" -gt 0 ]; then
    tail -n 5 "$T/app/migrate.log" "$T/app/serve.log" "$A"/*.err >&2 || true
  fi
else
  echo "SKIP: end-to-end with the pesquisa binary (set DEPLOY_TESTS_E2E=1; binary: ${BIN:-none built})"
fi

finish
