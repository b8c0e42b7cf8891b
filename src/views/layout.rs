//! The page frame every page shares: head, header with navigation and language switch,
//! a one-time notice, the main landmark, footer.

use maud::{DOCTYPE, Markup, html};

use super::Ctx;
use crate::assets;
use crate::i18n::{Notice, NoticeKind};
use crate::views::forms;

/// Wrap `body` in the site layout.
pub fn page(ctx: &Ctx, title: &str, body: Markup) -> Markup {
    page_with_css(ctx, title, None, body)
}

/// [`page`] with one more embedded stylesheet (an asset path such as `css/report.css`).
pub fn page_with_css(ctx: &Ctx, title: &str, extra_css: Option<&str>, body: Markup) -> Markup {
    let t = ctx.lang.t();
    html! {
        (DOCTYPE)
        html lang=(ctx.lang.code()) {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · " (t.site_name) }
                link rel="stylesheet" href=(assets::url("css/app.css"));
                @if let Some(css) = extra_css {
                    link rel="stylesheet" href=(assets::url(css));
                }
                link rel="icon" href=(assets::url("img/favicon.svg")) type="image/svg+xml";
            }
            body {
                a class="skip-link" href="#conteudo" { (t.skip_to_content) }
                header class="site-header" {
                    div class="bar" {
                        a class="brand" href="/" { (t.site_name) }
                        nav aria-label="menu" {
                            @if let Some(user) = ctx.user {
                                a href="/survey" { (t.nav_survey) }
                                a href="/account" { (t.nav_account) }
                                @if user.role != crate::accounts::Role::Respondent {
                                    a href="/admin/results" { (t.report_results) }
                                }
                                @if user.role == crate::accounts::Role::Admin {
                                    a href="/admin" { (t.nav_admin) }
                                }
                                @if let Some(token) = &ctx.csrf {
                                    form method="post" action="/logout" class="inline" {
                                        (forms::csrf(token))
                                        button type="submit" class="linklike" { (t.nav_logout) }
                                    }
                                }
                            } @else {
                                a href="/login" { (t.nav_login) }
                                a href="/register" { (t.nav_register) }
                            }
                            a href={ "?lang=" (t.other_language_code) } lang=(t.other_language_code) hreflang=(t.other_language_code) {
                                (t.switch_language)
                            }
                        }
                    }
                }
                main id="conteudo" tabindex="-1" {
                    @if let Some(notice) = ctx.notice {
                        (notice_box(ctx, notice))
                    }
                    @if ctx.unverified && ctx.csrf.is_some() {
                        (unverified_banner(ctx))
                    }
                    (body)
                }
                footer class="site-footer" {
                    div class="bar" { (t.footer) }
                }
            }
        }
    }
}

/// A one-time notice, styled by its kind and named by it in words and an icon, so the
/// kind is not told by colour alone (a session that expired is no success).
fn notice_box(ctx: &Ctx, notice: Notice) -> Markup {
    let r = ctx.lang.respondent();
    let (class, icon, word) = match notice.kind() {
        NoticeKind::Success => ("notice ok", "✓", r.notice_success),
        NoticeKind::Info => ("notice info", "i", r.notice_info),
        NoticeKind::Warning => ("notice warning", "!", r.notice_warning),
    };
    html! {
        p class=(class) role="status" {
            span class="notice-icon" aria-hidden="true" { (icon) }
            strong class="notice-kind" { (word) } " "
            (notice.text(ctx.lang))
        }
    }
}

/// The reminder on the questionnaire and account pages, with the resend button.
fn unverified_banner(ctx: &Ctx) -> Markup {
    let t = ctx.lang.t();
    html! {
        div class="notice" role="status" {
            p { (t.unverified_banner) }
            form method="post" action="/verify/resend" {
                (forms::csrf(ctx.csrf()))
                button type="submit" { (t.unverified_resend) }
            }
        }
    }
}
