ALTER TABLE users DROP COLUMN lockout_epoch;
