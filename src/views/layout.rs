//! The page frame every page shares: head, header with navigation and language switch,
//! main landmark, footer.

use maud::{DOCTYPE, Markup, html};

use crate::assets;
use crate::i18n::Lang;

/// What the frame needs besides the page body.
pub struct Frame<'a> {
    pub lang: Lang,
    pub title: &'a str,
}

/// Wrap `body` in the site layout.
pub fn page(frame: &Frame<'_>, body: Markup) -> Markup {
    let t = frame.lang.t();
    html! {
        (DOCTYPE)
        html lang=(frame.lang.code()) {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (frame.title) " · " (t.site_name) }
                link rel="stylesheet" href=(assets::url("css/app.css"));
                link rel="icon" href=(assets::url("img/favicon.svg")) type="image/svg+xml";
            }
            body {
                a class="skip-link" href="#conteudo" { (t.skip_to_content) }
                header class="site-header" {
                    div class="bar" {
                        a class="brand" href="/" { (t.site_name) }
                        nav aria-label="menu" {
                            a href={ "?lang=" (t.other_language_code) } lang=(t.other_language_code) hreflang=(t.other_language_code) {
                                (t.switch_language)
                            }
                        }
                    }
                }
                main id="conteudo" tabindex="-1" {
                    (body)
                }
                footer class="site-footer" {
                    div class="bar" { (t.footer) }
                }
            }
        }
    }
}
