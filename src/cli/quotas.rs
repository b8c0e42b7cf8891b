//! `pesquisa quotas`: the fill of every configured quota cell (text table or JSON),
//! read-only so an analyst's read-only database user can run it; `--recount` rebuilds
//! the places and counts from the responses in one transaction (after a change of the
//! quotas, or to repair), which needs the application's user, and audits it
//! (`cli.quotas_recounted`, the places before and after).

use std::io::Write;

use crate::config::Settings;
use crate::db::DbPool;
use crate::db::quotas::{self as store, Fill, Placing};

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Text,
    Json,
}

#[derive(Debug, clap::Args)]
pub struct Opts {
    /// Output format.
    #[arg(long, value_enum, default_value = "text")]
    pub format: Format,
    /// Rebuild every place and count from the completed responses (one transaction;
    /// needs write access), then print the fill.
    #[arg(long)]
    pub recount: bool,
}

pub async fn run(settings: Settings, opts: Opts) -> anyhow::Result<()> {
    let quotas = settings.quota_plan()?;
    super::database_must_exist(&settings, None)?;
    let pool = DbPool::connect(&settings.database).await?;
    if opts.recount {
        let def = settings.survey.load_definition()?;
        let cceb = settings.survey.load_cceb_table()?;
        let placing = Placing {
            quotas: &quotas,
            def: &def,
            cceb: &cceb,
        };
        let counted = store::recount(&pool, placing).await?;
        // Counts only: which responses hold the places is personal and stays out.
        let detail = format!("antes={} depois={}", counted.before, counted.after);
        crate::db::audit::record(&pool, None, "cli.quotas_recounted", None, &detail).await?;
        eprintln!(
            "pesquisa: recounted: {} places (before: {})",
            counted.after, counted.before
        );
    }
    let fill = store::fill(&pool, &quotas).await?;
    let out = match opts.format {
        Format::Json => serde_json::to_string_pretty(&fill)? + "\n",
        Format::Text => table(&fill),
    };
    std::io::stdout().lock().write_all(out.as_bytes())?;
    Ok(())
}

/// The fill as an aligned text table, one line per cell.
fn table(fill: &[Fill]) -> String {
    if fill.is_empty() {
        return "no quotas configured ([[quotas.quota]] in the configuration; docs/quotas.md)\n"
            .into();
    }
    let head = ["quota", "cell", "mode", "target", "filled", "%", "status"];
    let rows: Vec<[String; 7]> = fill
        .iter()
        .map(|f| {
            [
                f.quota.clone(),
                f.cell.clone(),
                f.mode.to_string(),
                f.target.to_string(),
                f.filled.to_string(),
                f.percent().to_string(),
                status(f).to_string(),
            ]
        })
        .collect();
    let mut widths = head.map(|h| h.chars().count());
    for r in &rows {
        for (w, c) in widths.iter_mut().zip(r) {
            *w = (*w).max(c.chars().count());
        }
    }
    let line = |cells: &[String]| {
        let parts: Vec<String> = cells
            .iter()
            .zip(widths)
            .enumerate()
            .map(|(i, (c, w))| {
                let pad = " ".repeat(w - c.chars().count());
                // Numbers right-aligned, words left-aligned.
                if (3..=5).contains(&i) {
                    format!("{pad}{c}")
                } else {
                    format!("{c}{pad}")
                }
            })
            .collect();
        parts.join("  ").trim_end().to_string() + "\n"
    };
    let mut out = line(&head.map(String::from));
    for r in &rows {
        out.push_str(&line(r));
    }
    out
}

fn status(f: &Fill) -> &'static str {
    if f.is_over() {
        "over"
    } else if f.is_full() {
        "full"
    } else {
        "open"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_aligns_and_names_the_status() {
        let fill = vec![
            Fill {
                quota: "bairros".into(),
                cell: "EUGÊNIO DE MELO".into(),
                mode: "close",
                target: 40,
                filled: 40,
            },
            Fill {
                quota: "sexo_idade".into(),
                cell: "feminino × 18-29".into(),
                mode: "warn",
                target: 20,
                filled: 23,
            },
        ];
        let t = table(&fill);
        let lines: Vec<&str> = t.lines().collect();
        assert_eq!(lines.len(), 3);
        assert!(lines[1].ends_with("100  full"), "{t}");
        assert!(lines[2].ends_with("115  over"), "{t}");
        // Right-aligned under their heading: "target" and "40" end in the same column.
        let end = |line: &str, s: &str| {
            let at = line.find(s).expect(s);
            line[..at].chars().count() + s.chars().count()
        };
        assert_eq!(end(lines[0], "target"), end(lines[1], " 40"), "{t}");
    }
}
