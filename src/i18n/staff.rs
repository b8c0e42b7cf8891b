//! Texts of the staff pages (respondent list, account deletion, documents, audit log), Brazilian Portuguese first and English second.
