//! The home page.

use salvo::prelude::*;

use super::page_ctx;
use crate::views;

#[handler]
pub async fn show(depot: &mut Depot, res: &mut Response) {
    res.render(views::Html(views::home::render(&page_ctx(depot))));
}
