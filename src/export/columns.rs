//! The column plan: which columns an export has, in which order, how each cell is
//! computed from a stored response, and the codebook that describes them.

use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::Arc;

use chrono::NaiveDateTime;

use crate::db::census::CensusWeights;
use crate::db::responses::Response;
use crate::quality::{Flag, FlagSet};
use crate::stats::income_class::IncomeClass;
use crate::survey::columns as colnames;
use crate::survey::derived::option_income_class;
pub use crate::survey::slots::{AnswerSlots, RowAnswers};
use crate::survey::slots::{CcebSlots, Resolved, other_texts};
use crate::survey::{CcebTable, Choice, Definition, Question, QuestionKind, Role, Unit};

pub use crate::survey::derived::{OPEN_TOP_FACTOR, option_midpoint};

/// Code of a question the respondent was not asked (hidden by a condition, after a
/// screen-out, or absent from the questionnaire version they answered), so that it
/// differs from "not answered" (empty).
pub const NOT_ASKED: i64 = -2;

/// Which questions each response was asked, by slot: the flow of the current definition
/// for rows of its version, the questions present for rows of an earlier shipped
/// version, everything for a version the binary does not know.
pub struct AskedPlan<'d> {
    def: &'d Definition,
    /// Whether the current definition has any condition (else every slot is asked).
    has_logic: bool,
    /// (version, mask over the current definition's questions).
    previous: Vec<(i32, Vec<bool>)>,
}

impl<'d> AskedPlan<'d> {
    pub fn new(def: &'d Definition) -> AskedPlan<'d> {
        let has_logic = def.questions().any(|q| q.show_if.is_some())
            || def.pages().iter().any(|p| p.show_if.is_some())
            || def.screen_outs().next().is_some();
        let previous = crate::survey::definition::previous_versions(def)
            .iter()
            .map(|old| {
                let version = i32::try_from(old.version()).unwrap_or(i32::MAX);
                (
                    version,
                    def.questions()
                        .map(|q| old.question(&q.key).is_some())
                        .collect(),
                )
            })
            .collect();
        AskedPlan {
            def,
            has_logic,
            previous,
        }
    }

    /// The mask for `response`; `None` when every question counts as asked.
    pub fn asked(&self, response: &Response) -> Option<Vec<bool>> {
        let current = i32::try_from(self.def.version()).unwrap_or(i32::MAX);
        if response.definition_version == current && response.definition_id == self.def.id() {
            self.has_logic
                .then(|| crate::survey::flow::Flow::new(self.def, &response.answers()).asked_mask())
        } else {
            self.previous
                .iter()
                .find(|(v, _)| *v == response.definition_version)
                .map(|(_, m)| m.clone())
        }
    }
}

/// One exported value, borrowing its text from the row where it can (an export writes
/// tens of millions of cells; copying each one was a measurable share of its time).
#[derive(Debug, Clone, PartialEq)]
pub enum Cell<'a> {
    /// No value: not answered, not applicable, or excluded from numeric analysis.
    Empty,
    Int(i64),
    Num(f64),
    Text(Cow<'a, str>),
    /// A UTC time, written as [`timestamp`] does.
    Time(NaiveDateTime),
}

pub use crate::db::batches::Person;

/// Everything a row is computed from.
pub struct Row<'a> {
    pub response: &'a Response,
    pub answers: RowAnswers<'a>,
    pub pseudonym: String,
    /// Per slot, whether the question was asked ([`AskedPlan::asked`]); `None`: all were.
    pub asked: Option<Vec<bool>>,
    /// `Some` only when personal data is exported (an empty [`Person`] for a response
    /// detached from its account).
    pub person: Option<&'a Person>,
}

