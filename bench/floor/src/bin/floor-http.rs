//! Framework floor: the least a salvo 1.1 + maud 0.27 server does per request. One
//! handler renders a small page shaped like a questionnaire page (head, header, a form
//! with a hidden token and a few radio groups, footer) with no state, no session and no
//! database: `GET /survey/{n}`.
//!
//! Given a MariaDB and a Redis URL, also `GET /session/{n}`: the same page after one
//! Redis GET (the session lookup every logged-in page needs, and nothing else). It is
//! the floor for any page behind a log-in, whatever the page reads besides.
//!
//! And `GET /cached/{n}`: the same page after two Redis GETs, the session and then the
//! respondent's answers: what a page could do if it kept a copy of every respondent's
//! answers in Redis instead of reading MariaDB.
//!
//! And `GET /db/{n}`: the same page after the two
//! round trips a logged-in page cannot avoid, one Redis GET (the session) and one
//! prepared MariaDB SELECT by an indexed key (the respondent's answers), with pools of 16
//! like the server's. It is the floor for a page that reads a session and a row.
//!
//! And `GET /save/{n}`: the round trips saving a questionnaire page cannot avoid, one
//! Redis GET (the session), one SELECT of the respondent's answers and one UPDATE writing
//! them back (autocommit: one durable commit), over 64 respondents in turn like the
//! bench's save scenario; it answers a short 200. The floor for a save.
//!
//! Usage: floor-http [PORT=18190] [MYSQL_URL REDIS_URL]

use std::sync::OnceLock;

use maud::{DOCTYPE, Markup, html};
use mysql_async::prelude::*;
use salvo::prelude::*;

struct Data {
    mysql: mysql_async::Pool,
    redis: redis::aio::MultiplexedConnection,
}

static DATA: OnceLock<Data> = OnceLock::new();
static NEXT_USER: std::sync::atomic::AtomicI64 = std::sync::atomic::AtomicI64::new(0);

fn page(n: usize, answers: &str) -> Markup {
    let options = [
        ("ate1sm", "Até 1 salário mínimo"),
        ("1a2sm", "De 1 a 2 salários mínimos"),
        ("2a4sm", "De 2 a 4 salários mínimos"),
        ("4a10sm", "De 4 a 10 salários mínimos"),
        ("mais10sm", "Mais de 10 salários mínimos"),
        ("prefiro_nao", "Prefiro não informar"),
    ];
    html! {
        (DOCTYPE)
        html lang="pt-BR" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { "Página " (n) " · Pesquisa" }
                link rel="stylesheet" href="/assets/css/app.0123456789abcdef.css";
            }
            body {
                a class="skip-link" href="#conteudo" { "Pular para o conteúdo" }
                header class="site-header" {
                    div class="bar" {
                        a class="brand" href="/" { "Pesquisa" }
                        nav aria-label="menu" {
                            a href="/survey" { "Questionário" }
                            a href="/account" { "Minha conta" }
                            a href="?lang=en" lang="en" { "English" }
                        }
                    }
                }
                main id="conteudo" tabindex="-1" {
                    h1 { "Sua casa" }
                    p class="progress" { "Página " (n) " de 4" }
                    form method="post" action={ "/survey/" (n) } novalidate data-answers=(answers) {
                        input type="hidden" name="csrf_token" value="0123456789abcdef0123456789abcdef0123456789abcdef";
                        div class="field" {
                            label for="idade" { "Qual é a sua idade?" }
                            input id="idade" name="idade" type="number" inputmode="numeric" min="18" max="120";
                        }
                        div class="field" {
                            label for="moradores" { "Quantas pessoas moram na sua casa?" }
                            input id="moradores" name="moradores" type="number" inputmode="numeric" min="1" max="30";
                        }
                        @for q in ["renda_familiar", "renda_pessoal"] {
                            fieldset class="field" {
                                legend { "Qual é a renda mensal (" (q) ")?" }
                                @for (value, label) in options {
                                    div class="choice" {
                                        input type="radio" id={ (q) "-" (value) } name=(q) value=(value);
                                        label for={ (q) "-" (value) } { (label) }
                                    }
                                }
                            }
                        }
                        div class="actions" {
                            button type="submit" name="action" value="next" { "Continuar" }
                        }
                    }
                }
                footer class="site-footer" { div class="bar" { "Pesquisa de mercado" } }
            }
        }
    }
}

