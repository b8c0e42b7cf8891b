//! The `/admin/results` page: the report's sections inside the site layout, with the
//! CSV downloads.

use maud::{Markup, html};

use super::Ctx;
use super::layout;
use crate::report::{Report, html as report_html};

pub fn page(ctx: &Ctx, r: &Report) -> Markup {
    let t = ctx.lang.t();
    layout::page_with_css(
        ctx,
        t.report_results,
        Some("css/report.css"),
        html! {
            div class="report" {
                h1 { (t.report_results) }
                section class="report-downloads" aria-label=(t.report_download) {
                    a href="/admin/results/respostas.csv" download { (t.report_download) ": " (t.report_download_csv) }
                    a href="/admin/results/respostas.csv?perfil=excel-br" download { (t.report_download) ": " (t.report_download_excel) }
                }
                p class="report-note" { (t.report_download_note) }
                (report_html::sections(r, ctx.lang))
            }
        },
    )
}
