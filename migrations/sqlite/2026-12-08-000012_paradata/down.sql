DROP TABLE respondent_fingerprints;
DROP TABLE page_visits;
