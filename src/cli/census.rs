//! `pesquisa census`: `import` reads IBGE's Censo 2022 files (básico, demografia) and the
//! study's `setor;bairro` mapping, checks them ([`crate::census::import`]) and stores the
//! margins per bairro, replacing any previous import in one transaction; `show` prints
//! what is stored. `--illustrative` imports the invented files shipped in the binary,
//! for a demo; everything then says the margins are illustrative.

use std::path::{Path, PathBuf};

use clap::Subcommand;

use crate::accounts::fields::Bairros;
use crate::census::{self, Input, Margins};
use crate::config::Settings;
use crate::db::census::{ImportInfo, Stored};
use crate::db::{DbPool, census as store, migrations};

/// Said beside every output of illustrative margins.
const ILLUSTRATIVE: &str = "ILUSTRATIVO / ILLUSTRATIVE: invented numbers in IBGE's layout \
                            (assets/census), not census data; never weight a real study to them";

/// Setores listed by name in the import summary; the rest are counted.
const LISTED: usize = 10;

#[derive(Debug, clap::Args)]
pub struct Opts {
    #[command(subcommand)]
    pub command: CensusCommand,
}

#[derive(Debug, Subcommand)]
pub enum CensusCommand {
    /// Store census margins per bairro (households; adults 18+ by sex and age band).
    Import {
        /// IBGE "básico" file (CD_SETOR, V0001 persons, V0007 occupied households).
        #[arg(long, value_name = "FILE", required_unless_present = "illustrative")]
        basico: Option<PathBuf>,
        /// IBGE "demografia" file (CD_SETOR, V01006–V01030 persons by sex and age).
        #[arg(long, value_name = "FILE", required_unless_present = "illustrative")]
        demografia: Option<PathBuf>,
        /// The study's `setor;bairro` mapping.
        #[arg(long, value_name = "FILE", required_unless_present = "illustrative")]
        mapa: Option<PathBuf>,
        /// Use the invented files shipped in the binary (a demo, not census data).
        #[arg(long, conflicts_with_all = ["basico", "demografia", "mapa"])]
        illustrative: bool,
        /// Make a new embedded database (migrated) if none exists at database.url.
        #[arg(long)]
        create: bool,
    },
    /// Print the stored census margins and where they came from.
    Show,
}

pub async fn run(settings: Settings, opts: Opts) -> anyhow::Result<()> {
    match opts.command {
        CensusCommand::Import {
            basico,
            demografia,
            mapa,
            illustrative,
            create,
        } => {
            let files = match (basico, demografia, mapa) {
                (Some(b), Some(d), Some(m)) if !illustrative => Some([b, d, m]),
                _ => None,
            };
            import(&settings, files, create).await
        }
        CensusCommand::Show => show(&settings).await,
    }
}

fn read(path: &Path, flag: &str) -> anyhow::Result<Vec<u8>> {
    std::fs::read(path).map_err(|e| anyhow::anyhow!("{flag} {}: cannot read: {e}", path.display()))
}

fn file_name(path: &Path) -> String {
    path.file_name().map_or_else(
        || path.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    )
}

