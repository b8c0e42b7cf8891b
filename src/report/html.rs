//! The report as HTML: [`sections`] is the body shared by the standalone file
//! (`pesquisa report --format html`, see [`document`]) and the `/admin/results` page.
//!
//! Charts are HTML: each bar is a list item carrying its option text and percentage, its
//! length a class of the stylesheet (`w-0` … `w-100`, no `style` attributes, no scripts,
//! no external references), so the file opens offline, the web page passes the app's
//! Content-Security-Policy, screen readers read the labels, and nobody matches bars to a
//! table by order. Numbers are written by [`crate::locale`], times in the report's zone.

use maud::{DOCTYPE, Markup, PreEscaped, html};

use super::HouseholdsSource;
use super::model::{Competitors, Crosstab, Histogram, QuestionReport, Report, Share};
use super::weighted::{WeightedGroup, WeightingStatus};
use crate::i18n::{Lang, Texts};
use crate::locale;
use crate::stats::market::{CaptureSource, GroupResult, GroupSpend, ScenarioEstimate};
use crate::stats::{ChiSquareResult, Scenario};

/// The report's stylesheet, embedded in the standalone file and served to the dashboard.
pub const CSS: &str = include_str!("../../assets/css/report.css");

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
            dt { (t.report_generated) } dd { (r.zone.datetime(r.generated_utc, lang.is_english())) }
            dt { (t.report_timezone) } dd { (r.zone.name()) }
            dt { (t.report_filters) } dd { (filters(r, lang)) }
            dt { (t.report_respondents) } dd { (int(r.respondents, lang)) }
            dt { (t.report_completes) } dd { (int(r.completes, lang)) }
            @if r.screened_out > 0 {
                dt { (t.report_screened_out) } dd { (int(r.screened_out, lang)) }
            }
        }
        @if r.screened_out > 0 || r.questions.iter().any(|q| q.answered < r.respondents) {
            p class="report-note" { (t.report_base_note) }
        }
        @if r.respondents == 0 {
            @if let Some(f) = &r.sample_flow { (super::flow::section(f, lang)) }
            p { (t.report_no_data) }
        } @else {
            // The executive summary comes first (what an analyst presents); the flow of
            // the sample right after it says which responses the figures use.
            (summary(r, lang))
            @if let Some(f) = &r.sample_flow { (super::flow::section(f, lang)) }
            (market(r, lang))
            (weighting(r, lang))
            @if let Some(c) = &r.competitors { (competitors(c, lang)) }
            section aria-labelledby="r-questions" {
                h2 id="r-questions" { (t.report_questions) }
                @for q in &r.questions { (question(q, lang)) }
            }
            @if !r.crosstabs.is_empty() {
                section aria-labelledby="r-crosstabs" {
                    h2 id="r-crosstabs" { (lang.weights().crosstabs_title) }
                    @for c in &r.crosstabs { (crosstab(c, lang)) }
                }
            }
            (bairros(r, lang))
        }
    }
}

