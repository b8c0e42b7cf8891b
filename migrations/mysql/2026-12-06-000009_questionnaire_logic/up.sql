-- Questionnaire logic (issue 18). `screened_out` holds the key of the screen-out rule
-- that ended the questionnaire (NULL: not screened out); such responses are kept, counted
-- in the sample flow and left out of estimates. `confirmed_checks` holds the keys of the
-- soft consistency checks the respondent confirmed, comma-separated ('' for none).
ALTER TABLE responses
    ADD COLUMN screened_out VARCHAR(64) NULL,
    ADD COLUMN confirmed_checks VARCHAR(1024) NOT NULL DEFAULT '';
