DROP TABLE consents;
DROP TABLE consent_documents;
DROP TABLE users;