fn filters(r: &Report, lang: Lang) -> String {
    let t = lang.t();
    let f = &r.filters;
    let mut parts = Vec::new();
    if let Some(s) = f.since {
        parts.push(format!("--since {}", r.zone.datetime(s, lang.is_english())));
    }
    if let Some(u) = f.until {
        parts.push(format!("--until {}", r.zone.datetime(u, lang.is_english())));
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

/// A decimal number in the language's notation (see [`crate::locale`]).
pub fn num(x: f64, decimals: usize, lang: Lang) -> String {
    locale::decimal(x, decimals, lang.is_english())
}

/// A count with thousands separators.
pub fn int(n: u64, lang: Lang) -> String {
    locale::int(n, lang.is_english())
}

/// A percentage (`x` in percent) with one decimal.
pub fn pct(x: f64, lang: Lang) -> String {
    locale::percent(x, 1, lang.is_english())
}

/// Reais with cents.
pub fn money(x: f64, lang: Lang) -> String {
    locale::reais(x, lang.is_english())
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
            p class="report-meta" {
                code { (q.key) } " · " (int(q.answered, lang)) " " (t.report_answered)
                @if let Some(w) = &q.weighted {
                    @let c = lang.census();
                    " · " (int(w.n, lang)) " " (c.weighted_base) ", " (c.n_eff) " " (num(w.n_eff, 1, lang))
                    ", " (c.deff) " " (num(w.deff, 2, lang))
                }
            }
            @if !q.shares.is_empty() {
                @if q.kind == "multi" { p class="report-note" { (t.report_multi_note) } }
                (share_chart(&q.shares, lang))
                (scroll(q.text.get(lang), share_table(&q.shares, lang)))
            }
            @if let Some(h) = &q.histogram { (histogram(h, q.text.get(lang), lang)) }
            @if let Some(m) = q.mean { p class="report-meta" { (t.report_mean) " " (num(m, 2, lang)) } }
            @for item in &q.items {
                h4 { (item.label.get(lang)) }
                p class="report-meta" {
                    (int(item.answered, lang)) " " (t.report_answered)
                    @if let Some(m) = item.mean { " · " (t.report_mean) " " (num(m, 2, lang)) }
                }
                (scroll(item.label.get(lang), share_table(&item.shares, lang)))
            }
            @if q.kind == "text" { p class="report-note" { (t.report_text_note) } }
        }
    }
}

fn share_table(shares: &[Share], lang: Lang) -> Markup {
    let t = lang.t();
    let c = lang.census();
    // Weighted beside unweighted, when the report is weighted.
    let weighted = shares.iter().any(|s| s.weighted_pct.is_some());
    html! {
        table class="report-table" {
            thead { tr {
                th scope="col" { (t.report_option) }
                th scope="col" class="n" { (t.report_count) }
                th scope="col" class="n" { (t.report_percent) }
                th scope="col" class="n" { (t.report_ci) }
                @if weighted {
                    th scope="col" class="n" { (c.weighted_pct) }
                    th scope="col" class="n wrap" { (c.weighted_ci) }
                }
            } }
            tbody { @for s in shares { tr {
                th scope="row" { (s.label.get(lang)) }
                td class="n" { (int(s.count, lang)) }
                td class="n" { (s.pct.map_or("–".into(), |p| pct(p, lang))) }
                td class="n ci" { (interval(s.ci95, |x| pct(x, lang))) }
                @if weighted {
                    td class="n" { (s.weighted_pct.map_or("–".into(), |p| pct(p, lang))) }
                    td class="n ci" { (interval(s.weighted_ci95, |x| pct(x, lang))) }
                }
            } } }
        }
    }
}

/// The class of a bar length in percent (`w-0` … `w-100`), rounded.
fn width_class(prefix: &str, pct: f64) -> String {
    format!("{prefix}-{}", pct.clamp(0.0, 100.0).round() as u8)
}

/// One labelled bar: its text, the bar (with the 95% interval as a whisker when given)
/// and its value, read in that order by everyone.
fn bar(label: &str, pct_value: Option<f64>, ci: Option<(f64, f64)>, value: &str) -> Markup {
    let p = pct_value.unwrap_or(0.0);
    html! {
        li {
            span class="bar-label" { (label) }
            span class="bar-line" {
                span class="bar-track" aria-hidden="true" {
                    span class=(format!("bar-fill {}", width_class("w", p))) {}
                    @if let Some((lo, hi)) = ci {
                        span class=(format!("bar-ci {} {}", width_class("l", lo), width_class("w", hi - lo))) {}
                    }
                }
                span class="bar-value" { (value) }
            }
        }
    }
}

