DROP TABLE quota_places;
DROP TABLE quota_cells;
