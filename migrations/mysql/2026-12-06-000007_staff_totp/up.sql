-- Two-factor log-in for staff (TOTP, RFC 6238) and its one-time recovery codes.

-- One row per account that has begun enrolling. `secret` is sealed with a pad derived from
-- the server secret (`salt:sealed`, hex), so a database dump alone yields no usable
-- secret. `enabled_at` stays NULL until the first code confirms the enrolment.
-- `last_step` is the last time step whose code was accepted: a code of that step or an
-- earlier one is refused, so a code cannot be played twice.
CREATE TABLE staff_totp (
    user_id BIGINT NOT NULL PRIMARY KEY,
    secret VARCHAR(128) NOT NULL,
    created_at DATETIME(6) NOT NULL,
    enabled_at DATETIME(6) NULL,
    last_step BIGINT NOT NULL DEFAULT 0,
    CONSTRAINT staff_totp_user FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- Recovery codes, shown once at enrolment; only keyed hashes are stored. A code is spent
-- by setting `used_at`, by an UPDATE only one request can win.
CREATE TABLE staff_recovery_codes (
    id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
    user_id BIGINT NOT NULL,
    code_hash CHAR(64) NOT NULL,
    created_at DATETIME(6) NOT NULL,
    used_at DATETIME(6) NULL,
    CONSTRAINT staff_recovery_codes_user FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE,
    CONSTRAINT staff_recovery_codes_hash UNIQUE (code_hash)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
