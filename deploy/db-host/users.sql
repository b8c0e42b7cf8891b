-- pesquisa: the schema and its four MariaDB users. Run as root on the DB host, over the
-- Unix socket, with the passwords set as user variables first (a heredoc keeps them out
-- of `ps` and of the shell history):
--
--   mariadb <<SQL
--   SET @app_password         = '$(cat /root/pesquisa-secrets/db-app)';
--   SET @migrate_password     = '$(cat /root/pesquisa-secrets/db-migrate)';
--   SET @analyst_password     = '$(cat /root/pesquisa-secrets/db-analyst)';
--   SET @analyst_pd_password  = '$(cat /root/pesquisa-secrets/db-analyst-pd)';
--   SOURCE /root/pesquisa/deploy/db-host/users.sql
--   SQL
--
-- Optional variables (defaults in brackets):
--   @schema        the database ['pesquisa']
--   @client_hosts  host part of the accounts ['10.8.0.%': the OpenVPN network only]
--   @app_max_conn  connection cap of the app user [40: 2 VMs x (pool_size 16 + 1 for
--                  the mail worker), + margin]
--
-- Idempotent: running it again sets the passwords and privileges to exactly these (any
-- privilege granted by hand to these users is revoked). It never drops data.
--
-- Run it again after the first `pesquisa migrate`, and after any release whose migrations
-- change the tables or columns named below: the analysts' grants name tables and columns,
-- which MariaDB grants only once they exist. Until then the analysts get nothing on a
-- missing table, and the script ends with a `note` row naming the tables it skipped.
--
--   pesquisa_app         the running app (database.url in pesquisa.toml): rows only
--                        (SELECT, INSERT, UPDATE, DELETE) on the schema; no DDL
--   pesquisa_migrate     `pesquisa migrate` during a deploy: the app's rights plus DDL on
--                        the schema (CREATE, ALTER, DROP, INDEX, REFERENCES)
--   pesquisa_analyst     `pesquisa export` / `pesquisa report` without personal data:
--                        SELECT on the columns they read and nothing else: every column of
--                        responses (answers, bairro, dates; user_id only as a number) and
--                        `version` of __diesel_schema_migrations (both commands refuse to
--                        run while migrations are pending); users (id, email_verified_at,
--                        role: whether a response counts, and the sign-ups of the sample
--                        flow); the census margins; page_visits (paradata) and
--                        respondent_fingerprints (keyed hashes, not phones or names) for
--                        the data-quality flags. Nothing else on users, nothing on
--                        consents, consent_documents or audit_log.
--   pesquisa_analyst_pd  `pesquisa export --include-personal-data` only: the analyst's
--                        rights, plus SELECT on users (id, nome, sobrenome, email,
--                        telefone; not password_hash, bairro or the dates) and INSERT
--                        on audit_log (the `export.personal_data` entry the export writes
--                        before any row; no SELECT, UPDATE or DELETE there)
-- All four: the schema only (nothing on *.*), TLS required, from the VPN only.

