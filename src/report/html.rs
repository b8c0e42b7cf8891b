//! The report as HTML: [`sections`] is the body shared by the standalone file
//! (`pesquisa report --format html`, see [`document`]) and the `/admin/results` page.
//!
//! Charts are inline SVG drawn with presentation attributes only (no `style`
//! attributes, no scripts, no external references), so the file opens offline and the
//! web page passes the app's Content-Security-Policy. Every chart repeats a table that
//! carries the same numbers, so the charts are hidden from screen readers.

use maud::{DOCTYPE, Markup, PreEscaped, html};

use super::model::{Crosstab, Histogram, QuestionReport, Report, Share};
use crate::i18n::{Lang, Texts};
use crate::stats::market::{GroupResult, GroupSpend, ScenarioEstimate};
use crate::stats::{ChiSquareResult, Scenario};
use crate::survey::format_reais;

/// The report's stylesheet, embedded in the standalone file and served to the dashboard.
pub const CSS: &str = include_str!("../../assets/css/report.css");

/// Width of the SVG coordinate system of every chart.
const CHART_W: f64 = 400.0;
/// Height of one bar row.
const ROW_H: f64 = 18.0;

/// A standalone HTML document: the report with its CSS inline.
pub fn document(r: &Report, lang: Lang) -> String {
    let t = lang.t();
    html! {
        (DOCTYPE)
        html lang=(lang.code()) {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (t.report_title) " – " (r.title.get(lang)) }
                style { (PreEscaped(CSS)) }
            }
            body class="report" {
                main {
                    h1 { (t.report_title) }
                    (sections(r, lang))
                }
            }
        }
    }
    .into_string()
}

/// Everything but the page title.
pub fn sections(r: &Report, lang: Lang) -> Markup {
    let t = lang.t();
    html! {
        p class="report-survey" { strong { (r.title.get(lang)) } " · " (r.survey_id) " v" (r.survey_version) }
        dl class="report-facts" {
            dt { (t.report_generated) } dd { (r.generated_at) }
            dt { (t.report_filters) } dd { (filters(r, t)) }
            dt { (t.report_respondents) } dd { (int(r.respondents, lang)) }
            dt { (t.report_completes) } dd { (int(r.completes, lang)) }
        }
        @if r.respondents == 0 {
            p { (t.report_no_data) }
        } @else {
            (market(r, lang))
            section aria-labelledby="r-questions" {
                h2 id="r-questions" { (t.report_questions) }
                @for q in &r.questions { (question(q, lang)) }
            }
            @if !r.crosstabs.is_empty() {
                section aria-labelledby="r-crosstabs" {
                    h2 id="r-crosstabs" { (t.report_crosstabs) }
                    @for c in &r.crosstabs { (crosstab(c, lang)) }
                }
            }
            (bairros(r, lang))
        }
    }
}

fn filters(r: &Report, t: &Texts) -> String {
    let f = &r.filters;
    let mut parts = Vec::new();
    if let Some(s) = f.since {
        parts.push(format!("--since {}", crate::survey::format::timestamp(s)));
    }
    if let Some(u) = f.until {
        parts.push(format!("--until {}", crate::survey::format::timestamp(u)));
    }
    if let Some(b) = &f.bairro {
        parts.push(format!("--bairro {b}"));
    }
    if f.complete_only {
        parts.push("--complete-only".into());
    }
    if parts.is_empty() {
        t.report_no_filters.to_string()
    } else {
        parts.join(" ")
    }
}

/// A decimal number with the language's separator.
pub fn num(x: f64, decimals: usize, lang: Lang) -> String {
    let s = format!("{x:.decimals$}");
    if lang.is_english() {
        s
    } else {
        s.replace('.', ",")
    }
}

/// A count with thousands separators.
pub fn int(n: u64, lang: Lang) -> String {
    let digits = n.to_string();
    let sep = if lang.is_english() { ',' } else { '.' };
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(sep);
        }
        out.push(c);
    }
    out
}

/// Reais rounded to whole amounts.
pub fn money(x: f64, lang: Lang) -> String {
    format_reais(x.round(), lang.is_english())
}

/// A table that may be wider than a phone: it scrolls sideways inside its own region,
/// which is focusable and labelled so keyboard users can scroll it too.
fn scroll(label: &str, table: Markup) -> Markup {
    html! {
        div class="report-scroll" role="region" tabindex="0" aria-label=(label) { (table) }
    }
}

