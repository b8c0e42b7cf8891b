-- Log-in failure counters are kept under the account's epoch: `pesquisa admin unlock`
-- raises it, so every counter of the account (on every client) stops counting at once,
-- whether the counters live in Redis or in the server's memory.
ALTER TABLE users ADD COLUMN lockout_epoch INT NOT NULL DEFAULT 0;
