-- Audit trail of administrative and security-relevant actions (who, what, when).
-- It is also what /readyz reads to prove the schema is in place.
CREATE TABLE audit_log (
    id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
    at DATETIME(6) NOT NULL,
    actor_id BIGINT NULL,
    action VARCHAR(64) NOT NULL,
    subject_id BIGINT NULL,
    detail VARCHAR(1024) NOT NULL DEFAULT '',
    INDEX audit_log_at (at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
