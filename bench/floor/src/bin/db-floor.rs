//! Database floor: single-row INSERT transactions (BEGIN; INSERT; COMMIT, prepared
//! statement) from CONCURRENCY connections for SECS seconds against a scratch table.
//! Prints one line: `tx_per_s p50_ms p99_ms errors`.
//! Usage: db-floor URL [CONCURRENCY=16] [SECS=10]

use std::time::{Duration, Instant};

use mysql_async::prelude::*;
use mysql_async::{Opts, Pool, PoolConstraints, PoolOpts, TxOpts};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let url = args
        .next()
        .ok_or("usage: db-floor URL [CONCURRENCY] [SECS]")?;
    let concurrency: usize = args.next().map_or(Ok(16), |s| s.parse())?;
    let secs: f64 = args.next().map_or(Ok(10.0), |s| s.parse())?;
    let constraints = PoolConstraints::new(concurrency, concurrency).ok_or("bad pool size")?;
    let opts = mysql_async::OptsBuilder::from_opts(Opts::from_url(&url)?)
        .pool_opts(PoolOpts::default().with_constraints(constraints));
    let pool = Pool::new(opts);
    {
        let mut conn = pool.get_conn().await?;
        conn.query_drop(
            "CREATE TABLE IF NOT EXISTS bench_floor (
                id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
                worker INT NOT NULL,
                answers MEDIUMTEXT NOT NULL,
                created_at DATETIME(6) NOT NULL
            ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4",
        )
        .await?;
    }
    let deadline = Instant::now() + Duration::from_secs_f64(secs);
    let started = Instant::now();
    let mut tasks = Vec::new();
    for worker in 0..concurrency {
        let pool = pool.clone();
        tasks.push(tokio::spawn(async move {
            let mut lat = Vec::<u32>::with_capacity(1 << 16);
            let mut errors = 0u64;
            let mut conn = match pool.get_conn().await {
                Ok(c) => c,
                Err(_) => return (lat, 1),
            };
            let answers = r#"{"idade":"42","moradores":"3","renda_familiar":"2a4sm"}"#;
            while Instant::now() < deadline {
                let t0 = Instant::now();
                let ok = async {
                    let mut tx = conn.start_transaction(TxOpts::default()).await?;
                    tx.exec_drop(
                        "INSERT INTO bench_floor (worker, answers, created_at) VALUES (?, ?, NOW(6))",
                        (worker as i32, answers),
                    )
                    .await?;
                    tx.commit().await
                }
                .await;
                match ok {
                    Ok(()) => lat.push(t0.elapsed().as_micros() as u32),
                    Err(_) => errors += 1,
                }
            }
            (lat, errors)
        }));
    }
    let mut all = Vec::new();
    let mut errors = 0;
    for t in tasks {
        let (lat, e) = t.await?;
        all.extend(lat);
        errors += e;
    }
    let elapsed = started.elapsed().as_secs_f64();
    all.sort_unstable();
    let pct = |p: f64| {
        all.get(((all.len() as f64 * p).ceil() as usize).saturating_sub(1))
            .map_or(0.0, |&us| us as f64 / 1000.0)
    };
    println!(
        "{:.2} {:.2} {:.2} {}",
        all.len() as f64 / elapsed,
        pct(0.50),
        pct(0.99),
        errors
    );
    pool.disconnect().await?;
    Ok(())
}
