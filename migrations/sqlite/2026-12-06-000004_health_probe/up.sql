-- One row that GET /readyz rewrites; see the MariaDB migration. On SQLite a full disk or
-- a writer holding the lock makes the write, and so readiness, fail.
CREATE TABLE health_probe (
    id INTEGER PRIMARY KEY,
    at TIMESTAMP NOT NULL
);
