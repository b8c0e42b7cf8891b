-- Mail: the outbox a request writes into (in its own transaction) and a worker inside
-- `serve` sends from; e-mail tokens (verification, password reset, sign-in code, e-mail
-- change); and when each account's address was verified.

-- One message to send. A row is claimed by one app instance at a time (claimed_by,
-- claimed_until), so two instances send it once; sent rows are pruned after a few days so
-- addresses are not kept longer than the mail needs.
CREATE TABLE outbox (
    id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
    kind VARCHAR(32) NOT NULL,
    recipient VARCHAR(254) NOT NULL,
    subject VARCHAR(255) NOT NULL,
    body_text TEXT NOT NULL,
    body_html MEDIUMTEXT NOT NULL,
    created_at DATETIME(6) NOT NULL,
    attempts INT NOT NULL DEFAULT 0,
    next_attempt_at DATETIME(6) NOT NULL,
    claimed_by VARCHAR(64) NULL,
    claimed_until DATETIME(6) NULL,
    sent_at DATETIME(6) NULL,
    failed_at DATETIME(6) NULL,
    last_error VARCHAR(500) NULL,
    INDEX outbox_due (sent_at, failed_at, next_attempt_at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- A single-use secret sent by e-mail. Only its keyed hash is stored (HMAC with the
-- session secret), so a database reader can neither use a link nor brute-force a code.
-- `email` is the address it was sent to: the new address for an e-mail change.
CREATE TABLE email_tokens (
    id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
    user_id BIGINT NOT NULL,
    purpose VARCHAR(16) NOT NULL,
    token_hash CHAR(64) NOT NULL,
    code_hash CHAR(64) NULL,
    email VARCHAR(254) NOT NULL,
    created_at DATETIME(6) NOT NULL,
    expires_at DATETIME(6) NOT NULL,
    used_at DATETIME(6) NULL,
    tries INT NOT NULL DEFAULT 0,
    CONSTRAINT email_tokens_user FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE,
    CONSTRAINT email_tokens_hash UNIQUE (token_hash),
    INDEX email_tokens_user_purpose (user_id, purpose)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- NULL until the person follows the verification link (or a provider vouches for it).
-- Accounts made before this migration stay unverified: see docs/deploy.md.
ALTER TABLE users ADD COLUMN email_verified_at DATETIME(6) NULL;
