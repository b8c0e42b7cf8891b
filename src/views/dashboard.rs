//! The admin's home (`/admin`): how the field work is going. Sign-ups, starts and
//! completes, completions per day and progress per bairro, as counts only.

use maud::{Markup, html};

use super::Ctx;
use super::admin::nav;
use super::layout::page;
use crate::db::progress::{BairroProgress, Progress};
use crate::i18n::Lang;

/// `part` of `whole` as a percentage with one decimal, written the reader's way; a dash
/// when there is no whole.
fn percent(lang: Lang, part: i64, whole: i64) -> String {
    if whole <= 0 {
        return "–".into();
    }
    crate::locale::percent(100.0 * part as f64 / whole as f64, 1, lang.is_english())
}

/// Every configured bairro, with zeros where nobody has started yet (those are the ones
/// the field team must reach), then any stored bairro no longer on the list.
pub fn with_every_bairro(configured: &[String], counted: &[BairroProgress]) -> Vec<BairroProgress> {
    let mut rows: Vec<BairroProgress> = configured
        .iter()
        .map(|b| {
            counted
                .iter()
                .find(|c| &c.bairro == b)
                .cloned()
                .unwrap_or(BairroProgress {
                    bairro: b.clone(),
                    started: 0,
                    completed: 0,
                })
        })
        .collect();
    rows.extend(
        counted
            .iter()
            .filter(|c| !configured.contains(&c.bairro))
            .cloned(),
    );
    rows
}

pub fn render(
    ctx: &Ctx,
    p: &Progress,
    bairros: &[BairroProgress],
    verified_only: bool,
    flow: &crate::quality::SampleFlow,
    quotas: &[crate::db::quotas::Fill],
) -> Markup {
    let t = ctx.lang.t();
    let en = ctx.lang.is_english();
    let busiest = p
        .per_day
        .iter()
        .map(|d| d.completed)
        .max()
        .unwrap_or(0)
        .max(1);
    page(
        ctx,
        t.dash_title,
        html! {
            h1 { (t.dash_title) }
            (nav(ctx))
            div class="table-wrap" {
                table class="summary" {
                    tbody {
                        tr { th scope="row" { (t.dash_respondents) } td class="num" { (p.respondents) } }
                        tr { th scope="row" { (t.dash_started) } td class="num" { (p.started) } }
                        tr { th scope="row" { (t.dash_completed) } td class="num" { (p.completed) } }
                        tr { th scope="row" { (t.dash_rate) } td class="num" { (percent(ctx.lang, p.completed, p.started)) } }
                        @if verified_only {
                            tr { th scope="row" { (t.dash_counted) } td class="num" { (p.completed_verified) } }
                        }
                    }
                }
            }
            @if verified_only { p class="hint" { (t.dash_counted_note) } }
            (crate::report::flow::section(flow, ctx.lang))
            (super::quotas::fill_section(ctx.lang, quotas))
            h2 id="por-dia" { (t.dash_per_day) }
            // Scrolls sideways on a phone: focusable, so that keyboard users can scroll it
            // (axe scrollable-region-focusable), and named by its heading.
            div class="table-wrap" role="region" aria-labelledby="por-dia" tabindex="0" {
                table {
                    thead { tr { th scope="col" { (t.dash_day) } th scope="col" class="num" { (t.dash_started) } th scope="col" class="num" { (t.dash_completed) } th scope="col" { span class="visually-hidden" { (t.dash_completed) } } } }
                    tbody {
                        @for d in p.per_day.iter().rev() {
                            tr {
                                td { (if en { d.day.format("%Y-%m-%d") } else { d.day.format("%d/%m/%Y") }) }
                                td class="num" { (d.started) }
                                td class="num" { (d.completed) }
                                td { progress value=(d.completed) max=(busiest) aria-hidden="true" {} }
                            }
                        }
                    }
                }
            }
            p class="hint" { (t.dash_times_note.replace("{zona}", ctx.zone.name())) }
            h2 id="por-bairro" { (t.dash_per_bairro) }
            div class="table-wrap" role="region" aria-labelledby="por-bairro" tabindex="0" {
                table {
                    thead { tr { th scope="col" { (t.field_bairro) } th scope="col" class="num" { (t.dash_started) } th scope="col" class="num" { (t.dash_completed) } th scope="col" class="num" { (t.dash_rate) } } }
                    tbody {
                        @for b in bairros {
                            tr {
                                td { (b.bairro) }
                                td class="num" { (b.started) }
                                td class="num" { (b.completed) }
                                td class="num" { (percent(ctx.lang, b.completed, b.started)) }
                            }
                        }
                    }
                }
            }
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentages_are_written_the_readers_way_and_a_zero_base_is_a_dash() {
        assert_eq!(percent(Lang::Pt, 1, 3), "33,3\u{a0}%");
        assert_eq!(percent(Lang::En, 1, 3), "33.3%");
        assert_eq!(percent(Lang::Pt, 0, 0), "–");
    }

    #[test]
    fn every_configured_bairro_is_listed_even_without_responses() {
        let counted = vec![
            BairroProgress {
                bairro: "Centro".into(),
                started: 4,
                completed: 2,
            },
            BairroProgress {
                bairro: "Antigo".into(),
                started: 1,
                completed: 1,
            },
        ];
        let rows = with_every_bairro(&["Aquarius".into(), "Centro".into()], &counted);
        let names: Vec<(&str, i64)> = rows
            .iter()
            .map(|r| (r.bairro.as_str(), r.started))
            .collect();
        assert_eq!(names, vec![("Aquarius", 0), ("Centro", 4), ("Antigo", 1)]);
    }
}
