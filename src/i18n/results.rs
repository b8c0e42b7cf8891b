//! Texts of the analysts' results page, Brazilian Portuguese first and English second.
