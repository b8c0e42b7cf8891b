-- Quotas (issue 19); see the MariaDB migration.
CREATE TABLE quota_cells (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    quota VARCHAR(64) NOT NULL,
    cell VARCHAR(255) NOT NULL,
    target BIGINT NOT NULL CHECK (target > 0),
    filled BIGINT NOT NULL DEFAULT 0 CHECK (filled >= 0),
    CONSTRAINT quota_cells_cell UNIQUE (quota, cell)
);

CREATE TABLE quota_places (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    response_id BIGINT NOT NULL REFERENCES responses (id) ON DELETE CASCADE,
    quota VARCHAR(64) NOT NULL,
    cell_id BIGINT NOT NULL REFERENCES quota_cells (id) ON DELETE CASCADE,
    CONSTRAINT quota_places_one UNIQUE (response_id, quota)
);