/// Horizontal bars, percent of those who answered, each with its option and value.
fn share_chart(shares: &[Share], lang: Lang) -> Markup {
    let t = lang.t();
    html! {
        figure class="report-bars" {
            figcaption class="report-meta" { (t.report_bar_caption) }
            ul {
                @for s in shares {
                    (bar(s.label.get(lang), s.pct, s.ci95, &s.pct.map_or("–".into(), |p| pct(p, lang))))
                }
            }
        }
    }
}

/// Columns with the count on top, the value range below, the axes titled.
fn histogram(h: &Histogram, question: &str, lang: Lang) -> Markup {
    let t = lang.t();
    let top = h.bins.iter().map(|b| b.count).max().unwrap_or(1).max(1) as f64;
    html! {
        p class="report-meta" {
            (t.report_mean) " " (num(h.mean, 1, lang)) " · " (t.report_median) " " (num(h.median, 1, lang))
            " · " (h.min) "–" (h.max)
            @if let Some(m) = h.weighted_mean { " · " (lang.census().weighted_mean) " " (num(m, 1, lang)) }
        }
        figure class="report-hist" {
            figcaption class="report-meta" { (question) }
            p class="hist-y" { (t.report_axis_respondents) " (n)" }
            ol class="hist-cols" {
                @for b in &h.bins {
                    @let range = if b.from == b.to { b.from.to_string() } else { format!("{}–{}", b.from, b.to) };
                    li {
                        span class="hist-count" { (int(b.count, lang)) }
                        span class="hist-area" aria-hidden="true" {
                            span class=(format!("hist-bar {}", width_class("h", b.count as f64 / top * 100.0))) {}
                        }
                        span class="hist-x" { (range) }
                    }
                }
            }
            p class="hist-xtitle" { (t.report_axis_value) }
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

/// The label of a cross-tab's row variable and its "by …" phrase.
fn crosstab_by(c: &Crosstab, lang: Lang) -> (&'static str, &'static str) {
    let w = lang.weights();
    if c.by == "classe_cceb" {
        (w.cceb_class, w.by_cceb)
    } else {
        (w.income_class, w.by_income)
    }
}

fn crosstab(c: &Crosstab, lang: Lang) -> Markup {
    let w = lang.weights();
    let c_t = lang.census();
    let (row_label, by) = crosstab_by(c, lang);
    let title = format!("{} — {by}", c.text.get(lang));
    html! {
        article class="report-question" {
            h3 { (title) }
            @if c.weighted.is_some() { p class="report-meta" { (w.crosstab_unweighted) } }
            (scroll(&title, html! {
                table class="report-table" {
                    thead { tr {
                        th scope="col" { (row_label) }
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
                                    @if total > 0 { " " span class="report-pct" { "(" (locale::percent(*k as f64 / total as f64 * 100.0, 0, lang.is_english())) ")" } }
                                }
                            }
                            td class="n" { (int(total, lang)) }
                        }
                    } }
                }
            }))
            (chi_square(c.chi_square.as_ref(), lang))
            @if let Some(wt) = &c.weighted {
                @let wtitle = format!("{title} — {}", w.crosstab_weighted);
                p class="report-meta" { (w.crosstab_weighted) }
                (scroll(&wtitle, html! {
                    table class="report-table" {
                        thead { tr {
                            th scope="col" { (row_label) }
                            @for col in &c.cols { th scope="col" class="n" { (col.get(lang)) } }
                            th scope="col" class="n" { "n" }
                            th scope="col" class="n" { (c_t.n_eff) }
                        } }
                        tbody { @for (i, row) in c.rows.iter().enumerate() {
                            tr {
                                th scope="row" { (row) }
                                @for p in wt.row_pct.get(i).map_or(&[][..], Vec::as_slice) {
                                    td class="n" { (p.map_or("–".into(), |p| locale::percent(p, 0, lang.is_english()))) }
                                }
                                td class="n" { (int(wt.n.get(i).copied().unwrap_or(0), lang)) }
                                td class="n" { (wt.n_eff.get(i).copied().flatten().map_or("–".into(), |x| num(x, 1, lang))) }
                            }
                        } }
                    }
                }))
            }
        }
    }
}

