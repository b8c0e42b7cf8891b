//! Export of the responses for analysis: CSV (two profiles) or JSON Lines, one row per
//! response, one column per question key (a `multi` question gives one 0/1 column per
//! option), plus derived columns (`classe_renda`, `{key}__ponto_medio`, and the Critério
//! Brasil `cceb_pontos` and `classe_cceb` when the questionnaire asks its items).
//!
//! Read-only except for one audit entry when personal data is exported. Rows are read
//! in batches by ascending id (keyset pagination), so memory stays flat, all in one
//! consistent snapshot taken when the export starts ([`Batches`]): rows saved or changed
//! meanwhile do not show, not even in part. Respondents are pseudonymous
//! ([`pseudonym::response_id`]).

pub mod columns;
pub mod download;
pub mod pseudonym;
pub mod sink;
pub mod syntax;

use std::io::Write;
use std::path::Path;
use std::sync::Arc;

use serde::Serialize;

pub use crate::census::weighting::WeightPlan;
pub use crate::db::batches::{BATCH_SIZE, Batch, Batches, Filters};
use crate::db::census::{self, CensusWeights};
use crate::db::{DbPool, audit};
use crate::survey::Definition;

pub use columns::{Cell, Column, OPEN_TOP_FACTOR, Person, plan};
use sink::{HashingWriter, Sink};

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    /// Text table, one row per response (dialect: --csv-profile).
    Csv,
    /// One JSON object per response and line.
    Jsonl,
    /// Excel workbook, one sheet `respostas`; needs `--output`.
    Xlsx,
    /// CSV with coded answers + SPSS/PSPP syntax (`.sps`); needs `--output`.
    Spss,
    /// CSV with coded answers + Stata do-file (`.do`); needs `--output`.
    Stata,
    /// CSV with coded answers + R script (`.R`); needs `--output`.
    R,
}

impl Format {
    pub fn as_str(self) -> &'static str {
        match self {
            Format::Csv => "csv",
            Format::Jsonl => "jsonl",
            Format::Xlsx => "xlsx",
            Format::Spss => "spss",
            Format::Stata => "stata",
            Format::R => "r",
        }
    }

    /// Whether this is a labelled export for a statistics package: an RFC 4180 CSV
    /// with single-choice answers as numeric codes, plus a syntax file ([`syntax`]).
    pub fn is_labelled(self) -> bool {
        syntax::Package::of(self).is_some()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum CsvProfile {
    /// UTF-8, comma, CRLF, RFC 4180 quoting.
    #[default]
    Rfc4180,
    /// UTF-8 with BOM, semicolon, decimal comma: opens as-is in a Brazilian Excel.
    ExcelBr,
}

/// What to export and how.
#[derive(Debug, Clone)]
pub struct ExportOptions {
    pub format: Format,
    pub csv_profile: CsvProfile,
    pub filters: Filters,
    pub include_personal_data: bool,
    /// Rows per query; [`BATCH_SIZE`] unless testing.
    pub batch_size: i64,
    /// The Critério Brasil table of the `cceb_pontos` and `classe_cceb` columns
    /// (`survey.cceb_table`; the embedded CCEB 2026 by default).
    pub cceb: std::sync::Arc<crate::survey::CcebTable>,
    /// Zone of the workbook's dates (`survey.timezone`); CSV and JSON Lines write UTC.
    pub zone: crate::locale::Zone,
    /// How the `peso` column is computed (`[weighting]`).
    pub weighting: WeightPlan,
    /// The weights, once computed ([`weights`]); `None`: [`export`] computes them.
    pub weights: Option<Arc<CensusWeights>>,
    /// Parameters of the data-quality flags (`[quality]`).
    pub quality_params: crate::quality::Params,
    /// The flags of the `qualidade` columns, once computed ([`with_quality`]); `None`:
    /// [`export`] computes them.
    pub quality: Option<Arc<columns::QualityFlags>>,
    /// The configured quotas' names: the labelled files code `triagem`'s `quota:NAME`.
    pub quotas: Vec<String>,
}

impl Default for ExportOptions {
    fn default() -> Self {
        ExportOptions {
            format: Format::Csv,
            csv_profile: CsvProfile::Rfc4180,
            filters: Filters::default(),
            include_personal_data: false,
            batch_size: BATCH_SIZE,
            cceb: crate::survey::CcebTable::embedded(),
            zone: crate::locale::Zone::default(),
            weighting: WeightPlan::default(),
            weights: None,
            quality_params: crate::quality::Params::default(),
            quality: None,
            quotas: Vec::new(),
        }
    }
}

/// The raking weights of the `peso` column for the responses `opts` selects: computed
/// before the rows are written, since each weight depends on the whole sample. Read in
/// a snapshot of its own: a response saved between it and the export's snapshot has no
/// weight (the codebook says when a row has none).
pub async fn weights(
    pool: &DbPool,
    def: &Definition,
    opts: &ExportOptions,
) -> anyhow::Result<Arc<CensusWeights>> {
    match &opts.weights {
        Some(w) => Ok(Arc::clone(w)),
        None => Ok(Arc::new(
            census::weights(pool, def, &opts.filters, &opts.weighting).await?,
        )),
    }
}

/// `opts` with the data-quality flags computed (when not yet) and, with
/// `filters.exclude_flagged`, the flagged responses left out of every read (the weights'
/// too). Flags are judged over all responses, whatever the other filters.
pub async fn with_quality(
    pool: &DbPool,
    def: &Definition,
    opts: &ExportOptions,
) -> anyhow::Result<ExportOptions> {
    let mut opts = opts.clone();
    if opts.quality.is_none() {
        let a =
            crate::db::quality::exclude_flagged(pool, def, &opts.quality_params, &mut opts.filters)
                .await?;
        opts.quality = Some(Arc::new(a.flags));
    }
    Ok(opts)
}

/// What was written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Summary {
    pub rows: u64,
    pub bytes: u64,
    /// Hex SHA-256 of the output bytes.
    pub sha256: String,
}

