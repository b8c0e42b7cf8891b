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
pub mod my_data;
pub mod oidc;
pub mod prepared;
pub mod quotas;
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
    /// A one-time notice to show at the top (styled by its kind).
    pub notice: Option<crate::i18n::Notice>,
    /// A logged-in respondent whose e-mail is not verified yet (the layout reminds them).
    pub unverified: bool,
    /// Zone the page shows times in (`survey.timezone`).
    pub zone: crate::locale::Zone,
}

impl Ctx {
    pub fn csrf(&self) -> &str {
        self.csrf.as_deref().unwrap_or("")
    }
}

impl Ctx {
    /// A stored (UTC) time for people: in the configured zone, its offset written out.
    pub fn when(&self, at: &chrono::NaiveDateTime) -> String {
        self.zone.datetime(*at, self.lang.is_english())
    }
}