fn bairros(r: &Report, lang: Lang) -> Markup {
    let t = lang.t();
    let weighted = r.weighting.status == WeightingStatus::Weighted;
    html! {
        section aria-labelledby="r-bairros" {
            h2 id="r-bairros" { (t.report_bairros) }
            (scroll(t.report_bairros, html! {
                table class="report-table" {
                    thead { tr {
                        th scope="col" { (t.report_bairro) }
                        th scope="col" class="n" { (t.report_respondents) }
                        th scope="col" class="n" { (t.report_completes) }
                        th scope="col" class="n wrap" { (t.report_intent_top2) " (%)" }
                        th scope="col" class="n" { (t.report_ci) }
                    } }
                    tbody { @for b in &r.bairros { tr {
                        th scope="row" { (b.bairro) }
                        td class="n" { (int(b.respondents, lang)) }
                        td class="n" { (int(b.completes, lang)) }
                        td class="n" { (b.intent_top2_pct.map_or("–".into(), |p| pct(p, lang))) }
                        td class="n ci" { (interval(b.intent_top2_ci95, |x| pct(x, lang))) }
                    } } }
                }
            }))
            // Weighted beside, in a table of its own: the bairro table stays within a
            // printed page.
            @if weighted {
                @let title = format!("{} — {}", t.report_bairros, lang.weights().intent_weighted);
                p class="report-meta" { (title) }
                (scroll(&title, html! {
                    table class="report-table" {
                        thead { tr {
                            th scope="col" { (t.report_bairro) }
                            th scope="col" class="n" { "n" }
                            th scope="col" class="n wrap" { (lang.weights().intent_weighted) }
                            th scope="col" class="n wrap" { (lang.census().weighted_ci) }
                            th scope="col" class="n" { (lang.census().n_eff) }
                        } }
                        tbody { @for b in &r.bairros { tr {
                            th scope="row" { (b.bairro) }
                            td class="n" { (b.weighted_n.map_or("–".into(), |n| int(n, lang))) }
                            td class="n" { (b.weighted_intent_top2_pct.map_or("–".into(), |p| pct(p, lang))) }
                            td class="n ci" { (interval(b.weighted_intent_top2_ci95, |x| pct(x, lang))) }
                            td class="n" { (b.weighted_n_eff.map_or("–".into(), |x| num(x, 1, lang))) }
                        } } }
                    }
                }))
            }
            @if r.bairros_suppressed > 0 {
                p class="report-note" {
                    (int(r.bairros_suppressed as u64, lang)) " " (t.report_bairros_hidden.replace("{min}", &r.min_cell.to_string()))
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
                    td class="n ci" { (interval(Some(*ci95), |x| money(x, lang))) }
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
    // Weighted figures are in the weighting section: these say they are not.
    let plain = if r.weighting.status == WeightingStatus::Weighted {
        format!(" {}", lang.weights().unweighted_suffix)
    } else {
        String::new()
    };
    html! {
        section aria-labelledby="r-market" class="report-market" {
            h2 id="r-market" { (t.report_market) }
            p class="report-meta" { (lang.census().households_source) ": " (households_source(r, lang)) }
            @if matches!(r.households_source, HouseholdsSource::Census { illustrative: true, .. }) {
                p class="report-note" { strong { (lang.census().illustrative) } }
            }
            @if let Some(why) = &m.unavailable {
                p { (t.report_unavailable) ": " (why) }
            }
            @if let Some(e) = &m.estimate {
                h3 { (t.report_spend) (plain) }
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
                    h3 { (t.report_by_class) " (" (t.report_scenario_mid) ")" (plain) }
                    (scroll(t.report_by_class, group_table(t.report_class, &mid.by_income_class, lang, str::to_string)))
                    h3 { (t.report_by_bairro) " (" (t.report_scenario_mid) ")" (plain) }
                    (scroll(t.report_by_bairro, group_table(t.report_bairro, &reported_first(mid), lang, str::to_string)))
                }
                @if m.households_given {
                    @if !plain.is_empty() { p class="report-meta" { (t.report_market_monthly) (plain) } }
                    (scroll(t.report_market_monthly, html! { table class="report-table report-market-table" {
                        thead { tr {
                            th scope="col" { (t.report_scenario) }
                            th scope="col" class="n wrap" { (t.report_market_monthly) }
                            th scope="col" class="n" { (t.report_ci) }
                            th scope="col" class="n wrap" { (t.report_potential) }
                            th scope="col" class="n" { (t.report_ci) }
                        } }
                        tbody { @for s in &e.scenarios { tr {
                            th scope="row" { (scenario_name(s.scenario, t)) }
                            td class="n" { (s.market_monthly.map_or("–".into(), |x| money(x, lang))) }
                            td class="n ci" { (interval(s.market_ci95, |x| money(x, lang))) }
                            td class="n" { (s.potential_monthly.map_or("–".into(), |x| money(x, lang))) }
                            td class="n ci" { (interval(s.potential_ci95, |x| money(x, lang))) }
                        } } }
                    } }))
                    p { (t.report_capture) ": " (e.capture.share.map_or("–".into(), |s| pct(s * 100.0, lang))) }
                } @else {
                    p class="report-note" { (t.report_households_missing) }
                }
                h3 { (t.report_assumptions) }
                ul class="report-assumptions" { @for a in (if lang.is_english() { &e.assumptions } else { &e.premissas }) { li { (a) } } }
            }
        }
    }
}

/// Where the market's households come from, in words.
pub(crate) fn households_source(r: &Report, lang: Lang) -> String {
    let c = lang.census();
    match &r.households_source {
        HouseholdsSource::None => c.source_none.to_string(),
        HouseholdsSource::Analyst => c.source_analyst.to_string(),
        HouseholdsSource::File { name } => format!("{} {name}", c.source_file),
        HouseholdsSource::Census { imported_at, .. } => c
            .source_census
            .replace("{at}", &r.zone.datetime(*imported_at, lang.is_english())),
    }
}

/// The weighting section: status, the weights' effect, each margin's target against
/// achieved, the weighted intent and market beside the unweighted ones, the assumptions.
fn weighting(r: &Report, lang: Lang) -> Markup {
    let c = lang.census();
    let t = lang.t();
    let w = &r.weighting;
    html! {
        section aria-labelledby="r-weighting" class="report-weighting" {
            h2 id="r-weighting" { (c.weighting) }
            @match w.status {
                WeightingStatus::NoCensus => p class="report-note" { (c.no_census) },
                WeightingStatus::Failed => p class="report-warning" role="note" {
                    strong { (lang.weights().warning) ": " } (c.failed) " "
                    (if lang.is_english() { w.failure.as_deref() } else { w.failure_pt.as_deref() }.unwrap_or(""))
                },
                WeightingStatus::Weighted => {
                    @if w.census.as_ref().is_some_and(|i| i.illustrative) {
                        p class="report-note" { strong { (c.illustrative) } }
                    }
                    p class="report-note" { (c.weighted_note) }
                    @if let Some(g) = &w.margins_gap {
                        p class="report-warning" role="note" {
                            strong { (lang.weights().warning) ": " }
                            (if lang.is_english() { &g.warning } else { &g.aviso })
                        }
                    }
                    @if let Some(s) = &w.summary {
                        dl class="report-facts" {
                            dt { (c.weighted_base) } dd { (int(s.n as u64, lang)) }
                            dt { (c.n_eff) } dd { (num(s.n_eff, 1, lang)) }
                            dt { (c.deff) } dd { (num(s.deff, 2, lang)) }
                            @if let Some((lo, hi)) = w.weight_range {
                                dt { (c.weights_range) } dd { (num(lo, 2, lang)) " – " (num(hi, 2, lang)) }
                            }
                        }
                    }
                    @if let Some(i) = &w.intent_top2 {
                        h3 { (c.intent_top2) }
                        (scroll(c.intent_top2, html! { table class="report-table" {
                            thead { tr {
                                th scope="col" { (c.unweighted) " (%)" }
                                th scope="col" class="n" { (c.weighted) " (%)" }
                                th scope="col" class="n wrap" { (c.weighted_ci) }
                                th scope="col" class="n" { (c.n_eff) }
                                th scope="col" class="n" { (c.deff) }
                            } }
                            tbody { tr {
                                td class="n" { (pct(i.unweighted_pct, lang)) }
                                td class="n" { (pct(i.weighted_pct, lang)) }
                                td class="n ci" { (interval(Some(i.ci95), |x| pct(x, lang))) }
                                td class="n" { (num(i.n_eff, 1, lang)) }
                                td class="n" { (num(i.deff, 2, lang)) }
                            } }
                        } }))
                    }
                    @if let Some(m) = &w.market {
                        h3 { (c.market_title) }
                        (scroll(c.market_title, html! { table class="report-table" {
                            thead { tr {
                                th scope="col" { (c.measure) }
                                th scope="col" class="n" { (c.unweighted) }
                                th scope="col" class="n" { (c.weighted) }
                                th scope="col" class="n wrap" { (t.report_ci) }
                            } }
                            tbody {
                                tr {
                                    th scope="row" { (c.spend_mean) }
                                    td class="n" { (money(m.spend.unweighted, lang)) }
                                    td class="n" { (money(m.spend.weighted, lang)) }
                                    td class="n ci" { (interval(Some(m.spend.ci95), |x| money(x, lang))) }
                                }
                                @if let Some(mm) = m.market_monthly {
                                    tr {
                                        th scope="row" { (c.market) }
                                        td class="n" { (unweighted_market(r).map_or("–".into(), |x| money(x, lang))) }
                                        td class="n" { (money(mm, lang)) }
                                        td class="n ci" { (interval(m.market_ci95, |x| money(x, lang))) }
                                    }
                                }
                                @if let Some(p) = m.potential_monthly {
                                    tr {
                                        th scope="row" { (c.potential) }
                                        td class="n" { (unweighted_potential(r).map_or("–".into(), |x| money(x, lang))) }
                                        td class="n" { (money(p, lang)) }
                                        td class="n ci" { (interval(m.potential_ci95, |x| money(x, lang))) }
                                    }
                                }
                            }
                        } }))
                        p class="report-meta" {
                            "n " (int(m.spend.n, lang)) " · " (c.n_eff) " " (num(m.spend.n_eff, 1, lang))
                            " · " (c.deff) " " (num(m.spend.deff, 2, lang))
                        }
                    }
                    (weighted_spend(r, lang))
                    @if !w.margins.is_empty() {
                        h3 { (c.margins_title) }
                        (scroll(c.margins_title, html! { table class="report-table" {
                            thead { tr {
                                th scope="col" { (c.margin) }
                                th scope="col" { (c.category) }
                                th scope="col" class="n" { (c.responses) }
                                th scope="col" class="n wrap" { (c.sample_pct) }
                                th scope="col" class="n wrap" { (c.target_pct) }
                                th scope="col" class="n wrap" { (c.achieved_pct) }
                            } }
                            tbody { @for m in &w.margins { tr {
                                td { (m.margin) }
                                th scope="row" { (m.category) }
                                td class="n" { (int(m.responses, lang)) }
                                td class="n" { (pct(m.unweighted_pct, lang)) }
                                td class="n" { (pct(m.target_pct, lang)) }
                                td class="n" { (pct(m.achieved_pct, lang)) }
                            } } }
                        } }))
                    }
                }
            }
            h3 { (c.assumptions) }
            ul class="report-assumptions" { @for a in (if lang.is_english() { &w.assumptions } else { &w.premissas }) { li { (a) } } }
        }
    }
}

/// Weighted spend, market and potential per scenario, and mean spend by class and
/// bairro, each beside its unweighted value.
fn weighted_spend(r: &Report, lang: Lang) -> Markup {
    let w = &r.weighting;
    let x = lang.weights();
    let c = lang.census();
    let t = lang.t();
    html! {
        @if !w.scenarios.is_empty() {
            h3 { (x.scenarios_title) }
            (scroll(x.scenarios_title, html! { table class="report-table" {
                thead { tr {
                    th scope="col" { (x.scenario) }
                    th scope="col" class="n" { "n" }
                    th scope="col" class="n wrap" { (x.mean_unweighted) }
                    th scope="col" class="n wrap" { (x.mean_weighted) }
                    th scope="col" class="n wrap" { (x.ci_linear) }
                    th scope="col" class="n" { (c.n_eff) }
                    th scope="col" class="n wrap" { (x.market_weighted) }
                    th scope="col" class="n wrap" { (x.potential_weighted) }
                } }
                tbody { @for s in &w.scenarios { tr {
                    th scope="row" { (scenario_name(s.scenario, t)) }
                    (group_cells(&s.spend, lang))
                    td class="n" { (s.market_monthly.map_or("–".into(), |m| money(m, lang))) }
                    td class="n" { (s.potential_monthly.map_or("–".into(), |m| money(m, lang))) }
                } } }
            } }))
        }
        @for (title, groups) in [
            (x.groups_title_income, &w.by_income_class),
            (x.groups_title_cceb, &w.by_cceb_class),
            (x.groups_title_bairro, &w.by_bairro),
        ] {
            @if !groups.is_empty() {
                h3 { (title) }
                (scroll(title, html! { table class="report-table" {
                    thead { tr {
                        th scope="col" { (x.group) }
                        th scope="col" class="n" { "n" }
                        th scope="col" class="n wrap" { (x.mean_unweighted) }
                        th scope="col" class="n wrap" { (x.mean_weighted) }
                        th scope="col" class="n wrap" { (x.ci_linear) }
                        th scope="col" class="n" { (c.n_eff) }
                    } }
                    tbody { @for g in groups.iter() { tr {
                        th scope="row" { (g.group) }
                        (group_cells(g, lang))
                    } } }
                } }))
            }
        }
    }
}

/// n, unweighted mean, weighted mean, its interval and effective n; or the suppression.
fn group_cells(g: &WeightedGroup, lang: Lang) -> Markup {
    html! {
        @if g.suppressed {
            td class="n" colspan="5" { (lang.weights().suppressed) }
        } @else {
            td class="n" { (int(g.n, lang)) }
            td class="n" { (g.unweighted_mean.map_or("–".into(), |m| money(m, lang))) }
            td class="n" { (g.weighted_mean.map_or("–".into(), |m| money(m, lang))) }
            td class="n ci" { (interval(g.ci95, |v| money(v, lang))) }
            td class="n" { (g.n_eff.map_or("–".into(), |v| num(v, 1, lang))) }
        }
    }
}

/// The unweighted Mid-scenario market and potential, for the weighted table.
fn unweighted_market(r: &Report) -> Option<f64> {
    r.market
        .estimate
        .as_ref()?
        .scenario(Scenario::Mid)?
        .market_monthly
}

fn unweighted_potential(r: &Report) -> Option<f64> {
    r.market
        .estimate
        .as_ref()?
        .scenario(Scenario::Mid)?
        .potential_monthly
}

/// The first section: who answered, intent, market and potential with their
/// intervals under the middle scenario, and the caveats a reader must keep in mind.
fn summary(r: &Report, lang: Lang) -> Markup {
    let t = lang.t();
    let estimate = r.market.estimate.as_ref();
    let mid = estimate.and_then(|e| e.scenario(Scenario::Mid));
    let mid_name = scenario_name(Scenario::Mid, t);
    let with_ci = |value: String, ci: String| format!("{value} ({} {ci})", t.report_interval_of);
    html! {
        section aria-labelledby="r-summary" class="report-summary" {
            h2 id="r-summary" { (t.report_summary) }
            dl class="report-kpis" {
                div { dt { (t.report_respondents) } dd { (int(r.respondents, lang)) } }
                div { dt { (t.report_completes) } dd { (int(r.completes, lang)) } }
                @if r.screened_out > 0 {
                    div { dt { (t.report_screened_out) } dd { (int(r.screened_out, lang)) } }
                }
                @if let Some(p) = r.intent_top2_pct {
                    div { dt { (t.report_intent_top2) } dd { (with_ci(pct(p, lang), interval(r.intent_top2_ci95, |x| pct(x, lang)))) } }
                }
                @if r.market.households_given {
                    @if let Some(s) = mid {
                        @if let Some(m) = s.market_monthly {
                            div { dt { (t.report_market_monthly) " · " (t.report_scenario) " " (mid_name) }
                                  dd { (with_ci(money(m, lang), interval(s.market_ci95, |x| money(x, lang)))) } }
                        }
                        @if let Some(p) = s.potential_monthly {
                            div { dt { (t.report_potential) " · " (t.report_scenario) " " (mid_name) }
                                  dd { (with_ci(money(p, lang), interval(s.potential_ci95, |x| money(x, lang)))) } }
                        }
                    }
                }
            }
            @if !r.market.households_given {
                p class="report-note" { (t.report_summary_no_households) }
            }
            h3 { (t.report_caveats) }
            ul class="report-caveats" {
                li { (t.report_caveat_sample.replace("{n}", &int(r.respondents, lang)).replace("{c}", &int(r.completes, lang))) }
                li { (t.report_caveat_self_selection) }
                @if let Some(e) = estimate {
                    @if let Some(share) = e.capture.share {
                        li { (t.report_caveat_capture
                            .replace("{share}", &pct(share * 100.0, lang))
                            .replace("{source}", match e.capture.source {
                                CaptureSource::Given => t.report_capture_given,
                                CaptureSource::PurchaseIntent => t.report_capture_intent,
                            })) }
                    }
                }
            }
        }
    }
}

/// Where respondents shop today: mentions of at least the minimum cell only.
fn competitors(c: &Competitors, lang: Lang) -> Markup {
    let t = lang.t();
    let m = &c.mentions;
    html! {
        section aria-labelledby="r-competitors" class="report-competitors" {
            h2 id="r-competitors" { (t.report_competitors) }
            p class="report-meta" { (c.text.get(lang)) " · " (int(m.answered, lang)) " " (t.report_answered) }
            @if !m.top.is_empty() {
                figure class="report-bars" {
                    figcaption class="report-meta" { (t.report_mention) ": % " (t.report_answered) " (n)" }
                    ul { @for x in &m.top {
                        @let p = x.count as f64 / m.answered.max(1) as f64 * 100.0;
                        (bar(&x.label, Some(p), None, &format!("{} ({})", pct(p, lang), int(x.count, lang))))
                    } }
                }
            }
            p class="report-note" {
                (t.report_competitors_note.replace("{min}", &int(m.min_count, lang)).replace("{rare}", &int(m.rare, lang)))
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
        assert_eq!(money(1234.4, Lang::Pt), "R$\u{a0}1.234,40");
        assert_eq!(pct(25.44, Lang::Pt), "25,4\u{a0}%");
        assert_eq!(p_value(0.0001, Lang::Pt), "< 0,001");
        assert_eq!(p_value(0.3734, Lang::En), "= 0.373");
    }
}
