-- One questionnaire response per respondent; see the MariaDB migration for the reasoning.
CREATE TABLE responses (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id BIGINT NULL REFERENCES users (id) ON DELETE SET NULL,
    definition_id VARCHAR(64) NOT NULL,
    definition_version INTEGER NOT NULL,
    answers TEXT NOT NULL,
    bairro VARCHAR(80) NOT NULL DEFAULT '',
    current_page INTEGER NOT NULL DEFAULT 0,
    revision BIGINT NOT NULL DEFAULT 0,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    submitted_at TIMESTAMP NULL,
    CONSTRAINT responses_one_per_user UNIQUE (user_id)
);
CREATE INDEX responses_submitted_at ON responses (submitted_at);
