//! `pesquisa check-config`: validate the configuration and print the effective values
//! with every secret shown as `***`. Connects to nothing.

use crate::config::{Settings, Source};

#[derive(Debug, clap::Args)]
pub struct Opts {}

pub fn run(settings: &Settings, source: &Source, _opts: Opts) -> anyhow::Result<()> {
    println!("# configuration OK, from {}", super::describe(source));
    for warning in settings.accounts.example_values_left() {
        eprintln!("pesquisa: warning: {warning}");
    }
    print!("{}", settings.to_redacted_toml());
    Ok(())
}
