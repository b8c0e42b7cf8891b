//! `AppState`: everything a request handler needs, built once at start-up and cloned
//! cheaply into every request through salvo's depot.

use std::sync::Arc;

use crate::accounts::fields::Bairros;
use crate::accounts::hasher::Hasher;
use crate::config::Settings;
use crate::db::{DbPool, Purpose};
use crate::kv::Kv;
use crate::survey::Definition;
use crate::views::prepared::PreparedTexts;

/// Shared application state.
#[derive(Clone)]
pub struct AppState {
    pub db: DbPool,
    pub kv: Kv,
    pub settings: Arc<Settings>,
    pub hasher: Hasher,
    pub bairros: Arc<Bairros>,
    pub survey: Arc<Definition>,
    /// `survey`'s texts (legends, hints, option labels and ids) at the configured minimum
    /// wage, escaped once for the questionnaire pages.
    pub texts: Arc<PreparedTexts>,
    /// Set on SIGTERM: the instance is finishing up (see `server.drain_secs`).
    pub draining: Arc<std::sync::atomic::AtomicBool>,
    /// The server secret's bytes, the key of signed tokens (CSRF).
    pub session_key: Arc<[u8]>,
    /// The last `/admin/results` report.
    pub report_cache: Arc<crate::report::cache::ReportCache>,
    /// The last data-quality assessment, for the dashboard's sample flow.
    pub quality_cache: Arc<crate::db::quality::AssessmentCache>,
    /// What `server.metrics_listen` serves.
    pub metrics: Arc<crate::metrics::Metrics>,
    /// The configured OpenID Connect providers, with their cached discovery documents.
    pub oidc: Arc<crate::oidc::Providers>,
    /// Wakes this instance's mail worker: poked after a message is queued.
    pub mail_wake: Arc<tokio::sync::Notify>,
    /// The configured quotas (`[quotas]`), and the Critério Brasil table that places
    /// respondents by class.
    pub quotas: Arc<crate::survey::quota::Quotas>,
    pub cceb: Arc<crate::survey::CcebTable>,
}

impl AppState {
    /// Open the database and the session store named by `settings`.
    pub async fn connect(settings: Settings) -> anyhow::Result<AppState> {
        let hasher =
            Hasher::new(&settings.passwords).map_err(|e| anyhow::anyhow!("passwords: {e}"))?;
        let bairros = Bairros::configured(settings.accounts.bairros_file.as_deref())?;
        let survey = settings.survey.load_definition()?;
        // Both at once: each is a network handshake (over the VPN in production).
        let (db, kv) = tokio::join!(
            DbPool::connect_for(&settings.database, Purpose::Requests),
            Kv::connect(&settings.redis)
        );
        let (db, kv) = (db?, kv?);
        let survey = Arc::new(survey);
        let texts = PreparedTexts::new(
            survey.clone(),
            (
                settings.survey.salario_minimo,
                settings.survey.salario_minimo_year,
            ),
        );
        // `serve` always has a secret (generated for SQLite, required for MariaDB); without
        // one, tokens are signed with a key of this process only.
        let session_key: Arc<[u8]> = match &settings.session.secret {
            Some(secret) => secret.expose().as_bytes().into(),
            None => crate::crypto::random_token().as_bytes().into(),
        };
        let oidc = Arc::new(crate::oidc::Providers::new(&settings.oidc)?);
        let quotas = Arc::new(settings.quota_plan()?);
        let cceb = settings.survey.load_cceb_table()?;
        Ok(AppState {
            quotas,
            cceb,
            oidc,
            session_key,
            db,
            kv,
            settings: Arc::new(settings),
            hasher,
            bairros: Arc::new(bairros),
            texts: Arc::new(texts),
            survey,
            draining: Arc::default(),
            report_cache: Arc::default(),
            quality_cache: Arc::default(),
            metrics: Arc::default(),
            mail_wake: Arc::default(),
        })
    }

    /// Queue one message on its own and wake the mail worker. A message that must exist
    /// exactly when a change does is inserted in the change's transaction instead
    /// (`db::outbox::NewMessage`), followed by [`AppState::mail_queued`].
    pub async fn enqueue_mail(
        &self,
        msg: &crate::db::outbox::NewMessage,
    ) -> Result<(), crate::db::DbError> {
        crate::db::outbox::enqueue(&self.db, msg).await?;
        self.mail_queued();
        Ok(())
    }

    /// Rewrite the duplicate fingerprints of account `user_id` (after sign-up or a
    /// profile change). A failure is logged, not shown: the start-up backfill writes any
    /// that are missing.
    pub async fn refresh_fingerprints(&self, user_id: i64) {
        if let Err(e) = crate::db::fingerprints::refresh(&self.db, &self.session_key, user_id).await
        {
            tracing::warn!(user_id, error = %e, "duplicate fingerprints not written");
        }
    }

    /// What places a respondent in the quotas.
    pub fn placing(&self) -> crate::db::quotas::Placing<'_> {
        crate::db::quotas::Placing {
            quotas: &self.quotas,
            def: &self.survey,
            cceb: &self.cceb,
        }
    }

    /// Tell the mail worker a message was queued, so it sends now rather than at its next
    /// poll. A poke with no worker waiting is kept for its next look.
    pub fn mail_queued(&self) {
        self.mail_wake.notify_one();
    }
}