/// Export the responses matching `opts` to `out`, streaming batch by batch.
///
/// With `include_personal_data`, an audit entry (`export.personal_data`, detail
/// `"<format> <rows> rows"`) is written before any byte; if that write fails (a
/// read-only database user), nothing is exported and the error says why.
pub async fn export<W: Write>(
    pool: &DbPool,
    def: &Definition,
    secret: &[u8],
    opts: &ExportOptions,
    out: W,
) -> anyhow::Result<(Summary, W)> {
    let opts = &with_quality(pool, def, opts).await?;
    let weights = weights(pool, def, opts).await?;
    let mut batches = Batches::open(
        pool,
        &opts.filters,
        opts.batch_size,
        opts.include_personal_data,
    )
    .await?;
    if opts.include_personal_data {
        // Counted in the snapshot the rows come from: the entry says what was exported.
        let rows = batches.count().unwrap_or(0);
        let detail = format!("{} {rows} rows", opts.format.as_str());
        audit::record(pool, None, "export.personal_data", None, &detail)
            .await
            .map_err(|e| {
                anyhow::anyhow!(
                    "refusing to export personal data: the audit entry could not be written \
                     (is the database user read-only?): {e}"
                )
            })?;
    }
    let cols = export_columns(def, opts, &weights);
    let labelled = opts.format.is_labelled();
    let io = |e: std::io::Error| anyhow::anyhow!("cannot write the export: {e}");
    let mut sink = Sink::new(
        opts.format,
        opts.csv_profile,
        opts.zone,
        HashingWriter::new(out),
    )
    .map_err(io)?;
    sink.header(&cols).map_err(io)?;
    let mut rows = 0u64;
    let nobody = Person::default();
    let ids = pseudonym::Pseudonyms::new(secret);
    let slots = columns::AnswerSlots::new(def);
    let asked = columns::AskedPlan::new(def);
    while let Some(batch) = batches.next().await? {
        for response in &batch.rows {
            let row = columns::Row {
                response,
                answers: slots.parse(&response.answers),
                pseudonym: ids.response_id(response.id),
                asked: asked.asked(response),
                person: opts.include_personal_data.then(|| {
                    response
                        .user_id
                        .and_then(|id| batch.people.get(&id))
                        .unwrap_or(&nobody)
                }),
            };
            if labelled {
                sink.row(cols.iter().map(|c| one_line(c.cell(&row))))
                    .map_err(io)?;
            } else {
                sink.row(cols.iter().map(|c| c.cell(&row))).map_err(io)?;
            }
            rows += 1;
        }
    }
    let hashing = sink.finish().map_err(io)?;
    let (out, bytes, sha256) = hashing.finish().map_err(io)?;
    Ok((
        Summary {
            rows,
            bytes,
            sha256,
        },
        out,
    ))
}

