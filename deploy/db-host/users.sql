-- pesquisa: the schema and its three MariaDB users. Run as root on the DB host, over the
-- Unix socket, with the passwords set as user variables first (a heredoc keeps them out
-- of `ps` and of the shell history):
--
--   mariadb <<SQL
--   SET @app_password      = '$(cat /root/pesquisa-secrets/db-app)';
--   SET @migrate_password  = '$(cat /root/pesquisa-secrets/db-migrate)';
--   SET @analyst_password  = '$(cat /root/pesquisa-secrets/db-analyst)';
--   SOURCE /root/pesquisa/deploy/db-host/users.sql
--   SQL
--
-- Optional variables (defaults in brackets):
--   @schema        the database ['pesquisa']
--   @client_hosts  host part of the accounts ['10.8.0.%': the OpenVPN network only]
--   @app_max_conn  connection cap of the app user [40: 2 VMs x pool_size 16, + margin]
--
-- Idempotent: running it again sets the passwords and privileges to exactly these (any
-- privilege granted by hand to these users is revoked). It never drops data.
--
--   pesquisa_app      the running app (database.url in pesquisa.toml): rows only
--                     (SELECT, INSERT, UPDATE, DELETE) on the schema; no DDL
--   pesquisa_migrate  `pesquisa migrate` during a deploy: the app's rights plus DDL on
--                     the schema (CREATE, ALTER, DROP, INDEX, REFERENCES)
--   pesquisa_analyst  `pesquisa export` / `pesquisa report`: SELECT on the schema only
-- All three: the schema only (nothing on *.*), TLS required, from the VPN only.

DELIMITER //
BEGIN NOT ATOMIC
  DECLARE v_schema VARCHAR(64) DEFAULT IFNULL(@schema, 'pesquisa');
  DECLARE v_hosts VARCHAR(255) DEFAULT IFNULL(@client_hosts, '10.8.0.%');
  DECLARE v_app_max INT DEFAULT IFNULL(@app_max_conn, 40);
  DECLARE v_user VARCHAR(32);
  DECLARE v_account VARCHAR(320);
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
     OR IFNULL(CHAR_LENGTH(@analyst_password), 0) < 16 THEN
    SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'users.sql: set @app_password, @migrate_password and @analyst_password (16+ characters each) first';
  END IF;

  EXECUTE IMMEDIATE CONCAT('CREATE DATABASE IF NOT EXISTS `', v_schema,
    '` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci');

  WHILE i < 3 DO
    SET v_user = ELT(i + 1, 'pesquisa_app', 'pesquisa_migrate', 'pesquisa_analyst');
    SET v_account = CONCAT('''', v_user, '''@''', v_hosts, '''');
    EXECUTE IMMEDIATE CONCAT('CREATE USER IF NOT EXISTS ', v_account,
      ' IDENTIFIED BY ', QUOTE(ELT(i + 1, @app_password, @migrate_password, @analyst_password)));
    -- Also for an existing user: new password, TLS required, connection cap.
    EXECUTE IMMEDIATE CONCAT('ALTER USER ', v_account,
      ' IDENTIFIED BY ', QUOTE(ELT(i + 1, @app_password, @migrate_password, @analyst_password)),
      ' REQUIRE SSL WITH MAX_USER_CONNECTIONS ', ELT(i + 1, v_app_max, 4, 4));
    EXECUTE IMMEDIATE CONCAT('REVOKE ALL PRIVILEGES, GRANT OPTION FROM ', v_account);
    EXECUTE IMMEDIATE CONCAT('GRANT ',
      ELT(i + 1,
        'SELECT, INSERT, UPDATE, DELETE',
        'SELECT, INSERT, UPDATE, DELETE, CREATE, ALTER, DROP, INDEX, REFERENCES',
        'SELECT'),
      ' ON `', v_schema, '`.* TO ', v_account);
    SET i = i + 1;
  END WHILE;
END //
DELIMITER ;

FLUSH PRIVILEGES;
