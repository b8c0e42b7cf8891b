//! The home page: what the survey is for and how the respondent's data is treated.

use maud::{Markup, html};

use super::layout::{Frame, page};
use crate::i18n::Lang;

pub fn render(lang: Lang) -> Markup {
    let t = lang.t();
    page(
        &Frame {
            lang,
            title: t.home_title,
        },
        html! {
            h1 { (t.home_title) }
            p class="lead" { (t.home_lead) }
            p { (t.home_why) }
            p class="notice" { (t.home_privacy) }
        },
    )
}
