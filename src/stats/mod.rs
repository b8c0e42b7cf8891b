//! Pure statistics for the survey reports: proportions with Wilson intervals,
//! the chi-square test of independence, bootstrap confidence intervals,
//! answer bands (ranges in reais or quantities), income classes by minimum
//! wages, the market-size estimate, raking to census margins and estimates with
//! weights.
//!
//! Nothing here does I/O, touches the database or the web layer; every
//! function is deterministic (the bootstrap takes an explicit seed) and every
//! result type derives `serde::Serialize` so it can be printed as JSON or
//! rendered as HTML.
//!
//! No function in this module panics on any input: empty data, zero counts,
//! NaN or infinite values give `None`, an error, or a documented value. The
//! lint levels below enforce the usual panic sources outside tests, in this
//! module only, wherever it is compiled.

// Enforced here (not only in a Cargo.toml) so the guarantee travels with the
// module into the main crate.
#![deny(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    clippy::unreachable,
    clippy::todo,
    clippy::unimplemented,
    clippy::arithmetic_side_effects
)]

pub mod bands;
pub mod bootstrap;
pub mod chi_square;
pub mod income_class;
pub mod market;
pub mod mentions;
pub mod proportion;
pub mod raking;
pub mod weighted;

pub use bands::{Band, Scenario, midpoint, value_at};
pub use bootstrap::{BootstrapCi, DEFAULT_RESAMPLES, bootstrap_mean_ci, bootstrap_means};
pub use chi_square::{ChiSquareError, ChiSquareResult, chi_square_independence};
pub use income_class::IncomeClass;
pub use market::{
    Households, IntentWeights, MarketError, MarketEstimate, MarketParams, Respondent, Sample,
    estimate_market, estimate_sample,
};
pub use proportion::{CategoryShare, Distribution, wilson_interval};
pub use raking::{Margin, MarginReport, RakeError, RakeOptions, Raked, Targets, rake, rake_cells};
pub use weighted::{
    Moments, Statistic, WeightSummary, WeightedBootstrapCi, WeightedMeanCi, WeightedShare,
    weight_summary, weighted_bootstrap_ci, weighted_mean, weighted_mean_ci, weighted_share,
};
