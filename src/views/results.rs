//! The `/admin/results` page: a GET form of filters (dates, bairro, completes only) and
//! households, the filters in force with the base n, downloads carrying the same
//! filters, and the report's sections inside the site layout.

use maud::{Markup, html};

use super::Ctx;
use super::forms::{self, Errors};
use super::layout;
use crate::i18n::Lang;
use crate::report::query::{QueryError, RawQuery, ResultsQuery, field};
use crate::report::{Report, html as report_html};
use crate::stats::Households;

/// What the filter form shows.
pub struct FilterForm<'a> {
    /// The fields as typed.
    pub raw: &'a RawQuery,
    /// The choice in force; `None` when a field was wrong (the report is unfiltered).
    pub applied: Option<&'a ResultsQuery>,
    /// Each wrong field and why, in the form's order.
    pub errors: &'a [(&'static str, QueryError)],
    /// The configured bairros, the options of the bairro list.
    pub bairros: &'a [String],
    /// The query string the downloads repeat ("" for the unfiltered report).
    pub query: &'a str,
}

/// The words for a refused field.
pub fn error_message(lang: Lang, e: &QueryError) -> String {
    let t = lang.results();
    let line = |text: &str, n: usize| text.replace("{n}", &n.to_string());
    match e {
        QueryError::Date => t.err_date.into(),
        QueryError::Range => t.err_range.into(),
        QueryError::Bairro => t.err_bairro.into(),
        QueryError::Households => t.err_households.into(),
        QueryError::HouseholdsLine(n) => line(t.err_households_line, *n),
        QueryError::HouseholdsTwice(n) => line(t.err_households_twice, *n),
        QueryError::HouseholdsUnknownBairro(n) => line(t.err_households_unknown, *n),
        QueryError::HouseholdsEmpty => t.err_households_empty.into(),
        QueryError::HouseholdsBoth => t.err_households_both.into(),
    }
}

pub fn page(
    ctx: &Ctx,
    r: &Report,
    f: &FilterForm<'_>,
    quotas: &[crate::db::quotas::Fill],
) -> Markup {
    let t = ctx.lang.t();
    let mut errors = Errors::default();
    for (name, e) in f.errors {
        errors.add(name, error_message(ctx.lang, e));
    }
    let title = if errors.is_empty() {
        t.report_results.to_string()
    } else {
        format!("{} ({})", t.report_results, t.form_errors_title)
    };
    layout::page_with_css(
        ctx,
        &title,
        Some("css/report.css"),
        html! {
            div class="report" {
                h1 { (t.report_results) }
                (forms::error_summary(ctx.lang, &errors))
                (filter_form(ctx, f, &errors))
                (in_force(ctx, r, f))
                (super::quotas::fill_section(ctx.lang, quotas))
                (downloads(ctx.lang, f.query))
                (report_html::sections(r, ctx.lang))
            }
        },
    )
}

fn filter_form(ctx: &Ctx, f: &FilterForm<'_>, errors: &Errors) -> Markup {
    let t = ctx.lang.results();
    let zone_hint = t.date_hint.replace("{zone}", ctx.zone.name());
    let err = |name: &str| errors.get(name);
    let invalid = |name: &str| {
        if err(name).is_some() {
            "field invalid"
        } else {
            "field"
        }
    };
    let described = |name: &str, hint: Option<&str>| {
        let mut ids: Vec<String> = hint.map(|h| vec![h.to_string()]).unwrap_or_default();
        if err(name).is_some() {
            ids.push(format!("{name}-erro"));
        }
        (!ids.is_empty()).then(|| ids.join(" "))
    };
    let error_line = |name: &str| {
        html! { @if let Some(m) = err(name) { p class="field-error" id={ (name) "-erro" } { (m) } } }
    };
    html! {
        form method="get" action="/admin/results" class="report-filters" aria-labelledby="filtros-titulo" {
            h2 id="filtros-titulo" { (t.filters_title) }
            p class="hint" id="datas-dica" { (zone_hint) }
            div class="filter-grid" {
                div class=(invalid(field::FROM)) {
                    label for=(field::FROM) { (t.from) }
                    input type="date" id=(field::FROM) name=(field::FROM) value=(f.raw.from)
                        aria-invalid=[err(field::FROM).map(|_| "true")]
                        aria-describedby=[described(field::FROM, Some("datas-dica"))];
                    (error_line(field::FROM))
                }
                div class=(invalid(field::TO)) {
                    label for=(field::TO) { (t.to) }
                    input type="date" id=(field::TO) name=(field::TO) value=(f.raw.to)
                        aria-invalid=[err(field::TO).map(|_| "true")]
                        aria-describedby=[described(field::TO, Some("datas-dica"))];
                    (error_line(field::TO))
                }
                div class=(invalid(field::BAIRRO)) {
                    label for=(field::BAIRRO) { (t.bairro) }
                    select id=(field::BAIRRO) name=(field::BAIRRO)
                        aria-invalid=[err(field::BAIRRO).map(|_| "true")]
                        aria-describedby=[described(field::BAIRRO, None)] {
                        option value="" { (t.bairro_all) }
                        @for b in f.bairros {
                            option value=(b) selected[*b == f.raw.bairro] { (b) }
                        }
                    }
                    (error_line(field::BAIRRO))
                }
                div class=(invalid(field::HOUSEHOLDS)) {
                    label for=(field::HOUSEHOLDS) { (t.households) }
                    p class="hint" id="domicilios-dica" { (t.households_hint) }
                    input type="text" inputmode="numeric" id=(field::HOUSEHOLDS) name=(field::HOUSEHOLDS)
                        value=(f.raw.households) maxlength="20" autocomplete="off"
                        aria-invalid=[err(field::HOUSEHOLDS).map(|_| "true")]
                        aria-describedby=[described(field::HOUSEHOLDS, Some("domicilios-dica"))];
                    (error_line(field::HOUSEHOLDS))
                }
                div class=(invalid(field::HOUSEHOLDS_PER_BAIRRO)) {
                    label for=(field::HOUSEHOLDS_PER_BAIRRO) { (t.households_per_bairro) }
                    p class="hint" id="domicilios-bairro-dica" { (t.households_per_bairro_hint) }
                    textarea id=(field::HOUSEHOLDS_PER_BAIRRO) name=(field::HOUSEHOLDS_PER_BAIRRO)
                        rows="3" maxlength=(crate::report::query::MAX_HOUSEHOLDS_TEXT)
                        aria-invalid=[err(field::HOUSEHOLDS_PER_BAIRRO).map(|_| "true")]
                        aria-describedby=[described(field::HOUSEHOLDS_PER_BAIRRO, Some("domicilios-bairro-dica"))] {
                        (f.raw.households_per_bairro)
                    }
                    (error_line(field::HOUSEHOLDS_PER_BAIRRO))
                }
                div class="field filter-check" {
                    div class="choice" {
                        input type="checkbox" id=(field::COMPLETE_ONLY) name=(field::COMPLETE_ONLY) value="1"
                            checked[f.raw.complete_only];
                        label for=(field::COMPLETE_ONLY) { (t.complete_only) }
                    }
                    div class="choice" {
                        input type="checkbox" id=(field::EXCLUDE_FLAGGED) name=(field::EXCLUDE_FLAGGED) value="1"
                            aria-describedby="sem-alertas-dica"
                            checked[f.raw.exclude_flagged];
                        label for=(field::EXCLUDE_FLAGGED) { (ctx.lang.quality().exclude_flagged) }
                        p class="hint" id="sem-alertas-dica" { (ctx.lang.quality().exclude_flagged_hint) }
                    }
                }
            }
            div class="actions" {
                button type="submit" { (t.apply) }
                a class="button secondary" href="/admin/results" { (t.clear) }
            }
        }
    }
}

