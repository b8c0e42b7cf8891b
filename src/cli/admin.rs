//! `pesquisa admin`: staff accounts from the command line. Passwords are read from a
//! prompt (no echo) or from standard input, never from an argument, so they stay out of
//! shell history and `ps`. There is no default admin.

use std::io::{BufRead, IsTerminal};

use clap::{Subcommand, ValueEnum};

use crate::accounts::Role;
use crate::accounts::fields::{Email, PersonName};
use crate::accounts::hasher::Hasher;
use crate::accounts::password::Password;
use crate::config::Settings;
use crate::db::{DbPool, audit, users};
use crate::kv::Kv;
use crate::web::session;

#[derive(Debug, clap::Args)]
pub struct Opts {
    #[command(subcommand)]
    pub command: AdminCommand,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum RoleArg {
    Respondent,
    Analyst,
    Admin,
}

impl From<RoleArg> for Role {
    fn from(r: RoleArg) -> Role {
        match r {
            RoleArg::Respondent => Role::Respondent,
            RoleArg::Analyst => Role::Analyst,
            RoleArg::Admin => Role::Admin,
        }
    }
}

#[derive(Debug, Subcommand)]
pub enum AdminCommand {
    /// Create an account; the password is asked for (or read from stdin, one line).
    CreateUser {
        /// admin: everything, including staff accounts, documents and the audit log;
        /// analyst: results, report and export; respondent: an ordinary participant
        /// (for tests and demonstrations).
        #[arg(long, value_enum)]
        role: RoleArg,
        /// The log-in e-mail address.
        #[arg(long)]
        email: String,
        /// First name shown on staff pages.
        #[arg(long, default_value = "Equipe")]
        nome: String,
        /// Surname shown on staff pages.
        #[arg(long, default_value = "Pesquisa")]
        sobrenome: String,
        /// Make a new empty embedded database if none exists at database.url (refused
        /// otherwise, so an account is never made in the wrong directory).
        #[arg(long)]
        create: bool,
    },
    /// Change the role of an existing account.
    SetRole {
        #[arg(long)]
        email: String,
        #[arg(long, value_enum)]
        role: RoleArg,
    },
    /// Forget every failed log-in of an account (on every client), so its owner can log
    /// in at once; whoever is still guessing starts again from the first free failure.
    Unlock {
        #[arg(long)]
        email: String,
    },
    /// Turn off the two-step verification of a staff account (lost device and recovery
    /// codes): its secret and recovery codes are deleted and its sessions ended. With
    /// `accounts.staff_require_2fa` on, the person enrols again at the next log-in.
    #[command(name = "reset-2fa")]
    Reset2fa {
        #[arg(long)]
        email: String,
    },
}

pub async fn run(settings: Settings, opts: Opts) -> anyhow::Result<()> {
    match opts.command {
        // Only a first account may need a new database, and only when asked for.
        AdminCommand::CreateUser { create: true, .. } => {}
        AdminCommand::CreateUser { .. } => super::database_must_exist(&settings, Some("--create"))?,
        _ => super::database_must_exist(&settings, None)?,
    }
    let pool = DbPool::connect(&settings.database).await?;
    crate::server::ensure_schema(&pool, &settings.database).await?;
    match opts.command {
        AdminCommand::CreateUser {
            role,
            email,
            nome,
            sobrenome,
            create: _,
        } => {
            let email = Email::parse(&email).map_err(|e| anyhow::anyhow!("--email: {}", en(e)))?;
            let nome =
                PersonName::parse(&nome).map_err(|e| anyhow::anyhow!("--nome: {}", en(e)))?;
            let sobrenome = PersonName::parse(&sobrenome)
                .map_err(|e| anyhow::anyhow!("--sobrenome: {}", en(e)))?;
            let password = read_new_password()?;
            let hasher = Hasher::new(&settings.passwords)?;
            let hash = hasher.hash(&password).await?;
            let now = users::now();
            let role = Role::from(role);
            let new = users::NewUser {
                email: email.as_str(),
                password_hash: &hash,
                role: role.as_str(),
                nome: nome.as_str(),
                sobrenome: sobrenome.as_str(),
                telefone: None,
                bairro: "",
                adult_declared_at: None,
                created_at: now,
                updated_at: now,
            };
            let id = match users::create(&pool, &new, &[]).await {
                Ok(id) => id,
                Err(e) if e.is_unique_violation() => {
                    anyhow::bail!("--email: an account with this e-mail already exists")
                }
                Err(e) => return Err(e.into()),
            };
            audit::record(&pool, None, "cli.user_created", Some(id), role.as_str()).await?;
            println!("created {} account #{id}", role.as_str());
        }
        AdminCommand::Reset2fa { email } => {
            let user = account(&pool, &email).await?;
            let had = crate::db::staff_totp::reset(&pool, user.id).await?;
            audit::record(&pool, None, "cli.2fa_reset", Some(user.id), "").await?;
            if had {
                println!("account #{}: two-step verification turned off", user.id);
            } else {
                println!("account #{}: had no two-step verification", user.id);
            }
            end_sessions(&settings, user.id).await;
        }
        AdminCommand::SetRole { email, role } => {
            let user = account(&pool, &email).await?;
            let role = Role::from(role);
            users::set_role(&pool, user.id, role).await?;
            audit::record(&pool, None, "cli.role_set", Some(user.id), role.as_str()).await?;
            println!("account #{} is now {}", user.id, role.as_str());
            // Staff pages re-read the role anyway; ending the sessions also logs the person
            // out of everything else, so they log in again under the new role.
            if settings.redis.url.is_none() {
                println!("staff pages apply the new role at once (sessions live in the server)");
                return Ok(());
            }
            let ended = async {
                let kv = Kv::connect(&settings.redis).await?;
                session::end_all_for_user(&kv, user.id, None).await?;
                anyhow::Ok(())
            };
            match ended.await {
                Ok(()) => println!("its sessions were ended"),
                Err(e) => eprintln!(
                    "pesquisa: warning: its sessions could not be ended ({e}); staff pages \
                     still apply the new role at once"
                ),
            }
        }
        AdminCommand::Unlock { email } => {
            let user = account(&pool, &email).await?;
            // Counters are kept under the account's epoch, in Redis or in the server's
            // memory alike: a new epoch is a clean slate for both.
            users::raise_lockout_epoch(&pool, user.id).await?;
            audit::record(&pool, None, "cli.unlocked", Some(user.id), "").await?;
            println!(
                "account #{}: earlier failed log-ins no longer count",
                user.id
            );
        }
    }
    Ok(())
}

/// End every session of the account (in Redis; sessions kept in a server's memory end
/// with that server, and staff pages re-check the account at once anyway).
async fn end_sessions(settings: &Settings, user_id: i64) {
    if settings.redis.url.is_none() {
        println!("sessions live in the server's memory: restart it to end them now");
        return;
    }
    let ended = async {
        let kv = Kv::connect(&settings.redis).await?;
        session::end_all_for_user(&kv, user_id, None).await?;
        anyhow::Ok(())
    };
    match ended.await {
        Ok(()) => println!("its sessions were ended"),
        Err(e) => eprintln!("pesquisa: warning: its sessions could not be ended ({e})"),
    }
}

/// The account with this e-mail, or an error naming `--email`.
async fn account(pool: &DbPool, email: &str) -> anyhow::Result<users::User> {
    let email = Email::parse(email).map_err(|e| anyhow::anyhow!("--email: {}", en(e)))?;
    users::find_by_email(pool, email.as_str())
        .await?
        .filter(|u| u.email == email.as_str())
        .ok_or_else(|| anyhow::anyhow!("--email: no account with this e-mail"))
}

/// An operator-facing message for a refused field.
fn en(e: crate::accounts::fields::FieldError) -> String {
    crate::views::forms::message(crate::i18n::Lang::En, e)
}

/// From a terminal: asked twice without echo. Otherwise: the first line of stdin.
fn read_new_password() -> anyhow::Result<Password> {
    let (first, second) = if std::io::stdin().is_terminal() {
        let a = rpassword::prompt_password("Password (10-128 characters): ")?;
        let b = rpassword::prompt_password("Repeat password: ")?;
        (a, b)
    } else {
        let mut line = String::new();
        std::io::stdin().lock().read_line(&mut line)?;
        let line = line.trim_end_matches(['\n', '\r']).to_string();
        (line.clone(), line)
    };
    Password::new_checked(&first, &second)
        .map_err(|e| anyhow::anyhow!("password refused: {}", en(e)))
}
