//! The quota fill table, shown on the results page and on the dashboard: per cell its
//! target, the completed responses holding a place, the share of the target and whether
//! the cell is open, full or over its target.

use maud::{Markup, html};

use crate::db::quotas::Fill;
use crate::i18n::Lang;

/// The section, or nothing when no quota is configured.
pub fn fill_section(lang: Lang, fill: &[Fill]) -> Markup {
    let t = lang.quotas();
    let pct = |f: &Fill| match lang {
        Lang::Pt => format!("{}\u{a0}%", f.percent()),
        Lang::En => format!("{}%", f.percent()),
    };
    let status = |f: &Fill| {
        if f.is_over() {
            t.status_over
        } else if f.is_full() {
            t.status_full
        } else {
            t.status_open
        }
    };
    let mode = |f: &Fill| {
        if f.mode == "warn" {
            t.mode_warn
        } else {
            t.mode_close
        }
    };
    html! {
        @if !fill.is_empty() {
            section class="quotas" aria-labelledby="cotas" {
                h2 id="cotas" { (t.title) }
                p class="hint" { (t.intro) }
                // A phone scrolls the table sideways, not the page: focusable and named
                // (axe scrollable-region-focusable).
                div class="table-wrap" role="region" aria-labelledby="cotas" tabindex="0" {
                    table class="quota-fill" {
                        caption class="visually-hidden" { (t.caption) }
                        thead {
                            tr {
                                th scope="col" { (t.quota) }
                                th scope="col" { (t.cell) }
                                th scope="col" class="num" { (t.target) }
                                th scope="col" class="num" { (t.filled) }
                                th scope="col" class="num" { (t.percent) }
                                th scope="col" { (t.status) }
                            }
                        }
                        tbody {
                            @for f in fill {
                                tr {
                                    td { (f.quota) " (" (mode(f)) ")" }
                                    td { (f.cell) }
                                    td class="num" { (f.target) }
                                    td class="num" { (f.filled) }
                                    td class="num" { (pct(f)) }
                                    td { (status(f)) }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn full_and_over_cells_say_so_and_no_quota_shows_nothing() {
        let fill = vec![
            Fill {
                quota: "bairros".into(),
                cell: "Centro".into(),
                mode: "close",
                target: 2,
                filled: 2,
            },
            Fill {
                quota: "sexo".into(),
                cell: "feminino".into(),
                mode: "warn",
                target: 2,
                filled: 3,
            },
        ];
        let pt = fill_section(Lang::Pt, &fill).into_string();
        assert!(
            pt.contains("Completa") && pt.contains("Acima da meta"),
            "{pt}"
        );
        assert!(pt.contains("150\u{a0}%"), "{pt}");
        let en = fill_section(Lang::En, &fill).into_string();
        assert!(en.contains("Over target") && en.contains("(warn)"), "{en}");
        assert!(fill_section(Lang::Pt, &[]).into_string().is_empty());
    }
}