/// A chosen day as the reader writes it.
fn day(d: chrono::NaiveDate, lang: Lang) -> String {
    if lang.is_english() {
        d.format("%Y-%m-%d").to_string()
    } else {
        d.format("%d/%m/%Y").to_string()
    }
}

/// The filters the figures below were computed with, and the base n.
fn in_force(ctx: &Ctx, r: &Report, f: &FilterForm<'_>) -> Markup {
    let lang = ctx.lang;
    let t = lang.results();
    let mut parts: Vec<String> = Vec::new();
    if let Some(q) = f.applied {
        if let Some(d) = q.from {
            parts.push(format!("{} {}", t.from, day(d, lang)));
        }
        if let Some(d) = q.to {
            parts.push(format!("{} {}", t.to, day(d, lang)));
        }
        if let Some(b) = &q.filters.bairro {
            parts.push(format!("{}: {b}", t.bairro));
        }
        if q.filters.complete_only {
            parts.push(t.complete_only.to_string());
        }
        if q.filters.exclude_flagged {
            parts.push(lang.quality().exclude_flagged.to_string());
        }
        match &q.households {
            Some(Households::Total(n)) => parts.push(
                t.households_in_force
                    .replace("{n}", &report_html::int(*n, lang)),
            ),
            Some(Households::PerBairro(map)) => parts.push(
                t.households_bairros_in_force
                    .replace("{n}", &map.len().to_string()),
            ),
            None => {}
        }
    }
    let base = t
        .base_text
        .replace("{n}", &report_html::int(r.respondents, lang))
        .replace("{c}", &report_html::int(r.completes, lang));
    html! {
        section class="report-in-force" aria-labelledby="em-vigor" {
            h2 id="em-vigor" { (t.in_force) }
            @if f.applied.is_none() {
                p class="notice error" { (t.invalid_note) }
            }
            p {
                @if parts.is_empty() { (t.none) } @else { (parts.join(" · ")) }
            }
            p { strong { (t.base) ": " } (base) }
        }
    }
}

fn downloads(lang: Lang, query: &str) -> Markup {
    let t = lang.results();
    let with = |path: &str, first: Option<&str>| {
        let parts: Vec<&str> = first
            .into_iter()
            .chain((!query.is_empty()).then_some(query))
            .collect();
        if parts.is_empty() {
            path.to_string()
        } else {
            format!("{path}?{}", parts.join("&"))
        }
    };
    html! {
        section class="report-downloads-box" aria-labelledby="baixar" {
            h2 id="baixar" { (t.downloads) }
            ul class="report-downloads" {
                li { a href=(with("/admin/results/relatorio.html", None)) download { (t.download_html) } }
                li { a href=(with("/admin/results/respostas.xlsx", None)) download { (t.download_xlsx) } }
                li { a href=(with("/admin/results/respostas.csv", None)) download { (t.download_csv) } }
                li { a href=(with("/admin/results/respostas.csv", Some("perfil=excel-br"))) download { (t.download_csv_br) } }
                li { a href=(with("/admin/results/respostas.zip", Some("pacote=spss"))) download { (t.download_spss) } }
                li { a href=(with("/admin/results/respostas.zip", Some("pacote=stata"))) download { (t.download_stata) } }
                li { a href=(with("/admin/results/respostas.zip", Some("pacote=r"))) download { (t.download_r) } }
            }
            p class="report-note" { (t.download_note) }
        }
    }
}
