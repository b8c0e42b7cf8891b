-- Paradata and duplicate fingerprints; see the MariaDB migration for the reasoning.
CREATE TABLE page_visits (
    user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    page INTEGER NOT NULL,
    first_viewed_at TIMESTAMP NOT NULL,
    first_saved_at TIMESTAMP NULL,
    last_saved_at TIMESTAMP NULL,
    saves INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (user_id, page)
);

CREATE TABLE respondent_fingerprints (
    user_id BIGINT NOT NULL PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    phone CHAR(64) NULL,
    name_bairro CHAR(64) NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX respondent_fingerprints_phone ON respondent_fingerprints (phone);
CREATE INDEX respondent_fingerprints_name_bairro ON respondent_fingerprints (name_bairro);