#[derive(Debug, Clone)]
enum Source<'d> {
    ResponseId,
    DefinitionVersion,
    SubmittedAt,
    UpdatedAt,
    Bairro,
    ScreenedOut,
    ConfirmedChecks,
    Nome,
    Sobrenome,
    Email,
    Telefone,
    /// A question and its slot in [`RowAnswers`].
    Answer(&'d Question, usize),
    /// A question, its slot, and the position of the option this column flags.
    MultiFlag(&'d Question, usize, usize),
    /// A grid, its slot, and the position of the item of this column.
    GridItem(&'d Question, usize, usize),
    /// The "other" text of a question: the question, its slot, the text's slot.
    OtherText(&'d Question, usize, usize),
    Midpoint(&'d Question, usize),
    IncomeClass(&'d Question, usize),
    /// Critério Brasil points (`false`) or class (`true`).
    Cceb(Arc<CcebColumns>, bool),
    /// The raking weight of the response (`peso`).
    Weight(Arc<CensusWeights>),
    /// The data-quality flags' codes joined by `;` (`qualidade`), or one flag as 0/1.
    Quality(Arc<QualityFlags>, Option<Flag>),
}

/// The data-quality flags of the exported responses, by response id (flagged ones only).
pub type QualityFlags = HashMap<i64, FlagSet>;

/// Where the Critério Brasil columns read their items: for each item of the table, the
/// question's slot and the points of each of its options by position (so a row is scored
/// without comparing strings).
#[derive(Debug)]
pub struct CcebColumns {
    items: CcebSlots,
    /// The slot after which the columns go: the last of the items in the definition.
    last_slot: usize,
}

impl CcebColumns {
    /// The plan when `def` asks every item of `table` as a single-choice question.
    fn new(def: &Definition, table: &Arc<CcebTable>) -> Option<CcebColumns> {
        let items = CcebSlots::new(&AnswerSlots::new(def), table)?;
        let last_slot = items.slots().max()?;
        Some(CcebColumns { items, last_slot })
    }

    fn table(&self) -> &Arc<CcebTable> {
        self.items.table()
    }

    /// Whether the row was asked every item (else its class is "not asked").
    fn all_asked(&self, row: &Row<'_>) -> bool {
        self.items.slots().all(|slot| row.was_asked(slot))
    }

    /// The points of a row; `None` when an item is unanswered or not scored.
    fn points(&self, answers: &RowAnswers<'_>) -> Option<u32> {
        self.items.points(answers)
    }
}

/// One column of the export.
#[derive(Debug, Clone)]
pub struct Column<'d> {
    pub name: String,
    source: Source<'d>,
    /// Set by [`with_codes`] on single-choice answers: the cell is the option's code,
    /// not its value (the labelled files for statistics packages).
    codes: Option<Arc<CodeList>>,
}

/// The numeric codes of a single-choice question in the labelled files: the current
/// options in questionnaire order are 1, 2, …; values only earlier versions offered
/// follow, so that no stored answer loses its code.
#[derive(Debug)]
pub struct CodeList {
    options: Vec<CodedOption>,
    /// The code of each option, in the same order.
    codes: Vec<i64>,
}

/// The code of a scale's `i`-th missing option ("não sei" = 99, the next 98, …): points
/// lie within ±[`crate::survey::definition::MAX_POINT`], so these never collide.
pub fn missing_code(i: usize) -> i64 {
    99 - i64::try_from(i).unwrap_or(0)
}

/// One coded option.
#[derive(Debug, Clone, PartialEq)]
pub struct CodedOption {
    pub value: String,
    /// The Portuguese label (an earlier version's option says which version).
    pub label: String,
    /// "Prefiro não informar" and the like: declared missing.
    pub excluded: bool,
}

impl CodeList {
    fn new(q: &Question, previous: &[Definition]) -> CodeList {
        let mut options: Vec<CodedOption> = q
            .options()
            .iter()
            .map(|o| CodedOption {
                value: o.value.clone(),
                label: o.label.pt.clone(),
                excluded: o.excluded,
            })
            .collect();
        for old in previous {
            let Some(old_q) = old.question(&q.key) else {
                continue;
            };
            for o in old_q.options() {
                if options.iter().all(|c| c.value != o.value) {
                    options.push(CodedOption {
                        value: o.value.clone(),
                        label: crate::i18n::Lang::Pt
                            .labelled_files()
                            .earlier_version
                            .replace("{label}", &o.label.pt)
                            .replace("{version}", &old.version().to_string()),
                        excluded: o.excluded,
                    });
                }
            }
        }
        let codes = (1..).take(options.len()).collect();
        CodeList { options, codes }
    }

    /// A scale's or grid's codes: each point is its own number, the missing options
    /// 99, 98, … ([`missing_code`]).
    fn scale(q: &Question) -> CodeList {
        let mut missing = 0;
        let (options, codes) = q
            .options()
            .iter()
            .map(|o| {
                let code = if o.excluded {
                    missing += 1;
                    missing_code(missing - 1)
                } else {
                    o.value.parse().unwrap_or(0)
                };
                let coded = CodedOption {
                    value: o.value.clone(),
                    label: o.label.pt.clone(),
                    excluded: o.excluded,
                };
                (coded, code)
            })
            .unzip();
        CodeList { options, codes }
    }

    /// `classe_renda`'s codes: the income classes A to E as 1 to 5 (the report's order).
    fn income_classes() -> CodeList {
        let labels = crate::i18n::Lang::Pt.labelled_files().income_classes;
        let options = IncomeClass::ALL
            .iter()
            .zip(labels)
            .map(|(c, label)| CodedOption {
                value: c.as_str().to_string(),
                label: label.to_string(),
                excluded: false,
            })
            .collect::<Vec<_>>();
        let codes = (1..).take(options.len()).collect();
        CodeList { options, codes }
    }

    /// `classe_cceb`'s codes: the table's classes in its order (A first) as 1, 2, …
    fn cceb_classes(table: &CcebTable) -> CodeList {
        let template = crate::i18n::Lang::Pt.labelled_files().cceb_class;
        let options = table
            .classes()
            .iter()
            .map(|k| CodedOption {
                value: k.class.clone(),
                label: template
                    .replace("{class}", &k.class)
                    .replace("{min}", &k.min.to_string())
                    .replace("{max}", &k.max.to_string()),
                excluded: false,
            })
            .collect::<Vec<_>>();
        let codes = (1..).take(options.len()).collect();
        CodeList { options, codes }
    }

    /// `triagem`'s codes: 0 = not screened out; the definition's screen-out rules in its
    /// order, then those only earlier versions had, then each configured quota's
    /// `quota:NAME`, as 1, 2, …; a last code for a stored key none of these know (a quota
    /// since removed), so that every screened-out row still counts as one.
    fn screen_outs(def: &Definition, previous: &[Definition], quotas: &[String]) -> CodeList {
        let texts = crate::i18n::Lang::Pt.labelled_files();
        let coded = |value: String, label: String| CodedOption {
            value,
            label,
            excluded: false,
        };
        let mut options = vec![coded(String::new(), texts.not_screened_out.to_string())];
        let rule = |key: &str| texts.screen_out_rule.replace("{key}", key);
        for s in def.screen_outs() {
            if options.iter().all(|o| o.value != s.key) {
                options.push(coded(s.key.clone(), rule(&s.key)));
            }
        }
        for old in previous {
            for s in old.screen_outs() {
                if options.iter().all(|o| o.value != s.key) {
                    let label = texts
                        .earlier_version
                        .replace("{label}", &rule(&s.key))
                        .replace("{version}", &old.version().to_string());
                    options.push(coded(s.key.clone(), label));
                }
            }
        }
        for name in quotas {
            let key = format!("{}{name}", crate::survey::quota::SCREEN_OUT_PREFIX);
            if options.iter().all(|o| o.value != key) {
                options.push(coded(key, texts.quota_full.replace("{name}", name)));
            }
        }
        options.push(coded(
            OTHER_SCREEN_OUT.to_string(),
            texts.other_screen_out.to_string(),
        ));
        let codes = (0..).take(options.len()).collect();
        CodeList { options, codes }
    }

    /// The code of a stored value (for a single choice, also an earlier version's).
    fn code_of(&self, value: &str) -> Option<i64> {
        let at = self.options.iter().position(|o| o.value == value)?;
        self.codes.get(at).copied()
    }

    /// (code, option) in code order.
    pub fn coded(&self) -> impl Iterator<Item = (i64, &CodedOption)> {
        self.codes.iter().copied().zip(&self.options)
    }
}

/// The value of the "other" option of `triagem`'s codes: no rule key or quota name
/// can be it (they are letters, digits and `_`).
const OTHER_SCREEN_OUT: &str = "*";

/// The columns of `cols` with single-choice answers, the income and Critério Brasil
/// classes and `triagem` written as numeric codes ([`CodeList`]) instead of text;
/// `quotas` are the configured quotas' names (`triagem` holds `quota:NAME`).
pub fn with_codes<'d>(
    def: &Definition,
    cols: Vec<Column<'d>>,
    quotas: &[String],
) -> Vec<Column<'d>> {
    let previous = crate::survey::definition::previous_versions(def);
    cols.into_iter()
        .map(|mut c| {
            match c.source {
                Source::IncomeClass(..) => c.codes = Some(Arc::new(CodeList::income_classes())),
                Source::Cceb(ref k, true) => {
                    c.codes = Some(Arc::new(CodeList::cceb_classes(k.table())));
                }
                Source::ScreenedOut => {
                    c.codes = Some(Arc::new(CodeList::screen_outs(def, &previous, quotas)));
                }
                Source::Answer(q, _) if matches!(q.kind, QuestionKind::Single { .. }) => {
                    c.codes = Some(Arc::new(CodeList::new(q, &previous)));
                }
                Source::Answer(q, _) | Source::GridItem(q, ..)
                    if matches!(
                        q.kind,
                        QuestionKind::Scale { .. } | QuestionKind::Grid { .. }
                    ) =>
                {
                    c.codes = Some(Arc::new(CodeList::scale(q)));
                }
                _ => {}
            }
            c
        })
        .collect()
}

/// How a statistics package should read a column ([`Column::variable`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VarType {
    Integer,
    Decimal,
    /// Text of at most this many bytes (UTF-8).
    Text(usize),
    /// A UTC time written `2026-11-27T21:05:00Z`.
    DateTime,
}

/// A column as the labelled files declare it: from the codebook line and the codes.
#[derive(Debug, Clone, PartialEq)]
pub struct Variable {
    pub name: String,
    /// The codebook's question text.
    pub label: String,
    pub kind: VarType,
    /// Value labels of the valid codes (coded answers, 0/1 flags).
    pub values: Vec<(i64, String)>,
    /// Codes that mean a missing value, with what they mean: [`NOT_ASKED`] and the
    /// excluded options ("prefiro não informar"). Empty cells are missing everywhere.
    pub missing: Vec<(i64, String)>,
    /// A survey weight (the codebook's type `weight`, or the column `peso`).
    pub weight: bool,
}

/// The columns for `def`: fixed columns, personal data when asked, then one or more
/// columns per question in definition order, each followed by its derived columns; the
/// Critério Brasil points and class (embedded table) follow the last of its items.
pub fn plan(def: &Definition, personal: bool) -> Vec<Column<'_>> {
    plan_with(def, personal, &CcebTable::embedded())
}