/// The columns of an export: single-choice answers coded for the labelled formats.
fn export_columns<'d>(
    def: &'d Definition,
    opts: &ExportOptions,
    weights: &Arc<CensusWeights>,
) -> Vec<Column<'d>> {
    let quality = opts.quality.clone().unwrap_or_default();
    let cols = columns::plan_full(
        def,
        opts.include_personal_data,
        &opts.cceb,
        weights,
        &quality,
        &opts.quotas,
    );
    if opts.format.is_labelled() {
        columns::with_codes(def, cols, &opts.quotas)
    } else {
        cols
    }
}

/// A text cell on one line: PSPP's `GET DATA` reads one case per line, even inside
/// quotes, so the labelled formats write a line break in free text as a space.
fn one_line(cell: Cell<'_>) -> Cell<'_> {
    match cell {
        Cell::Text(t) if t.contains(['\r', '\n']) => {
            Cell::Text(t.replace("\r\n", " ").replace(['\r', '\n'], " ").into())
        }
        other => other,
    }
}

/// The two files of a labelled export, created (as hidden temporary files) before any
/// row is read, so that an unwritable `--output` fails first.
pub struct LabelledFiles {
    pub paths: syntax::PairPaths,
    package: syntax::Package,
    data: sink::AtomicFile,
    script: sink::AtomicFile,
}

impl LabelledFiles {
    /// The temporary files of the pair for `--output BASE` ([`syntax::pair_paths`]).
    pub fn create(output: &Path, format: Format) -> anyhow::Result<LabelledFiles> {
        let package = syntax::Package::of(format)
            .ok_or_else(|| anyhow::anyhow!("{} is not a labelled format", format.as_str()))?;
        let paths = syntax::pair_paths(output, package)?;
        let data = sink::AtomicFile::create(&paths.data)?;
        let script = sink::AtomicFile::create(&paths.syntax)?;
        Ok(LabelledFiles {
            paths,
            package,
            data,
            script,
        })
    }
}

/// A labelled export: the data CSV and the syntax file that reads it, both renamed into
/// place only once both are complete (if the second rename fails, the first file is
/// removed again, so no half pair is left).
pub async fn export_labelled(
    pool: &DbPool,
    def: &Definition,
    secret: &[u8],
    opts: &ExportOptions,
    files: LabelledFiles,
) -> anyhow::Result<Summary> {
    let LabelledFiles {
        paths,
        package,
        data,
        mut script,
    } = files;
    let csv_name = paths
        .data
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    // Computed once: the script declares the `peso` column the data then carries.
    let opts = &with_quality(pool, def, opts).await?;
    let computed = weights(pool, def, opts).await?;
    let opts = &ExportOptions {
        weights: Some(Arc::clone(&computed)),
        ..opts.clone()
    };
    let vars: Vec<columns::Variable> = export_columns(def, opts, &computed)
        .iter()
        .map(Column::variable)
        .collect();
    script
        .write_all(syntax::script(package, &vars, &csv_name).as_bytes())
        .map_err(|e| anyhow::anyhow!("cannot write {}: {e}", paths.syntax.display()))?;
    let (summary, mut data) = export(pool, def, secret, opts, data).await?;
    data.sync()?;
    script.sync()?;
    data.commit()?;
    if let Err(e) = script.commit() {
        let _ = std::fs::remove_file(&paths.data);
        return Err(e);
    }
    Ok(summary)
}

/// A labelled export as one zip archive, for a web download: the syntax file
/// `{stem}.sps` (`.do`, `.R`) and the data `{stem}.csv` it reads, written to `out` (a
/// file: the archive is sent once complete, and its size never sits in memory).
pub async fn export_labelled_zip<W: Write + std::io::Seek>(
    pool: &DbPool,
    def: &Definition,
    secret: &[u8],
    opts: &ExportOptions,
    stem: &str,
    out: W,
) -> anyhow::Result<(Summary, W)> {
    let package = syntax::Package::of(opts.format)
        .ok_or_else(|| anyhow::anyhow!("{} is not a labelled format", opts.format.as_str()))?;
    let csv_name = format!("{stem}.csv");
    // Computed once: the script declares the `peso` column the data then carries.
    let computed = weights(pool, def, opts).await?;
    let opts = &ExportOptions {
        weights: Some(Arc::clone(&computed)),
        ..opts.clone()
    };
    let vars: Vec<columns::Variable> = export_columns(def, opts, &computed)
        .iter()
        .map(Column::variable)
        .collect();
    let mut archive = zip::ZipWriter::new(out);
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        .large_file(true);
    archive.start_file(format!("{stem}.{}", package.extension()), options)?;
    archive.write_all(syntax::script(package, &vars, &csv_name).as_bytes())?;
    archive.start_file(csv_name, options)?;
    let (summary, archive) = export(pool, def, secret, opts, archive).await?;
    let out = archive.finish()?;
    Ok((summary, out))
}

/// [`export`] into the file `path`, which appears only once complete (temporary file
/// in the same directory, then rename).
pub async fn export_to_file(
    pool: &DbPool,
    def: &Definition,
    secret: &[u8],
    opts: &ExportOptions,
    path: &Path,
) -> anyhow::Result<Summary> {
    let file = sink::AtomicFile::create(path)?;
    let (summary, file) = export(pool, def, secret, opts, file).await?;
    file.commit()?;
    Ok(summary)
}

/// The codebook as CSV (same profile as the data): one line per column with its name,
/// type, question text (pt), options as `value=label | …` and notes. The `peso` line
/// describes `opts.weights` (set it to the export's weights, [`weights`]).
pub fn codebook(def: &Definition, opts: &ExportOptions) -> anyhow::Result<Vec<u8>> {
    let mut w = sink::csv_writer(opts.csv_profile, Vec::new())?;
    w.write_record(["column", "type", "question_pt", "options", "notes"])?;
    let weights = opts
        .weights
        .clone()
        .unwrap_or_else(|| Arc::new(CensusWeights::NoCensus));
    for col in export_columns(def, opts, &weights) {
        let [kind, question, options, notes] = col.describe();
        w.write_record([col.name.as_str(), &kind, &question, &options, &notes])?;
    }
    w.into_inner()
        .map_err(|e| anyhow::anyhow!("codebook: {}", e.error()))
}

/// The export manifest.
#[derive(Debug, Clone, Serialize)]
pub struct Manifest {
    pub rows: u64,
    pub bytes: u64,
    pub sha256: String,
    pub format: Format,
    pub csv_profile: Option<CsvProfile>,
    pub definition_id: String,
    pub definition_version: u32,
    pub filters: Filters,
    pub personal_data: bool,
    pub output: Option<String>,
    /// The syntax file of a labelled export (`output` is then its data CSV).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub syntax: Option<String>,
    /// UTC ISO 8601.
    pub exported_at: String,
}

impl Manifest {
    pub fn new(
        summary: &Summary,
        def: &Definition,
        opts: &ExportOptions,
        output: Option<&Path>,
        at: chrono::DateTime<chrono::Utc>,
    ) -> Manifest {
        Manifest {
            rows: summary.rows,
            bytes: summary.bytes,
            sha256: summary.sha256.clone(),
            format: opts.format,
            csv_profile: (opts.format == Format::Csv || opts.format.is_labelled())
                .then_some(opts.csv_profile),
            definition_id: def.id().to_string(),
            definition_version: def.version(),
            filters: opts.filters.clone(),
            personal_data: opts.include_personal_data,
            output: output.map(|p| p.display().to_string()),
            syntax: None,
            exported_at: crate::survey::format::timestamp(at.naive_utc()),
        }
    }

    /// One line of JSON.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }
}
