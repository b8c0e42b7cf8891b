//! The admin's staff pages (issue 20): deleting an account after a confirmation page that
//! counts what goes and asks for a reason, the respondent list's filters and pages, the
//! response status on an account's page, publishing a document from its current text
//! with a preview and a title that must name the document, and the audit log with
//! names, filters, pages and its CSV. Analysts are refused all of it.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use pesquisa::accounts::Role;
use pesquisa::db::schema::{audit_log, outbox, responses};
use pesquisa::db::{DbError, audit, consents, users};
use pesquisa::with_conn;

use crate::helpers::{ALL_BACKENDS, Browser, TestApp};

async fn app(backend: crate::helpers::Backend) -> TestApp {
    TestApp::spawn_with(backend, |s| s.accounts.staff_require_2fa = false).await
}

async fn id_of(app: &TestApp, email: &str) -> i64 {
    users::find_by_email(app.db(), email)
        .await
        .expect("find")
        .expect("exists")
        .id
}

/// An account made directly (no password, no consent), in `bairro`.
async fn account(app: &TestApp, email: &str, role: Role, bairro: &str) -> i64 {
    let now = users::now();
    users::create(
        app.db(),
        &users::NewUser {
            email,
            password_hash: "",
            role: role.as_str(),
            nome: "Pessoa",
            sobrenome: "Teste",
            telefone: None,
            bairro,
            adult_declared_at: Some(now),
            created_at: now,
            updated_at: now,
        },
        &[],
    )
    .await
    .expect("create")
}

/// A stored response of `user_id`, last saved at `saved`.
async fn respond(
    app: &TestApp,
    user_id: i64,
    bairro: &str,
    saved: NaiveDateTime,
    submitted: bool,
    screened_out: Option<&str>,
) {
    let def_id = app.state.survey.id().to_string();
    let r: Result<(), DbError> = async {
        with_conn!(app.db(), |conn| {
            let insert = diesel::insert_into(responses::table).values((
                responses::user_id.eq(Some(user_id)),
                responses::definition_id.eq(&def_id),
                responses::definition_version.eq(1),
                responses::answers.eq("{}"),
                responses::bairro.eq(bairro),
                responses::current_page.eq(1),
                responses::revision.eq(1_i64),
                responses::created_at.eq(saved),
                responses::updated_at.eq(saved),
                responses::submitted_at.eq(submitted.then_some(saved)),
                responses::screened_out.eq(screened_out),
            ));
            diesel_async::RunQueryDsl::execute(insert, conn).await?;
            Ok(())
        })
    }
    .await;
    r.expect("insert response");
}

async fn pending_mail(app: &TestApp, to: &str) -> i64 {
    let n: Result<i64, DbError> = async {
        with_conn!(app.db(), |conn| {
            Ok(diesel_async::RunQueryDsl::get_result(
                outbox::table
                    .filter(outbox::recipient.eq(to))
                    .filter(outbox::sent_at.is_null())
                    .count(),
                conn,
            )
            .await?)
        })
    }
    .await;
    n.expect("count")
}

/// The audit entries of `action`, newest first, as (subject, detail).
async fn audited(app: &TestApp, action: &str) -> Vec<(Option<i64>, String)> {
    let rows: Result<Vec<(Option<i64>, String)>, DbError> = async {
        with_conn!(app.db(), |conn| {
            Ok(diesel_async::RunQueryDsl::load(
                audit_log::table
                    .filter(audit_log::action.eq(action))
                    .order(audit_log::id.desc())
                    .select((audit_log::subject_id, audit_log::detail)),
                conn,
            )
            .await?)
        })
    }
    .await;
    rows.expect("audit")
}

/// The e-mails in the first column of the page's table rows (`<a href="/admin/users/..">`).
fn listed_emails(body: &str) -> Vec<String> {
    body.split("<td><a href=\"/admin/users/")
        .skip(1)
        .filter_map(|s| s.split('>').nth(1)?.split('<').next().map(str::to_string))
        .collect()
}