#[handler]
async fn survey(req: &mut Request, res: &mut Response) {
    let n = req.param::<usize>("n").unwrap_or(1);
    res.add_header("cache-control", "no-store", true).ok();
    res.render(Text::Html(page(n, "").into_string()));
}

/// One Redis GET.
async fn redis_get(key: &str) -> redis::RedisResult<Option<String>> {
    let mut redis = DATA.get().expect("data").redis.clone();
    redis::cmd("GET").arg(key).query_async(&mut redis).await
}

/// The page with `answers`, or a 503 when they could not be read.
fn page_or_unavailable(res: &mut Response, n: usize, answers: Option<&str>) {
    match answers {
        Some(answers) => {
            res.add_header("cache-control", "no-store", true).ok();
            res.render(Text::Html(page(n, answers).into_string()));
        }
        None => {
            res.status_code(StatusCode::SERVICE_UNAVAILABLE)
                .render("redis");
        }
    }
}

#[handler]
async fn with_session(req: &mut Request, res: &mut Response) {
    let n = req.param::<usize>("n").unwrap_or(1);
    let session = redis_get("floor:session").await;
    page_or_unavailable(res, n, matches!(session, Ok(Some(_))).then_some(""));
}

#[handler]
async fn with_cached_answers(req: &mut Request, res: &mut Response) {
    let n = req.param::<usize>("n").unwrap_or(1);
    let answers = match redis_get("floor:session").await {
        Ok(Some(_)) => redis_get("floor:answers").await.ok().flatten(),
        _ => None,
    };
    page_or_unavailable(res, n, answers.as_deref());
}

#[handler]
async fn with_data(req: &mut Request, res: &mut Response) {
    let n = req.param::<usize>("n").unwrap_or(1);
    let data = DATA.get().expect("data");
    let mut redis = data.redis.clone();
    let session: Option<String> = match redis::cmd("GET")
        .arg("floor:session")
        .query_async(&mut redis)
        .await
    {
        Ok(s) => s,
        Err(_) => {
            return res
                .status_code(StatusCode::SERVICE_UNAVAILABLE)
                .render("redis");
        }
    };
    if session.is_none() {
        return res
            .status_code(StatusCode::SERVICE_UNAVAILABLE)
            .render("redis");
    }
    let user = (n % 64) as i64 + 1;
    let answers: Option<String> = match data.mysql.get_conn().await {
        Ok(mut conn) => match conn
            .exec_first("SELECT answers FROM floor_rows WHERE user_id = ?", (user,))
            .await
        {
            Ok(a) => a,
            Err(_) => {
                return res
                    .status_code(StatusCode::SERVICE_UNAVAILABLE)
                    .render("mysql");
            }
        },
        Err(_) => {
            return res
                .status_code(StatusCode::SERVICE_UNAVAILABLE)
                .render("mysql");
        }
    };
    res.add_header("cache-control", "no-store", true).ok();
    res.render(Text::Html(
        page(n, answers.as_deref().unwrap_or("")).into_string(),
    ));
}

