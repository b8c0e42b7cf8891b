-- Accounts of respondents and staff. E-mails are stored lower-cased and unique; the
-- case-insensitive collation makes the constraint hold even for a row written otherwise.
CREATE TABLE users (
    id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
    email VARCHAR(254) NOT NULL,
    password_hash VARCHAR(255) NOT NULL,
    role VARCHAR(16) NOT NULL DEFAULT 'respondent',
    nome VARCHAR(80) NOT NULL,
    sobrenome VARCHAR(80) NOT NULL,
    telefone VARCHAR(11) NULL,
    bairro VARCHAR(80) NOT NULL DEFAULT '',
    adult_declared_at DATETIME(6) NULL,
    created_at DATETIME(6) NOT NULL,
    updated_at DATETIME(6) NOT NULL,
    last_login_at DATETIME(6) NULL,
    CONSTRAINT users_email_unique UNIQUE (email),
    CONSTRAINT users_role_known CHECK (role IN ('respondent', 'analyst', 'admin')),
    INDEX users_created_at (created_at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- Versioned documents a person agrees to: terms of use, privacy policy (required) and
-- optional consents. A new version is a new row; old versions stay for the record.
CREATE TABLE consent_documents (
    id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
    kind VARCHAR(32) NOT NULL,
    version INT NOT NULL,
    required BOOLEAN NOT NULL,
    title_pt VARCHAR(200) NOT NULL,
    title_en VARCHAR(200) NOT NULL,
    body_pt TEXT NOT NULL,
    body_en TEXT NOT NULL,
    published_at DATETIME(6) NOT NULL,
    published_by BIGINT NULL,
    CONSTRAINT consent_documents_kind_version UNIQUE (kind, version)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- Who accepted which version when, and when it was revoked. Deleting an account
-- deletes its consent records with it.
CREATE TABLE consents (
    id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
    user_id BIGINT NOT NULL,
    document_id BIGINT NOT NULL,
    accepted_at DATETIME(6) NOT NULL,
    revoked_at DATETIME(6) NULL,
    CONSTRAINT consents_user FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE,
    CONSTRAINT consents_document FOREIGN KEY (document_id) REFERENCES consent_documents (id),
    INDEX consents_user_document (user_id, document_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
