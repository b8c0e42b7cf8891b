-- See the MariaDB migration: `pesquisa admin unlock` raises the epoch.
ALTER TABLE users ADD COLUMN lockout_epoch INTEGER NOT NULL DEFAULT 0;
