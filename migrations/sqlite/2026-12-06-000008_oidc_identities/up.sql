-- See the MariaDB migration: an OpenID Connect provider's subject linked to an account.
-- Subjects compare exactly (BINARY), as the provider issues them.
CREATE TABLE user_identities (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    provider VARCHAR(32) NOT NULL,
    subject VARCHAR(255) NOT NULL,
    created_at TIMESTAMP NOT NULL,
    last_login_at TIMESTAMP NULL,
    CONSTRAINT user_identities_provider_subject UNIQUE (provider, subject)
);
CREATE INDEX user_identities_user_id ON user_identities (user_id);
