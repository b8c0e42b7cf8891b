-- Paradata and duplicate fingerprints (issue 19, data quality).
--
-- `page_visits`: one row per respondent and questionnaire page (0-based), stamped by the
-- server's clock: the first GET of the page, the first and last accepted save, and the
-- number of saves. A row per page, not per request, so it cannot grow without bound.
-- Keyed by account: the row exists before the response does (the first page is viewed
-- before anything is saved). Deleting the account deletes its paradata with it.
CREATE TABLE page_visits (
    user_id BIGINT NOT NULL,
    page INTEGER NOT NULL,
    first_viewed_at DATETIME(6) NOT NULL,
    first_saved_at DATETIME(6) NULL,
    last_saved_at DATETIME(6) NULL,
    saves INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (user_id, page),
    CONSTRAINT page_visits_user FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- Keyed fingerprints (hex HMAC-SHA256 with the server secret) of a respondent's normalised
-- phone and of their normalised name + surname + bairro, so that likely duplicates can be
-- found by analysts who may not read names or phones. Rewritten at sign-up and on every
-- profile change; `pesquisa serve` fills in the accounts that have none at start-up.
CREATE TABLE respondent_fingerprints (
    user_id BIGINT NOT NULL PRIMARY KEY,
    phone CHAR(64) NULL,
    name_bairro CHAR(64) NOT NULL,
    updated_at DATETIME(6) NOT NULL,
    CONSTRAINT respondent_fingerprints_user FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
CREATE INDEX respondent_fingerprints_phone ON respondent_fingerprints (phone);
CREATE INDEX respondent_fingerprints_name_bairro ON respondent_fingerprints (name_bairro);
