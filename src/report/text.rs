//! The report as plain text for a terminal (`pesquisa report --format text`): the same
//! numbers as the HTML, aligned in columns, no colours (it is often piped to a file).

use std::fmt::Write;

use super::html::{int, interval, money, num, scenario_name};
use super::model::{Crosstab, Report, Share};
use super::weighted::{WeightedGroup, WeightingStatus};
use crate::i18n::Lang;
use crate::stats::Scenario;
use crate::stats::market::GroupResult;

/// Left-aligned first column, right-aligned others, two spaces between columns.
fn table(out: &mut String, head: &[&str], rows: &[Vec<String>]) {
    let cols = head.len();
    let width = |i: usize| {
        rows.iter()
            .filter_map(|r| r.get(i))
            .chain(head.get(i).map(|h| h.to_string()).as_ref())
            .map(|c| c.chars().count())
            .max()
            .unwrap_or(0)
    };
    let widths: Vec<usize> = (0..cols).map(width).collect();
    let line = |out: &mut String, cells: &[String]| {
        for (i, c) in cells.iter().enumerate() {
            let w = widths.get(i).copied().unwrap_or(0);
            let pad = w.saturating_sub(c.chars().count());
            if i == 0 {
                let _ = write!(out, "  {c}{}", " ".repeat(pad));
            } else {
                let _ = write!(out, "  {}{c}", " ".repeat(pad));
            }
        }
        out.push('\n');
    };
    line(out, &head.iter().map(|h| h.to_string()).collect::<Vec<_>>());
    for r in rows {
        line(out, r);
    }
}

fn shares(out: &mut String, s: &[Share], lang: Lang) {
    let t = lang.t();
    let c = lang.census();
    let weighted = s.iter().any(|s| s.weighted_pct.is_some());
    let rows: Vec<Vec<String>> = s
        .iter()
        .map(|s| {
            let mut row = vec![
                s.label.get(lang).to_string(),
                int(s.count, lang),
                s.pct.map_or("–".into(), |p| num(p, 1, lang)),
                interval(s.ci95, |x| num(x, 1, lang)),
            ];
            if weighted {
                row.push(s.weighted_pct.map_or("–".into(), |p| num(p, 1, lang)));
                row.push(interval(s.weighted_ci95, |x| num(x, 1, lang)));
            }
            row
        })
        .collect();
    let mut head = vec![
        t.report_option,
        t.report_count,
        t.report_percent,
        t.report_ci,
    ];
    if weighted {
        head.extend([c.weighted_pct, c.weighted_ci]);
    }
    table(out, &head, &rows);
}

/// The weighting section: status, effect of the weights, margins, weighted market.
fn weighting(o: &mut String, r: &Report, lang: Lang) {
    let c = lang.census();
    let w = &r.weighting;
    let _ = writeln!(o, "\n== {} ==", c.weighting);
    match w.status {
        WeightingStatus::NoCensus => {
            let _ = writeln!(o, "{}", c.no_census);
        }
        WeightingStatus::Failed => {
            let why = if lang.is_english() {
                w.failure.as_deref()
            } else {
                w.failure_pt.as_deref()
            };
            let _ = writeln!(
                o,
                "{}: {} {}",
                lang.weights().warning.to_uppercase(),
                c.failed,
                why.unwrap_or("")
            );
        }
        WeightingStatus::Weighted => {
            if w.census.as_ref().is_some_and(|i| i.illustrative) {
                let _ = writeln!(o, "{}", c.illustrative);
            }
            let _ = writeln!(o, "{}", c.weighted_note);
            if let Some(g) = &w.margins_gap {
                let text = if lang.is_english() {
                    &g.warning
                } else {
                    &g.aviso
                };
                let _ = writeln!(o, "{}: {text}", lang.weights().warning.to_uppercase());
            }
            if let Some(s) = &w.summary {
                let _ = writeln!(
                    o,
                    "{}: {} · {}: {} · {}: {}",
                    c.weighted_base,
                    int(s.n as u64, lang),
                    c.n_eff,
                    num(s.n_eff, 1, lang),
                    c.deff,
                    num(s.deff, 2, lang)
                );
            }
            if let Some(i) = &w.intent_top2 {
                let _ = writeln!(
                    o,
                    "{}: {} {} %, {} {} % ({})",
                    c.intent_top2,
                    c.unweighted,
                    num(i.unweighted_pct, 1, lang),
                    c.weighted,
                    num(i.weighted_pct, 1, lang),
                    interval(Some(i.ci95), |x| num(x, 1, lang))
                );
            }
            if let Some(m) = &w.market {
                let _ = writeln!(o, "{}", c.market_title);
                let mut rows = vec![vec![
                    c.spend_mean.to_string(),
                    money(m.spend.unweighted, lang),
                    money(m.spend.weighted, lang),
                    interval(Some(m.spend.ci95), |x| money(x, lang)),
                ]];
                if let Some(mm) = m.market_monthly {
                    rows.push(vec![
                        c.market.to_string(),
                        String::new(),
                        money(mm, lang),
                        interval(m.market_ci95, |x| money(x, lang)),
                    ]);
                }
                table(
                    o,
                    &[c.measure, c.unweighted, c.weighted, lang.t().report_ci],
                    &rows,
                );
            }
            weighted_spend(o, r, lang);
            let rows: Vec<Vec<String>> = w
                .margins
                .iter()
                .map(|m| {
                    vec![
                        format!("{} / {}", m.margin, m.category),
                        int(m.responses, lang),
                        num(m.unweighted_pct, 1, lang),
                        num(m.target_pct, 1, lang),
                        num(m.achieved_pct, 1, lang),
                    ]
                })
                .collect();
            let _ = writeln!(o, "{}", c.margins_title);
            table(
                o,
                &[
                    c.margin,
                    c.responses,
                    c.sample_pct,
                    c.target_pct,
                    c.achieved_pct,
                ],
                &rows,
            );
        }
    }
    let _ = writeln!(o, "{}:", c.assumptions);
    let list = if lang.is_english() {
        &w.assumptions
    } else {
        &w.premissas
    };
    for a in list {
        let _ = writeln!(o, "  - {a}");
    }
}