/// `low – high`, or `–` without an interval.
pub fn interval(ci: Option<(f64, f64)>, f: impl Fn(f64) -> String) -> String {
    ci.map_or_else(|| "–".into(), |(lo, hi)| format!("{} – {}", f(lo), f(hi)))
}

fn question(q: &QuestionReport, lang: Lang) -> Markup {
    let t = lang.t();
    html! {
        article class="report-question" id=(format!("q-{}", q.key)) {
            h3 { (q.text.get(lang)) }
            p class="report-meta" { code { (q.key) } " · " (int(q.answered, lang)) " " (t.report_answered) }
            @if !q.shares.is_empty() {
                @if q.kind == "multi" { p class="report-note" { (t.report_multi_note) } }
                (share_chart(&q.shares))
                (scroll(q.text.get(lang), share_table(&q.shares, lang)))
            }
            @if let Some(h) = &q.histogram { (histogram(h, lang)) }
            @if q.kind == "text" { p class="report-note" { (t.report_text_note) } }
        }
    }
}

fn share_table(shares: &[Share], lang: Lang) -> Markup {
    let t = lang.t();
    html! {
        table class="report-table" {
            thead { tr {
                th scope="col" { (t.report_option) }
                th scope="col" class="n" { (t.report_count) }
                th scope="col" class="n" { (t.report_percent) }
                th scope="col" class="n" { (t.report_ci) }
            } }
            tbody { @for s in shares { tr {
                th scope="row" { (s.label.get(lang)) }
                td class="n" { (int(s.count, lang)) }
                td class="n" { (s.pct.map_or("–".into(), |p| num(p, 1, lang))) }
                td class="n" { (interval(s.ci95, |x| num(x, 1, lang))) }
            } } }
        }
    }
}

/// Horizontal bars (percent of those who answered) with the 95% interval as a whisker.
fn share_chart(shares: &[Share]) -> Markup {
    let h = ROW_H * shares.len() as f64 + 4.0;
    let x = |pct: f64| pct.clamp(0.0, 100.0) / 100.0 * CHART_W;
    html! {
        svg class="report-chart" viewBox=(format!("0 0 {CHART_W} {h}")) width="100%" preserveAspectRatio="none" aria-hidden="true" focusable="false" {
            @for (i, s) in shares.iter().enumerate() {
                @let y = i as f64 * ROW_H + 2.0;
                @let w = x(s.pct.unwrap_or(0.0));
                rect x="0" y=(y) width=(w) height=(ROW_H - 5.0) fill="#2a6f97" {}
                @if let Some((lo, hi)) = s.ci95 {
                    line x1=(x(lo)) x2=(x(hi)) y1=(y + (ROW_H - 5.0) / 2.0) y2=(y + (ROW_H - 5.0) / 2.0) stroke="#1b1b1b" stroke-width="1.5" {}
                    line x1=(x(lo)) x2=(x(lo)) y1=(y + 2.0) y2=(y + ROW_H - 7.0) stroke="#1b1b1b" stroke-width="1.5" {}
                    line x1=(x(hi)) x2=(x(hi)) y1=(y + 2.0) y2=(y + ROW_H - 7.0) stroke="#1b1b1b" stroke-width="1.5" {}
                }
            }
        }
    }
}

fn histogram(h: &Histogram, lang: Lang) -> Markup {
    let t = lang.t();
    let top = h.bins.iter().map(|b| b.count).max().unwrap_or(1).max(1) as f64;
    let height = 120.0;
    let bw = CHART_W / h.bins.len().max(1) as f64;
    html! {
        p class="report-meta" {
            (t.report_mean) " " (num(h.mean, 1, lang)) " · " (t.report_median) " " (num(h.median, 1, lang))
            " · " (h.min) "–" (h.max)
        }
        svg class="report-chart" viewBox=(format!("0 0 {CHART_W} {height}")) width="100%" preserveAspectRatio="none" aria-hidden="true" focusable="false" {
            @for (i, b) in h.bins.iter().enumerate() {
                @let bh = b.count as f64 / top * (height - 4.0);
                rect x=(i as f64 * bw + 1.0) y=(height - bh) width=(bw - 2.0) height=(bh) fill="#2a6f97" {}
            }
        }
        table class="report-table report-hist" {
            thead { tr { th scope="col" { (t.report_range) } th scope="col" class="n" { (t.report_count) } } }
            tbody { @for b in &h.bins { tr {
                th scope="row" { @if b.from == b.to { (b.from) } @else { (b.from) "–" (b.to) } }
                td class="n" { (int(b.count, lang)) }
            } } }
        }
    }
}

