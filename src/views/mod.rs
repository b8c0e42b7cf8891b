//! HTML views written with maud: the page layout, shared form components, and one module
//! per area. Views take plain data and a [`Ctx`]; they never touch the database.

pub mod account;
pub mod admin;
pub mod auth;
pub mod dashboard;
pub mod email_access;
pub mod error;
pub mod forms;
pub mod home;
pub mod layout;
pub mod mail;
pub mod oidc;
pub mod prepared;
pub mod results;
pub mod survey;
pub mod two_factor;
pub mod verify;

use maud::Markup;
use salvo::prelude::*;

use crate::accounts::AuthUser;
use crate::i18n::Lang;

/// A rendered HTML page, written with the right content type.
pub struct Html(pub Markup);

impl Scribe for Html {
    fn render(self, res: &mut Response) {
        res.render(Text::Html(self.0.into_string()));
    }
}

/// What every page needs to know about the request.
#[derive(Debug, Clone)]
pub struct Ctx {
    pub lang: Lang,
    pub user: Option<AuthUser>,
    /// The session's CSRF token, when the page has a form (or a log-out button).
    pub csrf: Option<String>,
    /// A one-time notice to show at the top.
    pub notice: Option<String>,
    /// A logged-in respondent whose e-mail is not verified yet (the layout reminds them).
    pub unverified: bool,
}

impl Ctx {
    pub fn csrf(&self) -> &str {
        self.csrf.as_deref().unwrap_or("")
    }
}

/// Format a UTC timestamp for people (dates are shown in UTC, labelled as such).
pub fn when(at: &chrono::NaiveDateTime) -> String {
    at.format("%d/%m/%Y %H:%M UTC").to_string()
}
