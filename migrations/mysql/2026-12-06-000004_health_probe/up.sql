-- One row that GET /readyz rewrites, so readiness fails when the database cannot write
-- (a table or global lock, a read-only server), not only when it cannot read.
CREATE TABLE health_probe (
    id INTEGER NOT NULL PRIMARY KEY,
    at DATETIME(6) NOT NULL
) ENGINE=InnoDB;
