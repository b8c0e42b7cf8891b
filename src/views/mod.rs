//! HTML views written with maud: the page layout, shared components, and one module per
//! page. Views take plain data and the language; they never touch the database.

pub mod error;
pub mod home;
pub mod layout;

use maud::Markup;
use salvo::prelude::*;

/// A rendered HTML page, written with the right content type.
pub struct Html(pub Markup);

impl Scribe for Html {
    fn render(self, res: &mut Response) {
        res.render(Text::Html(self.0.into_string()));
    }
}