fn chi_square(c: Option<&ChiSquareResult>, lang: Lang) -> Markup {
    let t = lang.t();
    html! {
        @match c {
            Some(c) => {
                p class="report-meta" {
                    (t.report_chi_square) ": χ² = " (num(c.statistic, 2, lang))
                    ", gl/df = " (c.df)
                    ", p " (p_value(c.p_value, lang))
                    ", V (Cramér) = " (num(c.cramers_v, 3, lang))
                }
                @if c.low_expected_warning { p class="report-note" { (t.report_low_expected) } }
            }
            None => p class="report-note" { (t.report_chi_none) },
        }
    }
}

fn p_value(p: f64, lang: Lang) -> String {
    if p < 0.001 {
        format!("< {}", num(0.001, 3, lang))
    } else {
        format!("= {}", num(p, 3, lang))
    }
}

fn crosstab(c: &Crosstab, lang: Lang) -> Markup {
    let t = lang.t();
    html! {
        article class="report-question" {
            h3 { (c.text.get(lang)) }
            (scroll(c.text.get(lang), html! {
                table class="report-table" {
                    thead { tr {
                        th scope="col" { (t.report_class) }
                        @for col in &c.cols { th scope="col" class="n" { (col.get(lang)) } }
                        th scope="col" class="n" { "n" }
                    } }
                    tbody { @for (row, counts) in c.rows.iter().zip(&c.counts) {
                        @let total: u64 = counts.iter().sum();
                        tr {
                            th scope="row" { (row) }
                            @for k in counts {
                                td class="n" {
                                    (int(*k, lang))
                                    @if total > 0 { " " span class="report-pct" { "(" (num(*k as f64 / total as f64 * 100.0, 0, lang)) "%)" } }
                                }
                            }
                            td class="n" { (int(total, lang)) }
                        }
                    } }
                }
            }))
            (chi_square(c.chi_square.as_ref(), lang))
        }
    }
}

fn bairros(r: &Report, lang: Lang) -> Markup {
    let t = lang.t();
    html! {
        section aria-labelledby="r-bairros" {
            h2 id="r-bairros" { (t.report_bairros) }
            (scroll(t.report_bairros, html! {
                table class="report-table" {
                    thead { tr {
                        th scope="col" { (t.report_bairro) }
                        th scope="col" class="n" { (t.report_respondents) }
                        th scope="col" class="n" { (t.report_completes) }
                        th scope="col" class="n" { (t.report_intent_top2) " (%)" }
                        th scope="col" class="n" { (t.report_ci) }
                    } }
                    tbody { @for b in &r.bairros { tr {
                        th scope="row" { (b.bairro) }
                        td class="n" { (int(b.respondents, lang)) }
                        td class="n" { (int(b.completes, lang)) }
                        td class="n" { (b.intent_top2_pct.map_or("–".into(), |p| num(p, 1, lang))) }
                        td class="n" { (interval(b.intent_top2_ci95, |x| num(x, 1, lang))) }
                    } } }
                }
            }))
            @if r.bairros_suppressed > 0 {
                p class="report-note" {
                    (r.bairros_suppressed) " " (t.report_bairros_hidden.replace("{min}", &r.min_cell.to_string()))
                    @if let Some(n) = r.bairros_suppressed_respondents { " (" (int(n, lang)) " " (t.report_bairros_hidden_total) ")" }
                    "."
                }
            }
        }
    }
}

/// The label of a market scenario.
pub fn scenario_name(s: Scenario, t: &Texts) -> &'static str {
    match s {
        Scenario::Lower => t.report_scenario_lower,
        Scenario::Mid => t.report_scenario_mid,
        Scenario::Upper => t.report_scenario_upper,
    }
}

fn group_row(label: &str, g: &GroupResult, lang: Lang) -> Markup {
    let t = lang.t();
    html! {
        tr {
            th scope="row" { (label) }
            @match g {
                GroupResult::Reported { n, mean, ci95 } => {
                    td class="n" { (int(*n as u64, lang)) }
                    td class="n" { (money(*mean, lang)) }
                    td class="n" { (interval(Some(*ci95), |x| money(x, lang))) }
                }
                GroupResult::Suppressed => td class="n" colspan="3" { (t.report_suppressed) },
            }
        }
    }
}

