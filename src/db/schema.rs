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

diesel::table! {
    health_probe (id) {
        id -> Integer,
        at -> Timestamp,
    }
}

diesel::table! {
    users (id) {
        id -> BigInt,
        email -> Varchar,
        password_hash -> Varchar,
        role -> Varchar,
        nome -> Varchar,
        sobrenome -> Varchar,
        telefone -> Nullable<Varchar>,
        bairro -> Varchar,
        adult_declared_at -> Nullable<Timestamp>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        last_login_at -> Nullable<Timestamp>,
        lockout_epoch -> Integer,
        email_verified_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    outbox (id) {
        id -> BigInt,
        kind -> Varchar,
        recipient -> Varchar,
        subject -> Varchar,
        body_text -> Text,
        body_html -> Text,
        created_at -> Timestamp,
        attempts -> Integer,
        next_attempt_at -> Timestamp,
        claimed_by -> Nullable<Varchar>,
        claimed_until -> Nullable<Timestamp>,
        sent_at -> Nullable<Timestamp>,
        failed_at -> Nullable<Timestamp>,
        last_error -> Nullable<Varchar>,
    }
}

diesel::table! {
    email_tokens (id) {
        id -> BigInt,
        user_id -> BigInt,
        purpose -> Varchar,
        token_hash -> Varchar,
        code_hash -> Nullable<Varchar>,
        email -> Varchar,
        created_at -> Timestamp,
        expires_at -> Timestamp,
        used_at -> Nullable<Timestamp>,
        tries -> Integer,
    }
}

diesel::table! {
    staff_totp (user_id) {
        user_id -> BigInt,
        secret -> Varchar,
        created_at -> Timestamp,
        enabled_at -> Nullable<Timestamp>,
        last_step -> BigInt,
    }
}

diesel::table! {
    staff_recovery_codes (id) {
        id -> BigInt,
        user_id -> BigInt,
        code_hash -> Varchar,
        created_at -> Timestamp,
        used_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    consent_documents (id) {
        id -> BigInt,
        kind -> Varchar,
        version -> Integer,
        required -> Bool,
        title_pt -> Varchar,
        title_en -> Varchar,
        body_pt -> Text,
        body_en -> Text,
        published_at -> Timestamp,
        published_by -> Nullable<BigInt>,
    }
}

diesel::table! {
    consents (id) {
        id -> BigInt,
        user_id -> BigInt,
        document_id -> BigInt,
        accepted_at -> Timestamp,
        revoked_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    responses (id) {
        id -> BigInt,
        user_id -> Nullable<BigInt>,
        definition_id -> Varchar,
        definition_version -> Integer,
        answers -> Text,
        bairro -> Varchar,
        current_page -> Integer,
        revision -> BigInt,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        submitted_at -> Nullable<Timestamp>,
        screened_out -> Nullable<Varchar>,
        confirmed_checks -> Varchar,
    }
}

diesel::joinable!(consents -> users (user_id));
diesel::joinable!(responses -> users (user_id));
diesel::joinable!(email_tokens -> users (user_id));
diesel::joinable!(staff_totp -> users (user_id));
diesel::joinable!(staff_recovery_codes -> users (user_id));
diesel::joinable!(consents -> consent_documents (document_id));

diesel::allow_tables_to_appear_in_same_query!(
    audit_log,
    email_tokens,
    outbox,
    users,
    consent_documents,
    consents,
    responses,
    staff_totp,
    staff_recovery_codes
);

diesel::table! {
    user_identities (id) {
        id -> BigInt,
        user_id -> BigInt,
        provider -> Varchar,
        subject -> Varchar,
        created_at -> Timestamp,
        last_login_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    census_import (id) {
        id -> BigInt,
        imported_at -> Timestamp,
        basico_file -> Varchar,
        demografia_file -> Varchar,
        mapping_file -> Varchar,
        illustrative -> Bool,
        setores -> Integer,
        unmapped -> Integer,
        suppressed -> Integer,
    }
}

diesel::table! {
    census_households (id) {
        id -> BigInt,
        bairro -> Varchar,
        households -> BigInt,
    }
}

diesel::table! {
    census_adults (id) {
        id -> BigInt,
        bairro -> Varchar,
        sexo -> Varchar,
        faixa -> Varchar,
        persons -> Double,
    }
}

diesel::table! {
    page_visits (user_id, page) {
        user_id -> BigInt,
        page -> Integer,
        first_viewed_at -> Timestamp,
        first_saved_at -> Nullable<Timestamp>,
        last_saved_at -> Nullable<Timestamp>,
        saves -> Integer,
    }
}

diesel::table! {
    quota_cells (id) {
        id -> BigInt,
        quota -> Varchar,
        cell -> Varchar,
        target -> BigInt,
        filled -> BigInt,
    }
}

diesel::table! {
    respondent_fingerprints (user_id) {
        user_id -> BigInt,
        phone -> Nullable<Varchar>,
        name_bairro -> Varchar,
        updated_at -> Timestamp,
    }
}

diesel::allow_tables_to_appear_in_same_query!(respondent_fingerprints, users);
diesel::allow_tables_to_appear_in_same_query!(respondent_fingerprints, responses);
diesel::allow_tables_to_appear_in_same_query!(page_visits, users);
diesel::allow_tables_to_appear_in_same_query!(page_visits, responses);
diesel::allow_tables_to_appear_in_same_query!(page_visits, respondent_fingerprints);

diesel::table! {
    quota_places (id) {
        id -> BigInt,
        response_id -> BigInt,
        quota -> Varchar,
        cell_id -> BigInt,
    }
}

diesel::joinable!(quota_places -> quota_cells (cell_id));
diesel::joinable!(quota_places -> responses (response_id));
diesel::allow_tables_to_appear_in_same_query!(quota_cells, quota_places, responses);