/// One cross-tab: counts, the test, and the weighted row percentages when weighted.
fn crosstab(o: &mut String, c: &Crosstab, lang: Lang) {
    let t = lang.t();
    let w = lang.weights();
    let (row_label, by) = if c.by == "classe_cceb" {
        (w.cceb_class, w.by_cceb)
    } else {
        (w.income_class, w.by_income)
    };
    let _ = writeln!(o, "\n{} — {by}", c.text.get(lang));
    if c.weighted.is_some() {
        let _ = writeln!(o, "{}", w.crosstab_unweighted);
    }
    let mut head = vec![row_label];
    head.extend(c.cols.iter().map(|l| l.get(lang)));
    let rows: Vec<_> = c
        .rows
        .iter()
        .zip(&c.counts)
        .map(|(r, k)| {
            let mut row = vec![r.clone()];
            row.extend(k.iter().map(|n| int(*n, lang)));
            row
        })
        .collect();
    table(o, &head, &rows);
    match &c.chi_square {
        Some(x) => {
            let _ = writeln!(
                o,
                "  χ² = {}, df = {}, p = {}, V = {}{}",
                num(x.statistic, 2, lang),
                x.df,
                num(x.p_value, 4, lang),
                num(x.cramers_v, 3, lang),
                if x.low_expected_warning { " (!)" } else { "" }
            );
        }
        None => {
            let _ = writeln!(o, "  {}", t.report_chi_none);
        }
    }
    if let Some(wt) = &c.weighted {
        let _ = writeln!(o, "{}", w.crosstab_weighted);
        let mut head = vec![row_label];
        head.extend(c.cols.iter().map(|l| l.get(lang)));
        head.extend(["n", lang.census().n_eff]);
        let rows: Vec<_> = c
            .rows
            .iter()
            .enumerate()
            .map(|(i, r)| {
                let mut row = vec![r.clone()];
                if let Some(ps) = wt.row_pct.get(i) {
                    row.extend(ps.iter().map(|p| p.map_or("–".into(), |p| num(p, 1, lang))));
                }
                row.push(int(wt.n.get(i).copied().unwrap_or(0), lang));
                row.push(
                    wt.n_eff
                        .get(i)
                        .copied()
                        .flatten()
                        .map_or("–".into(), |x| num(x, 1, lang)),
                );
                row
            })
            .collect();
        table(o, &head, &rows);
    }
}