fn group_table(
    first: &str,
    rows: &[GroupSpend],
    lang: Lang,
    label: impl Fn(&str) -> String,
) -> Markup {
    let t = lang.t();
    html! {
        table class="report-table" {
            thead { tr {
                th scope="col" { (first) }
                th scope="col" class="n" { "n" }
                th scope="col" class="n" { (t.report_mean) }
                th scope="col" class="n" { (t.report_ci) }
            } }
            tbody { @for g in rows { (group_row(&label(&g.group), &g.result, lang)) } }
        }
    }
}

fn market(r: &Report, lang: Lang) -> Markup {
    let t = lang.t();
    let m = &r.market;
    html! {
        section aria-labelledby="r-market" class="report-market" {
            h2 id="r-market" { (t.report_market) }
            @if let Some(why) = &m.unavailable {
                p { (t.report_unavailable) ": " (why) }
            }
            @if let Some(e) = &m.estimate {
                h3 { (t.report_spend) }
                (scroll(t.report_spend, html! {
                    table class="report-table" {
                        thead { tr {
                            th scope="col" { (t.report_scenario) }
                            th scope="col" class="n" { "n" }
                            th scope="col" class="n" { (t.report_mean) }
                            th scope="col" class="n" { (t.report_ci) }
                        } }
                        tbody { @for s in &e.scenarios { (group_row(scenario_name(s.scenario, t), &s.overall.result, lang)) } }
                    }
                }))
                @if let Some(mid) = e.scenario(Scenario::Mid) {
                    h3 { (t.report_by_class) " (" (t.report_scenario_mid) ")" }
                    (scroll(t.report_by_class, group_table(t.report_class, &mid.by_income_class, lang, str::to_string)))
                    h3 { (t.report_by_bairro) " (" (t.report_scenario_mid) ")" }
                    (scroll(t.report_by_bairro, group_table(t.report_bairro, &reported_first(mid), lang, str::to_string)))
                }
                @if m.households_given {
                    (scroll(t.report_market_monthly, html! { table class="report-table report-market-table" {
                        thead { tr {
                            th scope="col" { (t.report_scenario) }
                            th scope="col" class="n" { (t.report_market_monthly) }
                            th scope="col" class="n" { (t.report_potential) }
                        } }
                        tbody { @for s in &e.scenarios { tr {
                            th scope="row" { (scenario_name(s.scenario, t)) }
                            td class="n" { (s.market_monthly.map_or("–".into(), |x| money(x, lang))) }
                            td class="n" { (s.potential_monthly.map_or("–".into(), |x| money(x, lang))) }
                        } } }
                    } }))
                    p { (t.report_capture) ": " (e.capture.share.map_or("–".into(), |s| format!("{} %", num(s * 100.0, 1, lang)))) }
                } @else {
                    p class="report-note" { (t.report_households_missing) }
                }
                h3 { (t.report_assumptions) }
                ul class="report-assumptions" { @for a in (if lang.is_english() { &e.assumptions } else { &e.premissas }) { li { (a) } } }
            }
        }
    }
}

/// Reported bairros first (alphabetical), then the suppressed ones collapsed into one
/// line each, so the table leads with figures.
fn reported_first(s: &ScenarioEstimate) -> Vec<GroupSpend> {
    let (mut shown, hidden): (Vec<_>, Vec<_>) = s
        .by_bairro
        .iter()
        .cloned()
        .partition(|g| matches!(g.result, GroupResult::Reported { .. }));
    shown.extend(hidden);
    shown
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_follow_the_language() {
        assert_eq!(num(12.345, 1, Lang::Pt), "12,3");
        assert_eq!(num(12.345, 1, Lang::En), "12.3");
        assert_eq!(int(1_234_567, Lang::Pt), "1.234.567");
        assert_eq!(int(1_234_567, Lang::En), "1,234,567");
        assert_eq!(int(999, Lang::Pt), "999");
        assert_eq!(money(1234.4, Lang::Pt), "R$\u{a0}1.234");
        assert_eq!(p_value(0.0001, Lang::Pt), "< 0,001");
        assert_eq!(p_value(0.3734, Lang::En), "= 0.373");
    }
}
