//! Texts of the respondent's pages added after the first version, Brazilian Portuguese first and English second.
