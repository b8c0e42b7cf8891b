//! HTTP handlers by area, and the hoops (middleware) every request passes through.

pub mod assets;
pub mod health;
pub mod home;
pub mod hoops;

use salvo::Depot;

use crate::app::AppState;
use crate::i18n::Lang;

/// The language chosen for this request by [`hoops::language`]; Portuguese if unset.
pub fn lang_of(depot: &Depot) -> Lang {
    depot
        .get::<Lang>(hoops::LANG_KEY)
        .copied()
        .unwrap_or(Lang::Pt)
}

/// The application state injected by the router.
pub fn state(depot: &Depot) -> &AppState {
    // The router always injects the state as its first hoop; a handler running without it
    // is a wiring bug that no request can trigger.
    depot
        .get_typed::<AppState>()
        .expect("AppState is injected by router::service")
}