#[handler]
async fn save(res: &mut Response) {
    let data = DATA.get().expect("data");
    let unavailable = |res: &mut Response, what: &'static str| {
        res.status_code(StatusCode::SERVICE_UNAVAILABLE)
            .render(what);
    };
    let mut redis = data.redis.clone();
    let session: Result<Option<String>, _> = redis::cmd("GET")
        .arg("floor:session")
        .query_async(&mut redis)
        .await;
    if session.is_err() {
        return unavailable(res, "redis");
    }
    let user = NEXT_USER.fetch_add(1, std::sync::atomic::Ordering::Relaxed) % 64 + 1;
    let Ok(mut conn) = data.mysql.get_conn().await else {
        return unavailable(res, "mysql");
    };
    let row: Result<Option<(String, i64)>, _> = conn
        .exec_first(
            "SELECT answers, revision FROM floor_rows WHERE user_id = ?",
            (user,),
        )
        .await;
    let Ok(Some((answers, revision))) = row else {
        return unavailable(res, "mysql");
    };
    // Written back changed (a different revision), as a save does; same size.
    let updated = conn
        .exec_drop(
            "UPDATE floor_rows SET answers = ?, revision = ? WHERE user_id = ? AND revision = ?",
            (answers, revision + 1, user, revision),
        )
        .await;
    if updated.is_err() {
        return unavailable(res, "mysql");
    }
    res.render("saved");
}

async fn connect(mysql_url: &str, redis_url: &str) -> Result<Data, Box<dyn std::error::Error>> {
    let constraints = mysql_async::PoolConstraints::new(16, 16).ok_or("pool size")?;
    let opts = mysql_async::OptsBuilder::from_opts(mysql_async::Opts::from_url(mysql_url)?)
        .pool_opts(
            mysql_async::PoolOpts::default()
                .with_constraints(constraints)
                // Like diesel-async's pool: a connection goes back as it is (no
                // COM_RESET_CONNECTION, which would also drop the prepared statement).
                .with_reset_connection(false),
        );
    let mysql = mysql_async::Pool::new(opts);
    let mut conn = mysql.get_conn().await?;
    conn.query_drop(
        "CREATE TABLE IF NOT EXISTS floor_rows (
            id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
            user_id BIGINT NOT NULL UNIQUE,
            answers MEDIUMTEXT NOT NULL,
            revision BIGINT NOT NULL DEFAULT 0
        ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4",
    )
    .await?;
    conn.exec_batch(
        "INSERT IGNORE INTO floor_rows (user_id, answers) VALUES (?, ?)",
        (1..=64).map(|u: i64| {
            (
                u,
                r#"{"idade":"42","moradores":"3","renda_familiar":"2a4sm"}"#,
            )
        }),
    )
    .await?;
    drop(conn);
    let client = redis::Client::open(redis_url)?;
    let mut redis = client.get_multiplexed_async_connection().await?;
    let session = format!(
        r#"{{"user_id":1,"role":"respondent","csrf":"{}","created":0,"seen":0}}"#,
        "0".repeat(64)
    );
    let () = redis::cmd("SET")
        .arg("floor:session")
        .arg(session)
        .query_async(&mut redis)
        .await?;
    let () = redis::cmd("SET")
        .arg("floor:answers")
        .arg(r#"{"idade":"42","moradores":"3","renda_familiar":"2a4sm"}"#)
        .query_async(&mut redis)
        .await?;
    Ok(Data { mysql, redis })
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let port: u16 = args.first().and_then(|p| p.parse().ok()).unwrap_or(18190);
    let mut router = Router::new().push(Router::with_path("survey/{n}").get(survey));
    if let [_, mysql_url, redis_url, ..] = args.as_slice() {
        let data = connect(mysql_url, redis_url).await?;
        let _ = DATA.set(data);
        router = router
            .push(Router::with_path("session/{n}").get(with_session))
            .push(Router::with_path("cached/{n}").get(with_cached_answers))
            .push(Router::with_path("db/{n}").get(with_data))
            .push(Router::with_path("save/{n}").get(save));
    }
    let acceptor = TcpListener::new(("127.0.0.1", port)).try_bind().await?;
    Server::new(acceptor).serve(router).await;
    Ok(())
}
