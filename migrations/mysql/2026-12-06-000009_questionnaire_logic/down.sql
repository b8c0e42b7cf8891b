ALTER TABLE responses DROP COLUMN screened_out, DROP COLUMN confirmed_checks;
