//! The report's sample flow: signed up → started → completed → screened out (by rule) →
//! flagged (by flag) → used, as HTML and as text lines. The counts come from
//! [`crate::quality::SampleFlow`].

use std::fmt::Write;

use maud::{Markup, html};

use crate::i18n::Lang;
use crate::i18n::quality::QualityTexts;
use crate::quality::{Flag, SampleFlow};

/// The name of a flag in `t`'s language.
pub fn flag_name(t: &QualityTexts, f: Flag) -> &'static str {
    match f {
        Flag::Rapido => t.rapido,
        Flag::LinhaReta => t.linha_reta,
        Flag::Inconsistente => t.inconsistente,
        Flag::Duplicado => t.duplicado,
    }
}

/// A count with thousands separators (as the report's `html::int`, which renders this
/// section and so cannot be imported from here).
fn n(v: i64, lang: Lang) -> String {
    crate::locale::int(u64::try_from(v).unwrap_or(0), lang.is_english())
}

/// The rows of the flow: (indented, label, count).
fn rows(f: &SampleFlow, lang: Lang) -> Vec<(bool, String, String)> {
    let t = lang.quality();
    let mut out = vec![
        (false, t.signed_up.to_string(), n(f.signed_up, lang)),
        (false, t.started.to_string(), n(f.started, lang)),
        (
            false,
            t.screened_out.to_string(),
            n(f.screened_total(), lang),
        ),
    ];
    for (rule, count) in &f.screened_out {
        out.push((true, t.by_rule.replace("{rule}", rule), n(*count, lang)));
    }
    out.push((false, t.completed.to_string(), n(f.completed, lang)));
    out.push((false, t.flagged.to_string(), n(f.flagged, lang)));
    for (flag, count) in &f.by_flag {
        out.push((true, flag_name(t, *flag).to_string(), n(*count, lang)));
    }
    out.push((false, t.used.to_string(), n(f.used, lang)));
    out
}

fn note(f: &SampleFlow, lang: Lang) -> &'static str {
    let t = lang.quality();
    if f.exclude_flagged {
        t.flow_note_excluded
    } else {
        t.flow_note_kept
    }
}

/// The flow as a section of the HTML report.
pub fn section(f: &SampleFlow, lang: Lang) -> Markup {
    let t = lang.quality();
    html! {
        section aria-labelledby="r-flow" class="report-flow" {
            h2 id="r-flow" { (t.flow_title) }
            // Both stylesheets align it: `report-table` and `n` in the report's, `num` in
            // the site's (the dashboard shows it too).
            table class="report-table" {
                tbody {
                    @for (sub, label, count) in rows(f, lang) {
                        tr class=[sub.then_some("sub")] {
                            th scope="row" { @if sub { "– " } (label) }
                            td class="n num" { (count) }
                        }
                    }
                }
            }
            p class="report-note" { (note(f, lang)) }
        }
    }
}

/// The flow as lines of the text report.
pub fn text(f: &SampleFlow, lang: Lang, o: &mut String) {
    let _ = writeln!(o, "== {} ==", lang.quality().flow_title);
    for (sub, label, count) in rows(f, lang) {
        let indent = if sub { "  - " } else { "" };
        let _ = writeln!(o, "{indent}{label}: {count}");
    }
    let _ = writeln!(o, "{}\n", note(f, lang));
}
