-- Mail: outbox, e-mail tokens, verified addresses; see the MariaDB migration.
CREATE TABLE outbox (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    kind VARCHAR(32) NOT NULL,
    recipient VARCHAR(254) NOT NULL,
    subject VARCHAR(255) NOT NULL,
    body_text TEXT NOT NULL,
    body_html TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TIMESTAMP NOT NULL,
    claimed_by VARCHAR(64) NULL,
    claimed_until TIMESTAMP NULL,
    sent_at TIMESTAMP NULL,
    failed_at TIMESTAMP NULL,
    last_error VARCHAR(500) NULL
);
CREATE INDEX outbox_due ON outbox (sent_at, failed_at, next_attempt_at);

CREATE TABLE email_tokens (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    purpose VARCHAR(16) NOT NULL,
    token_hash CHAR(64) NOT NULL,
    code_hash CHAR(64) NULL,
    email VARCHAR(254) NOT NULL COLLATE NOCASE,
    created_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP NOT NULL,
    used_at TIMESTAMP NULL,
    tries INTEGER NOT NULL DEFAULT 0,
    CONSTRAINT email_tokens_hash UNIQUE (token_hash)
);
CREATE INDEX email_tokens_user_purpose ON email_tokens (user_id, purpose);

ALTER TABLE users ADD COLUMN email_verified_at TIMESTAMP NULL;
