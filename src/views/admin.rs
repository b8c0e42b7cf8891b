//! The admin area: respondents (search and filter, view, delete after a confirmation),
//! consent documents (publish a new version, with a preview), and the audit log.

use maud::{Markup, html};

use super::Ctx;
use super::forms::{self, Errors, Input};
use super::layout::page;
use crate::accounts::Role;
use crate::config::{AccountsSettings, OnDelete};
use crate::db::audit::AuditRow;
use crate::db::consents::{ConsentRecord, Document, DocumentName};
use crate::db::erasure::Erasure;
use crate::db::respondents::{ListFilter, Listed, ResponseStatus};
use crate::db::responses::Response;
use crate::db::users::User;
use crate::i18n::Lang;
use crate::i18n::staff::ACTIONS;

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
        nav class="actions admin-nav" aria-label=(t.admin_title) {
            a href="/admin" { (t.dash_title) }
            a href="/admin/users" { (t.admin_users) }
            a href="/admin/documents" { (t.admin_documents) }
            a href="/admin/audit" { (t.admin_audit) }
            a href="/admin/mail" { (t.admin_mail) }
            a href="/admin/results" { (t.report_results) }
        }
    }
}

/// What the respondent list shows: the filters as sent (kept in the form and the page
/// links), one page of accounts and the bairros to choose from.
pub struct UserList<'a> {
    pub filter: &'a ListFilter,
    pub page: i64,
    pub pages: i64,
    pub total: i64,
    pub users: &'a [Listed],
    pub bairros: &'a [String],
}

/// The query string of the list's filters, for the page links.
fn list_query(f: &ListFilter) -> String {
    url::form_urlencoded::Serializer::new(String::new())
        .append_pair("q", &f.query)
        .append_pair("role", f.role.map_or("", Role::as_str))
        .append_pair("bairro", f.bairro.as_deref().unwrap_or(""))
        .append_pair("status", f.status.map_or("", ResponseStatus::key))
        .finish()
}

pub(super) fn status_name(lang: Lang, status: ResponseStatus) -> &'static str {
    let s = lang.staff();
    match status {
        ResponseStatus::NotStarted => s.status_not_started,
        ResponseStatus::InProgress => s.status_in_progress,
        ResponseStatus::Completed => s.status_completed,
        ResponseStatus::ScreenedOut => s.status_screened_out,
    }
}

/// A labelled select whose first option ("Todos") means no filter.
fn filter_select(
    name: &str,
    label: &str,
    any: &str,
    options: &[(String, String)],
    selected: &str,
) -> Markup {
    html! {
        div class="field" {
            label for=(name) { (label) }
            select id=(name) name=(name) {
                option value="" { (any) }
                @for (value, text) in options {
                    option value=(value) selected[value == selected] { (text) }
                }
            }
        }
    }
}

/// "Página 2 de 5" with the links before and after, each keeping `query`.
fn pagination(ctx: &Ctx, base: &str, query: &str, page: i64, pages: i64) -> Markup {
    let t = ctx.lang.t();
    let s = ctx.lang.staff();
    let link = |p: i64| format!("{base}?{query}&page={p}");
    html! {
        nav class="actions" aria-label=(s.pagination) {
            @if page > 1 { a href=(link(page - 1)) rel="prev" { (t.admin_prev) } }
            span class="page-of" {
                (s.page_of.replace("{p}", &page.to_string()).replace("{n}", &pages.to_string()))
            }
            @if page < pages { a href=(link(page + 1)) rel="next" { (t.admin_next) } }
        }
    }
}

