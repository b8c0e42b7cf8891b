//! `[quotas]`: the sample's quota cells and their targets ([`crate::survey::quota`]).
//!
//! ```toml
//! [quotas]
//! full = "screen_out"            # or "delete": what is kept of a respondent turned away
//!
//! [[quotas.quota]]
//! name = "bairros"
//! by = ["bairro"]
//! mode = "close"                 # or "warn": accept beyond the target, and show it
//! targets = { "Centro" = 40, "Vila Nova" = 30 }
//!
//! [[quotas.quota]]
//! name = "sexo_idade"
//! by = ["sexo", "faixa_etaria"]
//! cells = [{ cell = { sexo = "feminino", faixa_etaria = "18-29" }, target = 20 }]
//! ```
//!
//! Checked at start-up against the questionnaire, the bairro list and the Critério Brasil
//! table; a mistake names its key (`quotas.quota[0].targets.Centro`).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::ConfigError;
use crate::survey::quota::{Categories, Quota, QuotaSpec, Quotas, WhenFull};

/// What is kept of a respondent whose `close` cell is full.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FullSetting {
    /// Kept, marked screened out (`quota:<name>`), like any screen-out.
    #[default]
    ScreenOut,
    /// The answers are erased; the mark stays so they are not asked again.
    Delete,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct QuotaSettings {
    pub full: FullSetting,
    pub quota: Vec<QuotaEntry>,
}

/// One `[[quotas.quota]]`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QuotaEntry {
    pub name: String,
    /// One or two of bairro, classe_cceb, classe_renda, sexo, faixa_etaria.
    pub by: Vec<String>,
    #[serde(default = "default_mode")]
    pub mode: String,
    /// One-variable cells: category → target.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub targets: BTreeMap<String, i64>,
    /// Cells of any number of variables.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cells: Vec<CellEntry>,
}

fn default_mode() -> String {
    "close".into()
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CellEntry {
    pub cell: BTreeMap<String, String>,
    pub target: i64,
}

impl QuotaSettings {
    /// The quotas, checked against what the study can place respondents by.
    pub fn plan(&self, cats: &Categories) -> Result<Quotas, ConfigError> {
        let mut list = Vec::new();
        for (i, e) in self.quota.iter().enumerate() {
            let spec = QuotaSpec {
                name: &e.name,
                by: &e.by,
                mode: &e.mode,
                targets: e.targets.iter().map(|(k, v)| (k.as_str(), *v)).collect(),
                cells: e.cells.iter().map(|c| (&c.cell, c.target)).collect(),
            };
            list.push(
                Quota::parse(&spec, cats).map_err(|err| ConfigError::InvalidAt {
                    key: format!("quotas.quota[{i}].{}", err.at),
                    reason: err.reason,
                })?,
            );
        }
        let when_full = match self.full {
            FullSetting::ScreenOut => WhenFull::ScreenOut,
            FullSetting::Delete => WhenFull::Delete,
        };
        Quotas::new(list, when_full).map_err(|err| ConfigError::InvalidAt {
            key: format!("quotas.quota.{}", err.at),
            reason: err.reason,
        })
    }
}

#[cfg(test)]
mod tests {
    use figment::Figment;
    use figment::providers::{Format, Serialized, Toml};

    use crate::config::Settings;
    use crate::survey::quota::{Mode, WhenFull};

    fn load(toml: &str) -> Result<Settings, String> {
        let figment =
            Figment::from(Serialized::defaults(Settings::default())).merge(Toml::string(toml));
        Settings::from_figment(figment).map_err(|e| e.to_string())
    }

    #[test]
    fn quotas_load_and_show_in_the_printed_configuration() {
        let s = load(
            r#"
[quotas]
full = "delete"
[[quotas.quota]]
name = "bairros"
by = ["bairro"]
targets = { "EUGÊNIO DE MELO" = 40 }
[[quotas.quota]]
name = "sexo_idade"
by = ["sexo", "faixa_etaria"]
mode = "warn"
cells = [{ cell = { sexo = "feminino", faixa_etaria = "18-29" }, target = 20 }]
"#,
        )
        .expect("valid");
        let plan = s.quota_plan().expect("plan");
        assert_eq!(plan.when_full, WhenFull::Delete);
        assert_eq!(plan.list[0].mode, Mode::Close, "close by default");
        assert_eq!(plan.list[1].cells[0].key, "feminino × 18-29");
        let shown = s.to_redacted_toml();
        assert!(shown.contains("[[quotas.quota]]"), "{shown}");
        assert!(shown.contains("sexo_idade"), "{shown}");
    }

    #[test]
    fn a_broken_quota_names_its_key_at_start_up() {
        for (toml, key) in [
            (
                "[[quotas.quota]]\nname = \"b\"\nby = [\"bairro\"]\ntargets = { \"Atlântida\" = 4 }\n",
                "quotas.quota[0].targets.Atlântida",
            ),
            (
                "[[quotas.quota]]\nname = \"b\"\nby = [\"renda\"]\ntargets = { \"A\" = 4 }\n",
                "quotas.quota[0].by[0]",
            ),
            (
                "[[quotas.quota]]\nname = \"c\"\nby = [\"classe_cceb\"]\ntargets = { \"A\" = -1 }\n",
                "quotas.quota[0].targets.A",
            ),
            (
                "[[quotas.quota]]\nname = \"c\"\nby = [\"classe_renda\"]\ntargets = { \"A\" = 1 }\n\
                 [[quotas.quota]]\nname = \"c\"\nby = [\"classe_renda\"]\ntargets = { \"B\" = 1 }\n",
                "quotas.quota.name",
            ),
        ] {
            let err = load(toml).expect_err(key);
            assert!(err.contains(&format!("`{key}`")), "{key}: {err}");
        }
        let err = load("[quotas]\nfull = \"drop\"\n").expect_err("full");
        assert!(err.contains("full"), "{err}");
    }
}
