//! The home page.

use salvo::prelude::*;

use super::ctx;
use crate::views;

#[handler]
pub async fn show(depot: &mut Depot, res: &mut Response) {
    res.render(views::Html(views::home::render(&ctx(depot, false))));
}
