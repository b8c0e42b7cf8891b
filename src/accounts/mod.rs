//! Accounts as domain values, with no web and no SQL: parsing of the sign-up fields,
//! the password policy, password hashing, roles and the logged-in user.

pub mod documents;
pub mod email_token;
pub mod fields;
pub mod hasher;
pub mod password;
pub mod totp;

use serde::{Deserialize, Serialize};

/// What an account may do. Stored as its lower-case name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Respondent,
    Analyst,
    Admin,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Respondent => "respondent",
            Role::Analyst => "analyst",
            Role::Admin => "admin",
        }
    }

    pub fn parse(s: &str) -> Option<Role> {
        match s {
            "respondent" => Some(Role::Respondent),
            "analyst" => Some(Role::Analyst),
            "admin" => Some(Role::Admin),
            _ => None,
        }
    }

    /// Staff see aggregate results; only admins manage accounts and documents.
    pub fn is_staff(self) -> bool {
        matches!(self, Role::Analyst | Role::Admin)
    }
}

/// A logged-in user: who they are and what they may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AuthUser {
    pub id: i64,
    pub role: Role,
}