async fn import(
    settings: &Settings,
    files: Option<[PathBuf; 3]>,
    create: bool,
) -> anyhow::Result<()> {
    let bairros = Bairros::configured(settings.accounts.bairros_file.as_deref())?;
    // Everything is read and checked before the database is touched.
    let (names, bytes) = match &files {
        Some([b, d, m]) => (
            [b, d, m].map(|p| p.display().to_string()),
            [
                read(b, "--basico")?,
                read(d, "--demografia")?,
                read(m, "--mapa")?,
            ],
        ),
        None => {
            let [b, d, m] = [
                census::ILLUSTRATIVE_BASICO,
                census::ILLUSTRATIVE_DEMOGRAFIA,
                census::ILLUSTRATIVE_MAPA,
            ];
            (
                [b.0, d.0, m.0].map(String::from),
                [b.1.to_vec(), d.1.to_vec(), m.1.to_vec()],
            )
        }
    };
    let [bn, dn, mn] = &names;
    let [bb, db, mb] = &bytes;
    let margins = census::import(
        Input {
            name: bn,
            bytes: bb,
        },
        Input {
            name: dn,
            bytes: db,
        },
        Input {
            name: mn,
            bytes: mb,
        },
        bairros.all(),
    )
    .map_err(|e| anyhow::anyhow!("nothing imported: {e}"))?;

    let missing = super::database_must_exist(settings, Some("--create")).err();
    if let (Some(e), false) = (&missing, create) {
        anyhow::bail!("{e}");
    }
    let pool = DbPool::connect(&settings.database).await?;
    if missing.is_some() {
        migrations::run_pending(&pool).await?;
    }
    if let [first, ..] = migrations::pending(&pool).await?.as_slice() {
        anyhow::bail!(
            "the database has pending migrations (first: {first}); run `pesquisa migrate`"
        );
    }
    let setores = margins_setores(&margins, mb);
    let count = |n: usize| i32::try_from(n).unwrap_or(i32::MAX);
    let info = ImportInfo {
        imported_at: crate::db::users::now(),
        basico_file: match &files {
            Some([b, _, _]) => file_name(b),
            None => bn.clone(),
        },
        demografia_file: match &files {
            Some([_, d, _]) => file_name(d),
            None => dn.clone(),
        },
        mapping_file: match &files {
            Some([_, _, m]) => file_name(m),
            None => mn.clone(),
        },
        illustrative: files.is_none(),
        setores: count(setores),
        unmapped: count(margins.unmapped.len()),
        suppressed: count(margins.suppressed.len()),
    };
    store::replace(&pool, &info, &margins).await?;
    if info.illustrative {
        println!("{ILLUSTRATIVE}");
    }
    let households: u64 = margins.bairros.values().map(|m| m.households).sum();
    let adults: f64 = margins
        .bairros
        .values()
        .flat_map(|m| &m.adults)
        .map(|(_, _, v)| v)
        .sum();
    println!(
        "imported census margins ({} backend): {} bairros, {households} occupied households, \
         {adults:.0} persons aged 18 or over, from {setores} setores; any previous import replaced",
        pool.backend_name(),
        margins.bairros.len(),
    );
    report_setores(
        "setores in the census files but not in the mapping (left out)",
        &margins.unmapped,
    );
    report_setores(
        "mapped setores suppressed by IBGE (X, left out)",
        &margins.suppressed,
    );
    Ok(())
}

/// Mapped setores that went into the margins: the mapping's lines less the suppressed.
fn margins_setores(margins: &Margins, mapping: &[u8]) -> usize {
    census::parse_mapping("", &census::decode(mapping))
        .map(|m| m.len())
        .unwrap_or(0)
        .saturating_sub(margins.suppressed.len())
}

fn report_setores(what: &str, codes: &[census::SetorCode]) {
    if codes.is_empty() {
        return;
    }
    let listed: Vec<&str> = codes.iter().take(LISTED).map(|c| c.as_str()).collect();
    let more = codes.len().saturating_sub(LISTED);
    let tail = if more > 0 {
        format!(" and {more} more")
    } else {
        String::new()
    };
    println!(
        "{}: {}{tail}",
        what.replacen("setores", &format!("{} setores", codes.len()), 1),
        listed.join(", ")
    );
}

async fn show(settings: &Settings) -> anyhow::Result<()> {
    super::database_must_exist(settings, None)?;
    let pool = DbPool::connect(&settings.database).await?;
    match store::load(&pool).await? {
        None => println!(
            "no census margins stored; import them with `pesquisa census import --basico FILE \
             --demografia FILE --mapa FILE` (docs/census.md)"
        ),
        Some(stored) => print!("{}", describe(&stored)),
    }
    Ok(())
}

/// The text `show` prints.
fn describe(s: &Stored) -> String {
    let i = &s.info;
    let mut out = String::new();
    if i.illustrative {
        out.push_str(ILLUSTRATIVE);
        out.push('\n');
    }
    out.push_str(&format!(
        "census margins imported {} UTC from {} (básico), {} (demografia), {} (mapping): \
         {} setores, {} unmapped, {} suppressed\n",
        crate::survey::format::timestamp(i.imported_at),
        i.basico_file,
        i.demografia_file,
        i.mapping_file,
        i.setores,
        i.unmapped,
        i.suppressed
    ));
    out.push_str("bairro;households");
    for sex in ["feminino", "masculino"] {
        for band in census::ADULT_BANDS {
            out.push_str(&format!(";{sex} {band}"));
        }
    }
    out.push('\n');
    for (bairro, m) in &s.margins.bairros {
        out.push_str(&format!("{bairro};{}", m.households));
        for sex in ["feminino", "masculino"] {
            for band in census::ADULT_BANDS {
                let v = m
                    .adults
                    .iter()
                    .find(|(s, b, _)| s == sex && b == band)
                    .map_or(0.0, |(_, _, v)| *v);
                out.push_str(&format!(";{v:.1}"));
            }
        }
        out.push('\n');
    }
    out
}