pub fn users(ctx: &Ctx, l: &UserList<'_>) -> Markup {
    let t = ctx.lang.t();
    let s = ctx.lang.staff();
    let f = l.filter;
    let roles: Vec<(String, String)> = [Role::Respondent, Role::Analyst, Role::Admin]
        .into_iter()
        .map(|r| (r.as_str().to_string(), role_name(ctx.lang, r).to_string()))
        .collect();
    let bairros: Vec<(String, String)> = l.bairros.iter().map(|b| (b.clone(), b.clone())).collect();
    let statuses: Vec<(String, String)> = ResponseStatus::ALL
        .into_iter()
        .map(|st| (st.key().to_string(), status_name(ctx.lang, st).to_string()))
        .collect();
    page(
        ctx,
        t.admin_users,
        html! {
            h1 { (t.admin_users) }
            (nav(ctx))
            form method="get" action="/admin/users" role="search" {
                div class="field" {
                    label for="q" { (t.admin_search) }
                    input type="search" id="q" name="q" value=(f.query) maxlength="100";
                }
                (filter_select("role", s.filter_role, s.any, &roles, f.role.map_or("", Role::as_str)))
                (filter_select("bairro", s.filter_bairro, s.any, &bairros, f.bairro.as_deref().unwrap_or("")))
                (filter_select("status", s.filter_status, s.any, &statuses, f.status.map_or("", ResponseStatus::key)))
                div class="actions" {
                    button type="submit" { (s.filter_submit) }
                    a class="button secondary" href="/admin/users" { (s.filter_clear) }
                }
            }
            p { (t.admin_total.replace("{n}", &l.total.to_string())) }
            @if l.users.is_empty() {
                p { (t.admin_none) }
            } @else {
                div class="table-wrap" role="region" aria-label=(s.users_table) tabindex="0" {
                    table {
                        thead { tr {
                            th scope="col" { (t.field_email) } th scope="col" { (t.field_nome) } th scope="col" { (t.field_bairro) }
                            th scope="col" { (t.admin_role) } th scope="col" { (s.status) } th scope="col" { (s.last_saved) } th scope="col" { (t.admin_created) }
                        } }
                        tbody {
                            @for r in l.users {
                                @let u = &r.user;
                                tr {
                                    td { a href={ "/admin/users/" (u.id) } { (u.email) } }
                                    td { (u.nome) " " (u.sobrenome) }
                                    td { (u.bairro) }
                                    td { (role_name(ctx.lang, u.role())) }
                                    td { (status_name(ctx.lang, r.status)) }
                                    td { @if let Some(at) = &r.saved_at { (ctx.when(at)) } @else { "—" } }
                                    td { (ctx.when(&u.created_at)) }
                                }
                            }
                        }
                    }
                }
            }
            (pagination(ctx, "/admin/users", &list_query(f), l.page, l.pages))
        },
    )
}

/// Percent-encode a query-string value.
pub fn urlencode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

pub fn user(
    ctx: &Ctx,
    u: &User,
    response: Option<&Response>,
    consents: &[ConsentRecord],
) -> Markup {
    let t = ctx.lang.t();
    let s = ctx.lang.staff();
    let en = ctx.lang.is_english();
    let status = ResponseStatus::of(response);
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
                dt { (s.status) } dd id="situacao" { (status_name(ctx.lang, status)) }
                @if let Some(r) = response {
                    dt { (s.answers_count) } dd { (r.answers().len()) }
                    dt { (s.last_saved) } dd id="salvo-em" { (ctx.when(&r.updated_at)) }
                    @if let Some(at) = &r.submitted_at {
                        dt { (s.submitted_on) } dd { (ctx.when(at)) }
                    }
                }
            }
            p class="hint" { (s.times_note.replace("{zona}", ctx.zone.name())) }
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
            div class="actions" {
                a class="button danger" href={ "/admin/users/" (u.id) "/delete" } { (t.admin_delete_user) }
            }
        },
    )
}

/// What the deletion page lists, counted before anything is erased.
pub struct DeletionPreview<'a> {
    pub user: &'a User,
    pub erasure: &'a Erasure,
    pub sessions: usize,
    /// Whether answers are erased (`Delete`) or kept anonymous (`Anonymize`).
    pub on_delete: OnDelete,
    /// The admin is looking at their own account: no form, only the explanation.
    pub is_self: bool,
}

/// The values of the deletion form shown again after a refusal.
#[derive(Debug, Default, Clone)]
pub struct DeleteValues {
    pub reason: String,
    pub confirm: bool,
}

/// Shortest and longest reason for a deletion, in characters.
pub const REASON_MIN: usize = 10;
pub const REASON_MAX: usize = 500;

