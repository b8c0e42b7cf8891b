-- Two-factor log-in for staff: TOTP secrets and recovery codes; see the MariaDB migration.
CREATE TABLE staff_totp (
    user_id BIGINT NOT NULL PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    secret VARCHAR(128) NOT NULL,
    created_at TIMESTAMP NOT NULL,
    enabled_at TIMESTAMP NULL,
    last_step BIGINT NOT NULL DEFAULT 0
);

CREATE TABLE staff_recovery_codes (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    code_hash CHAR(64) NOT NULL,
    created_at TIMESTAMP NOT NULL,
    used_at TIMESTAMP NULL,
    CONSTRAINT staff_recovery_codes_hash UNIQUE (code_hash)
);
CREATE INDEX staff_recovery_codes_user ON staff_recovery_codes (user_id);
