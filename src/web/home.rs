//! The home page.

use salvo::prelude::*;

use super::lang_of;
use crate::views;

#[handler]
pub async fn show(depot: &mut Depot, res: &mut Response) {
    res.render(views::Html(views::home::render(lang_of(depot))));
}