/// Weighted spend per scenario and by group, beside the unweighted means.
fn weighted_spend(o: &mut String, r: &Report, lang: Lang) {
    let w = &r.weighting;
    let x = lang.weights();
    let c = lang.census();
    let cells = |g: &WeightedGroup| -> Vec<String> {
        if g.suppressed {
            return vec![x.suppressed.to_string()];
        }
        vec![
            int(g.n, lang),
            g.unweighted_mean.map_or("–".into(), |m| money(m, lang)),
            g.weighted_mean.map_or("–".into(), |m| money(m, lang)),
            interval(g.ci95, |v| money(v, lang)),
            g.n_eff.map_or("–".into(), |v| num(v, 1, lang)),
        ]
    };
    if !w.scenarios.is_empty() {
        let _ = writeln!(o, "{}", x.scenarios_title);
        let rows: Vec<_> = w
            .scenarios
            .iter()
            .map(|s| {
                let mut row = vec![scenario_name(s.scenario, lang.t()).to_string()];
                row.extend(cells(&s.spend));
                row.push(s.market_monthly.map_or("–".into(), |m| money(m, lang)));
                row.push(s.potential_monthly.map_or("–".into(), |m| money(m, lang)));
                row
            })
            .collect();
        table(
            o,
            &[
                x.scenario,
                "n",
                x.mean_unweighted,
                x.mean_weighted,
                x.ci_linear,
                c.n_eff,
                x.market_weighted,
                x.potential_weighted,
            ],
            &rows,
        );
    }
    for (title, groups) in [
        (x.groups_title_income, &w.by_income_class),
        (x.groups_title_cceb, &w.by_cceb_class),
        (x.groups_title_bairro, &w.by_bairro),
    ] {
        if groups.is_empty() {
            continue;
        }
        let _ = writeln!(o, "{title}");
        let rows: Vec<_> = groups
            .iter()
            .map(|g| {
                let mut row = vec![g.group.clone()];
                row.extend(cells(g));
                row
            })
            .collect();
        table(
            o,
            &[
                x.group,
                "n",
                x.mean_unweighted,
                x.mean_weighted,
                x.ci_linear,
                c.n_eff,
            ],
            &rows,
        );
    }
}

fn group(label: &str, g: &GroupResult, lang: Lang) -> Vec<String> {
    match g {
        GroupResult::Reported { n, mean, ci95 } => vec![
            label.to_string(),
            int(*n as u64, lang),
            money(*mean, lang),
            interval(Some(*ci95), |x| money(x, lang)),
        ],
        GroupResult::Suppressed => vec![
            label.to_string(),
            lang.t().report_suppressed.into(),
            String::new(),
            String::new(),
        ],
    }
}

