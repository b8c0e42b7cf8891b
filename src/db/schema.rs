//! Table definitions shared by the MariaDB and SQLite backends.
//!
//! Generated shape (`diesel print-schema`), kept in step with both migration trees.
// @generated automatically by Diesel CLI.

diesel::table! {
    audit_log (id) {
        id -> BigInt,
        at -> Timestamp,
        actor_id -> Nullable<BigInt>,
        action -> Varchar,
        subject_id -> Nullable<BigInt>,
        detail -> Varchar,
    }
}
