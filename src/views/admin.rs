//! The admin area: respondents (search, view, delete), consent documents (publish a new
//! version), and the audit log.

use maud::{Markup, html};

use super::Ctx;
use super::forms::{self, Errors, Input};
use super::layout::page;
use crate::accounts::Role;
use crate::db::audit::AuditEntry;
use crate::db::consents::{ConsentRecord, Document};
use crate::db::users::User;
use crate::i18n::Lang;

fn role_name(lang: Lang, role: Role) -> &'static str {
    let t = lang.t();
    match role {
        Role::Respondent => t.role_respondent,
        Role::Analyst => t.role_analyst,
        Role::Admin => t.role_admin,
    }
}

pub(super) fn nav(ctx: &Ctx) -> Markup {
    let t = ctx.lang.t();
    html! {
        nav class="actions" aria-label=(t.admin_title) {
            a href="/admin" { (t.dash_title) }
            a href="/admin/users" { (t.admin_users) }
            a href="/admin/documents" { (t.admin_documents) }
            a href="/admin/audit" { (t.admin_audit) }
            a href="/admin/mail" { (t.admin_mail) }
            a href="/admin/results" { (t.report_results) }
        }
    }
}

pub struct UserList<'a> {
    pub query: &'a str,
    pub page: i64,
    pub pages: i64,
    pub total: i64,
    pub users: &'a [User],
}

pub fn users(ctx: &Ctx, l: &UserList<'_>) -> Markup {
    let t = ctx.lang.t();
    let link = |page: i64| format!("/admin/users?page={page}&q={}", urlencode(l.query));
    page(
        ctx,
        t.admin_users,
        html! {
            h1 { (t.admin_users) }
            (nav(ctx))
            form method="get" action="/admin/users" role="search" {
                div class="field" {
                    label for="q" { (t.admin_search) }
                    input type="search" id="q" name="q" value=(l.query) maxlength="100";
                }
                button type="submit" class="secondary" { (t.admin_search_submit) }
            }
            p { (t.admin_total.replace("{n}", &l.total.to_string())) }
            @if l.users.is_empty() {
                p { (t.admin_none) }
            } @else {
                div class="table-wrap" {
                    table {
                        thead { tr { th { (t.field_email) } th { (t.field_nome) } th { (t.field_bairro) } th { (t.admin_role) } th { (t.admin_created) } } }
                        tbody {
                            @for u in l.users {
                                tr {
                                    td { a href={ "/admin/users/" (u.id) } { (u.email) } }
                                    td { (u.nome) " " (u.sobrenome) }
                                    td { (u.bairro) }
                                    td { (role_name(ctx.lang, u.role())) }
                                    td { (ctx.when(&u.created_at)) }
                                }
                            }
                        }
                    }
                }
            }
            nav class="actions" aria-label="paginação" {
                @if l.page > 1 { a href=(link(l.page - 1)) rel="prev" { (t.admin_prev) } }
                @if l.page < l.pages { a href=(link(l.page + 1)) rel="next" { (t.admin_next) } }
            }
        },
    )
}

/// Percent-encode a query-string value.
pub fn urlencode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

pub fn user(ctx: &Ctx, u: &User, consents: &[ConsentRecord]) -> Markup {
    let t = ctx.lang.t();
    let en = ctx.lang.is_english();
    page(
        ctx,
        t.admin_user_title,
        html! {
            h1 { (t.admin_user_title) " #" (u.id) }
            (nav(ctx))
            dl {
                dt { (t.field_email) } dd { (u.email) }
                dt { (t.field_nome) } dd { (u.nome) " " (u.sobrenome) }
                dt { (t.field_telefone) } dd { (u.telefone.as_deref().unwrap_or("—")) }
                dt { (t.field_bairro) } dd { (u.bairro) }
                dt { (t.admin_role) } dd { (role_name(ctx.lang, u.role())) }
                dt { (t.admin_created) } dd { (ctx.when(&u.created_at)) }
            }
            h2 { (t.account_documents) }
            ul {
                @for r in consents {
                    li {
                        (r.document.title(en)) " (" (t.version) " " (r.document.version) "): "
                        (t.accepted_on) " " (ctx.when(&r.accepted_at))
                        @if let Some(rev) = &r.revoked_at { "; " (t.revoked_on) " " (ctx.when(rev)) }
                    }
                }
            }
            form method="post" action={ "/admin/users/" (u.id) "/delete" } {
                (forms::csrf(ctx.csrf()))
                div class="actions" { button type="submit" class="danger" { (t.admin_delete_user) } }
            }
        },
    )
}

/// Values of the publish form.
#[derive(Debug, Default, Clone)]
pub struct PublishValues {
    pub kind: String,
    pub title_pt: String,
    pub title_en: String,
    pub body_pt: String,
    pub body_en: String,
}

