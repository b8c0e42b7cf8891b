-- Log-in through an OpenID Connect provider (Google or another): the provider's stable
-- subject id, linked to one account. An account may have several; a (provider, subject)
-- pair leads to one account only. Deleting the account deletes its links.
CREATE TABLE user_identities (
    id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
    user_id BIGINT NOT NULL,
    provider VARCHAR(32) NOT NULL,
    subject VARCHAR(255) NOT NULL,
    created_at DATETIME(6) NOT NULL,
    last_login_at DATETIME(6) NULL,
    CONSTRAINT user_identities_provider_subject UNIQUE (provider, subject),
    CONSTRAINT user_identities_user FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE,
    INDEX user_identities_user_id (user_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
