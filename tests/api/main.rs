//! Integration tests: one binary, one module per area. They need MariaDB and Redis
//! running (see `helpers.rs` for the variables); `.ci/run` starts them.

mod accounts;
mod anonymous;
mod backup;
mod census;
mod cli;
mod disk;
mod email_access;
mod export;
mod faults;
mod hardening;
mod health;
mod helpers;
mod labelled_export;
mod mail;
mod oidc;
mod pool;
mod quality;
mod quality_scale;
mod question_types;
mod quotas;
mod report;
mod respondent_pages;
mod results_page;
mod smtp;
mod staff_admin;
mod staff_pages;
mod storage;
mod survey;
mod survey_logic;
mod two_factor;
mod verification;
mod weights;