pub fn delete_confirm(
    ctx: &Ctx,
    p: &DeletionPreview<'_>,
    v: &DeleteValues,
    errors: &Errors,
) -> Markup {
    let s = ctx.lang.staff();
    let u = p.user;
    let e = p.erasure;
    let n = |text: &str, count: i64| text.replace("{n}", &count.to_string());
    let response_line = match &e.response {
        None => s.delete_response_none.to_string(),
        Some(r) => {
            let text = match p.on_delete {
                OnDelete::Delete => s.delete_response_deleted,
                OnDelete::Anonymize => s.delete_response_anonymized,
            };
            text.replace(
                "{situacao}",
                status_name(ctx.lang, ResponseStatus::of(Some(r))),
            )
            .replace("{n}", &r.answers().len().to_string())
        }
    };
    let hint = s
        .delete_reason_hint
        .replace("{min}", &REASON_MIN.to_string())
        .replace("{max}", &REASON_MAX.to_string());
    let reason_err = errors.get("reason");
    let confirm_err = errors.get("confirm");
    page(
        ctx,
        s.delete_title,
        html! {
            h1 { (s.delete_title) " #" (u.id) }
            (nav(ctx))
            (forms::error_summary(ctx.lang, errors))
            @if p.is_self {
                p class="notice error" role="alert" { (s.delete_self) }
            } @else {
                p class="lead" { (s.delete_lead) }
            }
            h2 { (s.delete_removed) }
            ul id="a-remover" {
                li { (s.delete_account.replace("{email}", &u.email).replace("{papel}", role_name(ctx.lang, u.role()))) }
                li { (response_line) }
                li { (n(s.delete_consents, e.consents)) }
                li { (n(s.delete_identities, e.identities)) }
                li { (n(s.delete_tokens, e.email_tokens)) }
                @if e.second_factor { li { (s.delete_second_factor) } }
                li { (n(s.delete_sessions, i64::try_from(p.sessions).unwrap_or(i64::MAX))) }
                li { (n(s.delete_pending_mail, e.pending_mail)) }
            }
            p class="hint" { (s.delete_audit_kept) }
            @if !p.is_self {
                form method="post" action={ "/admin/users/" (u.id) "/delete" } novalidate {
                    (forms::csrf(ctx.csrf()))
                    div class={ "field" @if reason_err.is_some() { " invalid" } } {
                        label for="reason" { (s.delete_reason) }
                        p class="hint" id="reason-dica" { (hint) }
                        textarea id="reason" name="reason" rows="4" required
                            maxlength=(REASON_MAX)
                            aria-invalid=[reason_err.map(|_| "true")]
                            aria-describedby={ "reason-dica" @if reason_err.is_some() { " reason-erro" } } { (v.reason) }
                        @if let Some(m) = reason_err { p class="field-error" id="reason-erro" { (m) } }
                    }
                    div class={ "field" @if confirm_err.is_some() { " invalid" } } {
                        div class="choice" {
                            input type="checkbox" id="confirm" name="confirm" value="1" checked[v.confirm]
                                aria-invalid=[confirm_err.map(|_| "true")]
                                aria-describedby=[confirm_err.map(|_| "confirm-erro")];
                            label for="confirm" { (s.delete_confirm) }
                        }
                        @if let Some(m) = confirm_err { p class="field-error" id="confirm-erro" { (m) } }
                    }
                    div class="actions" {
                        button type="submit" class="danger" { (s.delete_submit) }
                        a class="button secondary" href={ "/admin/users/" (u.id) } { (s.delete_cancel) }
                    }
                }
            } @else {
                div class="actions" {
                    a class="button secondary" href={ "/admin/users/" (u.id) } { (s.delete_cancel) }
                }
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

/// What the documents page shows besides the form's values.
pub struct DocumentsPage<'a> {
    pub current: &'a [Document],
    pub names: &'a [DocumentName],
    /// The version the form starts from (the kind chosen is known).
    pub base: Option<&'a Document>,
    /// The new version as respondents would see it, when a preview was asked for.
    pub preview: Option<&'a Document>,
    pub who: &'a AccountsSettings,
}

pub fn documents(ctx: &Ctx, d: &DocumentsPage<'_>, v: &PublishValues, errors: &Errors) -> Markup {
    let t = ctx.lang.t();
    let s = ctx.lang.staff();
    let en = ctx.lang.is_english();
    let kinds: Vec<(String, String)> = d
        .current
        .iter()
        .map(|doc| (doc.kind.clone(), doc.title(en).to_string()))
        .collect();
    let name = d.names.iter().find(|n| n.kind == v.kind);
    let hint = |title: Option<&str>| title.map(|n| s.doc_title_hint.replace("{nome}", n));
    let hint_pt = hint(name.map(|n| n.title_pt.as_str()));
    let hint_en = hint(name.map(|n| n.title_en.as_str()));
    let kind_err = errors.get("kind");
    page(
        ctx,
        t.admin_documents,
        html! {
            h1 { (t.admin_documents) }
            (nav(ctx))
            (forms::error_summary(ctx.lang, errors))
            div class="table-wrap" role="region" aria-label=(s.documents_table) tabindex="0" {
                table {
                    thead { tr { th scope="col" { (t.admin_kind) } th scope="col" { (t.version) } th scope="col" { (s.required_column) } th scope="col" { (t.published) } } }
                    tbody {
                        @for doc in d.current {
                            tr {
                                td { code { (doc.kind) } " — " (doc.title(en)) }
                                td { (doc.version) }
                                td { @if doc.required { (t.yes) } @else { (t.no) } }
                                td { (ctx.when(&doc.published_at)) }
                            }
                        }
                    }
                }
            }
            h2 id="publicar" { (t.admin_publish) }
            form method="get" action="/admin/documents#publicar" {
                div class={ "field" @if kind_err.is_some() { " invalid" } } {
                    label for="kind" { (s.doc_choose) }
                    p class="hint" id="kind-dica" { (s.doc_choose_hint) }
                    select id="kind" name="kind" required
                        aria-invalid=[kind_err.map(|_| "true")]
                        aria-describedby={ "kind-dica" @if kind_err.is_some() { " kind-erro" } } {
                        option value="" { (t.field_bairro_choose) }
                        @for (value, text) in &kinds {
                            option value=(value) selected[value == &v.kind] { (text) }
                        }
                    }
                    @if let Some(m) = kind_err { p class="field-error" id="kind-erro" { (m) } }
                }
                div class="actions" { button type="submit" class="secondary" { (s.doc_choose_submit) } }
            }
            @if let Some(preview) = d.preview {
                section aria-labelledby="previa" {
                    h2 id="previa" { (s.doc_preview_title) }
                    p class="notice" { (s.doc_preview_lead) }
                    h3 { (s.doc_preview_pt) }
                    div lang="pt-BR" { (forms::document(&Ctx { lang: Lang::Pt, ..ctx.clone() }, preview, d.who, true)) }
                    h3 { (s.doc_preview_en) }
                    div lang="en" { (forms::document(&Ctx { lang: Lang::En, ..ctx.clone() }, preview, d.who, true)) }
                }
            }
            @if let Some(base) = d.base {
                h3 { (s.doc_new_version.replace("{doc}", base.title(en))) }
                p class="hint" { (s.doc_starts_from.replace("{v}", &base.version.to_string())) }
                form method="post" action="/admin/documents" novalidate {
                    (forms::csrf(ctx.csrf()))
                    input type="hidden" name="kind" value=(base.kind);
                    (forms::input(ctx.lang, &Input { name: "title_pt", label: t.admin_title_pt, kind: "text", value: &v.title_pt, autocomplete: "off", hint: hint_pt.as_deref(), required: true, max_chars: Some(200) }, errors))
                    (forms::input(ctx.lang, &Input { name: "title_en", label: t.admin_title_en, kind: "text", value: &v.title_en, autocomplete: "off", hint: hint_en.as_deref(), required: true, max_chars: Some(200) }, errors))
                    (textarea("body_pt", t.admin_body_pt, &v.body_pt, errors))
                    (textarea("body_en", t.admin_body_en, &v.body_en, errors))
                    div class="actions" {
                        button type="submit" name="acao" value="preview" class="secondary" { (s.doc_preview) }
                        button type="submit" name="acao" value="publish" { (t.admin_publish_submit) }
                    }
                }
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

/// The audit filters as typed (kept in the form, the page links and the CSV link).
#[derive(Debug, Default, Clone)]
pub struct AuditQuery {
    pub action: String,
    pub actor: String,
    pub from: String,
    pub to: String,
}

impl AuditQuery {
    pub fn to_query(&self) -> String {
        url::form_urlencoded::Serializer::new(String::new())
            .append_pair("action", &self.action)
            .append_pair("actor", &self.actor)
            .append_pair("from", &self.from)
            .append_pair("to", &self.to)
            .finish()
    }
}

/// What the audit page shows.
pub struct AuditPage<'a> {
    pub query: &'a AuditQuery,
    pub rows: &'a [AuditRow],
    pub page: i64,
    pub pages: i64,
    pub total: i64,
}

/// The action's readable name, or its code for one this version has no name for.
pub fn action_name(lang: Lang, code: &str) -> String {
    lang.staff()
        .action(code)
        .map_or_else(|| code.to_string(), str::to_string)
}

/// Who did it: the e-mail, "sistema" for the command line, or a deleted account's id.
pub fn actor_name(lang: Lang, row: &AuditRow) -> String {
    let s = lang.staff();
    match (row.entry.actor_id, &row.actor_email) {
        (None, _) => s.audit_system.to_string(),
        (Some(_), Some(email)) => email.clone(),
        (Some(id), None) => s.audit_deleted_actor.replace("{id}", &id.to_string()),
    }
}

pub fn audit(ctx: &Ctx, a: &AuditPage<'_>, errors: &Errors) -> Markup {
    let t = ctx.lang.t();
    let s = ctx.lang.staff();
    let q = a.query;
    let mut actions: Vec<(String, String)> = ACTIONS
        .iter()
        .map(|code| (code.to_string(), action_name(ctx.lang, code)))
        .collect();
    if !q.action.is_empty() && !ACTIONS.contains(&q.action.as_str()) {
        actions.push((q.action.clone(), q.action.clone()));
    }
    let date_hint = s.audit_dates_hint.replace("{zona}", ctx.zone.name());
    let date = |name: &'static str, label: &'static str, value: &str| {
        let err = errors.get(name);
        html! {
            div class={ "field" @if err.is_some() { " invalid" } } {
                label for=(name) { (label) }
                input type="date" id=(name) name=(name) value=(value)
                    aria-invalid=[err.map(|_| "true")]
                    aria-describedby={ "datas-dica" @if err.is_some() { " " (name) "-erro" } };
                @if let Some(m) = err { p class="field-error" id={ (name) "-erro" } { (m) } }
            }
        }
    };
    page(
        ctx,
        t.admin_audit,
        html! {
            h1 { (t.admin_audit) }
            (nav(ctx))
            (forms::error_summary(ctx.lang, errors))
            form method="get" action="/admin/audit" role="search" novalidate {
                (filter_select("action", s.audit_action, s.any, &actions, &q.action))
                div class="field" {
                    label for="actor" { (s.audit_actor_filter) }
                    p class="hint" id="actor-dica" { (s.audit_actor_hint) }
                    input type="search" id="actor" name="actor" value=(q.actor) maxlength="100" aria-describedby="actor-dica";
                }
                p class="hint" id="datas-dica" { (date_hint) }
                (date("from", s.audit_from, &q.from))
                (date("to", s.audit_to, &q.to))
                div class="actions" {
                    button type="submit" { (s.filter_submit) }
                    a class="button secondary" href="/admin/audit" { (s.filter_clear) }
                }
            }
            @if errors.is_empty() {
                p { (s.audit_total.replace("{n}", &a.total.to_string())) }
                div class="actions" {
                    a class="button secondary" href={ "/admin/audit/auditoria.csv?" (q.to_query()) } download { (s.audit_csv) }
                }
                @if a.rows.is_empty() {
                    p { (s.audit_none) }
                } @else {
                    div class="table-wrap" role="region" aria-label=(s.audit_table) tabindex="0" {
                        table {
                            thead { tr {
                                th scope="col" { (s.audit_when) } th scope="col" { (s.audit_action) } th scope="col" { (s.audit_actor) }
                                th scope="col" { (s.audit_subject) } th scope="col" { (s.audit_detail) }
                            } }
                            tbody {
                                @for r in a.rows {
                                    tr {
                                        td { (ctx.when(&r.entry.at)) }
                                        td { (action_name(ctx.lang, &r.entry.action)) br; code class="muted" { (r.entry.action) } }
                                        td { (actor_name(ctx.lang, r)) }
                                        td { @if let Some(id) = r.entry.subject_id { "#" (id) } }
                                        td { (r.entry.detail) }
                                    }
                                }
                            }
                        }
                    }
                }
                (pagination(ctx, "/admin/audit", &q.to_query(), a.page, a.pages))
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
