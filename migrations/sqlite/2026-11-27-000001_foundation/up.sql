-- Audit trail of administrative and security-relevant actions (who, what, when).
-- It is also what /readyz reads to prove the schema is in place.
CREATE TABLE audit_log (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at TIMESTAMP NOT NULL,
    actor_id BIGINT NULL,
    action VARCHAR(64) NOT NULL,
    subject_id BIGINT NULL,
    detail VARCHAR(1024) NOT NULL DEFAULT ''
);
CREATE INDEX audit_log_at ON audit_log (at);