/// [`plan`] with the Critério Brasil table to score with (`survey.cceb_table`). The
/// columns `cceb_pontos` and `classe_cceb` are there only when `def` asks every item of
/// the table as a single-choice question.
pub fn plan_with<'d>(
    def: &'d Definition,
    personal: bool,
    cceb: &Arc<CcebTable>,
) -> Vec<Column<'d>> {
    plan_weighted(def, personal, cceb, &Arc::new(CensusWeights::NoCensus))
}

/// [`plan_with`] with the weights of the `peso` column, which follows the fixed columns.
pub fn plan_weighted<'d>(
    def: &'d Definition,
    personal: bool,
    cceb: &Arc<CcebTable>,
    weights: &Arc<CensusWeights>,
) -> Vec<Column<'d>> {
    plan_full(def, personal, cceb, weights, &Arc::default(), &[])
}

/// [`plan_weighted`] with the data-quality flags of the `qualidade` columns, which
/// follow `peso`: the codes joined by `;`, then one 0/1 column per flag. `quotas` are
/// the configured quotas' names: a full quota cell screens out too.
pub fn plan_full<'d>(
    def: &'d Definition,
    personal: bool,
    cceb: &Arc<CcebTable>,
    weights: &Arc<CensusWeights>,
    quality: &Arc<QualityFlags>,
    quotas: &[String],
) -> Vec<Column<'d>> {
    let col = |name: &str, source| Column {
        name: name.to_string(),
        source,
        codes: None,
    };
    let mut cols = vec![
        col(colnames::RESPONSE_ID, Source::ResponseId),
        col(colnames::DEFINITION_VERSION, Source::DefinitionVersion),
        col(colnames::SUBMITTED_AT, Source::SubmittedAt),
        col(colnames::UPDATED_AT, Source::UpdatedAt),
        col(colnames::BAIRRO, Source::Bairro),
    ];
    // Only for a study that can screen out (by a rule of the questionnaire or a full
    // quota cell) or check: other exports keep their columns.
    if def.screen_outs().next().is_some() || !quotas.is_empty() {
        cols.push(col(colnames::TRIAGEM, Source::ScreenedOut));
    }
    if def.checks().next().is_some() {
        cols.push(col(colnames::CONFIRMED_CHECKS, Source::ConfirmedChecks));
    }
    cols.push(col(colnames::PESO, Source::Weight(Arc::clone(weights))));
    cols.push(col(
        colnames::QUALIDADE,
        Source::Quality(Arc::clone(quality), None),
    ));
    for f in Flag::ALL {
        cols.push(col(
            &colnames::quality_flag(f.code()),
            Source::Quality(Arc::clone(quality), Some(f)),
        ));
    }
    if personal {
        cols.push(col(colnames::NOME, Source::Nome));
        cols.push(col(colnames::SOBRENOME, Source::Sobrenome));
        cols.push(col(colnames::EMAIL, Source::Email));
        cols.push(col(colnames::TELEFONE, Source::Telefone));
    }
    let income = income_question(def);
    let cceb = CcebColumns::new(def, cceb).map(Arc::new);
    let others = other_texts(def);
    // Slots are the questions' positions, as AnswerSlots numbers them.
    for (slot, q) in def.questions().enumerate() {
        match &q.kind {
            QuestionKind::Multi { options, .. } => {
                for (i, o) in options.iter().enumerate() {
                    cols.push(Column {
                        name: colnames::multi_flag(&q.key, &o.value),
                        source: Source::MultiFlag(q, slot, i),
                        codes: None,
                    });
                }
            }
            QuestionKind::Grid { items, .. } => {
                for (i, item) in items.iter().enumerate() {
                    cols.push(col(&q.item_field(&item.key), Source::GridItem(q, slot, i)));
                }
            }
            _ => cols.push(col(&q.key, Source::Answer(q, slot))),
        }
        if let (Some(key), Some((_, text_slot))) = (
            q.other_key(),
            others.iter().find(|(o, _)| std::ptr::eq(*o, q)),
        ) {
            cols.push(col(&key, Source::OtherText(q, slot, *text_slot)));
        }
        if has_midpoint(q) {
            cols.push(Column {
                name: colnames::midpoint(&q.key),
                source: Source::Midpoint(q, slot),
                codes: None,
            });
        }
        if income.is_some_and(|i| std::ptr::eq(i, q)) {
            cols.push(col(colnames::CLASSE_RENDA, Source::IncomeClass(q, slot)));
        }
        if let Some(c) = cceb.as_ref().filter(|c| c.last_slot == slot) {
            cols.push(col(
                colnames::CCEB_PONTOS,
                Source::Cceb(Arc::clone(c), false),
            ));
            cols.push(col(
                colnames::CLASSE_CCEB,
                Source::Cceb(Arc::clone(c), true),
            ));
        }
    }
    cols
}

/// What a data-quality flag means, for the codebook and the labelled files.
fn quality_label(f: Flag) -> &'static str {
    match f {
        Flag::Rapido => "rápido: concluída em menos que a fração configurada da mediana de duração",
        Flag::LinhaReta => "linha reta: mesma resposta em todos os itens de uma grade",
        Flag::Inconsistente => "inconsistente: confirmou uma checagem de consistência",
        Flag::Duplicado => {
            "duplicado: mesmo telefone, ou mesmo nome, sobrenome e bairro, que uma resposta \
             concluída antes"
        }
    }
}

/// The household-income question, when its bounds are in minimum wages.
fn income_question(def: &Definition) -> Option<&Question> {
    def.by_role(Role::HouseholdIncome).filter(|q| {
        q.unit == Some(Unit::SalarioMinimo) && matches!(q.kind, QuestionKind::Single { .. })
    })
}

/// A single-choice question with a role and numeric bounds on its options.
fn has_midpoint(q: &Question) -> bool {
    matches!(q.kind, QuestionKind::Single { .. })
        && q.role.is_some()
        && q.options()
            .iter()
            .any(|o| o.lower.is_some() || o.upper.is_some())
}

/// The option chosen in a single-choice question, if answered with a known option.
fn chosen<'q>(q: &'q Question, slot: usize, answers: &RowAnswers<'_>) -> Option<&'q Choice> {
    match answers.get(slot) {
        Some(Some(Resolved::Single(_, Some(at)))) => q.options().get(*at),
        _ => None,
    }
}

/// The codebook line of `peso`: what the weights are calibrated to, or why there are none.
fn weight_description(w: &CensusWeights) -> [String; 4] {
    let question = "Peso de calibração (raking) aos dados do Censo 2022".to_string();
    let notes = match w {
        CensusWeights::NoCensus => "nenhum dado do censo importado (pesquisa census import): \
             peso = 1 em todas as linhas, ou seja, sem ponderação; não há margens para calibrar"
            .to_string(),
        CensusWeights::Failed {
            stored, reason_pt, ..
        } => format!(
            "censo importado em {} UTC, mas a calibração falhou ({reason_pt}): coluna vazia, \
             nenhuma resposta é ponderada",
            crate::survey::format::timestamp(stored.info.imported_at)
        ),
        CensusWeights::Raked {
            stored, weighting, ..
        } => {
            let margins = weighting
                .margins
                .iter()
                .map(|m| m.name())
                .collect::<Vec<_>>()
                .join(", ");
            let illustrative = if stored.info.illustrative {
                "MARGENS ILUSTRATIVAS (números inventados, não são do censo); "
            } else {
                ""
            };
            format!(
                "{illustrative}censo importado em {} UTC ({}, {}, {}); margens: {margins} \
                 (bairro: domicílios ocupados; sexo e faixa etária: pessoas de 18 anos ou \
                 mais); média 1 entre as respostas ponderadas; sexo outro, prefiro não \
                 informar ou sem resposta, e idade sem resposta, ficam numa categoria \
                 própria com a participação que têm na amostra; vazio = resposta não \
                 ponderada (incompleta, triada ou de bairro fora das margens do censo)",
                crate::survey::format::timestamp(stored.info.imported_at),
                stored.info.basico_file,
                stored.info.demografia_file,
                stored.info.mapping_file,
            )
        }
    };
    ["number".to_string(), question, String::new(), notes]
}

