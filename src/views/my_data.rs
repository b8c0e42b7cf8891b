//! "Meus dados": everything the study keeps about the respondent on one readable,
//! printable page (LGPD art. 18, II: access), beside the JSON download. Answers are in
//! words (option labels, not codes) and times in the study's time zone.

use chrono::NaiveDateTime;
use maud::{Markup, html};

use super::Ctx;
use super::layout::page;
use super::survey::answer_with_other;
use crate::db::consents::ConsentRecord;
use crate::db::users::User;
use crate::survey::{Answers, Definition};

/// The questionnaire part: the stored answers and what the respondent was asked.
pub struct Questionnaire<'a> {
    pub answers: &'a Answers,
    pub created_at: &'a NaiveDateTime,
    pub updated_at: &'a NaiveDateTime,
    pub submitted_at: Option<&'a NaiveDateTime>,
    pub screened_out: bool,
    /// Pages shown to this respondent (0-based).
    pub shown_pages: &'a [usize],
    /// Keys of the questions not asked.
    pub hidden: &'a [&'a str],
}

pub struct MyData<'a> {
    pub user: &'a User,
    pub history: &'a [ConsentRecord],
    pub def: &'a Definition,
    pub salario_minimo: u32,
    /// `None`: not started.
    pub questionnaire: Option<Questionnaire<'a>>,
    pub now: NaiveDateTime,
}

pub fn render(ctx: &Ctx, d: &MyData<'_>) -> Markup {
    let t = ctx.lang.t();
    let r = ctx.lang.respondent();
    let en = ctx.lang.is_english();
    let u = d.user;
    let when =
        |at: Option<&NaiveDateTime>| at.map_or_else(|| r.data_none.to_owned(), |a| ctx.when(a));
    page(
        ctx,
        r.data_title,
        html! {
            h1 { (r.data_title) }
            p { (r.data_lead) }
            p class="muted" { (r.data_generated) " " (ctx.when(&d.now)) }

            section aria-labelledby="dados-conta" {
                h2 id="dados-conta" { (r.data_account) }
                dl class="record" {
                    dt { (t.field_nome) } dd { (u.nome) }
                    dt { (t.field_sobrenome) } dd { (u.sobrenome) }
                    dt { (t.field_email) } dd { (u.email) }
                    dt { (t.field_telefone) } dd { (u.telefone.as_deref().unwrap_or(r.data_none)) }
                    dt { (t.field_bairro) } dd { (u.bairro) }
                    dt { (r.data_created) } dd { (ctx.when(&u.created_at)) }
                    dt { (r.data_last_login) } dd { (when(u.last_login_at.as_ref())) }
                    dt { (r.data_adult) } dd { (when(u.adult_declared_at.as_ref())) }
                }
            }

            section aria-labelledby="dados-consentimentos" {
                h2 id="dados-consentimentos" { (r.data_consents) }
                @if d.history.is_empty() {
                    p { (r.data_no_consents) }
                } @else {
                    @for c in d.history {
                        dl class="record consent" {
                            dt { (r.data_document) }
                            dd { (c.document.title(en)) " (" (t.version) " " (c.document.version) ")" }
                            dt { (r.data_accepted) } dd { (ctx.when(&c.accepted_at)) }
                            @if let Some(rev) = &c.revoked_at {
                                dt { (r.data_revoked) } dd { (ctx.when(rev)) }
                            }
                        }
                    }
                }
            }

            section aria-labelledby="dados-questionario" {
                h2 id="dados-questionario" { (r.data_questionnaire) }
                @match &d.questionnaire {
                    None => { p { (r.data_not_started) } }
                    Some(q) => {
                        dl class="record" {
                            dt { (r.data_started) } dd { (ctx.when(q.created_at)) }
                            dt { (r.data_updated) } dd { (ctx.when(q.updated_at)) }
                            dt { (r.data_submitted) }
                            dd { @match q.submitted_at { Some(at) => { (ctx.when(at)) } None => { (r.data_not_submitted) } } }
                        }
                        @if q.screened_out { p { (r.data_screened) } }
                        @for (_, pg) in d.def.pages().iter().enumerate().filter(|(i, _)| q.shown_pages.contains(i)) {
                            h3 { (pg.title.get(en)) }
                            dl class="answers" {
                                @for question in pg.questions.iter().filter(|x| !q.hidden.contains(&x.key.as_str())) {
                                    dt { (question.text.get(en)) }
                                    dd { (answer_with_other(ctx.lang, question, q.answers, d.salario_minimo)) }
                                }
                            }
                        }
                    }
                }
            }

            div class="actions no-print" {
                a class="button secondary" href="/account" { (r.data_back) }
                a class="button secondary" href="/account/data" download="meus-dados.json" { (r.data_json) }
            }
        },
    )
}