pub fn documents(ctx: &Ctx, current: &[Document], v: &PublishValues, errors: &Errors) -> Markup {
    let t = ctx.lang.t();
    let en = ctx.lang.is_english();
    let kinds: Vec<String> = current.iter().map(|d| d.kind.clone()).collect();
    page(
        ctx,
        t.admin_documents,
        html! {
            h1 { (t.admin_documents) }
            (nav(ctx))
            (forms::error_summary(ctx.lang, errors))
            div class="table-wrap" {
                table {
                    thead { tr { th { (t.admin_kind) } th { (t.version) } th { (t.required_mark) } th { (t.published) } } }
                    tbody {
                        @for d in current {
                            tr {
                                td { code { (d.kind) } " — " (d.title(en)) }
                                td { (d.version) }
                                td { @if d.required { (t.yes) } @else { (t.no) } }
                                td { (ctx.when(&d.published_at)) }
                            }
                        }
                    }
                }
            }
            h2 { (t.admin_publish) }
            form method="post" action="/admin/documents" novalidate {
                (forms::csrf(ctx.csrf()))
                (forms::select("kind", t.admin_kind, t.field_bairro_choose, &kinds, &v.kind, errors))
                (forms::input(ctx.lang, &Input { name: "title_pt", label: t.admin_title_pt, kind: "text", value: &v.title_pt, autocomplete: "off", hint: None, required: true, max_chars: Some(200) }, errors))
                (forms::input(ctx.lang, &Input { name: "title_en", label: t.admin_title_en, kind: "text", value: &v.title_en, autocomplete: "off", hint: None, required: true, max_chars: Some(200) }, errors))
                (textarea("body_pt", t.admin_body_pt, &v.body_pt, errors))
                (textarea("body_en", t.admin_body_en, &v.body_en, errors))
                div class="actions" { button type="submit" { (t.admin_publish_submit) } }
            }
        },
    )
}

fn textarea(name: &str, label: &str, value: &str, errors: &Errors) -> Markup {
    let err = errors.get(name);
    html! {
        div class={ "field" @if err.is_some() { " invalid" } } {
            label for=(name) { (label) }
            textarea id=(name) name=(name) rows="10" required
                aria-invalid=[err.map(|_| "true")]
                aria-describedby=[err.map(|_| format!("{name}-erro"))] { (value) }
            @if let Some(m) = err { p class="field-error" id={ (name) "-erro" } { (m) } }
        }
    }
}

pub fn audit(ctx: &Ctx, entries: &[AuditEntry]) -> Markup {
    let t = ctx.lang.t();
    page(
        ctx,
        t.admin_audit,
        html! {
            h1 { (t.admin_audit) }
            (nav(ctx))
            div class="table-wrap" {
                table {
                    tbody {
                        @for e in entries {
                            tr {
                                td { (ctx.when(&e.at)) }
                                td { code { (e.action) } }
                                td { @if let Some(a) = e.actor_id { "#" (a) } }
                                td { @if let Some(s) = e.subject_id { "→ #" (s) } }
                                td { (e.detail) }
                            }
                        }
                    }
                }
            }
        },
    )
}

/// What `/admin/mail` shows.
pub struct MailStatus<'a> {
    /// Where mail goes: the SMTP server (`host:port`), or the `.eml` folder.
    pub smtp: Option<String>,
    pub folder: Option<String>,
    pub counts: crate::db::outbox::Counts,
    /// Failed messages and queued ones that failed at least once, newest first.
    pub troubled: &'a [crate::db::outbox::Queued],
}

/// The mail page: counts, and each failed send with its address masked, its kind,
/// attempts and last error, and a retry button.
pub fn mail(ctx: &Ctx, m: &MailStatus<'_>) -> Markup {
    let t = ctx.lang.t();
    page(
        ctx,
        t.admin_mail,
        html! {
            h1 { (t.admin_mail) }
            (nav(ctx))
            @if let Some(server) = &m.smtp {
                p { (t.admin_mail_via_smtp.replace("{server}", server)) }
            }
            @if let Some(dir) = &m.folder {
                p { (t.admin_mail_via_folder.replace("{dir}", dir)) }
            }
            dl {
                dt { (t.admin_mail_queued) } dd { (m.counts.queued) }
                dt { (t.admin_mail_sent) } dd { (m.counts.sent) }
                dt { (t.admin_mail_failed) } dd { (m.counts.failed) }
            }
            h2 { (t.admin_mail_problems) }
            @if m.troubled.is_empty() {
                p { (t.admin_mail_none) }
            } @else {
                div class="table-wrap" {
                    table {
                        thead { tr {
                            th { (t.admin_kind) } th { (t.admin_mail_to) } th { (t.admin_mail_created) }
                            th { (t.admin_mail_attempts) } th { (t.admin_mail_state) } th { (t.admin_mail_error) } th {}
                        } }
                        tbody {
                            @for q in m.troubled {
                                tr {
                                    td { code { (q.kind) } }
                                    td { (crate::mail::worker::mask_address(&q.recipient)) }
                                    td { (ctx.when(&q.created_at)) }
                                    td { (q.attempts) }
                                    td { @if q.failed_at.is_some() { (t.admin_mail_state_failed) } @else { (t.admin_mail_state_retrying) } }
                                    td { (q.last_error.as_deref().unwrap_or("")) }
                                    td {
                                        @if q.failed_at.is_some() {
                                            form method="post" action={ "/admin/mail/" (q.id) "/retry" } {
                                                (forms::csrf(ctx.csrf()))
                                                button type="submit" class="secondary" { (t.admin_mail_retry) }
                                            }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        },
    )
}
