//! Accounts as domain values, with no web and no SQL: parsing of the sign-up fields,
//! password rules and hashing, roles.

pub mod fields;
pub mod password;

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
