//! Texts of the analysts' labelled files and census import, Brazilian Portuguese first and English second.
