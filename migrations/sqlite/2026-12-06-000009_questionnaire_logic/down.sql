ALTER TABLE responses DROP COLUMN confirmed_checks;
ALTER TABLE responses DROP COLUMN screened_out;
