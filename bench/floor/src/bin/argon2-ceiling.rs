//! argon2 ceiling: argon2id verifications per second (what a log-in computes) with the
//! given parameters, one thread per core, for SECS seconds.
//! Prints one line: `verifications_per_s threads`.
//! Usage: argon2-ceiling [MEMORY_KIB=19456] [ITERATIONS=2] [PARALLELISM=1] [SECS=10] [THREADS=cores]

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use argon2::password_hash::PasswordVerifier;
use argon2::{Algorithm, Argon2, Params, PasswordHash, PasswordHasher, Version};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let arg = |i: usize, d: &str| args.get(i).cloned().unwrap_or_else(|| d.to_string());
    let m: u32 = arg(0, "19456").parse()?;
    let t: u32 = arg(1, "2").parse()?;
    let p: u32 = arg(2, "1").parse()?;
    let secs: f64 = arg(3, "10").parse()?;
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let threads: usize = args.get(4).map_or(Ok(cores), |s| s.parse())?;
    let params = Params::new(m, t, p, None).map_err(|e| e.to_string())?;
    let argon = Argon2::new(Algorithm::Argon2id, Version::V0x13, params);
    let password = b"cavalo correto bateria bench";
    let stored: Arc<str> = argon
        .hash_password(password)
        .map_err(|e| e.to_string())?
        .to_string()
        .into();
    let done = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let deadline = started + Duration::from_secs_f64(secs);
    let handles: Vec<_> = (0..threads)
        .map(|_| {
            let (argon, stored, done) = (argon.clone(), stored.clone(), done.clone());
            std::thread::spawn(move || {
                let parsed = PasswordHash::new(&stored).expect("hash");
                while Instant::now() < deadline {
                    argon.verify_password(password, &parsed).expect("verify");
                    done.fetch_add(1, Ordering::Relaxed);
                }
            })
        })
        .collect();
    for h in handles {
        h.join().map_err(|_| "thread panicked")?;
    }
    let elapsed = started.elapsed().as_secs_f64();
    println!(
        "{:.2} {}",
        done.load(Ordering::Relaxed) as f64 / elapsed,
        threads
    );
    Ok(())
}
