-- One questionnaire response per respondent: the unique key on user_id is what makes a
-- double click, a retried POST, two tabs or two app instances unable to create a second
-- one. Answers are JSON keyed by question key and option value, with the definition
-- version they were given under. `revision` is bumped on every write, so concurrent saves
-- of different pages cannot overwrite each other (optimistic concurrency).
-- user_id becomes NULL when an account is deleted with accounts.on_delete = "anonymize".
CREATE TABLE responses (
    id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
    user_id BIGINT NULL,
    definition_id VARCHAR(64) NOT NULL,
    definition_version INT NOT NULL,
    answers MEDIUMTEXT NOT NULL,
    bairro VARCHAR(80) NOT NULL DEFAULT '',
    current_page INT NOT NULL DEFAULT 0,
    revision BIGINT NOT NULL DEFAULT 0,
    created_at DATETIME(6) NOT NULL,
    updated_at DATETIME(6) NOT NULL,
    submitted_at DATETIME(6) NULL,
    CONSTRAINT responses_one_per_user UNIQUE (user_id),
    CONSTRAINT responses_user FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE SET NULL,
    INDEX responses_submitted_at (submitted_at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