/// The whole report as text.
pub fn render(r: &Report, lang: Lang) -> String {
    let t = lang.t();
    let mut o = String::new();
    let _ = writeln!(
        o,
        "{} – {} ({} v{})",
        t.report_title,
        r.title.get(lang),
        r.survey_id,
        r.survey_version
    );
    let _ = writeln!(o, "{}: {}", t.report_generated, r.generated_at);
    let _ = writeln!(o, "{}: {}", t.report_respondents, int(r.respondents, lang));
    let _ = writeln!(o, "{}: {}", t.report_completes, int(r.completes, lang));
    if r.screened_out > 0 {
        let _ = writeln!(
            o,
            "{}: {}",
            t.report_screened_out,
            int(r.screened_out, lang)
        );
    }
    let _ = writeln!(o, "{}\n", t.report_base_note);
    if let Some(f) = &r.sample_flow {
        super::flow::text(f, lang, &mut o);
    }
    if r.respondents == 0 {
        let _ = writeln!(o, "{}", t.report_no_data);
        return o;
    }
    let _ = writeln!(o, "== {} ==", t.report_market);
    let _ = writeln!(
        o,
        "{}: {}",
        lang.census().households_source,
        super::html::households_source(r, lang)
    );
    if let Some(why) = &r.market.unavailable {
        let _ = writeln!(o, "{}: {why}", t.report_unavailable);
    }
    let plain = if r.weighting.status == WeightingStatus::Weighted {
        format!(" {}", lang.weights().unweighted_suffix)
    } else {
        String::new()
    };
    if let Some(e) = &r.market.estimate {
        let _ = writeln!(o, "{}{plain}", t.report_spend);
        let rows: Vec<Vec<String>> = e
            .scenarios
            .iter()
            .map(|s| group(scenario_name(s.scenario, t), &s.overall.result, lang))
            .collect();
        table(
            &mut o,
            &[t.report_scenario, "n", t.report_mean, t.report_ci],
            &rows,
        );
        if let Some(mid) = e.scenario(Scenario::Mid) {
            let _ = writeln!(
                o,
                "{} ({}){plain}",
                t.report_by_class, t.report_scenario_mid
            );
            let rows: Vec<_> = mid
                .by_income_class
                .iter()
                .map(|g| group(&g.group, &g.result, lang))
                .collect();
            table(
                &mut o,
                &[t.report_class, "n", t.report_mean, t.report_ci],
                &rows,
            );
            let _ = writeln!(
                o,
                "{} ({}){plain}",
                t.report_by_bairro, t.report_scenario_mid
            );
            let rows: Vec<_> = mid
                .by_bairro
                .iter()
                .map(|g| group(&g.group, &g.result, lang))
                .collect();
            table(
                &mut o,
                &[t.report_bairro, "n", t.report_mean, t.report_ci],
                &rows,
            );
        }
        if r.market.households_given {
            let rows: Vec<_> = e
                .scenarios
                .iter()
                .map(|s| {
                    vec![
                        scenario_name(s.scenario, t).to_string(),
                        s.market_monthly.map_or("–".into(), |x| money(x, lang)),
                        s.potential_monthly.map_or("–".into(), |x| money(x, lang)),
                    ]
                })
                .collect();
            table(
                &mut o,
                &[
                    t.report_scenario,
                    t.report_market_monthly,
                    t.report_potential,
                ],
                &rows,
            );
            let share = e
                .capture
                .share
                .map_or("–".into(), |s| format!("{} %", num(s * 100.0, 1, lang)));
            let _ = writeln!(o, "{}: {share}", t.report_capture);
        } else {
            let _ = writeln!(o, "{}", t.report_households_missing);
        }
        let _ = writeln!(o, "{}:", t.report_assumptions);
        let list = if lang.is_english() {
            &e.assumptions
        } else {
            &e.premissas
        };
        for a in list {
            let _ = writeln!(o, "  - {a}");
        }
    }
    weighting(&mut o, r, lang);
    let _ = writeln!(o, "\n== {} ==", t.report_questions);
    for q in &r.questions {
        let _ = writeln!(
            o,
            "\n{} [{}] ({} {})",
            q.text.get(lang),
            q.key,
            int(q.answered, lang),
            t.report_answered
        );
        if !q.shares.is_empty() {
            shares(&mut o, &q.shares, lang);
        }
        if let Some(m) = q.mean {
            let _ = writeln!(o, "  {} {}", t.report_mean, num(m, 2, lang));
        }
        for item in &q.items {
            let mean = item
                .mean
                .map(|m| format!(" · {} {}", t.report_mean, num(m, 2, lang)))
                .unwrap_or_default();
            let _ = writeln!(
                o,
                "  {} ({} {}){mean}",
                item.label.get(lang),
                int(item.answered, lang),
                t.report_answered
            );
            shares(&mut o, &item.shares, lang);
        }
        if let Some(h) = &q.histogram {
            let _ = writeln!(
                o,
                "  {} {} · {} {} · {}–{}",
                t.report_mean,
                num(h.mean, 1, lang),
                t.report_median,
                num(h.median, 1, lang),
                h.min,
                h.max
            );
            let rows: Vec<_> = h
                .bins
                .iter()
                .map(|b| vec![format!("{}–{}", b.from, b.to), int(b.count, lang)])
                .collect();
            table(&mut o, &[t.report_range, t.report_count], &rows);
        }
    }
    let _ = writeln!(o, "\n== {} ==", lang.weights().crosstabs_title);
    for c in &r.crosstabs {
        crosstab(&mut o, c, lang);
    }
    let _ = writeln!(o, "\n== {} ==", t.report_bairros);
    let weighted = r.weighting.status == WeightingStatus::Weighted;
    let rows: Vec<_> = r
        .bairros
        .iter()
        .map(|b| {
            let mut row = vec![
                b.bairro.clone(),
                int(b.respondents, lang),
                int(b.completes, lang),
                b.intent_top2_pct.map_or("–".into(), |p| num(p, 1, lang)),
            ];
            if weighted {
                row.push(
                    b.weighted_intent_top2_pct
                        .map_or("–".into(), |p| num(p, 1, lang)),
                );
                row.push(b.weighted_n_eff.map_or("–".into(), |x| num(x, 1, lang)));
            }
            row
        })
        .collect();
    let mut head = vec![
        t.report_bairro,
        t.report_respondents,
        t.report_completes,
        t.report_intent_top2,
    ];
    if weighted {
        head.extend([lang.weights().intent_weighted, lang.census().n_eff]);
    }
    table(&mut o, &head, &rows);
    if r.bairros_suppressed > 0 {
        let _ = writeln!(
            o,
            "  {} {}",
            r.bairros_suppressed,
            t.report_bairros_hidden
                .replace("{min}", &r.min_cell.to_string())
        );
    }
    o
}