/// The number of body rows of the page's (one) data table.
fn body_rows(body: &str) -> usize {
    body.split("<tbody>").nth(1).map_or(0, |t| {
        t.split("</tbody>")
            .next()
            .unwrap_or("")
            .matches("<tr>")
            .count()
    })
}

#[tokio::test(flavor = "multi_thread")]
async fn deleting_an_account_shows_what_goes_asks_a_reason_and_audits_it() {
    for backend in ALL_BACKENDS {
        let app = app(backend).await;
        let mut respondent = app.signup("apagar@exemplo.com.br").await;
        let victim = id_of(&app, "apagar@exemplo.com.br").await;
        respond(&app, victim, "Centro", users::now(), false, None).await;
        let mut admin = app
            .staff_unenrolled("chefe@exemplo.com.br", Role::Admin)
            .await;
        let admin_id = id_of(&app, "chefe@exemplo.com.br").await;
        let mut analyst = app
            .staff_unenrolled("analista@exemplo.com.br", Role::Analyst)
            .await;
        let path = format!("/admin/users/{victim}/delete");

        // The account page leads to the confirmation page, which counts from the database.
        let detail = admin
            .get(&app.service, &format!("/admin/users/{victim}"))
            .await;
        assert!(
            detail.body.contains(&format!("href=\"{path}\"")),
            "{backend:?}"
        );
        let before = pesquisa::db::erasure::preview(
            app.db(),
            &users::find(app.db(), victim).await.expect("q").expect("u"),
        )
        .await
        .expect("preview");
        let mail = pending_mail(&app, "apagar@exemplo.com.br").await;
        assert!(
            before.consents >= 2 && mail >= 1,
            "{backend:?}: {before:?} {mail}"
        );
        let page = admin.get(&app.service, &path).await;
        assert_eq!(page.status, 200, "{backend:?}: {}", page.body);
        for line in [
            "a conta apagar@exemplo.com.br (respondente)".to_string(),
            "em andamento, 0 respostas".to_string(),
            format!("registros de consentimento: {}", before.consents),
            format!(
                "links e códigos enviados por e-mail: {}",
                before.email_tokens
            ),
            "sessões abertas: 1 (encerradas)".to_string(),
            format!("e-mails ainda não enviados para o endereço: {mail} (cancelados)"),
        ] {
            assert!(
                page.body.contains(&line),
                "{backend:?}: no «{line}» in\n{}",
                page.body
            );
        }
        let token = page.csrf();

        // Without the box, without a reason, or with a short one: 422, nothing changes.
        for (fields, errors) in [
            (vec![], vec!["reason-erro", "confirm-erro"]),
            (vec![("confirm", "1")], vec!["reason-erro"]),
            (
                vec![("confirm", "1"), ("reason", "   curto ")],
                vec!["reason-erro"],
            ),
            (
                vec![("reason", "Pedido por telefone em 06/12.")],
                vec!["confirm-erro"],
            ),
        ] {
            let mut all = vec![("csrf_token", token.as_str())];
            all.extend(fields.iter().copied());
            let refused = admin.post(&app.service, &path, &all).await;
            assert_eq!(refused.status, 422, "{backend:?} {fields:?}");
            for id in &errors {
                assert!(
                    refused.body.contains(&format!("id=\"{id}\"")),
                    "{backend:?} {fields:?}: {id}"
                );
            }
            assert!(users::find(app.db(), victim).await.expect("q").is_some());
        }
        // A reason typed before a refusal is kept in the form.
        let refused = admin
            .post(
                &app.service,
                &path,
                &[
                    ("csrf_token", &token),
                    ("reason", "Pedido por telefone em 06/12."),
                ],
            )
            .await;
        assert!(
            refused
                .body
                .contains(">Pedido por telefone em 06/12.</textarea>"),
            "{backend:?}"
        );
        // Without the CSRF token: refused, nothing changes.
        let forged = admin
            .post(
                &app.service,
                &path,
                &[
                    ("confirm", "1"),
                    ("reason", "Pedido por telefone em 06/12."),
                ],
            )
            .await;
        assert_eq!(forged.status, 403, "{backend:?}");
        // An analyst sees neither the page nor may post it.
        assert_eq!(
            analyst.get(&app.service, &path).await.status,
            403,
            "{backend:?}"
        );
        let analyst_token = analyst.get(&app.service, "/account").await.csrf();
        let refused = analyst
            .post(
                &app.service,
                &path,
                &[
                    ("csrf_token", &analyst_token),
                    ("confirm", "1"),
                    ("reason", "Pedido por telefone em 06/12."),
                ],
            )
            .await;
        assert_eq!(refused.status, 403, "{backend:?}");
        assert!(users::find(app.db(), victim).await.expect("q").is_some());
        assert!(audited(&app, "admin.user_deleted").await.is_empty());

        // Confirmed with a reason: gone, with its session and pending mail; reason audited.
        let reason = "Pedido da pessoa por telefone em 06/12, protocolo 123.";
        let done = admin
            .post(
                &app.service,
                &path,
                &[("csrf_token", &token), ("confirm", "1"), ("reason", reason)],
            )
            .await;
        assert_eq!(done.status, 303, "{backend:?}: {}", done.body);
        assert!(users::find(app.db(), victim).await.expect("q").is_none());
        assert_eq!(
            audited(&app, "admin.user_deleted").await,
            vec![(Some(victim), reason.to_string())]
        );
        assert_eq!(
            pending_mail(&app, "apagar@exemplo.com.br").await,
            0,
            "{backend:?}"
        );
        assert_eq!(respondent.get(&app.service, "/account").await.status, 303);

        // Staff cannot delete their own account here: no form, and a POST is refused.
        let own = format!("/admin/users/{admin_id}/delete");
        let page = admin.get(&app.service, &own).await;
        assert_eq!(page.status, 200);
        assert!(
            page.body.contains("Você não pode excluir a própria conta"),
            "{backend:?}"
        );
        assert!(!page.body.contains("name=\"reason\""), "{backend:?}");
        let refused = admin
            .post(
                &app.service,
                &own,
                &[("csrf_token", &token), ("confirm", "1"), ("reason", reason)],
            )
            .await;
        assert_eq!(refused.status, 403, "{backend:?}");
        assert!(users::find(app.db(), admin_id).await.expect("q").is_some());
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_respondent_list_filters_by_role_bairro_and_status_in_pages() {
    for backend in ALL_BACKENDS {
        let app = app(backend).await;
        let bairros = app.state.bairros.all().to_vec();
        let (b1, b2) = (bairros[0].clone(), bairros[1].clone());
        let saved = users::now() - chrono::Duration::hours(5);
        let new = account(&app, "nova@exemplo.com.br", Role::Respondent, &b1).await;
        let going = account(&app, "andamento@exemplo.com.br", Role::Respondent, &b1).await;
        respond(&app, going, &b1, saved, false, None).await;
        let done = account(&app, "concluiu@exemplo.com.br", Role::Respondent, &b2).await;
        respond(&app, done, &b2, saved, true, None).await;
        let out = account(&app, "triagem@exemplo.com.br", Role::Respondent, &b2).await;
        respond(&app, out, &b2, saved, true, Some("nao_compra")).await;
        // 26 more in the second bairro, not started: two pages of 25.
        for i in 0..26 {
            account(
                &app,
                &format!("lote{i:02}@exemplo.com.br"),
                Role::Respondent,
                &b2,
            )
            .await;
        }
        let mut admin = app
            .staff_unenrolled("chefe@exemplo.com.br", Role::Admin)
            .await;
        let mut analyst = app
            .staff_unenrolled("analista@exemplo.com.br", Role::Analyst)
            .await;
        let q = |s: &str| pesquisa::web::admin::urlencode(s);

        let list = |query: String| {
            let mut admin = admin.clone();
            let service = app.service.clone();
            async move {
                let page = admin.get(&service, &format!("/admin/users?{query}")).await;
                assert_eq!(page.status, 200, "{query}: {}", page.body);
                (listed_emails(&page.body), page.body)
            }
        };
        let (emails, body) = list("status=completed".into()).await;
        assert_eq!(emails, vec!["concluiu@exemplo.com.br"], "{backend:?}");
        assert!(
            body.contains("<option value=\"completed\" selected>"),
            "{backend:?}: the form keeps the filter"
        );
        let (emails, _) = list("status=screened_out".into()).await;
        assert_eq!(emails, vec!["triagem@exemplo.com.br"], "{backend:?}");
        let (emails, _) = list("status=in_progress".into()).await;
        assert_eq!(emails, vec!["andamento@exemplo.com.br"], "{backend:?}");
        let (emails, body) = list(format!("status=not_started&bairro={}", q(&b1))).await;
        assert_eq!(emails, vec!["nova@exemplo.com.br"], "{backend:?}");
        assert!(
            body.contains(&format!("<option value=\"{b1}\" selected>")),
            "{backend:?}"
        );
        let (emails, _) = list("role=analyst".into()).await;
        assert_eq!(emails, vec!["analista@exemplo.com.br"], "{backend:?}");
        let (emails, _) = list(format!(
            "role=respondent&bairro={}&status=completed",
            q(&b1)
        ))
        .await;
        assert!(emails.is_empty(), "{backend:?}");
        // An unknown value is no filter.
        let (emails, _) = list("status=nada&role=chefe".into()).await;
        assert_eq!(emails.len(), 25, "{backend:?}");

        // Pages keep the filters; the second holds the rest.
        let filter = format!("bairro={}&status=not_started", q(&b2));
        let (first, body) = list(filter.clone()).await;
        assert_eq!(first.len(), 25, "{backend:?}");
        assert!(body.contains("Página 1 de 2"), "{backend:?}");
        let next = format!(
            "/admin/users?q=&amp;role=&amp;bairro={}&amp;status=not_started&amp;page=2",
            q(&b2)
        );
        assert!(body.contains(&next), "{backend:?}: {body}");
        let (second, body) = list(format!("{filter}&page=2")).await;
        assert_eq!(second.len(), 1, "{backend:?}");
        assert!(body.contains("Página 2 de 2"), "{backend:?}");
        assert!(second.iter().all(|e| !first.contains(e)));
        assert!(first.iter().chain(&second).all(|e| e.starts_with("lote")));

        // The account page: status and last save in the study's time zone.
        let page = admin
            .get(&app.service, &format!("/admin/users/{going}"))
            .await;
        let zone = pesquisa::locale::Zone::default();
        assert!(
            page.body.contains("<dd id=\"situacao\">em andamento</dd>"),
            "{backend:?}"
        );
        assert!(
            page.body.contains(&format!(
                "<dd id=\"salvo-em\">{}</dd>",
                zone.datetime(saved, false)
            )),
            "{backend:?}: {}",
            page.body
        );
        let page = admin
            .get(&app.service, &format!("/admin/users/{new}"))
            .await;
        assert!(
            page.body.contains("<dd id=\"situacao\">não iniciado</dd>"),
            "{backend:?}"
        );
        assert!(!page.body.contains("salvo-em"));
        let page = admin
            .get(&app.service, &format!("/admin/users/{out}"))
            .await;
        assert!(
            page.body
                .contains("<dd id=\"situacao\">encerrado pela triagem</dd>"),
            "{backend:?}"
        );

        for path in [
            "/admin/users?status=completed",
            &format!("/admin/users/{done}"),
        ] {
            assert_eq!(
                analyst.get(&app.service, path).await.status,
                403,
                "{backend:?} {path}"
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_new_document_version_starts_from_the_text_in_force_previews_and_names_its_kind() {
    for backend in ALL_BACKENDS {
        let app = app(backend).await;
        let mut admin = app
            .staff_unenrolled("chefe@exemplo.com.br", Role::Admin)
            .await;
        let mut analyst = app
            .staff_unenrolled("analista@exemplo.com.br", Role::Analyst)
            .await;
        let version = |kind: &'static str| {
            let db = app.db().clone();
            async move {
                consents::current(&db)
                    .await
                    .expect("docs")
                    .into_iter()
                    .find(|d| d.kind == kind)
                    .expect("kind")
                    .version
            }
        };

        // Choosing a kind fills the form with its text in force.
        let page = admin
            .get(&app.service, "/admin/documents?kind=privacy")
            .await;
        assert_eq!(page.status, 200, "{backend:?}");
        assert!(
            page.body.contains("value=\"Política de privacidade\""),
            "{backend:?}"
        );
        assert!(
            page.body
                .contains("Controlador dos dados (art. 5º, VI, da LGPD)"),
            "{backend:?}"
        );
        assert!(
            page.body
                .contains("<input type=\"hidden\" name=\"kind\" value=\"privacy\">")
        );
        let page = admin.get(&app.service, "/admin/documents?kind=nada").await;
        assert_eq!(page.status, 422, "{backend:?}");
        assert!(page.body.contains("id=\"kind-erro\""));
        let token = page.csrf();

        let fields = |title_pt: &'static str, action: &'static str| {
            vec![
                ("csrf_token", token.clone()),
                ("kind", "privacy".to_string()),
                ("title_pt", title_pt.to_string()),
                ("title_en", "Privacy policy (December)".to_string()),
                (
                    "body_pt",
                    "Primeiro parágrafo novo.\r\n\r\nContato: {contato}".to_string(),
                ),
                ("body_en", "First new paragraph.".to_string()),
                ("acao", action.to_string()),
            ]
        };
        let refs = |f: &[(&'static str, String)]| -> Vec<(&'static str, String)> { f.to_vec() };
        let post = |f: Vec<(&'static str, String)>| {
            let mut admin = admin.clone();
            let service = app.service.clone();
            async move {
                let pairs: Vec<(&str, &str)> = f.iter().map(|(k, v)| (*k, v.as_str())).collect();
                admin.post(&service, "/admin/documents", &pairs).await
            }
        };

        // The preview renders the paragraphs as respondents see them; nothing is published.
        let page = post(refs(&fields(
            "Política de privacidade (dezembro)",
            "preview",
        )))
        .await;
        assert_eq!(page.status, 200, "{backend:?}: {}", page.body);
        assert!(
            page.body.contains("Prévia (ainda não publicada)"),
            "{backend:?}"
        );
        assert!(
            page.body.contains("<p>Primeiro parágrafo novo.</p>"),
            "{backend:?}"
        );
        let contact = &app.state.settings.accounts.privacy_contact;
        assert!(
            page.body.contains(&format!("<p>Contato: {contact}</p>")),
            "{backend:?}"
        );
        assert!(
            page.body.contains(&format!("{} 2", "versão")),
            "{backend:?}: the next number"
        );
        assert_eq!(version("privacy").await, 1, "{backend:?}");

        // A title of another document is refused by the field; nothing is published.
        for title in ["Termos de uso", "Termos de uso e Política de privacidade"] {
            let page = post(refs(&fields(title, "publish"))).await;
            assert_eq!(page.status, 422, "{backend:?} {title}");
            assert!(
                page.body.contains("id=\"title_pt-erro\""),
                "{backend:?} {title}"
            );
            assert!(
                !page.body.contains("id=\"title_en-erro\""),
                "{backend:?} {title}"
            );
            assert_eq!(version("privacy").await, 1);
        }
        // Without the CSRF token: refused.
        let mut forged = fields("Política de privacidade (dezembro)", "publish");
        forged.remove(0);
        assert_eq!(post(forged).await.status, 403, "{backend:?}");
        // An analyst may neither open nor post it.
        assert_eq!(
            analyst
                .get(&app.service, "/admin/documents?kind=privacy")
                .await
                .status,
            403
        );
        let analyst_token = analyst.get(&app.service, "/account").await.csrf();
        let mut by_analyst = fields("Política de privacidade (dezembro)", "publish");
        by_analyst[0].1 = analyst_token;
        let pairs: Vec<(&str, &str)> = by_analyst.iter().map(|(k, v)| (*k, v.as_str())).collect();
        assert_eq!(
            analyst
                .post(&app.service, "/admin/documents", &pairs)
                .await
                .status,
            403
        );
        assert_eq!(version("privacy").await, 1);

        let page = post(refs(&fields(
            "Política de privacidade (dezembro)",
            "publish",
        )))
        .await;
        assert_eq!(page.status, 303, "{backend:?}: {}", page.body);
        assert_eq!(version("privacy").await, 2, "{backend:?}");
        assert_eq!(version("terms").await, 1, "{backend:?}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_audit_log_names_filters_pages_and_downloads_its_entries() {
    for backend in ALL_BACKENDS {
        let app = app(backend).await;
        let mut admin = app
            .staff_unenrolled("chefe@exemplo.com.br", Role::Admin)
            .await;
        let admin_id = id_of(&app, "chefe@exemplo.com.br").await;
        let mut analyst = app
            .staff_unenrolled("analista@exemplo.com.br", Role::Analyst)
            .await;
        for i in 0..55 {
            audit::record(
                app.db(),
                Some(admin_id),
                "admin.user_viewed",
                Some(1000 + i),
                "",
            )
            .await
            .expect("record");
        }
        audit::record(
            app.db(),
            Some(999_999),
            "account.password_changed",
            None,
            "",
        )
        .await
        .expect("record");
        audit::record(
            app.db(),
            None,
            "cli.unlocked",
            Some(7),
            "=HYPERLINK(\"http://x\")",
        )
        .await
        .expect("record");

        let page = admin.get(&app.service, "/admin/audit").await;
        assert_eq!(page.status, 200, "{backend:?}");
        let body = &page.body;
        for th in ["Quando", "Ação", "Quem", "Conta afetada", "Detalhe"] {
            assert!(
                body.contains(&format!("<th scope=\"col\">{th}</th>")),
                "{backend:?}: {th}"
            );
        }
        assert!(body.contains("Conta consultada"), "{backend:?}");
        assert!(body.contains("Senha alterada"), "{backend:?}");
        assert!(body.contains("conta excluída (#999999)"), "{backend:?}");
        assert!(body.contains("sistema (linha de comando)"), "{backend:?}");
        assert!(
            body.contains("<td>chefe@exemplo.com.br</td>"),
            "{backend:?}"
        );
        assert_eq!(body_rows(body), 50, "{backend:?}");
        assert!(body.contains("Página 1 de 2"), "{backend:?}");

        // Filter by action and actor (e-mail part or #id): the form keeps them.
        let viewed = "/admin/audit?action=admin.user_viewed&actor=chefe%40";
        let page = admin.get(&app.service, viewed).await;
        assert!(
            page.body.contains("55 entradas"),
            "{backend:?}: {}",
            page.body
        );
        assert!(
            page.body
                .contains("<option value=\"admin.user_viewed\" selected>")
        );
        assert!(page.body.contains("value=\"chefe@\""));
        let second = admin.get(&app.service, &format!("{viewed}&page=2")).await;
        assert_eq!(body_rows(&second.body), 5, "{backend:?}");
        let page = admin
            .get(&app.service, "/admin/audit?actor=%23999999")
            .await;
        assert!(page.body.contains("1 entradas"), "{backend:?}");
        // Dates are days of the study's zone; both ends included.
        let zone = pesquisa::locale::Zone::default();
        let today = zone.local(users::now()).date();
        let day = |d: chrono::NaiveDate| d.format("%Y-%m-%d").to_string();
        let tomorrow = today.succ_opt().expect("date");
        let page = admin
            .get(
                &app.service,
                &format!(
                    "/admin/audit?action=cli.unlocked&from={}&to={}",
                    day(today),
                    day(today)
                ),
            )
            .await;
        assert!(page.body.contains("1 entradas"), "{backend:?}");
        let page = admin
            .get(
                &app.service,
                &format!("/admin/audit?from={}", day(tomorrow)),
            )
            .await;
        assert!(page.body.contains("0 entradas"), "{backend:?}");
        // A wrong date is said by its field.
        let page = admin.get(&app.service, "/admin/audit?from=ontem").await;
        assert_eq!(page.status, 422, "{backend:?}");
        assert!(page.body.contains("id=\"from-erro\""));
        let page = admin
            .get(
                &app.service,
                &format!("/admin/audit?from={}&to={}", day(tomorrow), day(today)),
            )
            .await;
        assert_eq!(page.status, 422);
        assert!(page.body.contains("id=\"to-erro\""));

        // The CSV holds the filtered rows, formulas defused, and is itself audited.
        let mut csv = admin.clone();
        let file = csv
            .get(&app.service, "/admin/audit/auditoria.csv?actor=%23")
            .await;
        assert_eq!(file.status, 200, "{backend:?}");
        let file = csv
            .get(
                &app.service,
                "/admin/audit/auditoria.csv?action=cli.unlocked",
            )
            .await;
        assert_eq!(file.status, 200, "{backend:?}");
        assert!(
            file.headers["content-type"]
                .to_str()
                .expect("h")
                .starts_with("text/csv")
        );
        assert!(
            file.headers["content-disposition"]
                .to_str()
                .expect("h")
                .starts_with("attachment")
        );
        let lines: Vec<&str> = file.body.lines().collect();
        assert_eq!(lines.len(), 2, "{backend:?}: {}", file.body);
        assert!(lines[0].starts_with("quando (America/Sao_Paulo),acao,nome_da_acao"));
        assert!(
            lines[1].contains(
                "cli.unlocked,Bloqueio de entrada removido,,sistema (linha de comando),7,"
            ),
            "{}",
            lines[1]
        );
        assert!(
            lines[1].ends_with("\"'=HYPERLINK(\"\"http://x\"\")\""),
            "{}",
            lines[1]
        );
        let exported = audited(&app, "admin.audit_exported").await;
        assert_eq!(exported.len(), 2, "{backend:?}");
        assert_eq!(exported[0].1, "1 rows, filtered");

        for path in ["/admin/audit", "/admin/audit/auditoria.csv"] {
            assert_eq!(
                analyst.get(&app.service, path).await.status,
                403,
                "{backend:?} {path}"
            );
        }
        assert_eq!(
            Browser::default()
                .get(&app.service, "/admin/audit/auditoria.csv")
                .await
                .status,
            303
        );
    }
}

/// Every audit action the code records has a name on the audit page: the string literals
/// of `audit::record(...)` and `users::delete(...)` calls anywhere in src/.
#[test]
fn every_recorded_audit_action_has_a_readable_name() {
    fn files(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
        for e in std::fs::read_dir(dir).expect("dir") {
            let p = e.expect("entry").path();
            if p.is_dir() {
                files(&p, out);
            } else if p.extension().is_some_and(|x| x == "rs") {
                out.push(p);
            }
        }
    }
    let mut all = Vec::new();
    files(
        std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/src")),
        &mut all,
    );
    let mut found = Vec::new();
    for path in all {
        let text = std::fs::read_to_string(&path).expect("read");
        for call in ["audit::record(", "users::delete(", "users::delete_noting("] {
            for (at, _) in text.match_indices(call) {
                // The action is the first string literal of the call.
                let rest = &text[at..text.len().min(at + 400)];
                if let Some(lit) = rest.split('"').nth(1)
                    && lit.contains('.')
                    && !lit.contains(' ')
                {
                    found.push(lit.to_string());
                }
            }
        }
    }
    assert!(found.len() >= 20, "{found:?}");
    for action in found {
        assert!(
            pesquisa::i18n::Lang::Pt.staff().action(&action).is_some()
                && pesquisa::i18n::Lang::En.staff().action(&action).is_some(),
            "no name for the audit action {action}"
        );
    }
}
