//! The pages of staff two-step verification: the code asked after the password, the
//! enrolment (a QR code drawn on the server as inline SVG, and the key as text), the
//! recovery codes shown once, and the status of an account that has it on.

use maud::{Markup, PreEscaped, html};
use qrcode::render::svg;
use qrcode::{EcLevel, QrCode};

use super::Ctx;
use super::forms::{self, Errors, Input};
use super::layout::page;

fn code_input(ctx: &Ctx, hint: &str, errors: &Errors) -> Markup {
    let tf = ctx.lang.two_factor();
    forms::input(
        ctx.lang,
        &Input {
            name: "code",
            label: tf.field_code,
            kind: "text",
            value: "",
            autocomplete: "one-time-code",
            hint: Some(hint),
            required: true,
            max_chars: Some(32),
        },
        errors,
    )
}

/// `/login/2fa`: the code (or a recovery code) after the password.
pub fn login(ctx: &Ctx, errors: &Errors) -> Markup {
    let tf = ctx.lang.two_factor();
    page(
        ctx,
        tf.login_title,
        html! {
            h1 { (tf.login_title) }
            (forms::error_summary(ctx.lang, errors))
            p { (tf.login_lead) }
            form method="post" action="/login/2fa" novalidate {
                (forms::csrf(ctx.csrf()))
                (code_input(ctx, tf.code_hint, errors))
                div class="actions" { button type="submit" { (tf.submit) } }
            }
        },
    )
}

/// The pending log-in ran out of time.
pub fn expired(ctx: &Ctx) -> Markup {
    let tf = ctx.lang.two_factor();
    page(
        ctx,
        tf.expired_title,
        html! {
            h1 { (tf.expired_title) }
            p { (tf.expired_body) }
            p { a class="button" href="/login" { (tf.login_again) } }
        },
    )
}

/// The QR code of `uri` as an inline SVG image with a text alternative; `None` if the
/// text does not fit a QR code (it always does for an `otpauth` URI).
fn qr_svg(uri: &str, label: &str) -> Option<Markup> {
    let code = QrCode::with_error_correction_level(uri.as_bytes(), EcLevel::M).ok()?;
    let image = code
        .render::<svg::Color<'_>>()
        .min_dimensions(200, 200)
        .quiet_zone(true)
        .build();
    // The renderer writes a whole SVG document; inline in HTML it needs no XML prolog.
    let start = image.find("<svg")?;
    let element = image[start..].replacen(
        "<svg ",
        &format!(
            "<svg role=\"img\" aria-label=\"{}\" ",
            maud::html! { (label) }.into_string()
        ),
        1,
    );
    Some(PreEscaped(element))
}

/// Enrolment: scan (or type) the key, then confirm with a first code.
pub fn enrol(ctx: &Ctx, uri: &str, key_base32: &str, required: bool, errors: &Errors) -> Markup {
    let tf = ctx.lang.two_factor();
    // Groups of four, as authenticator apps show keys; spaces are ignored when typed.
    let grouped: Vec<String> = key_base32
        .as_bytes()
        .chunks(4)
        .map(|c| String::from_utf8_lossy(c).into_owned())
        .collect();
    page(
        ctx,
        tf.enrol_title,
        html! {
            h1 { (tf.enrol_title) }
            (forms::error_summary(ctx.lang, errors))
            @if required { p { strong { (tf.enrol_required) } } }
            p { (tf.enrol_lead) }
            p { (tf.enrol_scan) }
            @if let Some(svg) = qr_svg(uri, tf.qr_label) { div class="qr" { (svg) } }
            p { (tf.enrol_key) }
            p { code id="totp-key" data-key=(key_base32) { (grouped.join(" ")) } }
            form method="post" action="/account/2fa" novalidate {
                (forms::csrf(ctx.csrf()))
                (code_input(ctx, tf.enrol_confirm, errors))
                div class="actions" { button type="submit" { (tf.enrol_submit) } }
            }
        },
    )
}

/// After enrolment: the recovery codes, shown this once.
pub fn recovery_codes(ctx: &Ctx, codes: &[String], continue_to: &str) -> Markup {
    let tf = ctx.lang.two_factor();
    page(
        ctx,
        tf.recovery_title,
        html! {
            h1 { (tf.recovery_title) }
            p { (tf.recovery_lead) }
            ul class="recovery-codes" {
                @for c in codes { li { code { (c) } } }
            }
            p { a class="button" href=(continue_to) { (tf.continue_) } }
        },
    )
}

/// An account with two-step verification on.
pub fn enabled(ctx: &Ctx, codes_left: i64, errors: &Errors) -> Markup {
    let tf = ctx.lang.two_factor();
    page(
        ctx,
        tf.enrol_title,
        html! {
            h1 { (tf.enrol_title) }
            (forms::error_summary(ctx.lang, errors))
            p { (tf.enabled) }
            p { (tf.codes_left) " " (codes_left) }
            section aria-labelledby="regen-title" {
                h2 id="regen-title" { (tf.regen_title) }
                form method="post" action="/account/2fa/recovery" novalidate {
                    (forms::csrf(ctx.csrf()))
                    (code_input(ctx, tf.regen_lead, errors))
                    div class="actions" { button type="submit" { (tf.regen_submit) } }
                }
            }
            p { (tf.reset_hint) }
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn qr_is_an_inline_svg_with_a_label() {
        let svg = qr_svg("otpauth://totp/X:y?secret=ABC", "a \"label\"")
            .expect("fits")
            .into_string();
        assert!(svg.starts_with("<svg role=\"img\" aria-label=\"a &quot;label&quot;\" "));
        assert!(!svg.contains("<?xml"));
        assert!(svg.ends_with("</svg>"));
    }
}
