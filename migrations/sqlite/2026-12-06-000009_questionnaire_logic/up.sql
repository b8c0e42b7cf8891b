-- See the MariaDB migration: screen-out rule key and confirmed soft checks.
ALTER TABLE responses ADD COLUMN screened_out TEXT NULL;
ALTER TABLE responses ADD COLUMN confirmed_checks TEXT NOT NULL DEFAULT '';
