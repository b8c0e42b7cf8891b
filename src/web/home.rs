//! The home page.

use salvo::prelude::*;

use super::{page_ctx, state};
use crate::views;

#[handler]
pub async fn show(depot: &mut Depot, res: &mut Response) {
    let study = state(depot).settings.accounts.clone();
    res.render(views::Html(views::home::render(&page_ctx(depot), &study)));
}