/// A coded column's `code=label | …`.
fn coded_list(codes: &CodeList) -> String {
    codes
        .coded()
        .map(|(code, o)| format!("{code}={}", o.label))
        .collect::<Vec<_>>()
        .join(" | ")
}

/// The codebook's words for a scale's points and its missing options: which values are
/// points (for means) and which are declared missing, with the code each is written as.
fn scale_note(q: &Question, coded: bool) -> String {
    let points: Vec<&str> = q
        .options()
        .iter()
        .filter(|o| !o.excluded)
        .map(|o| o.value.as_str())
        .collect();
    let mut note = format!(
        "escala de {} a {}",
        points.first().unwrap_or(&""),
        points.last().unwrap_or(&"")
    );
    for (i, o) in q.options().iter().filter(|o| o.excluded).enumerate() {
        let code = if coded {
            missing_code(i).to_string()
        } else {
            o.value.clone()
        };
        note.push_str(&format!(
            "; {code} = {} (resposta válida, fora da média; declarada ausente nos arquivos \
             rotulados)",
            o.label.pt
        ));
    }
    note
}

/// The codebook's words for [`NOT_ASKED`], with the question's condition if it has one.
fn not_asked_note(q: &Question) -> String {
    let base = format!(
        "{NOT_ASKED} = não perguntada (condição, triagem ou versão do questionário sem esta \
         pergunta); vazio = não respondida"
    );
    match &q.show_if {
        Some(c) => format!("{base}; perguntada só se {}", c.source),
        None => base,
    }
}

impl Row<'_> {
    fn was_asked(&self, slot: usize) -> bool {
        self.asked
            .as_ref()
            .is_none_or(|m| m.get(slot).copied().unwrap_or(true))
    }
}

fn text(s: &str) -> Cell<'_> {
    if s.is_empty() {
        Cell::Empty
    } else {
        Cell::Text(Cow::Borrowed(s))
    }
}

