//! The home page.

use salvo::prelude::*;

use super::{page_ctx, session, state};
use crate::db::responses;
use crate::views;
use crate::views::home::{Home, Progress};
use crate::web::error::AppError;

/// `GET /`: what the study is, who runs it, and for a logged-in respondent the way on
/// from where they stand (start, continue, or see and change the submitted answers).
#[handler]
pub async fn show(depot: &mut Depot, res: &mut Response) -> Result<(), AppError> {
    let app = state(depot).clone();
    let progress = match session::user(depot) {
        None => None,
        Some(u) => Some(match responses::for_user(&app.db, u.id).await? {
            None => Progress::NotStarted,
            Some(r) if r.screened_out.is_some() => Progress::Screened,
            Some(r) if r.submitted_at.is_some() => Progress::Submitted,
            Some(_) => Progress::InProgress,
        }),
    };
    let page = views::home::render(
        &page_ctx(depot),
        &Home {
            study: &app.settings.accounts,
            minutes: app.survey.minutes(),
            progress,
        },
    );
    res.render(views::Html(page));
    Ok(())
}