DELIMITER //
BEGIN NOT ATOMIC
  DECLARE v_schema VARCHAR(64) DEFAULT IFNULL(@schema, 'pesquisa');
  DECLARE v_hosts VARCHAR(255) DEFAULT IFNULL(@client_hosts, '10.8.0.%');
  DECLARE v_app_max INT DEFAULT IFNULL(@app_max_conn, 40);
  DECLARE v_user VARCHAR(32);
  DECLARE v_account VARCHAR(320);
  DECLARE v_analyst VARCHAR(320);
  DECLARE v_analyst_pd VARCHAR(320);
  DECLARE v_table VARCHAR(64);
  DECLARE v_missing VARCHAR(1024) DEFAULT NULL;
  DECLARE i INT DEFAULT 0;

  -- Names are pasted into statements below: allow only plain identifiers and addresses.
  IF v_schema NOT REGEXP '^[A-Za-z0-9_]{1,64}$' THEN
    SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'users.sql: @schema must match [A-Za-z0-9_]+';
  END IF;
  IF v_hosts NOT REGEXP '^[0-9a-fA-F.:%/_]{1,255}$' THEN
    SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'users.sql: @client_hosts must be an address pattern such as 10.8.0.%';
  END IF;
  IF IFNULL(CHAR_LENGTH(@app_password), 0) < 16
     OR IFNULL(CHAR_LENGTH(@migrate_password), 0) < 16
     OR IFNULL(CHAR_LENGTH(@analyst_password), 0) < 16
     OR IFNULL(CHAR_LENGTH(@analyst_pd_password), 0) < 16 THEN
    SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'users.sql: set @app_password, @migrate_password, @analyst_password and @analyst_pd_password (16+ characters each) first';
  END IF;

  EXECUTE IMMEDIATE CONCAT('CREATE DATABASE IF NOT EXISTS `', v_schema,
    '` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci');

  WHILE i < 4 DO
    SET v_user = ELT(i + 1, 'pesquisa_app', 'pesquisa_migrate', 'pesquisa_analyst', 'pesquisa_analyst_pd');
    SET v_account = CONCAT('''', v_user, '''@''', v_hosts, '''');
    EXECUTE IMMEDIATE CONCAT('CREATE USER IF NOT EXISTS ', v_account,
      ' IDENTIFIED BY ', QUOTE(ELT(i + 1, @app_password, @migrate_password, @analyst_password, @analyst_pd_password)));
    -- Also for an existing user: new password, TLS required, connection cap.
    EXECUTE IMMEDIATE CONCAT('ALTER USER ', v_account,
      ' IDENTIFIED BY ', QUOTE(ELT(i + 1, @app_password, @migrate_password, @analyst_password, @analyst_pd_password)),
      ' REQUIRE SSL WITH MAX_USER_CONNECTIONS ', ELT(i + 1, v_app_max, 4, 4, 4));
    -- Every level: global, schema, table and column privileges.
    EXECUTE IMMEDIATE CONCAT('REVOKE ALL PRIVILEGES, GRANT OPTION FROM ', v_account);
    IF i < 2 THEN
      EXECUTE IMMEDIATE CONCAT('GRANT ',
        ELT(i + 1,
          'SELECT, INSERT, UPDATE, DELETE',
          'SELECT, INSERT, UPDATE, DELETE, CREATE, ALTER, DROP, INDEX, REFERENCES'),
        ' ON `', v_schema, '`.* TO ', v_account);
    END IF;
    SET i = i + 1;
  END WHILE;

  -- The analysts: per table and per column, exactly what the commands' queries name
  -- (src/db/batches.rs, src/db/responses.rs Response, src/db/migrations.rs,
  -- src/db/audit.rs record, src/db/census.rs). Table 1-2 for both analysts, 3-4 for the
  -- personal-data one; 5 (whether an address is verified, for
  -- accounts.require_verified_email, and the role that counts sign-ups in the sample flow)
  -- for both; 6-8, the census margins the report and the `peso` column read (no personal
  -- data), for both; 9-10, the paradata and the keyed duplicate fingerprints the
  -- data-quality flags read (src/db/quality.rs; no personal data), for both; 11, the
  -- quota counters `pesquisa quotas` prints (src/db/quotas.rs fill; counts only), for both.
  SET v_analyst = CONCAT('''pesquisa_analyst''@''', v_hosts, '''');
  SET v_analyst_pd = CONCAT('''pesquisa_analyst_pd''@''', v_hosts, '''');
  SET i = 0;
  WHILE i < 11 DO
    SET v_table = ELT(i + 1, '__diesel_schema_migrations', 'responses', 'users', 'audit_log', 'users',
      'census_import', 'census_households', 'census_adults', 'page_visits', 'respondent_fingerprints',
      'quota_cells');
    IF EXISTS (SELECT 1 FROM information_schema.TABLES
               WHERE TABLE_SCHEMA = v_schema AND TABLE_NAME = v_table) THEN
      EXECUTE IMMEDIATE CONCAT('GRANT ',
        ELT(i + 1,
          'SELECT (version)',
          'SELECT (id, user_id, definition_id, definition_version, answers, bairro, current_page, revision, created_at, updated_at, submitted_at, screened_out, confirmed_checks)',
          'SELECT (id, nome, sobrenome, email, telefone)',
          'INSERT',
          'SELECT (id, email_verified_at, role)',
          'SELECT', 'SELECT', 'SELECT', 'SELECT', 'SELECT', 'SELECT'),
        ' ON `', v_schema, '`.`', v_table, '` TO ',
        IF(i < 2 OR i >= 4, CONCAT(v_analyst, ', ', v_analyst_pd), v_analyst_pd));
    ELSEIF i <> 4 THEN
      SET v_missing = CONCAT_WS(', ', v_missing, v_table);
    END IF;
    SET i = i + 1;
  END WHILE;
  IF v_missing IS NOT NULL THEN
    SELECT CONCAT('users.sql: no analyst grants on ', v_missing, ' (not in `', v_schema,
      '` yet): run users.sql again after `pesquisa migrate`') AS note;
  END IF;
END //
DELIMITER ;

FLUSH PRIVILEGES;