impl Column<'_> {
    /// Whether the column holds numbers (integers or decimals).
    pub fn is_numeric(&self) -> bool {
        match self.source {
            Source::DefinitionVersion
            | Source::MultiFlag(..)
            | Source::Midpoint(..)
            | Source::Cceb(_, false)
            | Source::Weight(_)
            | Source::Quality(_, Some(_)) => true,
            Source::Answer(q, _) => {
                self.codes.is_some() || matches!(q.kind, QuestionKind::Integer { .. })
            }
            Source::GridItem(..)
            | Source::IncomeClass(..)
            | Source::Cceb(_, true)
            | Source::ScreenedOut => self.codes.is_some(),
            _ => false,
        }
    }

    /// This column's value for `row`.
    pub fn cell<'r>(&self, row: &'r Row<'_>) -> Cell<'r> {
        let r = row.response;
        match self.source {
            Source::ResponseId => Cell::Text(Cow::Borrowed(&row.pseudonym)),
            Source::DefinitionVersion => Cell::Int(i64::from(r.definition_version)),
            Source::SubmittedAt => r.submitted_at.map_or(Cell::Empty, Cell::Time),
            Source::UpdatedAt => Cell::Time(r.updated_at),
            Source::Bairro => text(&r.bairro),
            Source::Nome => row.person.map_or(Cell::Empty, |p| text(&p.nome)),
            Source::Sobrenome => row.person.map_or(Cell::Empty, |p| text(&p.sobrenome)),
            Source::Email => row.person.map_or(Cell::Empty, |p| text(&p.email)),
            Source::Telefone => row
                .person
                .and_then(|p| p.telefone.as_deref())
                .map_or(Cell::Empty, text),
            Source::Answer(_, slot)
            | Source::MultiFlag(_, slot, _)
            | Source::GridItem(_, slot, _)
            | Source::OtherText(_, slot, _)
                if !row.was_asked(slot) =>
            {
                Cell::Int(NOT_ASKED)
            }
            Source::Answer(_, slot) if self.codes.is_some() => self.code(slot, row),
            Source::IncomeClass(..) | Source::Cceb(_, true) | Source::ScreenedOut
                if self.codes.is_some() =>
            {
                self.class_code(row)
            }
            Source::GridItem(_, slot, item) => match row.answers.get(slot) {
                Some(Some(Resolved::Grid(items))) => match (items.get(item), &self.codes) {
                    (Some(Some((v, _))), Some(codes)) => {
                        codes.code_of(&v.0).map_or(Cell::Empty, Cell::Int)
                    }
                    (Some(Some((v, _))), None) => text(&v.0),
                    _ => Cell::Empty,
                },
                _ => Cell::Empty,
            },
            Source::OtherText(_, _, text_slot) => match row.answers.get(text_slot) {
                Some(Some(Resolved::Text(t))) => text(&t.0),
                _ => Cell::Empty,
            },
            Source::ScreenedOut => r.screened_out.as_deref().map_or(Cell::Empty, text),
            Source::ConfirmedChecks => text(&r.confirmed_checks),
            Source::Answer(q, slot) => match (&q.kind, row.answers.get(slot)) {
                (QuestionKind::Integer { .. }, Some(Some(Resolved::Integer(n)))) => Cell::Int(*n),
                (
                    QuestionKind::Single { .. } | QuestionKind::Scale { .. },
                    Some(Some(Resolved::Single(v, _))),
                ) => text(&v.0),
                (QuestionKind::Text { .. }, Some(Some(Resolved::Text(t)))) => text(&t.0),
                // Unanswered, or stored under an older definition with another type.
                _ => Cell::Empty,
            },
            Source::MultiFlag(_, slot, option) => match row.answers.get(slot) {
                Some(Some(Resolved::Multi(chosen))) => {
                    Cell::Int(i64::from(chosen.contains(&option)))
                }
                _ => Cell::Empty,
            },
            Source::Midpoint(q, slot) => chosen(q, slot, &row.answers)
                .and_then(option_midpoint)
                .map_or(Cell::Empty, Cell::Num),
            Source::IncomeClass(q, slot) => chosen(q, slot, &row.answers)
                .and_then(option_income_class)
                .map_or(Cell::Empty, |c| Cell::Text(Cow::Borrowed(c.as_str()))),
            Source::Weight(ref w) => match &**w {
                // No census: every response counts once, and the codebook says so.
                CensusWeights::NoCensus => Cell::Num(1.0),
                CensusWeights::Failed { .. } => Cell::Empty,
                CensusWeights::Raked { by_id, .. } => {
                    by_id.get(&r.id).map_or(Cell::Empty, |w| Cell::Num(*w))
                }
            },
            Source::Quality(ref q, None) => match q.get(&r.id) {
                Some(f) if !f.is_empty() => Cell::Text(Cow::Owned(f.codes())),
                _ => Cell::Empty,
            },
            Source::Quality(ref q, Some(flag)) => {
                Cell::Int(i64::from(q.get(&r.id).is_some_and(|f| f.contains(flag))))
            }
            Source::Cceb(ref c, class) => match c.points(&row.answers) {
                None => Cell::Empty,
                Some(points) if !class => Cell::Int(i64::from(points)),
                Some(points) => c
                    .table()
                    .class_of(points)
                    .map_or(Cell::Empty, |name| Cell::Text(Cow::Owned(name.to_string()))),
            },
        }
    }

    /// The code of a coded `classe_renda`, `classe_cceb` or `triagem`: the class's or
    /// rule's code; [`NOT_ASKED`] when the income question or a Critério Brasil item was
    /// not asked; empty when a class cannot be given.
    fn class_code<'r>(&self, row: &'r Row<'_>) -> Cell<'r> {
        let Some(codes) = &self.codes else {
            return Cell::Empty;
        };
        let code = |value: &str| codes.code_of(value).map_or(Cell::Empty, Cell::Int);
        match self.source {
            Source::IncomeClass(_, slot) if !row.was_asked(slot) => Cell::Int(NOT_ASKED),
            Source::IncomeClass(q, slot) => chosen(q, slot, &row.answers)
                .and_then(option_income_class)
                .map_or(Cell::Empty, |c| code(c.as_str())),
            Source::Cceb(ref c, _) if !c.all_asked(row) => Cell::Int(NOT_ASKED),
            Source::Cceb(ref c, _) => c
                .points(&row.answers)
                .and_then(|p| c.table().class_of(p))
                .map_or(Cell::Empty, code),
            Source::ScreenedOut => {
                let key = row.response.screened_out.as_deref().unwrap_or("");
                codes
                    .code_of(key)
                    .or_else(|| codes.code_of(OTHER_SCREEN_OUT))
                    .map_or(Cell::Empty, Cell::Int)
            }
            _ => Cell::Empty,
        }
    }

    /// The code of a coded single-choice answer; empty when unanswered.
    fn code<'r>(&self, slot: usize, row: &'r Row<'_>) -> Cell<'r> {
        let Some(codes) = &self.codes else {
            return Cell::Empty;
        };
        match row.answers.get(slot) {
            Some(Some(Resolved::Single(_, Some(at)))) => {
                codes.codes.get(*at).copied().map_or(Cell::Empty, Cell::Int)
            }
            Some(Some(Resolved::Single(v, None))) => {
                codes.code_of(&v.0).map_or(Cell::Empty, Cell::Int)
            }
            _ => Cell::Empty,
        }
    }

    /// How the labelled files declare this column: label, type, value labels, missing
    /// codes and weight, read from the codebook line and the codes.
    pub fn variable(&self) -> Variable {
        let [kind, label, _, _] = self.describe();
        let texts = crate::i18n::Lang::Pt.labelled_files();
        let weight = kind == "weight" || self.name == colnames::PESO;
        let mut values = Vec::new();
        let mut missing = Vec::new();
        match self.source {
            Source::Answer(..) | Source::GridItem(..) => {
                missing.push((NOT_ASKED, texts.not_asked.to_string()));
                for (code, o) in self.codes.iter().flat_map(|c| c.coded()) {
                    values.push((code, o.label.clone()));
                    if o.excluded {
                        missing.push((code, o.label.clone()));
                    }
                }
            }
            Source::MultiFlag(..) => {
                values.push((0, texts.unchecked.to_string()));
                values.push((1, texts.checked.to_string()));
                missing.push((NOT_ASKED, texts.not_asked.to_string()));
            }
            Source::Quality(_, Some(_)) => {
                values.push((0, "não".to_string()));
                values.push((1, "sim".to_string()));
            }
            Source::OtherText(..) => missing.push((NOT_ASKED, texts.not_asked.to_string())),
            Source::IncomeClass(..) | Source::Cceb(_, true) | Source::ScreenedOut => {
                if !matches!(self.source, Source::ScreenedOut) && self.codes.is_some() {
                    missing.push((NOT_ASKED, texts.not_asked.to_string()));
                }
                for (code, o) in self.codes.iter().flat_map(|c| c.coded()) {
                    values.push((code, o.label.clone()));
                }
            }
            _ => {}
        }
        let kind = match (kind.as_str(), &self.source) {
            _ if weight => VarType::Decimal,
            ("datetime", _) => VarType::DateTime,
            ("integer" | "flag", _) => VarType::Integer,
            ("single" | "scale" | "grid", _) if self.codes.is_some() => VarType::Integer,
            (_, Source::IncomeClass(..) | Source::Cceb(_, true) | Source::ScreenedOut)
                if self.codes.is_some() =>
            {
                VarType::Integer
            }
            (_, Source::OtherText(q, ..)) => VarType::Text(
                q.other_option()
                    .and_then(|o| o.other_text)
                    .unwrap_or(crate::survey::definition::DEFAULT_OTHER_LENGTH)
                    .saturating_mul(4)
                    .clamp(1, 32767),
            ),
            ("number", _) => VarType::Decimal,
            (_, Source::ResponseId) => VarType::Text(16),
            (_, Source::Answer(q, _)) => match q.kind {
                // Four bytes per character at most in UTF-8; 32767 is SPSS's widest string.
                QuestionKind::Text { max_length } => {
                    VarType::Text(max_length.saturating_mul(4).clamp(1, 32767))
                }
                _ => VarType::Text(255),
            },
            (_, Source::ConfirmedChecks) => VarType::Text(1024),
            _ => VarType::Text(255),
        };
        Variable {
            name: self.name.clone(),
            label,
            kind,
            values,
            missing,
            weight,
        }
    }

    /// The codes of a coded column and what each means (Portuguese): a choice's options,
    /// a flag's 1 and 0, a band's midpoint, an income or Critério Brasil class. Empty for
    /// free values. The CSV codebook writes them as `code=label | …`, the workbook's
    /// `dicionario` sheet one per row.
    pub fn codes(&self) -> Vec<(String, String)> {
        match self.source {
            Source::Answer(q, _) | Source::GridItem(q, ..) => q
                .options()
                .iter()
                .map(|o| (o.value.clone(), o.label.pt.clone()))
                .collect(),
            Source::MultiFlag(..) => vec![
                ("1".into(), "marcada".into()),
                ("0".into(), "não marcada".into()),
            ],
            Source::Quality(_, Some(_)) => {
                vec![("1".into(), "sim".into()), ("0".into(), "não".into())]
            }
            Source::Quality(_, None) => Flag::ALL
                .iter()
                .map(|f| (f.code().to_string(), quality_label(*f).to_string()))
                .collect(),
            Source::Midpoint(q, _) => q
                .options()
                .iter()
                .map(|o| {
                    let m = option_midpoint(o).map_or_else(|| "(vazio)".into(), |m| m.to_string());
                    (o.value.clone(), m)
                })
                .collect(),
            Source::IncomeClass(q, _) => q
                .options()
                .iter()
                .map(|o| {
                    let c = option_income_class(o).map_or("(vazio)", IncomeClass::as_str);
                    (o.value.clone(), c.to_string())
                })
                .collect(),
            Source::Cceb(ref c, true) => c
                .table()
                .classes()
                .iter()
                .map(|k| (k.class.to_string(), format!("{}–{} pontos", k.min, k.max)))
                .collect(),
            _ => Vec::new(),
        }
    }

    /// The codebook line: (type, question text in Portuguese, options, notes).
    pub fn describe(&self) -> [String; 4] {
        let s = |x: &str| x.to_string();
        let codes = self
            .codes()
            .iter()
            .map(|(code, label)| format!("{code}={label}"))
            .collect::<Vec<_>>()
            .join(" | ");
        let personal = "dado pessoal; só com --include-personal-data";
        match self.source {
            Source::ResponseId => [
                s("text"),
                s("Identificador pseudônimo da resposta"),
                s(""),
                s(
                    "primeiros 16 hex de HMAC-SHA256(session.secret, \"response:\" + id); \
                   estável entre exportações, não é o id do banco",
                ),
            ],
            Source::DefinitionVersion => [
                s("integer"),
                s("Versão do questionário quando a resposta foi salva"),
                s(""),
                s(""),
            ],
            Source::SubmittedAt => [
                s("datetime"),
                s("Envio final da resposta"),
                s(""),
                s("UTC, ISO 8601; vazio = rascunho não enviado"),
            ],
            Source::UpdatedAt => [
                s("datetime"),
                s("Última alteração da resposta"),
                s(""),
                s("UTC, ISO 8601; --since/--until filtram por este campo"),
            ],
            Source::Bairro => [s("text"), s("Bairro do respondente"), s(""), s("")],
            Source::ScreenedOut => match &self.codes {
                // Labelled files: the keys known from the definition and the quotas, coded.
                Some(list) => [
                    s("category"),
                    s("Triagem: regra que encerrou o questionário"),
                    coded_list(list),
                    s(
                        "código da regra de triagem (chave da pergunta ou etapa) ou da cota cheia                          (quota:NOME); 0 = não foi triado; fora das estimativas quando diferente                          de 0; o último código reúne chaves que nem a definição nem as cotas                          configuradas conhecem (o CSV comum traz a chave em texto)",
                    ),
                ],
                None => [
                    s("text"),
                    s("Triagem: regra que encerrou o questionário"),
                    s(""),
                    s(
                        "chave da pergunta ou etapa de triagem, ou quota:NOME quando a célula da cota estava cheia; vazio = não foi triado (fora das estimativas quando preenchido)",
                    ),
                ],
            },
            Source::ConfirmedChecks => [
                s("text"),
                s("Checagens de consistência confirmadas pelo respondente"),
                s(""),
                s("chaves separadas por vírgula; vazio = nenhuma"),
            ],
            Source::Nome => [s("text"), s("Nome"), s(""), s(personal)],
            Source::Sobrenome => [s("text"), s("Sobrenome"), s(""), s(personal)],
            Source::Email => [s("text"), s("E-mail"), s(""), s(personal)],
            Source::Telefone => [s("text"), s("Telefone"), s(""), s(personal)],
            Source::GridItem(q, _, item) => {
                let it = &q.items()[item];
                let options = match &self.codes {
                    Some(codes) => coded_list(codes),
                    None => codes,
                };
                [
                    s("grid"),
                    format!("{} — {}", q.text.pt, it.label.pt),
                    options,
                    [
                        format!("item `{}` da grade `{}`", it.key, q.key),
                        scale_note(q, self.codes.is_some()),
                        not_asked_note(q),
                    ]
                    .into_iter()
                    .filter(|n| !n.is_empty())
                    .collect::<Vec<_>>()
                    .join("; "),
                ]
            }
            Source::OtherText(q, ..) => {
                let (value, label, max) = q.other_option().map_or_else(
                    || (String::new(), String::new(), 0),
                    |o| {
                        (
                            o.value.clone(),
                            o.label.pt.clone(),
                            o.other_text.unwrap_or_default(),
                        )
                    },
                );
                [
                    s("text"),
                    format!("{} — {label}: qual", q.text.pt),
                    s(""),
                    format!(
                        "texto livre, até {max} caracteres, pedido só quando a opção `{value}` de \
                         `{}` foi escolhida; vazio = opção não escolhida; {NOT_ASKED} = pergunta \
                         não perguntada",
                        q.key
                    ),
                ]
            }
            Source::Answer(q, _) => {
                let notes = match &q.kind {
                    QuestionKind::Integer { min, max } => format!("de {min} a {max}"),
                    QuestionKind::Text { max_length } => {
                        format!("texto livre, até {max_length} caracteres")
                    }
                    QuestionKind::Scale { .. } => scale_note(q, self.codes.is_some()),
                    _ => String::new(),
                };
                let notes = [notes, not_asked_note(q)]
                    .into_iter()
                    .filter(|n| !n.is_empty())
                    .collect::<Vec<_>>()
                    .join("; ");
                // Coded (labelled formats): the codes the data holds.
                let options = match &self.codes {
                    Some(codes) => coded_list(codes),
                    None => codes,
                };
                [s(q.kind.name()), q.text.pt.clone(), options, notes]
            }
            Source::MultiFlag(q, _, option) => {
                let o = &q.options()[option];
                [
                    s("flag"),
                    format!("{} — {}", q.text.pt, o.label.pt),
                    codes,
                    format!(
                        "opção `{}` da pergunta múltipla `{}`; {}",
                        o.value,
                        q.key,
                        not_asked_note(q)
                    ),
                ]
            }
            Source::Midpoint(q, _) => {
                let unit = q.unit.map_or("sem unidade", Unit::as_str);
                [
                    s("number"),
                    format!("Ponto médio da faixa: {}", q.text.pt),
                    codes,
                    format!(
                        "unidade: {unit}; faixa fechada = (inferior + superior) / 2; faixa aberta \
                         (sem limite superior) = {OPEN_TOP_FACTOR} × limite inferior; \
                         vazio = não respondida ou excluída"
                    ),
                ]
            }
            Source::IncomeClass(q, _) => {
                let rule = "critério de renda atribuído ao IBGE, em salários mínimos: E até 2, D \
                            mais de 2 a 4, C mais de 4 a 10, B mais de 10 a 20, A mais de 20; \
                            faixa fechada: classe do ponto médio; faixa aberta: menor classe \
                            possível; vazio = prefiro não informar ou não respondida";
                // Labelled files: the class codes, and -2 when the income was not asked.
                let (options, notes) = match &self.codes {
                    Some(list) => (
                        coded_list(list),
                        format!("{rule}; {NOT_ASKED} = pergunta de renda não perguntada"),
                    ),
                    None => (codes, rule.to_string()),
                };
                [
                    s("category"),
                    format!("Classe social por renda familiar (de `{}`)", q.key),
                    options,
                    notes,
                ]
            }
            Source::Weight(ref w) => weight_description(w),
            Source::Quality(_, None) => [
                s("text"),
                s("Qualidade: alertas de qualidade dos dados"),
                codes,
                s(
                    "códigos separados por ponto e vírgula; vazio = nenhum alerta (ou resposta \
                     não concluída); parâmetros em [quality]; ver docs/quality.md",
                ),
            ],
            Source::Quality(_, Some(f)) => [
                s("flag"),
                format!("Qualidade: {}", quality_label(f)),
                codes,
                format!("1 quando `qualidade` contém `{}`", f.code()),
            ],
            Source::Cceb(ref c, class) => {
                let items = c.table().keys().collect::<Vec<_>>().join(", ");
                let source = format!(
                    "Critério de Classificação Econômica Brasil: {}; itens: {items}; vazio = \
                     algum item não respondido ou não perguntado",
                    c.table().citation()
                );
                if class {
                    // Labelled files: the class codes, and -2 when an item was not asked.
                    let (options, notes) = match &self.codes {
                        Some(list) => (
                            coded_list(list),
                            format!(
                                "{source}; {NOT_ASKED} = algum item não perguntado (nos arquivos \
                                 rotulados)"
                            ),
                        ),
                        None => (codes, source),
                    };
                    [
                        s("category"),
                        s("Classe econômica pelo Critério Brasil (ABEP)"),
                        options,
                        notes,
                    ]
                } else {
                    [
                        s("integer"),
                        s("Pontos do Critério Brasil (ABEP)"),
                        s(""),
                        source,
                    ]
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::survey::{AnswerValue, Answers};

    /// A draft response of `def` in version `version` with these stored answers.
    fn response(def: &Definition, version: i32, answers: String) -> Response {
        Response {
            definition_version: version,
            ..Response::draft(def, answers)
        }
    }

    impl Cell<'_> {
        fn into_owned(self) -> Cell<'static> {
            match self {
                Cell::Text(t) => Cell::Text(Cow::Owned(t.into_owned())),
                Cell::Empty => Cell::Empty,
                Cell::Int(n) => Cell::Int(n),
                Cell::Num(x) => Cell::Num(x),
                Cell::Time(t) => Cell::Time(t),
            }
        }
    }

    /// A questionnaire with an age question and the Critério Brasil block, every item a
    /// single-choice question whose options are the embedded table's values.
    fn definition_with_cceb() -> Definition {
        let table = CcebTable::embedded();
        let mut toml = String::from(
            "id = \"cceb\"\nversion = 1\ntitle = { pt = \"t\", en = \"t\" }\n\
             intro = { pt = \"i\", en = \"i\" }\n[[pages]]\nkey = \"p1\"\n\
             title = { pt = \"p\", en = \"p\" }\n[[pages.questions]]\nkey = \"idade\"\n\
             type = \"integer\"\nmin = 18\nmax = 120\ntext = { pt = \"Idade\", en = \"Age\" }\n\
             [[pages]]\nkey = \"cceb\"\ntitle = { pt = \"c\", en = \"c\" }\n",
        );
        for key in table.keys() {
            let options = table
                .item(key)
                .expect("item")
                .keys()
                .map(|v| format!("{{ value = \"{v}\", label = {{ pt = \"{v}\", en = \"{v}\" }} }}"))
                .collect::<Vec<_>>()
                .join(", ");
            toml.push_str(&format!(
                "[[pages.questions]]\nkey = \"{key}\"\ntype = \"single\"\n\
                 text = {{ pt = \"{key}\", en = \"{key}\" }}\noptions = [{options}]\n"
            ));
        }
        Definition::parse(&toml).expect("fixture parses")
    }

    #[test]
    fn cceb_columns_follow_the_block_and_score_it() {
        let def = definition_with_cceb();
        let cols = plan(&def, false);
        let names: Vec<&str> = cols.iter().map(|c| c.name.as_str()).collect();
        let at = |n: &str| names.iter().position(|x| *x == n).expect(n);
        assert_eq!(at("classe_cceb"), names.len() - 1, "after the last item");
        assert_eq!(at("cceb_pontos") + 1, at("classe_cceb"));
        assert!(cols[at("cceb_pontos")].is_numeric());
        // CCEB 2026 (ABEP): 1 carro 4 + 1 geladeira 6 + 1 computador 6 + 1 banheiro 9 +
        // lava-louça 5 + lava-roupa 6 + micro-ondas 7 + água 10 + Médio completo 6 = 59, B2.
        let mut answers = Answers::new();
        for key in CcebTable::embedded().keys() {
            let v = match key {
                "cceb_banheiros"
                | "cceb_automoveis"
                | "cceb_microcomputador"
                | "cceb_geladeira" => "1",
                "cceb_instrucao_chefe_2026" => "medio_completo",
                "cceb_servico_domestico" => "nao",
                _ => "sim",
            };
            answers.insert(key, AnswerValue::Single(v.into()));
        }
        let mut response = Response::draft(&def, serde_json::to_string(&answers).expect("json"));
        let slots = AnswerSlots::new(&def);
        let cells = |response: &Response| {
            let row = Row {
                response,
                answers: slots.parse(&response.answers),
                pseudonym: "p".into(),
                asked: None,
                person: None,
            };
            (
                cols[at("cceb_pontos")].cell(&row).into_owned(),
                cols[at("classe_cceb")].cell(&row).into_owned(),
            )
        };
        assert_eq!(
            cells(&response),
            (Cell::Int(59), Cell::Text(Cow::Owned("B2".into())))
        );
        // The scoring agrees with the one rule in survey::cceb.
        let score = CcebTable::embedded().score(&answers).expect("scored");
        assert_eq!((score.points, score.class.as_str()), (59, "B2"));
        // One item not asked: no score at all, not a partial one.
        answers.remove("cceb_servico_domestico");
        response.answers = serde_json::to_string(&answers).expect("json");
        assert_eq!(cells(&response), (Cell::Empty, Cell::Empty));
        // The codebook names the edition and the cut-offs.
        let [kind, question, options, notes] = cols[at("classe_cceb")].describe();
        assert_eq!(kind, "category");
        assert!(question.contains("Critério Brasil"), "{question}");
        assert!(options.contains("B2=55–65 pontos"), "{options}");
        assert!(notes.contains("CCEB 2026"), "{notes}");
        // The default questionnaire (version 3) asks every item of the embedded table.
        let default = crate::survey::default_definition().expect("definition");
        let has_cceb = plan(&default, false)
            .iter()
            .any(|c| c.name == "cceb_pontos" || c.name == "classe_cceb");
        let asks_all = CcebTable::embedded()
            .keys()
            .all(|k| default.question(k).is_some());
        assert_eq!(has_cceb, asks_all);
    }

    #[test]
    fn codes_number_the_options_and_keep_earlier_versions_values() {
        let def = crate::survey::default_definition().expect("definition");
        let cols = with_codes(&def, plan(&def, false), &[]);
        let col = cols
            .iter()
            .find(|c| c.name == "distancia_supermercado")
            .expect("column");
        let var = col.variable();
        assert_eq!(var.kind, VarType::Integer);
        assert!(col.is_numeric());
        let q = def.question("distancia_supermercado").expect("question");
        let n = q.options().len();
        for (i, o) in q.options().iter().enumerate() {
            assert_eq!(var.values[i], (i as i64 + 1, o.label.pt.clone()));
        }
        // Version 1's distance bands follow, labelled with their version.
        assert_eq!(
            var.values[n],
            (
                n as i64 + 1,
                "De 0 a 5 km (versão 1 do questionário)".to_string()
            )
        );
        assert_eq!(var.values.len(), n + 5);
        assert_eq!(var.missing, vec![(NOT_ASKED, "Não perguntada".to_string())]);
        // "Prefiro não informar" keeps its code and is declared missing.
        let renda = cols
            .iter()
            .find(|c| c.name == "renda_familiar")
            .expect("renda")
            .variable();
        assert_eq!(
            renda.missing,
            vec![
                (NOT_ASKED, "Não perguntada".to_string()),
                (6, "Prefiro não informar".to_string())
            ]
        );
        // A row of version 1 with an old value gets that value's code; a current value
        // its position; a value no version had is empty.
        let slots = AnswerSlots::new(&def);
        let cell = |version: i32, value: &str| {
            let response = response(
                &def,
                version,
                format!(r#"{{"distancia_supermercado":{{"single":"{value}"}}}}"#),
            );
            let row = Row {
                response: &response,
                answers: slots.parse(&response.answers),
                pseudonym: "p".into(),
                asked: None,
                person: None,
            };
            col.cell(&row).into_owned()
        };
        assert_eq!(cell(1, "6a10km"), Cell::Int(n as i64 + 2));
        assert_eq!(cell(2, "1a2km"), Cell::Int(3));
        assert_eq!(cell(2, "nunca_existiu"), Cell::Empty);
        // Without codes the value itself, as the CSV export writes it.
        let plain = plan(&def, false);
        let plain = plain
            .iter()
            .find(|c| c.name == "distancia_supermercado")
            .expect("column");
        assert!(!plain.is_numeric());
    }

    #[test]
    fn classes_and_screen_outs_are_coded_in_the_labelled_files() {
        let def = crate::survey::default_definition().expect("definition");
        let cols = with_codes(&def, plan(&def, false), &["bairros".to_string()]);
        let col = |name: &str| cols.iter().find(|c| c.name == name).expect(name);
        let not_asked = (NOT_ASKED, "Não perguntada".to_string());
        let renda = col("classe_renda").variable();
        assert_eq!(renda.kind, VarType::Integer);
        assert!(col("classe_renda").is_numeric());
        assert_eq!(
            renda.values.first(),
            Some(&(1, "A: mais de 20 salários mínimos".to_string()))
        );
        assert_eq!(
            renda.values.last(),
            Some(&(5, "E: até 2 salários mínimos".to_string()))
        );
        assert_eq!(renda.missing, vec![not_asked.clone()]);
        let cceb = col("classe_cceb").variable();
        assert_eq!(cceb.kind, VarType::Integer);
        assert_eq!(
            cceb.values.first(),
            Some(&(1, "A: 73 a 100 pontos".to_string()))
        );
        assert_eq!(cceb.values.len(), CcebTable::embedded().classes().len());
        assert_eq!(cceb.missing, vec![not_asked]);
        let triagem = col("triagem").variable();
        assert_eq!(triagem.kind, VarType::Integer);
        assert!(triagem.missing.is_empty(), "0 = not screened out is valid");
        let code = |label: &str| {
            triagem
                .values
                .iter()
                .find(|(_, l)| l == label)
                .unwrap_or_else(|| panic!("{label}: {:?}", triagem.values))
                .0
        };
        assert_eq!(code("Não triada"), 0);
        assert_eq!(code("Regra de triagem responsavel_compras"), 1);
        let quota = code("Cota bairros cheia");
        let other = code("Outra regra (fora da definição e das cotas atuais)");
        assert_eq!(other, quota + 1, "the last code");
        // The codebook of the labelled files states the codes.
        let [kind, _, options, _] = col("triagem").describe();
        assert_eq!(kind, "category");
        assert!(
            options.starts_with("0=Não triada | 1=Regra de triagem responsavel_compras"),
            "{options}"
        );
        assert!(
            col("classe_renda").describe()[2].starts_with("1=A: mais de 20"),
            "{:?}",
            col("classe_renda").describe()
        );

        let slots = AnswerSlots::new(&def);
        let asked = AskedPlan::new(&def);
        let version = i32::try_from(def.version()).expect("version");
        let cells = |answers: &str, screened: Option<&str>| {
            let mut r = response(&def, version, answers.to_string());
            r.screened_out = screened.map(str::to_string);
            let row = Row {
                response: &r,
                answers: slots.parse(&r.answers),
                pseudonym: "p".into(),
                asked: asked.asked(&r),
                person: None,
            };
            ["classe_renda", "classe_cceb", "triagem"].map(|n| col(n).cell(&row).into_owned())
        };
        // Income answered, screened out by the rule: the Critério Brasil items come after
        // the screen-out, so its class was not asked.
        assert_eq!(
            cells(
                r#"{"renda_familiar":{"single":"acima_20sm"},"responsavel_compras":{"single":"nao"}}"#,
                Some("responsavel_compras"),
            ),
            [Cell::Int(1), Cell::Int(NOT_ASKED), Cell::Int(1)]
        );
        // "Prefiro não informar": no class; a full quota and an unknown key keep a code.
        assert_eq!(
            cells(
                r#"{"renda_familiar":{"single":"nao_informar"}}"#,
                Some("quota:bairros")
            ),
            [Cell::Empty, Cell::Empty, Cell::Int(quota)]
        );
        assert_eq!(
            cells(
                r#"{"renda_familiar":{"single":"2a4sm"}}"#,
                Some("quota:antiga")
            )[0..],
            [Cell::Int(4), Cell::Empty, Cell::Int(other)]
        );
        assert_eq!(cells("{}", None)[2], Cell::Int(0));
        // The plain exports keep the text.
        let plain = plan(&def, false);
        let triagem = plain.iter().find(|c| c.name == "triagem").expect("triagem");
        assert!(!triagem.is_numeric());
        assert_eq!(triagem.variable().kind, VarType::Text(255));
    }

    #[test]
    fn cells_come_from_the_slots() {
        let def = crate::survey::default_definition().expect("definition");
        let slots = AnswerSlots::new(&def);
        let cols = plan(&def, false);
        let response = response(
            &def,
            1,
            r#"{"renda_familiar":{"single":"acima_20sm"},"fatores_escolha":{"multi":["preco"]},"idade":{"single":"x"}}"#.into(),
        );
        let row = Row {
            response: &response,
            answers: slots.parse(&response.answers),
            pseudonym: "p".into(),
            asked: None,
            person: None,
        };
        let cell = |name: &str| {
            cols.iter()
                .find(|c| c.name == name)
                .unwrap_or_else(|| panic!("{name}"))
                .cell(&row)
        };
        assert_eq!(
            cell("renda_familiar"),
            Cell::Text(Cow::Borrowed("acima_20sm"))
        );
        assert_eq!(cell("renda_familiar__ponto_medio"), Cell::Num(30.0));
        assert_eq!(cell("classe_renda"), Cell::Text(Cow::Borrowed("A")));
        assert_eq!(cell("fatores_escolha__preco"), Cell::Int(1));
        assert_eq!(cell("fatores_escolha__entrega"), Cell::Int(0));
        // Stored under another type: empty, not misread.
        assert_eq!(cell("idade"), Cell::Empty);
        assert_eq!(cell("moradores"), Cell::Empty);
    }

    /// The names start-up reserves ([`crate::survey::columns`]) are every column of the
    /// plan that no question makes, and the shipped questionnaire's columns are distinct:
    /// a fixed column added here without its name there would let a question key take it.
    #[test]
    fn every_fixed_column_is_reserved_for_the_definition() {
        let def = crate::survey::default_definition().expect("definition");
        let cols = plan_full(
            &def,
            true,
            &CcebTable::embedded(),
            &Arc::new(CensusWeights::NoCensus),
            &Arc::default(),
            &["bairros".to_string()],
        );
        let from_questions: std::collections::HashSet<String> =
            def.questions().flat_map(Question::column_names).collect();
        let mut seen = std::collections::HashSet::new();
        for c in &cols {
            assert!(seen.insert(c.name.as_str()), "column {} twice", c.name);
            let fixed = colnames::fixed(&c.name).is_some();
            let by_question = from_questions.contains(&c.name);
            assert!(
                fixed != by_question,
                "column {}: reserved {fixed}, named by a question {by_question}",
                c.name
            );
        }
        for (name, _) in colnames::FIXED {
            assert!(
                seen.contains(name),
                "{name} is reserved but not in the plan"
            );
        }
    }
}
