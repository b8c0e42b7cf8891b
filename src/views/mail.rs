//! The e-mails, as plain text and HTML (maud) in the reader's language. No images, no
//! remote resources, no tracking links: every link goes straight to the page it names.

use maud::{Markup, html};

use crate::db::outbox::Composed;
use crate::i18n::{Lang, MailTexts};

/// One call-to-action link in a message.
struct Action<'a> {
    label: &'a str,
    url: &'a str,
}

/// Everything one message says, in order.
struct Parts<'a> {
    subject: &'a str,
    paragraphs: Vec<&'a str>,
    /// A code shown large (the sign-in code).
    code: Option<&'a str>,
    actions: Vec<Action<'a>>,
    /// Closing lines (expiry, "ignore if not you").
    notes: Vec<&'a str>,
}

fn compose(lang: Lang, p: Parts<'_>) -> Composed {
    let m = lang.mail();
    let mut text = format!("{}\n\n", m.greeting);
    for para in &p.paragraphs {
        text.push_str(para);
        text.push_str("\n\n");
    }
    if let Some(code) = p.code {
        text.push_str(&format!("    {code}\n\n"));
    }
    for a in &p.actions {
        text.push_str(&format!("{}:\n{}\n\n", a.label, a.url));
    }
    for note in &p.notes {
        text.push_str(note);
        text.push_str("\n\n");
    }
    text.push_str(&format!("-- \n{}\n", m.signature));
    Composed {
        subject: p.subject.to_string(),
        text,
        html: html_body(lang, m, &p).into_string(),
    }
}

fn html_body(lang: Lang, m: &MailTexts, p: &Parts<'_>) -> Markup {
    html! {
        (maud::DOCTYPE)
        html lang=(lang.code()) {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (p.subject) }
            }
            body style="font-family: sans-serif; line-height: 1.5; color: #1a1a1a; max-width: 36em; margin: 0 auto; padding: 1em;" {
                p { (m.greeting) }
                @for para in &p.paragraphs { p { (para) } }
                @if let Some(code) = p.code {
                    p style="font-size: 2em; font-weight: bold; letter-spacing: 0.2em;" { (code) }
                }
                @for a in &p.actions {
                    p {
                        a href=(a.url) style="display: inline-block; padding: 0.6em 1.2em; background: #0b5394; color: #ffffff; text-decoration: none; border-radius: 4px;" { (a.label) }
                    }
                    p style="font-size: 0.9em; word-break: break-all;" { (a.url) }
                }
                @for note in &p.notes { p style="font-size: 0.9em; color: #444444;" { (note) } }
                p { "— " (m.signature) }
            }
        }
    }
}

/// Sign-up: confirm the address.
pub fn verify_email(lang: Lang, url: &str) -> Composed {
    let m = lang.mail();
    compose(
        lang,
        Parts {
            subject: m.verify_subject,
            paragraphs: vec![m.verify_body],
            code: None,
            actions: vec![Action {
                label: m.verify_button,
                url,
            }],
            notes: vec![m.link_expires_24h, m.ignore_if_not_you],
        },
    )
}

/// "Esqueci minha senha".
pub fn password_reset(lang: Lang, url: &str) -> Composed {
    let m = lang.mail();
    compose(
        lang,
        Parts {
            subject: m.reset_subject,
            paragraphs: vec![m.reset_body],
            code: None,
            actions: vec![Action {
                label: m.reset_button,
                url,
            }],
            notes: vec![m.link_expires_1h, m.ignore_if_not_you],
        },
    )
}

/// Sign-in by e-mail: the 6-digit code and the same sign-in as a link.
pub fn sign_in_code(lang: Lang, code: &str, url: &str) -> Composed {
    let m = lang.mail();
    compose(
        lang,
        Parts {
            subject: m.code_subject,
            paragraphs: vec![m.code_body],
            code: Some(code),
            actions: vec![Action {
                label: m.code_button,
                url,
            }],
            notes: vec![m.code_expires, m.ignore_if_not_you],
        },
    )
}

/// E-mail change: sent to the new address.
pub fn email_change(lang: Lang, url: &str) -> Composed {
    let m = lang.mail();
    compose(
        lang,
        Parts {
            subject: m.change_subject,
            paragraphs: vec![m.change_body],
            code: None,
            actions: vec![Action {
                label: m.change_button,
                url,
            }],
            notes: vec![m.link_expires_24h, m.ignore_if_not_you],
        },
    )
}

/// E-mail change: the notice to the old address.
pub fn email_changed_notice(lang: Lang, contact: &str) -> Composed {
    let m = lang.mail();
    compose(
        lang,
        Parts {
            subject: m.changed_subject,
            paragraphs: vec![m.changed_body, m.contact_if_not_you, contact],
            code: None,
            actions: vec![],
            notes: vec![],
        },
    )
}

/// After a password change or reset.
pub fn password_changed_notice(lang: Lang, contact: &str) -> Composed {
    let m = lang.mail();
    compose(
        lang,
        Parts {
            subject: m.password_changed_subject,
            paragraphs: vec![m.password_changed_body, m.contact_if_not_you, contact],
            code: None,
            actions: vec![],
            notes: vec![],
        },
    )
}

/// After the account was deleted.
pub fn account_deleted_notice(lang: Lang, contact: &str) -> Composed {
    let m = lang.mail();
    compose(
        lang,
        Parts {
            subject: m.deleted_subject,
            paragraphs: vec![m.deleted_body, m.contact_if_not_you, contact],
            code: None,
            actions: vec![],
            notes: vec![],
        },
    )
}

/// Sign-up with an address that already has an account: the owner learns it by mail,
/// while the page says the same as for a new address.
pub fn already_registered(lang: Lang, login_url: &str, reset_url: &str) -> Composed {
    let m = lang.mail();
    compose(
        lang,
        Parts {
            subject: m.registered_subject,
            paragraphs: vec![m.registered_body],
            code: None,
            actions: vec![
                Action {
                    label: m.registered_login,
                    url: login_url,
                },
                Action {
                    label: m.registered_reset,
                    url: reset_url,
                },
            ],
            notes: vec![m.ignore_if_not_you],
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_carry_the_link_in_both_bodies_and_nothing_remote() {
        let url = "https://pesquisa.example.br/verify?token=abc";
        for lang in [Lang::Pt, Lang::En] {
            let c = verify_email(lang, url);
            assert_eq!(c.subject, lang.mail().verify_subject);
            assert!(c.text.contains(url));
            assert!(c.html.contains(url));
            assert!(!c.html.contains("<img"));
            assert!(!c.html.contains("src="));
        }
        let c = sign_in_code(Lang::Pt, "123456", url);
        assert!(c.text.contains("123456") && c.html.contains("123456"));
    }

    #[test]
    fn html_escapes_what_it_shows() {
        let c = password_reset(Lang::En, "https://x.example/r?token=a&b=<c>");
        assert!(c.html.contains("&amp;b=&lt;c&gt;"));
    }
}
