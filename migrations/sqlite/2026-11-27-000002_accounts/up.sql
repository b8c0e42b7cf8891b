-- Accounts of respondents and staff; see the MariaDB migration for the reasoning.
CREATE TABLE users (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    email VARCHAR(254) NOT NULL COLLATE NOCASE,
    password_hash VARCHAR(255) NOT NULL,
    role VARCHAR(16) NOT NULL DEFAULT 'respondent'
        CHECK (role IN ('respondent', 'analyst', 'admin')),
    nome VARCHAR(80) NOT NULL,
    sobrenome VARCHAR(80) NOT NULL,
    telefone VARCHAR(11) NULL,
    bairro VARCHAR(80) NOT NULL DEFAULT '',
    adult_declared_at TIMESTAMP NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    last_login_at TIMESTAMP NULL,
    CONSTRAINT users_email_unique UNIQUE (email)
);
CREATE INDEX users_created_at ON users (created_at);

CREATE TABLE consent_documents (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    kind VARCHAR(32) NOT NULL,
    version INTEGER NOT NULL,
    required BOOLEAN NOT NULL,
    title_pt VARCHAR(200) NOT NULL,
    title_en VARCHAR(200) NOT NULL,
    body_pt TEXT NOT NULL,
    body_en TEXT NOT NULL,
    published_at TIMESTAMP NOT NULL,
    published_by BIGINT NULL,
    CONSTRAINT consent_documents_kind_version UNIQUE (kind, version)
);

CREATE TABLE consents (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    document_id BIGINT NOT NULL REFERENCES consent_documents (id),
    accepted_at TIMESTAMP NOT NULL,
    revoked_at TIMESTAMP NULL
);
CREATE INDEX consents_user_document ON consents (user_id, document_id);
