-- Quotas (issue 19): one row per configured cell with its target and how many completed
-- responses hold a place in it, and one row per place. `filled` is the counter the
-- submit transaction raises with `UPDATE … SET filled = filled + 1 WHERE filled < target`
-- (the row lock makes concurrent submits for the last place wait and see each other);
-- `quota_places` lets an edit, a screen-out or a deleted account give the place back in
-- the same transaction, and `pesquisa quotas --recount` rebuild `filled` from it.
CREATE TABLE quota_cells (
    id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
    quota VARCHAR(64) NOT NULL,
    cell VARCHAR(255) NOT NULL,
    target BIGINT NOT NULL,
    filled BIGINT NOT NULL DEFAULT 0,
    CONSTRAINT quota_cells_cell UNIQUE (quota, cell),
    CONSTRAINT quota_cells_target CHECK (target > 0),
    CONSTRAINT quota_cells_filled CHECK (filled >= 0)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- A response holds at most one place per quota.
CREATE TABLE quota_places (
    id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
    response_id BIGINT NOT NULL,
    quota VARCHAR(64) NOT NULL,
    cell_id BIGINT NOT NULL,
    CONSTRAINT quota_places_one UNIQUE (response_id, quota),
    CONSTRAINT quota_places_response FOREIGN KEY (response_id) REFERENCES responses (id) ON DELETE CASCADE,
    CONSTRAINT quota_places_cell FOREIGN KEY (cell_id) REFERENCES quota_cells (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
