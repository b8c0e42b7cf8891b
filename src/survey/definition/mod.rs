//! The questionnaire definition: pages of questions, loaded from TOML.
//!
//! The questions live in a TOML file (`assets/questionnaire.toml`, embedded in
//! the binary; the operator may point the configuration at another file) so
//! the wording can change without touching code. Each question has a stable
//! `key`, used as the form field name, the JSON key of the stored answers and
//! the export column, so answers are never keyed by wording.
//!
//! [`Definition::parse`] is strict: the file is read once at start-up and any
//! mistake (unknown field, duplicate key, impossible limits, …) stops the
//! start with `line N: reason`, instead of surfacing later as a broken form or
//! silently wrong analysis.
//!
//! Parsing happens in two steps. Serde reads the text into loosely typed `Raw*`
//! structs, which keep the byte span of every item through [`toml::Spanned`];
//! then the builder checks the semantic rules and turns the raw structs into
//! the public model, using the spans to report line numbers. Internally tagged
//! enums or `flatten` are avoided on purpose: serde buffers their content and
//! the spans would be lost.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use super::columns;
use super::format::format_reais;
use super::logic::Expr;

mod parse;

/// Longest allowed question key, page key or option value. Keys become
/// database export column names, so they are kept short.
pub const MAX_KEY_LEN: usize = 40;

/// Largest magnitude of a scale point: the exports code missing options ("não sei") 99,
/// 98, …, which must never be a point.
pub const MAX_POINT: i64 = 50;

/// Longest allowed questionnaire id.
pub const MAX_ID_LEN: usize = 64;
/// Longest time estimate a questionnaire may state (`minutes`).
pub const MAX_MINUTES: u32 = 120;

/// A piece of text in both languages of the site.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Text {
    /// Brazilian Portuguese, the main language of the survey.
    pub pt: String,
    /// English.
    pub en: String,
}

impl Text {
    /// The text in English when `english` is true, otherwise in Portuguese.
    pub fn get(&self, english: bool) -> &str {
        if english { &self.en } else { &self.pt }
    }
}

/// What a question means for the analysis. Each role is used by at most one
/// question, so the reports can find, e.g., the income question whatever its
/// key is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Respondent's age in years (integer question).
    Age,
    /// Number of people in the household (integer question).
    HouseholdSize,
    /// Household income band (single choice).
    HouseholdIncome,
    /// Supermarket trips per month (single choice, bounds = trips).
    TripsPerMonth,
    /// Spending per supermarket trip (single choice, bounds in reais).
    SpendPerTrip,
    /// Monthly supermarket spending of the household (single choice).
    MonthlySpend,
    /// Monthly spending in neighbourhood shops outside supermarkets.
    LocalShopsSpend,
    /// Distance to the nearest supermarket (single choice, bounds in km).
    Distance,
    /// Likelihood of buying at a new store (single choice, scored 1..5).
    PurchaseIntent,
}

impl Role {
    /// Every role, in a stable order.
    pub const ALL: [Role; 9] = [
        Role::Age,
        Role::HouseholdSize,
        Role::HouseholdIncome,
        Role::TripsPerMonth,
        Role::SpendPerTrip,
        Role::MonthlySpend,
        Role::LocalShopsSpend,
        Role::Distance,
        Role::PurchaseIntent,
    ];

    /// The snake_case name used in the TOML file.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Age => "age",
            Role::HouseholdSize => "household_size",
            Role::HouseholdIncome => "household_income",
            Role::TripsPerMonth => "trips_per_month",
            Role::SpendPerTrip => "spend_per_trip",
            Role::MonthlySpend => "monthly_spend",
            Role::LocalShopsSpend => "local_shops_spend",
            Role::Distance => "distance",
            Role::PurchaseIntent => "purchase_intent",
        }
    }

    /// The role with this TOML name, if any.
    pub fn from_name(name: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.as_str() == name)
    }

    /// Whether the analysis reads this role as a whole number typed in (as
    /// opposed to a numeric band picked from options).
    fn wants_integer(self) -> bool {
        matches!(self, Role::Age | Role::HouseholdSize)
    }
}

/// The unit of a question's numbers (integer limits or option bounds).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Unit {
    /// Multiples of the Brazilian minimum wage; labels can then show reais.
    SalarioMinimo,
    /// Brazilian reais.
    Reais,
    /// Kilometres.
    Km,
    /// Trips (e.g. supermarket visits per month).
    Trips,
}

impl Unit {
    /// Every unit, in a stable order.
    pub const ALL: [Unit; 4] = [Unit::SalarioMinimo, Unit::Reais, Unit::Km, Unit::Trips];

    /// The snake_case name used in the TOML file.
    pub fn as_str(self) -> &'static str {
        match self {
            Unit::SalarioMinimo => "salario_minimo",
            Unit::Reais => "reais",
            Unit::Km => "km",
            Unit::Trips => "trips",
        }
    }

    /// The unit with this TOML name, if any.
    pub fn from_name(name: &str) -> Option<Unit> {
        Unit::ALL.into_iter().find(|u| u.as_str() == name)
    }
}

/// One option of a `single` or `multi` question.
#[derive(Debug, Clone, PartialEq)]
pub struct Choice {
    /// Stable value sent by the form and stored in the answers.
    pub value: String,
    /// What the respondent sees.
    pub label: Text,
    /// Lower numeric bound of the band, in the question's unit.
    pub lower: Option<f64>,
    /// Upper numeric bound; `None` for an open top band ("acima de …").
    pub upper: Option<f64>,
    /// A valid answer that numeric analysis must skip ("prefiro não informar").
    pub excluded: bool,
    /// Keeps its place when the question's options are shuffled ("Outro", "Nenhum").
    pub anchor: bool,
    /// In a multi: cannot be chosen together with another option ("Nenhum destes").
    pub exclusive: bool,
    /// Choosing it asks for a short text of at most this many characters ("Outro:
    /// qual?"), stored under [`Question::other_key`].
    pub other_text: Option<usize>,
}

/// Default longest "other" text, in characters, when the option does not say.
pub const DEFAULT_OTHER_LENGTH: usize = 100;

/// Suffix of the answer key, form field and export column of an "other" text.
pub const OTHER_SUFFIX: &str = "__outro";

/// One item of a `grid` question, answered on the grid's scale.
#[derive(Debug, Clone, PartialEq)]
pub struct GridItem {
    /// Stable key: the form field and export column are `{question}__{item}`.
    pub key: String,
    /// What the respondent sees (the item's legend).
    pub label: Text,
}

/// The type of a question and its limits.
#[derive(Debug, Clone, PartialEq)]
pub enum QuestionKind {
    /// A whole number within `min..=max`.
    Integer {
        /// Smallest accepted value.
        min: i64,
        /// Largest accepted value.
        max: i64,
    },
    /// Exactly one option.
    Single {
        /// The options, in display order (never empty).
        options: Vec<Choice>,
    },
    /// Between `min` and `max` options.
    Multi {
        /// The options, in display order (never empty).
        options: Vec<Choice>,
        /// Fewest selections when answered.
        min: usize,
        /// Most selections (at least 1, at most the number of options).
        max: usize,
    },
    /// Free text of at most `max_length` characters; only on optional
    /// questions, so nobody is forced to type something to finish.
    Text {
        /// Longest accepted answer, in characters (not bytes).
        max_length: usize,
    },
    /// A labelled rating scale (Likert type): one point, stored as the point's value.
    Scale {
        /// The points in ascending order (value = the number, `lower` = `upper` = the
        /// number), then the missing options ("não sei"), marked `excluded`.
        points: Vec<Choice>,
    },
    /// Several items rated on one scale.
    Grid {
        /// The items, in display order (never empty).
        items: Vec<GridItem>,
        /// The scale, as for [`QuestionKind::Scale`].
        points: Vec<Choice>,
    },
}

impl QuestionKind {
    /// The TOML name of the type: `integer`, `single`, `multi`, `text`, `scale` or `grid`.
    pub fn name(&self) -> &'static str {
        match self {
            QuestionKind::Integer { .. } => "integer",
            QuestionKind::Single { .. } => "single",
            QuestionKind::Multi { .. } => "multi",
            QuestionKind::Text { .. } => "text",
            QuestionKind::Scale { .. } => "scale",
            QuestionKind::Grid { .. } => "grid",
        }
    }
}

/// One question.
#[derive(Debug, Clone, PartialEq)]
pub struct Question {
    /// Stable key: form field name, answer key and export column.
    pub key: String,
    /// The question itself.
    pub text: Text,
    /// Optional hint shown under the question.
    pub help: Option<Text>,
    /// Whether the questionnaire cannot be finished without an answer.
    pub required: bool,
    /// Type and limits.
    pub kind: QuestionKind,
    /// Meaning for the analysis, if any.
    pub role: Option<Role>,
    /// Unit of the numbers, if any.
    pub unit: Option<Unit>,
    /// Asked only when this holds (reads answers of earlier pages only).
    pub show_if: Option<Condition>,
    /// Ends the questionnaire when this holds after the question's page is saved; the
    /// rule's key is the question's key.
    pub screen_out: Option<ScreenOut>,
    /// Options shown in an order of their own to each respondent (anchors stay put).
    pub shuffle: bool,
}

/// A compiled expression with its source text (see [`crate::survey::logic`]).
#[derive(Debug, Clone, PartialEq)]
pub struct Condition {
    /// The expression as written in the TOML file.
    pub source: String,
    /// The compiled expression.
    pub expr: Expr,
}

/// A rule that ends the questionnaire politely (the respondent is not in the target
/// population): its key, recorded on the response, its condition and what the
/// respondent is told.
#[derive(Debug, Clone, PartialEq)]
pub struct ScreenOut {
    /// Recorded in `responses.screened_out` (the key of the question or page).
    pub key: String,
    /// When it applies.
    pub when: Condition,
    /// Shown on the closing page.
    pub message: Text,
}

/// A soft consistency rule of a page: when `when` holds after the page is saved, the
/// message is shown once and the respondent corrects or confirms; a confirmation is
/// recorded with the check's key.
#[derive(Debug, Clone, PartialEq)]
pub struct Check {
    /// Stable key, recorded on the response when confirmed.
    pub key: String,
    /// When the answers look inconsistent.
    pub when: Condition,
    /// What the respondent is told.
    pub message: Text,
}

impl Question {
    /// The options of a `single` or `multi` question, the points of a `scale` or
    /// `grid` (with their missing options); empty for other types.
    pub fn options(&self) -> &[Choice] {
        match &self.kind {
            QuestionKind::Single { options } | QuestionKind::Multi { options, .. } => options,
            QuestionKind::Scale { points } | QuestionKind::Grid { points, .. } => points,
            QuestionKind::Integer { .. } | QuestionKind::Text { .. } => &[],
        }
    }

    /// The items of a `grid`; empty for other types.
    pub fn items(&self) -> &[GridItem] {
        match &self.kind {
            QuestionKind::Grid { items, .. } => items,
            _ => &[],
        }
    }

    /// The form field and export column of a grid item: `{key}__{item}`.
    pub fn item_field(&self, item: &str) -> String {
        format!("{}{}{item}", self.key, columns::JOIN)
    }

    /// Every export column name this question may give rise to: its key, a multi's 0/1
    /// columns, a grid's items, the "other" text, a single choice's midpoint. Start-up
    /// refuses a questionnaire where one of them is a fixed column.
    pub fn column_names(&self) -> Vec<String> {
        let mut names = vec![self.key.clone()];
        match &self.kind {
            QuestionKind::Multi { options, .. } => names.extend(
                options
                    .iter()
                    .map(|o| columns::multi_flag(&self.key, &o.value)),
            ),
            QuestionKind::Grid { items, .. } => {
                names.extend(items.iter().map(|i| self.item_field(&i.key)));
            }
            QuestionKind::Single { .. } => names.push(columns::midpoint(&self.key)),
            _ => {}
        }
        names.extend(self.other_key());
        names
    }

    /// The option that asks for an "other" text, if any (at most one per question).
    pub fn other_option(&self) -> Option<&Choice> {
        self.options().iter().find(|c| c.other_text.is_some())
    }

    /// The answer key, form field and export column of the "other" text, when the
    /// question has an option asking for one.
    pub fn other_key(&self) -> Option<String> {
        self.other_option()
            .map(|_| format!("{}{OTHER_SUFFIX}", self.key))
    }

    /// The order in which this respondent sees the options, as positions in
    /// [`Question::options`]: the definition's order unless `shuffle`, else the
    /// options that are not anchors shuffled among their own places by a generator
    /// seeded from `respondent` (a keyed hash of the account, made by the web layer)
    /// and the question's key, so one respondent sees the same order on every visit
    /// and device and another respondent sees another.
    pub fn option_order(&self, respondent: &[u8; 32]) -> Vec<usize> {
        use rand::SeedableRng;
        use rand::seq::SliceRandom;
        let n = self.options().len();
        let mut order: Vec<usize> = (0..n).collect();
        if !self.shuffle {
            return order;
        }
        let seed = crate::crypto::hmac_sha256(respondent, &[b"ordem:", self.key.as_bytes()]);
        let mut rng = rand_chacha::ChaCha8Rng::from_seed(seed);
        let free: Vec<usize> = (0..n).filter(|&i| !self.options()[i].anchor).collect();
        let mut moved = free.clone();
        moved.shuffle(&mut rng);
        for (place, option) in free.into_iter().zip(moved) {
            order[place] = option;
        }
        order
    }

    /// The option with this value, if any.
    pub fn option(&self, value: &str) -> Option<&Choice> {
        self.options().iter().find(|c| c.value == value)
    }

    /// The label to show for `opt`.
    ///
    /// For questions in minimum wages, when the operator configured the
    /// current minimum wage (`salario_minimo`, in whole reais), the amounts in
    /// reais are appended, because few respondents know their income in
    /// minimum wages:
    /// - `2 a 4 salários mínimos (R$ 3.242 a R$ 6.484)`
    /// - `Até 2 salários mínimos (até R$ 3.242)`
    /// - `Acima de 20 salários mínimos (acima de R$ 32.420)`
    ///
    /// and in English `(R$ 3,242 to R$ 6,484)`, `(up to R$ 3,242)`,
    /// `(over R$ 32,420)`. Options without bounds (e.g. "prefiro não
    /// informar"), other units, and a missing or zero minimum wage give the
    /// plain label.
    pub fn option_label(&self, opt: &Choice, english: bool, salario_minimo: Option<u32>) -> String {
        let label = opt.label.get(english).to_owned();
        let Some(sm) = salario_minimo.filter(|sm| *sm > 0) else {
            return label;
        };
        if self.unit != Some(Unit::SalarioMinimo) {
            return label;
        }
        let sm = f64::from(sm);
        let money = |bound: f64| format_reais(bound * sm, english);
        let amounts = match (opt.lower, opt.upper) {
            (Some(lo), Some(hi)) if lo == hi => money(lo),
            (None, Some(hi)) => up_to(&money(hi), english),
            (Some(lo), Some(hi)) if lo <= 0.0 => up_to(&money(hi), english),
            (Some(lo), Some(hi)) => {
                let to = if english { "to" } else { "a" };
                format!("{} {to} {}", money(lo), money(hi))
            }
            (Some(lo), None) => {
                let over = if english { "over" } else { "acima de" };
                format!("{over} {}", money(lo))
            }
            (None, None) => return label,
        };
        format!("{label} ({amounts})")
    }
}

/// Helper for [`Question::option_label`]: "até R$ X" / "up to R$ X".
fn up_to(amount: &str, english: bool) -> String {
    if english {
        format!("up to {amount}")
    } else {
        format!("até {amount}")
    }
}

/// One page of the questionnaire, answered and saved as a unit.
#[derive(Debug, Clone, PartialEq)]
pub struct Page {
    /// Stable page key (same rules as question keys).
    pub key: String,
    /// Page heading.
    pub title: Text,
    /// The questions, in display order (never empty).
    pub questions: Vec<Question>,
    /// Shown only when this holds (reads answers of earlier pages only).
    pub show_if: Option<Condition>,
    /// Ends the questionnaire when this holds after the page is saved; the rule's key
    /// is the page's key.
    pub screen_out: Option<ScreenOut>,
    /// Soft consistency checks run when the page is saved.
    pub checks: Vec<Check>,
}

/// A validated questionnaire. Only [`Definition::parse`] builds one, so every
/// value of this type satisfies the rules listed there.
#[derive(Debug, Clone, PartialEq)]
pub struct Definition {
    id: String,
    version: u32,
    title: Text,
    intro: Text,
    /// About how long answering takes: the one number every page states.
    minutes: u32,
    pages: Vec<Page>,
    /// Each question's key → its place, built with the pages: the flow looks questions
    /// up by key many times per request, which would otherwise scan every page.
    slots: HashMap<String, Slot>,
}

/// Where a question sits in a [`Definition`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Slot {
    /// Position in [`Definition::questions`] order.
    flat: usize,
    page: usize,
    /// Position on its page.
    place: usize,
}

/// The [`Definition::slots`] of these pages (keys are unique across pages: the parser
/// refuses a repeated one).
fn slots_of(pages: &[Page]) -> HashMap<String, Slot> {
    let mut slots = HashMap::new();
    let mut flat = 0;
    for (page, p) in pages.iter().enumerate() {
        for (place, q) in p.questions.iter().enumerate() {
            slots
                .entry(q.key.clone())
                .or_insert(Slot { flat, page, place });
            flat += 1;
        }
    }
    slots
}

/// Why a questionnaire file was refused, with the 1-based line of the
/// offending item. Displays as `line N: reason`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {reason}")]
pub struct DefinitionError {
    line: usize,
    reason: String,
}

impl DefinitionError {
    fn new(line: usize, reason: impl Into<String>) -> Self {
        Self {
            line,
            reason: reason.into(),
        }
    }

    /// 1-based line number of the offending item.
    pub fn line(&self) -> usize {
        self.line
    }

    /// The reason, in English, without the line number.
    pub fn reason(&self) -> &str {
        &self.reason
    }
}

/// The questionnaire shipped with the application.
pub const DEFAULT_TOML: &str = include_str!("../../../assets/questionnaire.toml");

/// Earlier versions of the shipped questionnaire, so that answers stored under them can
/// be read (a question absent from a version was not asked).
pub const PREVIOUS_TOML: [&str; 2] = [
    include_str!("../../../assets/questionnaire_v1.toml"),
    include_str!("../../../assets/questionnaire_v2.toml"),
];

/// The earlier shipped versions with the same id as `def`, by version.
pub fn previous_versions(def: &Definition) -> Vec<Definition> {
    PREVIOUS_TOML
        .iter()
        .filter_map(|t| Definition::parse(t).ok())
        .filter(|d| d.id() == def.id() && d.version() != def.version())
        .collect()
}

/// Parses the questionnaire shipped with the application ([`DEFAULT_TOML`]).
pub fn default_definition() -> Result<Definition, DefinitionError> {
    Definition::parse(DEFAULT_TOML)
}

impl Definition {
    /// Parses and checks a questionnaire written in TOML.
    ///
    /// Refused, with the line and the reason: TOML syntax errors; unknown
    /// fields; missing required fields; invalid or duplicate keys (question
    /// keys are unique across pages, page keys among pages); invalid or
    /// duplicate option values within a question; an empty option list;
    /// `min > max` (integer and multi; multi also needs `max ≥ 1` and at most
    /// the number of options, and `min ≥ 0`); `lower > upper` or a non-finite
    /// bound on an option; an unknown type, role or unit; a field that does
    /// not belong to the question's type; a `text` question that is not
    /// `required = false`, or without `max_length ≥ 1`; a role used twice, or
    /// on a question of the wrong type (`age` and `household_size` need
    /// `integer`, all other roles `single`, whose options not marked
    /// `excluded` must then have a numeric `lower` or `upper`); empty texts; a
    /// page with no questions; no pages.
    pub fn parse(text: &str) -> Result<Definition, DefinitionError> {
        parse::parse(text)
    }

    /// Identifier of the questionnaire (stored beside the answers).
    pub fn id(&self) -> &str {
        &self.id
    }

    /// Version of the questionnaire, raised when questions change.
    pub fn version(&self) -> u32 {
        self.version
    }

    /// Title of the questionnaire.
    pub fn title(&self) -> &Text {
        &self.title
    }

    /// Introduction shown before the first page.
    pub fn intro(&self) -> &Text {
        &self.intro
    }

    /// About how many minutes answering takes: `minutes` in the file, else estimated
    /// from the number of questions. Every page that states a duration uses this.
    pub fn minutes(&self) -> u32 {
        self.minutes
    }

    /// The pages, in order (never empty).
    pub fn pages(&self) -> &[Page] {
        &self.pages
    }

    /// The page at `index`, if any.
    pub fn page(&self, index: usize) -> Option<&Page> {
        self.pages.get(index)
    }

    /// All questions of all pages, in order.
    pub fn questions(&self) -> impl Iterator<Item = &Question> {
        self.pages.iter().flat_map(|p| p.questions.iter())
    }

    /// The question with this key, on any page.
    pub fn question(&self, key: &str) -> Option<&Question> {
        let s = self.slots.get(key)?;
        self.pages.get(s.page)?.questions.get(s.place)
    }

    /// Position of the question with this key in [`Definition::questions`] order.
    pub fn position(&self, key: &str) -> Option<usize> {
        self.slots.get(key).map(|s| s.flat)
    }

    /// Index of the page holding the question with this key.
    pub fn page_of(&self, key: &str) -> Option<usize> {
        self.slots.get(key).map(|s| s.page)
    }

    /// The question whose answer is stored under `key`: the question with that key, or
    /// the one whose "other" text it is.
    pub fn answer_owner(&self, key: &str) -> Option<&Question> {
        self.question(key).or_else(|| {
            let base = key.strip_suffix(OTHER_SUFFIX)?;
            self.question(base).filter(|q| q.other_option().is_some())
        })
    }

    /// The question playing this role, if any.
    pub fn by_role(&self, role: Role) -> Option<&Question> {
        self.questions().find(|q| q.role == Some(role))
    }

    /// Every screen-out rule, questions first then the page's own, page by page.
    pub fn screen_outs(&self) -> impl Iterator<Item = &ScreenOut> {
        self.pages.iter().flat_map(|p| {
            p.questions
                .iter()
                .filter_map(|q| q.screen_out.as_ref())
                .chain(p.screen_out.as_ref())
        })
    }

    /// The screen-out rule with this key.
    pub fn screen_out(&self, key: &str) -> Option<&ScreenOut> {
        self.screen_outs().find(|s| s.key == key)
    }

    /// Every soft check, in page order.
    pub fn checks(&self) -> impl Iterator<Item = &Check> {
        self.pages.iter().flat_map(|p| p.checks.iter())
    }
}

#[cfg(test)]
mod tests {
    use super::parse::line_of;
    use super::*;

    /// Header shared by the small test documents (4 lines).
    const HEAD: &str = "id = \"teste\"\nversion = 1\n\
        title = { pt = \"Título\", en = \"Title\" }\n\
        intro = { pt = \"Introdução\", en = \"Intro\" }\n";

    /// A document with one page holding `questions` (TOML text).
    fn doc(questions: &str) -> String {
        format!(
            "{HEAD}\n[[pages]]\nkey = \"p1\"\ntitle = {{ pt = \"Página\", en = \"Page\" }}\n\n{questions}"
        )
    }

    #[test]
    fn minutes_is_stated_or_estimated_from_the_questions() {
        let shipped = default_definition().expect("shipped");
        assert_eq!(shipped.minutes(), 5, "assets/questionnaire.toml says 5");
        // Not stated: 20 seconds a question, rounded up, at least one minute.
        let one = Definition::parse(&doc(&integer("a", ""))).expect("one question");
        assert_eq!(one.minutes(), 1);
        let ten: String = (0..10).map(|i| integer(&format!("q{i}"), "")).collect();
        assert_eq!(Definition::parse(&doc(&ten)).expect("ten").minutes(), 4);
        let stated =
            doc(&integer("a", "")).replacen("version = 1\n", "version = 1\nminutes = 12\n", 1);
        assert_eq!(Definition::parse(&stated).expect("stated").minutes(), 12);
        for bad in ["0", "-3", "121"] {
            let text = doc(&integer("a", "")).replacen(
                "version = 1\n",
                &format!("version = 1\nminutes = {bad}\n"),
                1,
            );
            let err = Definition::parse(&text).expect_err(bad);
            assert_eq!(err.line(), 3, "{err}");
            assert!(err.reason().contains("minutes"), "{err}");
        }
    }

    /// A valid integer question with the given key and extra lines.
    fn integer(key: &str, extra: &str) -> String {
        format!(
            "[[pages.questions]]\nkey = \"{key}\"\ntype = \"integer\"\nmin = 1\nmax = 10\n\
             text = {{ pt = \"Quantos?\", en = \"How many?\" }}\n{extra}\n"
        )
    }

    /// 1-based line of the first line of `src` containing `needle`, counted
    /// independently of the code under test.
    fn line_with(src: &str, needle: &str) -> usize {
        src.lines()
            .position(|l| l.contains(needle))
            .map(|i| i + 1)
            .unwrap_or_else(|| panic!("`{needle}` not in test document"))
    }

    fn refuse(src: &str) -> DefinitionError {
        match Definition::parse(src) {
            Ok(_) => panic!("accepted:\n{src}"),
            Err(e) => e,
        }
    }

    /// Asserts that `src` is refused at the line containing `needle`, with
    /// a reason containing `reason`.
    fn assert_refused(src: &str, needle: &str, reason: &str) {
        let err = refuse(src);
        assert_eq!(
            err.line(),
            line_with(src, needle),
            "wrong line for {err}\n{src}"
        );
        assert!(
            err.reason().contains(reason),
            "reason `{}` lacks `{reason}`",
            err.reason()
        );
    }

    const OPT_A: &str = "{ value = \"a\", label = { pt = \"A\", en = \"A\" } }";
    const OPT_B: &str = "{ value = \"b\", label = { pt = \"B\", en = \"B\" } }";

    #[test]
    fn minimal_document_parses() {
        let def = Definition::parse(&doc(&integer("q1", ""))).expect("valid");
        assert_eq!(def.id(), "teste");
        assert_eq!(def.version(), 1);
        assert_eq!(def.title().get(false), "Título");
        assert_eq!(def.intro().get(true), "Intro");
        let q = def.question("q1").expect("q1");
        assert!(q.required, "required defaults to true");
        assert_eq!(q.kind, QuestionKind::Integer { min: 1, max: 10 });
        assert_eq!(q.role, None);
        assert_eq!(q.unit, None);
        assert!(q.options().is_empty());
    }

    #[test]
    fn refuses_a_question_key_that_is_a_fixed_export_column() {
        use crate::survey::columns::FIXED;
        for (name, what) in FIXED {
            let src = doc(&format!("{}{}", integer("antes", ""), integer(name, "")));
            assert_refused(&src, &format!("key = \"{name}\""), "fixed export column");
            let err = refuse(&src);
            assert!(err.reason().contains(&format!("`{name}`")), "{err}");
            assert!(err.reason().contains(what), "{err}");
        }
        // Whatever the type: a multi's or grid's key is not a column itself, but it is the
        // prefix of theirs and the answer key the codebook and quotas name.
        let multi = format!(
            "[[pages.questions]]\nkey = \"peso\"\ntype = \"multi\"\n\
             text = {{ pt = \"Q?\", en = \"Q?\" }}\noptions = [{OPT_A}, {OPT_B}]\n"
        );
        assert_refused(
            &doc(&multi),
            "key = \"peso\"",
            "fixed export column (the raking weight)",
        );
        // `qualidade` would also make `qualidade__rapido`, a flag's 0/1 column.
        let flags = multi
            .replace("peso", "qualidade")
            .replace("value = \"a\"", "value = \"rapido\"");
        assert_refused(&doc(&flags), "key = \"qualidade\"", "data-quality flags");
        let grid = "[[pages.questions]]\nkey = \"bairro\"\ntype = \"grid\"\n\
             text = { pt = \"G?\", en = \"G?\" }\npoints = [{ value = 1 }, { value = 2 }]\n\
             items = [{ key = \"preco\", label = { pt = \"P\", en = \"P\" } }]\n";
        assert_refused(&doc(grid), "key = \"bairro\"", "neighbourhood");
        // Names that only start like a fixed column are free.
        for free in ["pesos", "qualidade_loja", "bairro_atual", "classe_cceb2"] {
            Definition::parse(&doc(&integer(free, ""))).unwrap_or_else(|e| panic!("{free}: {e}"));
        }
    }

    #[test]
    fn column_names_are_the_key_and_its_derived_columns() {
        let src = doc(&format!(
            "[[pages.questions]]\nkey = \"m\"\ntype = \"multi\"\n\
             text = {{ pt = \"Q?\", en = \"Q?\" }}\noptions = [{OPT_A}, \
             {{ value = \"b\", label = {{ pt = \"B\", en = \"B\" }}, other_text = true }}]\n\
             [[pages.questions]]\nkey = \"s\"\ntype = \"single\"\n\
             text = {{ pt = \"Q?\", en = \"Q?\" }}\noptions = [{OPT_A}, {OPT_B}]\n\
             [[pages.questions]]\nkey = \"g\"\ntype = \"grid\"\n\
             text = {{ pt = \"G?\", en = \"G?\" }}\npoints = [{{ value = 1 }}, {{ value = 2 }}]\n\
             items = [{{ key = \"preco\", label = {{ pt = \"P\", en = \"P\" }} }}]\n"
        ));
        let def = Definition::parse(&src).unwrap_or_else(|e| panic!("{e}"));
        let names = |k: &str| def.question(k).expect(k).column_names();
        assert_eq!(names("m"), ["m", "m__a", "m__b", "m__outro"]);
        assert_eq!(names("s"), ["s", "s__ponto_medio"]);
        assert_eq!(names("g"), ["g", "g__preco"]);
    }

    #[test]
    fn display_is_line_then_reason() {
        let src = doc(&integer("q1", "unit = \"litros\""));
        let err = refuse(&src);
        let line = line_with(&src, "litros");
        assert_eq!(
            err.to_string(),
            format!(
                "line {line}: unknown unit `litros` (expected one of: salario_minimo, reais, km, trips)"
            )
        );
    }

    #[test]
    fn refuses_toml_syntax_errors() {
        let src = format!("{HEAD}[[pages]]\nkey = \"p1\nnext = 1\n");
        let err = refuse(&src);
        assert_eq!(err.line(), line_with(&src, "key = \"p1"), "{err}");
        assert!(err.reason().contains("string"), "{err}");
        let src = format!("{HEAD}version = 2\n");
        let err = refuse(&src);
        assert_eq!(err.line(), 5, "{err}");
        assert!(err.reason().contains("duplicate key"), "{err}");
    }

    #[test]
    fn refuses_unknown_fields_everywhere() {
        let src = format!("{HEAD}colour = \"blue\"\n");
        assert_refused(&src, "colour", "unknown field `colour`");

        let src = doc(&integer("q1", "")).replace("[[pages]]\n", "[[pages]]\nicon = \"x\"\n");
        assert_refused(&src, "icon", "unknown field `icon`");

        let src = doc(&integer("q1", "placeholder = \"Sua idade\""));
        assert_refused(&src, "placeholder", "unknown field `placeholder`");

        let src = doc(&integer(
            "q1",
            "help = { pt = \"a\", en = \"b\", es = \"c\" }",
        ));
        assert_refused(&src, "es = ", "unknown field `es`");

        let src = doc(&format!(
            "[[pages.questions]]\nkey = \"q1\"\ntype = \"single\"\ntext = {{ pt = \"a\", en = \"b\" }}\n\
             options = [\n  {OPT_A},\n  {{ value = \"b\", label = {{ pt = \"B\", en = \"B\" }}, weight = 2 }},\n]\n"
        ));
        assert_refused(&src, "weight", "unknown field `weight`");
    }

    #[test]
    fn refuses_fields_of_another_type() {
        let src = doc(&integer("q1", "max_length = 5"));
        assert_refused(
            &src,
            "max_length",
            "`max_length` is not allowed on integer questions",
        );
        let src = doc(&format!(
            "[[pages.questions]]\nkey = \"q1\"\ntype = \"single\"\nmax = 3\n\
             text = {{ pt = \"a\", en = \"b\" }}\noptions = [{OPT_A}]\n"
        ));
        assert_refused(&src, "max = 3", "`max` is not allowed on single questions");
    }

    #[test]
    fn refuses_missing_fields() {
        let src = doc("[[pages.questions]]\nkey = \"q1\"\ntype = \"integer\"\nmin = 1\n");
        let err = refuse(&src);
        assert!(err.reason().contains("missing field `text`"), "{err}");
        let src = doc(&integer("q1", "").replace("max = 10\n", ""));
        assert_refused(&src, "key = \"q1\"", "integer question `q1` needs `max`");
    }

    #[test]
    fn refuses_duplicate_question_keys_across_pages() {
        let src = format!(
            "{}\n[[pages]]\nkey = \"p2\"\ntitle = {{ pt = \"b\", en = \"b\" }}\n\n{}",
            doc(&integer("idade", "")),
            integer("idade", "")
        );
        let err = refuse(&src);
        let first = line_with(&src, "key = \"idade\"");
        let second = src
            .lines()
            .enumerate()
            .filter(|(_, l)| l.contains("key = \"idade\""))
            .nth(1)
            .map(|(i, _)| i + 1)
            .expect("second");
        assert_eq!(err.line(), second);
        assert_eq!(
            err.reason(),
            format!("duplicate question key `idade` (first defined on line {first})")
        );
    }

    #[test]
    fn refuses_duplicate_page_keys() {
        let src = format!(
            "{}\n[[pages]]\nkey = \"p1\" # again\ntitle = {{ pt = \"b\", en = \"b\" }}\n\n{}",
            doc(&integer("q1", "")),
            integer("q2", "")
        );
        let first = line_with(&src, "key = \"p1\"");
        assert_refused(
            &src,
            "# again",
            &format!("duplicate page key `p1` (first defined on line {first})"),
        );
    }

    #[test]
    fn refuses_invalid_keys() {
        for bad in ["Idade", "1idade", "_idade", "idade-x", "idadé", ""] {
            let src = doc(&integer(bad, ""));
            let err = refuse(&src);
            assert_eq!(
                err.line(),
                line_with(&src, &format!("key = \"{bad}\"")),
                "{bad}: {err}"
            );
            assert!(
                err.reason()
                    .starts_with(&format!("invalid question key `{bad}`")),
                "{err}"
            );
        }
        let long = "a".repeat(MAX_KEY_LEN + 1);
        let err = refuse(&doc(&integer(&long, "")));
        assert!(err.reason().starts_with("invalid question key"), "{err}");
        let ok = "a".repeat(MAX_KEY_LEN);
        assert!(Definition::parse(&doc(&integer(&ok, ""))).is_ok());

        let src =
            format!("{HEAD}\n[[pages]]\nkey = \"Página\"\ntitle = {{ pt = \"a\", en = \"b\" }}\n");
        assert_refused(&src, "Página", "invalid page key `Página`");

        let src = HEAD.replace("\"teste\"", "\"Teste 1\"");
        assert_refused(&src, "Teste 1", "invalid questionnaire id `Teste 1`");
    }

    #[test]
    fn option_values_may_start_with_a_digit_but_follow_the_other_rules() {
        let q = "[[pages.questions]]\nkey = \"q1\"\ntype = \"single\"\ntext = { pt = \"a\", en = \"b\" }\n\
                 options = [\n  { value = \"2a4sm\", label = { pt = \"x\", en = \"x\" } },\n  \
                 { value = \"VALUE\", label = { pt = \"y\", en = \"y\" } },\n]\n";
        let src = doc(q);
        assert_refused(&src, "VALUE", "invalid option value `VALUE`");
        let src = doc(&q.replace("VALUE", "1x"));
        assert!(Definition::parse(&src).is_ok());
    }

    #[test]
    fn refuses_duplicate_option_values() {
        let src = doc(&format!(
            "[[pages.questions]]\nkey = \"q1\"\ntype = \"single\"\ntext = {{ pt = \"a\", en = \"b\" }}\n\
             options = [\n  {OPT_A},\n  {OPT_B},\n  {{ value = \"a\", label = {{ pt = \"A2\", en = \"A2\" }} }},\n]\n"
        ));
        let first = line_with(&src, "value = \"a\"");
        assert_refused(
            &src,
            "A2",
            &format!("duplicate option value `a` in question `q1` (first defined on line {first})"),
        );
    }

    #[test]
    fn refuses_empty_or_missing_option_list() {
        let src = doc("[[pages.questions]]\nkey = \"q1\"\ntype = \"multi\"\n\
             text = { pt = \"a\", en = \"b\" }\noptions = []\n");
        assert_refused(
            &src,
            "options = []",
            "question `q1` has an empty option list",
        );
        let src = doc(
            "[[pages.questions]]\nkey = \"q1\"\ntype = \"single\"\ntext = { pt = \"a\", en = \"b\" }\n",
        );
        assert_refused(&src, "key = \"q1\"", "question `q1` needs `options`");
    }

    #[test]
    fn refuses_integer_min_greater_than_max() {
        let src = doc(&integer("q1", "").replace("min = 1", "min = 11"));
        assert_refused(&src, "min = 11", "min (11) is greater than max (10)");
        // Equal bounds are fine.
        let src = doc(&integer("q1", "").replace("min = 1", "min = 10"));
        assert!(Definition::parse(&src).is_ok());
    }

    fn multi(limits: &str) -> String {
        doc(&format!(
            "[[pages.questions]]\nkey = \"q1\"\ntype = \"multi\"\n{limits}\n\
             text = {{ pt = \"a\", en = \"b\" }}\noptions = [{OPT_A}, {OPT_B}]\n"
        ))
    }

    #[test]
    fn multi_limits() {
        assert_refused(
            &multi("min = 2\nmax = 1"),
            "min = 2",
            "min (2) is greater than max (1)",
        );
        assert_refused(
            &multi("max = 3"),
            "max = 3",
            "max (3) must be between 1 and the number of options (2)",
        );
        assert_refused(&multi("max = 0"), "max = 0", "max (0) must be between 1");
        assert_refused(
            &multi("min = -1"),
            "min = -1",
            "min (-1) must not be negative",
        );
        // Default min is 1 and default max is the number of options.
        let def = Definition::parse(&multi("")).expect("valid");
        let q = def.question("q1").expect("q1");
        assert!(matches!(q.kind, QuestionKind::Multi { min: 1, max: 2, .. }));
        let def = Definition::parse(&multi("min = 0\nmax = 2")).expect("valid");
        let q = def.question("q1").expect("q1");
        assert!(matches!(q.kind, QuestionKind::Multi { min: 0, max: 2, .. }));
    }

    #[test]
    fn refuses_lower_greater_than_upper_and_non_finite_bounds() {
        let q = |bounds: &str| {
            doc(&format!(
                "[[pages.questions]]\nkey = \"q1\"\ntype = \"single\"\ntext = {{ pt = \"a\", en = \"b\" }}\n\
                 [[pages.questions.options]]\nvalue = \"a\"\nlabel = {{ pt = \"A\", en = \"A\" }}\n{bounds}\n"
            ))
        };
        assert_refused(
            &q("lower = 500\nupper = 101"),
            "lower = 500",
            "option `a`: lower bound (500) is greater than upper bound (101)",
        );
        assert_refused(
            &q("upper = inf"),
            "upper = inf",
            "option `a`: `upper` must be a finite number",
        );
        assert_refused(
            &q("lower = nan"),
            "lower = nan",
            "option `a`: `lower` must be a finite number",
        );
        let def = Definition::parse(&q("lower = 1.5\nupper = 1.5")).expect("valid");
        let choice = def.question("q1").and_then(|q| q.option("a")).expect("a");
        assert_eq!(
            (choice.lower, choice.upper, choice.excluded),
            (Some(1.5), Some(1.5), false)
        );
    }

    #[test]
    fn refuses_unknown_type() {
        let src = doc(&integer("q1", "").replace("\"integer\"", "\"rating\""));
        assert_refused(
            &src,
            "rating",
            "unknown question type `rating` (expected integer, single, multi, text, scale or grid)",
        );
    }

    #[test]
    fn refuses_unknown_role_and_unit() {
        let src = doc(&integer("q1", "role = \"idade\""));
        assert_refused(
            &src,
            "role = ",
            "unknown role `idade` (expected one of: age, household_size,",
        );
        let src = doc(&integer("q1", "unit = \"anos\""));
        assert_refused(&src, "unit = ", "unknown unit `anos`");
    }

    #[test]
    fn refuses_role_used_twice() {
        let src = doc(&format!(
            "{}{}",
            integer("idade", "role = \"age\""),
            integer("idade2", "role = \"age\" # again")
        ));
        let first = line_with(&src, "role = \"age\"");
        assert_refused(
            &src,
            "# again",
            &format!("role `age` is already used by question `idade` (line {first})"),
        );
    }

    #[test]
    fn refuses_role_on_wrong_type_or_without_bounds() {
        let src = doc(&integer("q1", "role = \"distance\""));
        assert_refused(
            &src,
            "role = ",
            "role `distance` needs a single question, but `q1` is integer",
        );
        let single = |role: &str, opt_b: &str| {
            doc(&format!(
                "[[pages.questions]]\nkey = \"q1\"\ntype = \"single\"\nrole = \"{role}\"\n\
                 text = {{ pt = \"a\", en = \"b\" }}\noptions = [\n  \
                 {{ value = \"a\", label = {{ pt = \"A\", en = \"A\" }}, lower = 0, upper = 5 }},\n  {opt_b},\n]\n"
            ))
        };
        assert_refused(
            &single("age", OPT_B),
            "role = ",
            "role `age` needs an integer question, but `q1` is single",
        );
        assert_refused(
            &single("distance", OPT_B),
            "value = \"b\"",
            "option `b` needs `lower` and/or `upper` because the question has role `distance`",
        );
        let excluded = "{ value = \"b\", label = { pt = \"B\", en = \"B\" }, excluded = true }";
        let def = Definition::parse(&single("distance", excluded)).expect("valid");
        assert_eq!(
            def.by_role(Role::Distance).map(|q| q.key.as_str()),
            Some("q1")
        );
        assert!(
            def.question("q1")
                .and_then(|q| q.option("b"))
                .is_some_and(|c| c.excluded)
        );
    }

    #[test]
    fn refuses_text_on_required_question() {
        let text = |required: &str| {
            doc(&format!(
                "[[pages.questions]]\nkey = \"q1\"\ntype = \"text\"\n{required}max_length = 80\n\
                 text = {{ pt = \"a\", en = \"b\" }}\n"
            ))
        };
        let msg = "text question `q1` must be optional (add `required = false`)";
        assert_refused(&text(""), "type = \"text\"", msg);
        assert_refused(&text("required = true\n"), "type = \"text\"", msg);
        let def = Definition::parse(&text("required = false\n")).expect("valid");
        let q = def.question("q1").expect("q1");
        assert!(!q.required);
        assert_eq!(q.kind, QuestionKind::Text { max_length: 80 });

        let src = text("required = false\n").replace("max_length = 80\n", "");
        assert_refused(
            &src,
            "key = \"q1\"",
            "text question `q1` needs `max_length`",
        );
        let src = text("required = false\n").replace("max_length = 80", "max_length = 0");
        assert_refused(
            &src,
            "max_length = 0",
            "max_length must be at least 1, got 0",
        );
        let src = text("required = false\nunit = \"km\"\n");
        assert_refused(&src, "unit = ", "`unit` is not allowed on text questions");
    }

    #[test]
    fn refuses_page_without_questions() {
        let src = format!(
            "{}\n[[pages]]\nkey = \"vazia\"\ntitle = {{ pt = \"b\", en = \"b\" }}\n",
            doc(&integer("q1", ""))
        );
        assert_refused(&src, "vazia", "page `vazia` has no questions");
    }

    #[test]
    fn refuses_no_pages() {
        let err = refuse(HEAD);
        assert_eq!(err.line(), 1);
        assert_eq!(
            err.reason(),
            "the questionnaire has no pages (add [[pages]])"
        );
        let src = format!("{HEAD}pages = []\n");
        assert_refused(&src, "pages = []", "the questionnaire has no pages");
    }

    #[test]
    fn refuses_empty_texts_and_bad_versions() {
        let src = doc(&integer("q1", "help = { pt = \"  \", en = \"Help\" }"));
        assert_refused(&src, "help = ", "empty `pt` text");
        let src = HEAD.replace("version = 1", "version = 0");
        assert_refused(&src, "version", "version must be a positive integer, got 0");
        let src = HEAD.replace("version = 1", "version = \"1\"");
        assert_refused(&src, "version", "invalid type");
    }

    #[test]
    fn line_of_counts_bytes_safely() {
        assert_eq!(line_of("a\nb\nc", 0), 1);
        assert_eq!(line_of("a\nb\nc", 2), 2);
        assert_eq!(line_of("a\nb\nc", 4), 3);
        assert_eq!(line_of("é\né", 1), 1, "inside a multi-byte character");
        assert_eq!(line_of("a\n", 999), 2, "past the end");
    }

    // -- The shipped questionnaire -----------------------------------------

    fn default_def() -> Definition {
        default_definition().unwrap_or_else(|e| panic!("default questionnaire: {e}"))
    }

    #[test]
    fn default_questionnaire_parses_with_expected_shape() {
        let def = default_def();
        let pages: Vec<Vec<&str>> = def
            .pages()
            .iter()
            .map(|p| p.questions.iter().map(|q| q.key.as_str()).collect())
            .collect();
        // Version 3: what ABEP's CCEB 2026 scores (assets/cceb/cceb-2026.toml).
        let cceb: Vec<&str> = vec![
            "cceb_banheiros",
            "cceb_automoveis",
            "cceb_microcomputador",
            "cceb_geladeira",
            "cceb_tem_lava_loucas",
            "cceb_tem_lava_roupas",
            "cceb_tem_micro_ondas",
            "cceb_agua_encanada",
            "cceb_servico_domestico",
            "cceb_instrucao_chefe_2026",
        ];
        assert_eq!(
            pages,
            vec![
                vec!["idade", "moradores", "renda_familiar"],
                vec!["responsavel_compras", "sexo"],
                vec!["frequencia_supermercado"],
                vec![
                    "distancia_supermercado",
                    "fatores_escolha",
                    "importancia_fatores"
                ],
                vec!["valor_compra", "gasto_mensal", "gasto_bairro"],
                vec!["interesse_novo", "satisfacao_atual", "mercado_atual"],
                cceb,
            ]
        );
        assert_eq!(def.version(), 3);
        assert_eq!(def.questions().count(), 25);
        assert_eq!(def.page_of("fatores_escolha"), Some(3));
        assert_eq!(def.page_of("mercado_atual"), Some(5));
        assert_eq!(def.page_of("nada"), None);
        assert!(def.question("nada").is_none());
        for q in def.questions() {
            assert!(!q.text.pt.is_empty() && !q.text.en.is_empty());
            let optional = ["mercado_atual", "satisfacao_atual"];
            assert_eq!(q.required, !optional.contains(&q.key.as_str()), "{}", q.key);
        }
    }

    #[test]
    fn default_questionnaire_roles() {
        let def = default_def();
        let expected = [
            (Role::Age, "idade"),
            (Role::HouseholdSize, "moradores"),
            (Role::HouseholdIncome, "renda_familiar"),
            (Role::TripsPerMonth, "frequencia_supermercado"),
            (Role::SpendPerTrip, "valor_compra"),
            (Role::MonthlySpend, "gasto_mensal"),
            (Role::LocalShopsSpend, "gasto_bairro"),
            (Role::Distance, "distancia_supermercado"),
            (Role::PurchaseIntent, "interesse_novo"),
        ];
        for (role, key) in expected {
            assert_eq!(
                def.by_role(role).map(|q| q.key.as_str()),
                Some(key),
                "{role:?}"
            );
            assert_eq!(Role::from_name(role.as_str()), Some(role));
        }
    }

    #[test]
    fn default_questionnaire_limits_and_bands() {
        let def = default_def();
        let kind = |key: &str| def.question(key).map(|q| q.kind.clone());
        assert_eq!(
            kind("idade"),
            Some(QuestionKind::Integer { min: 18, max: 120 })
        );
        assert_eq!(
            kind("moradores"),
            Some(QuestionKind::Integer { min: 1, max: 20 })
        );
        assert_eq!(
            kind("mercado_atual"),
            Some(QuestionKind::Text { max_length: 80 })
        );
        let fatores = def.question("fatores_escolha").expect("fatores");
        assert!(matches!(
            fatores.kind,
            QuestionKind::Multi { min: 1, max: 3, .. }
        ));
        assert_eq!(fatores.options().len(), 12);
        assert!(fatores.option("formas_pagamento").is_some());

        let values = |key: &str| -> Vec<String> {
            def.question(key)
                .map(|q| q.options().iter().map(|c| c.value.clone()).collect())
                .unwrap_or_default()
        };
        assert_eq!(
            values("renda_familiar"),
            [
                "ate_2sm",
                "2a4sm",
                "4a10sm",
                "10a20sm",
                "acima_20sm",
                "nao_informar"
            ]
        );
        assert_eq!(
            values("frequencia_supermercado"),
            ["nao_compro", "1x", "2x", "3x", "4x_ou_mais"]
        );
        assert_eq!(values("valor_compra"), values("gasto_bairro"));

        let renda = def.question("renda_familiar").expect("renda");
        assert_eq!(renda.unit, Some(Unit::SalarioMinimo));
        let nao = renda.option("nao_informar").expect("nao_informar");
        assert!(nao.excluded && nao.lower.is_none() && nao.upper.is_none());

        // Every numeric band is bounded below, and only the top band is open.
        for key in [
            "renda_familiar",
            "valor_compra",
            "gasto_mensal",
            "gasto_bairro",
            "distancia_supermercado",
        ] {
            let q = def.question(key).expect(key);
            let bands: Vec<&Choice> = q.options().iter().filter(|c| !c.excluded).collect();
            assert!(bands.iter().all(|c| c.lower.is_some()), "{key}");
            let open: Vec<&str> = bands
                .iter()
                .filter(|c| c.upper.is_none())
                .map(|c| c.value.as_str())
                .collect();
            assert_eq!(open.len(), 1, "{key}");
            assert_eq!(
                bands.last().map(|c| c.value.as_str()),
                open.first().copied(),
                "{key}"
            );
        }
        // Distance bands follow each other without gaps.
        let dist = def.question("distancia_supermercado").expect("dist");
        for pair in dist.options().windows(2) {
            assert_eq!(pair[0].upper, pair[1].lower, "{}", pair[1].value);
        }
        assert_eq!(
            values("distancia_supermercado"),
            ["ate_500m", "500m_1km", "1a2km", "2a5km", "acima_5km"]
        );
        let sexo = def.question("sexo").expect("sexo");
        assert!(
            sexo.option("prefiro_nao_informar")
                .is_some_and(|c| c.excluded)
        );
        let freq = def.question("frequencia_supermercado").expect("freq");
        let top = freq.option("4x_ou_mais").expect("4x");
        assert_eq!((top.lower, top.upper), (Some(4.0), None));
        let intent = def.question("interesse_novo").expect("intent");
        let scores: Vec<_> = intent
            .options()
            .iter()
            .map(|c| (c.lower, c.upper))
            .collect();
        assert_eq!(
            scores,
            (1..=5)
                .map(|n| (Some(f64::from(n)), Some(f64::from(n))))
                .collect::<Vec<_>>()
        );
    }

    #[test]
    fn default_questionnaire_logic_and_criterio_brasil() {
        let def = default_def();
        assert_eq!(
            def.screen_out("responsavel_compras")
                .map(|s| s.when.source.as_str()),
            Some("responsavel_compras == \"nao\"")
        );
        assert!(def.pages()[3].show_if.is_some(), "onde_compra");
        for k in ["valor_compra", "gasto_mensal"] {
            assert!(def.question(k).is_some_and(|q| q.show_if.is_some()), "{k}");
        }
        assert!(
            def.question("gasto_bairro")
                .is_some_and(|q| q.show_if.is_none())
        );
        assert_eq!(
            def.checks().map(|c| c.key.as_str()).collect::<Vec<_>>(),
            ["gasto_mensal_baixo"]
        );
        let values = |key: &str| -> Vec<&str> {
            def.question(key)
                .map(|q| q.options().iter().map(|c| c.value.as_str()).collect())
                .unwrap_or_default()
        };
        for k in ["banheiros", "automoveis", "microcomputador", "geladeira"] {
            let key = format!("cceb_{k}");
            assert_eq!(values(&key), ["0", "1", "2", "3", "4"], "{key}");
            let q = def.question(&key).expect("cceb");
            assert_eq!(
                q.option("4").map(|c| c.label.pt.as_str()),
                Some("4 ou mais")
            );
            assert_eq!(
                q.option("4").map(|c| c.label.en.as_str()),
                Some("4 or more")
            );
        }
        for k in [
            "tem_lava_loucas",
            "tem_lava_roupas",
            "tem_micro_ondas",
            "agua_encanada",
            "servico_domestico",
        ] {
            assert_eq!(values(&format!("cceb_{k}")), ["sim", "nao"], "{k}");
        }
        assert_eq!(
            values("cceb_instrucao_chefe_2026"),
            [
                "sem_instrucao",
                "fundamental_incompleto",
                "fundamental_completo",
                "medio_incompleto",
                "medio_completo",
                "superior_incompleto",
                "superior_completo"
            ]
        );
    }

    #[test]
    fn version_2_is_kept_and_never_shares_a_changed_key() {
        let def = default_def();
        let previous = previous_versions(&def);
        let versions: Vec<u32> = previous.iter().map(Definition::version).collect();
        assert_eq!(versions, [1, 2]);
        let v2 = &previous[1];
        assert_eq!(v2.id(), def.id());
        // The 2015 items are in version 2 only.
        for k in [
            "cceb_empregados",
            "cceb_lava_loucas",
            "cceb_freezer",
            "cceb_lava_roupas",
            "cceb_dvd",
            "cceb_micro_ondas",
            "cceb_motocicleta",
            "cceb_secadora",
            "cceb_instrucao_chefe",
            "cceb_rua_pavimentada",
        ] {
            assert!(v2.question(k).is_some(), "{k}");
            assert!(def.question(k).is_none(), "{k}");
        }
        // A key in both versions has the same options: answers of either version mean
        // the same under it.
        for q in def.questions() {
            if let Some(old) = v2.question(&q.key) {
                let values = |q: &Question| -> Vec<String> {
                    q.options().iter().map(|c| c.value.clone()).collect()
                };
                assert_eq!(values(q), values(old), "{}", q.key);
            }
        }
    }

    // -- Labels with amounts in reais --------------------------------------

    #[test]
    fn minimum_wage_labels_show_reais() {
        let def = default_def();
        let renda = def.question("renda_familiar").expect("renda");
        let label = |value: &str, english: bool, sm: Option<u32>| {
            let opt = renda.option(value).expect(value);
            renda.option_label(opt, english, sm)
        };
        let sm = Some(1621);
        assert_eq!(
            label("ate_2sm", false, sm),
            "Até 2 salários mínimos (até R$\u{a0}3.242)"
        );
        assert_eq!(
            label("2a4sm", false, sm),
            "De 2 a 4 salários mínimos (R$\u{a0}3.242 a R$\u{a0}6.484)"
        );
        assert_eq!(
            label("acima_20sm", false, sm),
            "Acima de 20 salários mínimos (acima de R$\u{a0}32.420)"
        );
        assert_eq!(label("nao_informar", false, sm), "Prefiro não informar");
        assert_eq!(
            label("ate_2sm", true, sm),
            "Up to 2 minimum wages (up to R$\u{a0}3,242)"
        );
        assert_eq!(
            label("2a4sm", true, sm),
            "2 to 4 minimum wages (R$\u{a0}3,242 to R$\u{a0}6,484)"
        );
        assert_eq!(
            label("acima_20sm", true, sm),
            "Over 20 minimum wages (over R$\u{a0}32,420)"
        );
        // Without a configured minimum wage, the plain label.
        assert_eq!(label("2a4sm", false, None), "De 2 a 4 salários mínimos");
        assert_eq!(label("2a4sm", false, Some(0)), "De 2 a 4 salários mínimos");
        // Other units are never converted.
        let valor = def.question("valor_compra").expect("valor");
        let opt = valor.option("101a500").expect("101a500");
        assert_eq!(valor.option_label(opt, false, sm), "De R$ 101 a R$ 500");
    }

    #[test]
    fn minimum_wage_labels_with_fractions_and_points() {
        let src = doc(
            "[[pages.questions]]\nkey = \"q1\"\ntype = \"single\"\nunit = \"salario_minimo\"\n\
             text = { pt = \"a\", en = \"b\" }\noptions = [\n  \
             { value = \"a\", label = { pt = \"Meio\", en = \"Half\" }, lower = 1.5, upper = 1.5 },\n  \
             { value = \"b\", label = { pt = \"Abaixo\", en = \"Below\" }, upper = 0.5 },\n]\n",
        );
        let def = Definition::parse(&src).expect("valid");
        let q = def.question("q1").expect("q1");
        let label =
            |v: &str, english: bool| q.option_label(q.option(v).expect(v), english, Some(1621));
        assert_eq!(label("a", false), "Meio (R$\u{a0}2.431,50)");
        assert_eq!(label("a", true), "Half (R$\u{a0}2,431.50)");
        assert_eq!(label("b", false), "Abaixo (até R$\u{a0}810,50)");
    }

    #[test]
    fn truncated_or_mangled_files_give_errors_not_panics() {
        let text = DEFAULT_TOML;
        let boundaries: Vec<usize> = text.char_indices().map(|(i, _)| i).step_by(11).collect();
        for &end in &boundaries {
            if let Some(prefix) = text.get(..end) {
                // Either outcome is fine; the point is that nothing panics and
                // any error carries a line inside the text.
                if let Err(e) = Definition::parse(prefix) {
                    assert!(
                        e.line() >= 1 && e.line() <= prefix.lines().count().max(1),
                        "{e}"
                    );
                }
            }
        }
        for &cut in boundaries.iter().step_by(3) {
            let mangled: String = text
                .char_indices()
                .filter(|(i, _)| *i != cut)
                .map(|(_, c)| c)
                .collect();
            if let Err(e) = Definition::parse(&mangled) {
                assert!(
                    e.line() >= 1 && e.line() <= mangled.lines().count().max(1),
                    "{e}"
                );
            }
        }
    }

    // -----------------------------------------------------------------------
    // Conditions: show_if, screen_out_if, checks.

    /// Three pages: `p1` with `escolha` (single a/b) and `n` (integer 1..10), `p2` with
    /// `q2` plus `extra2` lines on the question and `page2` lines on the page, `p3`
    /// with `q3`.
    fn logic_doc(extra2: &str, page2: &str) -> String {
        format!(
            "{HEAD}\n[[pages]]\nkey = \"p1\"\ntitle = {{ pt = \"Um\", en = \"One\" }}\n\n\
             [[pages.questions]]\nkey = \"escolha\"\ntype = \"single\"\n\
             text = {{ pt = \"Qual?\", en = \"Which?\" }}\noptions = [{OPT_A}, {OPT_B}]\n\n{}\n\
             [[pages]]\nkey = \"p2\"\ntitle = {{ pt = \"Dois\", en = \"Two\" }}\n{page2}\n\n{}\n\
             [[pages]]\nkey = \"p3\"\ntitle = {{ pt = \"Três\", en = \"Three\" }}\n\n{}",
            integer("n", ""),
            integer("q2", extra2),
            integer("q3", ""),
        )
    }

    #[test]
    fn conditions_parse_and_attach() {
        let src = logic_doc(
            "show_if = \"escolha == \\\"a\\\" and n > 2\"\n\
             screen_out_if = \"q2 > 8\"\n\
             screen_out_message = { pt = \"Obrigado\", en = \"Thanks\" }",
            "[[pages.checks]]\nkey = \"alto\"\nwhen = \"q2 > n\"\n\
             message = { pt = \"Confira\", en = \"Check\" }",
        );
        let def = Definition::parse(&src).unwrap_or_else(|e| panic!("{e}"));
        let q2 = def.question("q2").expect("q2");
        assert_eq!(
            q2.show_if.as_ref().map(|c| c.source.as_str()),
            Some("escolha == \"a\" and n > 2")
        );
        assert_eq!(
            def.screen_out("q2").map(|s| s.message.pt.as_str()),
            Some("Obrigado")
        );
        assert_eq!(
            def.checks().map(|c| c.key.as_str()).collect::<Vec<_>>(),
            ["alto"]
        );
    }

    #[test]
    fn condition_syntax_errors_carry_the_line() {
        let src = logic_doc("show_if = \"escolha = \\\"a\\\"\"", "");
        assert_refused(&src, "show_if", "use `==`");
        // A multi-line expression: the line of the offending token.
        let src = logic_doc("show_if = \"\"\"\nn > 2 and\nescolha ==\"\"\"", "");
        assert_refused(&src, "escolha ==\"\"\"", "cannot be used as a number");
    }

    #[test]
    fn refuses_conditions_on_unknown_later_or_same_page_questions() {
        assert_refused(
            &logic_doc("show_if = \"nada > 1\"", ""),
            "show_if",
            "unknown question `nada`",
        );
        assert_refused(
            &logic_doc("show_if = \"q3 > 1\"", ""),
            "show_if",
            "later page",
        );
        assert_refused(
            &logic_doc("", "show_if = \"q2 > 1\""),
            "show_if",
            "same page",
        );
        // A page-level show_if that reads its own page: not among earlier pages.
        assert_refused(
            &logic_doc("", "show_if = \"q3 > 1\""),
            "show_if",
            "later page",
        );
        // A screen-out that reads a later page.
        assert_refused(
            &logic_doc(
                "screen_out_if = \"q3 > 1\"\nscreen_out_message = { pt = \"x\", en = \"x\" }",
                "",
            ),
            "screen_out_if",
            "later page",
        );
        assert_refused(
            &logic_doc(
                "",
                "[[pages.checks]]\nkey = \"c\"\nwhen = \"q3 > 1\"\nmessage = { pt = \"x\", en = \"x\" }",
            ),
            "when",
            "later page",
        );
    }

    #[test]
    fn refuses_same_page_show_if_and_cycles() {
        let src = format!(
            "{}{}",
            doc(&integer("a1", "")),
            integer("b1", "show_if = \"a1 > 1\"")
        );
        assert_refused(&src, "show_if", "same page");
        let src = doc(&integer("a1", "show_if = \"a1 > 1\""));
        assert_refused(&src, "show_if", "cycle");
        // Two questions reading each other: the first one read is later on its page.
        let src = format!(
            "{}{}",
            doc(&integer(
                "a1",
                "screen_out_if = \"b1 > 1\"\nscreen_out_message = { pt = \"x\", en = \"x\" }"
            )),
            integer(
                "b1",
                "screen_out_if = \"a1 > 1\"\nscreen_out_message = { pt = \"x\", en = \"x\" }"
            )
        );
        assert_refused(&src, "screen_out_if = \"b1", "comes later on the page");
    }

    #[test]
    fn refuses_type_mismatches_unknown_options_and_impossible_conditions() {
        assert_refused(
            &logic_doc("show_if = \"n == \\\"a\\\"\"", ""),
            "show_if",
            "integer question",
        );
        assert_refused(
            &logic_doc("show_if = \"escolha > 1\"", ""),
            "show_if",
            "no `lower`/`upper`",
        );
        assert_refused(
            &logic_doc("show_if = \"escolha in [\\\"a\\\", \\\"z\\\"]\"", ""),
            "show_if",
            "\"z\" is not an option of `escolha`",
        );
        assert_refused(
            &logic_doc("show_if = \"n > 10\"", ""),
            "show_if",
            "never be true",
        );
        assert_refused(
            &logic_doc(
                "show_if = \"escolha == \\\"a\\\" and escolha == \\\"b\\\"\"",
                "",
            ),
            "show_if",
            "never be true",
        );
    }

    #[test]
    fn refuses_half_screen_outs_and_duplicate_checks() {
        assert_refused(
            &logic_doc("screen_out_if = \"q2 > 1\"", ""),
            "screen_out_if",
            "without `screen_out_message`",
        );
        assert_refused(
            &logic_doc("screen_out_message = { pt = \"x\", en = \"x\" }", ""),
            "key = \"q2\"",
            "without `screen_out_if`",
        );
        let check = |k: &str| {
            format!(
                "[[pages.checks]]\nkey = \"{k}\"\nwhen = \"q2 > 1\"\nmessage = {{ pt = \"x\", en = \"x\" }}\n"
            )
        };
        let src = logic_doc(
            "",
            &format!("{}{}", check("c1"), check("c1").replace("key", "key ")),
        );
        assert_refused(&src, "key  = \"c1\"", "duplicate check key");
    }
}

/// Option features (shuffle, anchors, exclusive, "other" texts) and the `scale` and
/// `grid` types: parsing, start-up refusals, the per-respondent order and conditions on
/// grid items.
#[cfg(test)]
mod question_type_tests {
    use super::*;
    use crate::survey::answers::{AnswerError, AnswerValue, Answers, validate_page};

    const HEAD: &str = "id = \"teste\"\nversion = 1\n\
        title = { pt = \"Título\", en = \"Title\" }\n\
        intro = { pt = \"Introdução\", en = \"Intro\" }\n";

    fn doc(questions: &str) -> String {
        format!(
            "{HEAD}\n[[pages]]\nkey = \"p1\"\ntitle = {{ pt = \"P\", en = \"P\" }}\n\n{questions}"
        )
    }

    /// A multi (or single) `q` with options a..e, `extra` question lines and `last`
    /// appended to the option list.
    fn choice_q(kind: &str, extra: &str, last: &str) -> String {
        let opts: String = ["a", "b", "c", "d", "e"]
            .iter()
            .map(|v| {
                format!("  {{ value = \"{v}\", label = {{ pt = \"{v}\", en = \"{v}\" }} }},\n")
            })
            .collect();
        format!(
            "[[pages.questions]]\nkey = \"q\"\ntype = \"{kind}\"\n{extra}\n\
             text = {{ pt = \"Q?\", en = \"Q?\" }}\noptions = [\n{opts}{last}]\n"
        )
    }

    const GRID: &str = "[[pages.questions]]\nkey = \"g\"\ntype = \"grid\"\n\
        text = { pt = \"G?\", en = \"G?\" }\n\
        points = [\n  { value = 1, label = { pt = \"Nada\", en = \"None\" } },\n  { value = 2 },\n  \
        { value = 3, label = { pt = \"Muito\", en = \"Much\" } },\n]\n\
        missing = [{ value = \"nao_sei\", label = { pt = \"Não sei\", en = \"Don't know\" } }]\n\
        items = [\n  { key = \"preco\", label = { pt = \"Preço\", en = \"Price\" } },\n  \
        { key = \"dist\", label = { pt = \"Distância\", en = \"Distance\" } },\n]\n";

    fn line_with(src: &str, needle: &str) -> usize {
        src.lines()
            .position(|l| l.contains(needle))
            .map(|i| i + 1)
            .unwrap_or_else(|| panic!("`{needle}` not in test document"))
    }

    fn assert_refused(src: &str, needle: &str, reason: &str) {
        let err = match Definition::parse(src) {
            Ok(_) => panic!("accepted:\n{src}"),
            Err(e) => e,
        };
        assert_eq!(
            err.line(),
            line_with(src, needle),
            "wrong line for {err}\n{src}"
        );
        assert!(
            err.reason().contains(reason),
            "`{}` lacks `{reason}`",
            err.reason()
        );
    }

    fn form(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn option_features_parse() {
        let src = doc(&choice_q(
            "multi",
            "shuffle = true",
            "  { value = \"outros\", label = { pt = \"Outro\", en = \"Other\" }, anchor = true, other_text = true },\n  \
             { value = \"nenhum\", label = { pt = \"Nenhum\", en = \"None\" }, anchor = true, exclusive = true },\n",
        ));
        let def = Definition::parse(&src).unwrap_or_else(|e| panic!("{e}"));
        let q = def.question("q").expect("q");
        assert!(q.shuffle);
        let outro = q.option("outros").expect("outros");
        assert!(outro.anchor && !outro.exclusive);
        assert_eq!(outro.other_text, Some(DEFAULT_OTHER_LENGTH));
        assert!(q.option("nenhum").is_some_and(|c| c.anchor && c.exclusive));
        assert_eq!(q.other_key().as_deref(), Some("q__outro"));
        assert_eq!(
            def.answer_owner("q__outro").map(|q| q.key.as_str()),
            Some("q")
        );
        assert!(def.answer_owner("q__nada").is_none());
    }

    #[test]
    fn refuses_option_features_where_they_mean_nothing() {
        let anchor = "  { value = \"z\", label = { pt = \"Z\", en = \"Z\" }, anchor = true },\n";
        assert_refused(
            &doc(&choice_q("single", "", anchor)),
            "anchor = true",
            "does not shuffle",
        );
        let excl = "  { value = \"z\", label = { pt = \"Z\", en = \"Z\" }, exclusive = true },\n";
        assert_refused(
            &doc(&choice_q("single", "", excl)),
            "exclusive = true",
            "only means something in a multi",
        );
        let two = "  { value = \"y\", label = { pt = \"Y\", en = \"Y\" }, other_text = true },\n  \
                   { value = \"z\", label = { pt = \"Z\", en = \"Z\" }, other_text = true },\n";
        assert_refused(
            &doc(&choice_q("multi", "", two)),
            "value = \"z\"",
            "only one option may ask",
        );
        let clash =
            "  { value = \"outro\", label = { pt = \"O\", en = \"O\" }, other_text = true },\n";
        assert_refused(
            &doc(&choice_q("multi", "", clash)),
            "value = \"outro\"",
            "column `q__outro` twice",
        );
        // In a single question there are no flag columns: `outro` is fine.
        assert!(Definition::parse(&doc(&choice_q("single", "", clash))).is_ok());
        let len =
            "  { value = \"z\", label = { pt = \"Z\", en = \"Z\" }, other_max_length = 5 },\n";
        assert_refused(
            &doc(&choice_q("multi", "", len)),
            "other_max_length",
            "without `other_text",
        );
        assert_refused(
            &doc(
                "[[pages.questions]]\nkey = \"n\"\ntype = \"integer\"\nmin = 1\nmax = 3\nshuffle = true\ntext = { pt = \"a\", en = \"b\" }\n",
            ),
            "shuffle",
            "`shuffle` is not allowed on integer",
        );
    }

    #[test]
    fn scale_and_grid_parse() {
        let scale = "[[pages.questions]]\nkey = \"s\"\ntype = \"scale\"\ntext = { pt = \"S?\", en = \"S?\" }\n\
            points = [{ value = 1 }, { value = 2 }, { value = 3 }]\n";
        let def =
            Definition::parse(&doc(&format!("{scale}\n{GRID}"))).unwrap_or_else(|e| panic!("{e}"));
        let s = def.question("s").expect("s");
        assert_eq!(s.kind.name(), "scale");
        let values: Vec<&str> = s.options().iter().map(|c| c.value.as_str()).collect();
        assert_eq!(values, ["1", "2", "3"]);
        let g = def.question("g").expect("g");
        assert_eq!(
            g.options()
                .iter()
                .map(|c| (c.value.as_str(), c.label.pt.as_str(), c.excluded))
                .collect::<Vec<_>>(),
            [
                ("1", "1 – Nada", false),
                ("2", "2", false),
                ("3", "3 – Muito", false),
                ("nao_sei", "Não sei", true)
            ]
        );
        assert_eq!(
            g.items().iter().map(|i| i.key.as_str()).collect::<Vec<_>>(),
            ["preco", "dist"]
        );
        assert_eq!(g.item_field("preco"), "g__preco");
        assert_eq!(g.options()[2].lower, Some(3.0));
    }

    #[test]
    fn refuses_broken_scales_and_grids() {
        let no_items = GRID.replace(
            "items = [\n  { key = \"preco\", label = { pt = \"Preço\", en = \"Price\" } },\n  { key = \"dist\", label = { pt = \"Distância\", en = \"Distance\" } },\n]\n",
            "items = []\n",
        );
        assert_refused(&doc(&no_items), "items = []", "has no items");
        let dup = GRID.replace("key = \"dist\"", "key = \"preco\"");
        assert_refused(
            &doc(&dup),
            "{ key = \"preco\", label = { pt = \"Distância\"",
            "duplicate item key `preco`",
        );
        let order = GRID.replace("{ value = 2 }", "{ value = 0 }");
        assert_refused(&doc(&order), "{ value = 0 }", "out of order");
        let same = GRID.replace("{ value = 2 }", "{ value = 1 }");
        assert_refused(&doc(&same), "  { value = 1 },", "out of order");
        let missing_items = GRID.replace("items = [", "xitems = [");
        assert!(Definition::parse(&doc(&missing_items)).is_err());
        let with_options = GRID.replace(
            "missing = [",
            "options = [{ value = \"a\", label = { pt = \"a\", en = \"a\" } }]\nmissing = [",
        );
        assert_refused(
            &doc(&with_options),
            "options = [",
            "`options` is not allowed on grid",
        );
        let bad_item = GRID.replace("key = \"dist\"", "key = \"di__st\"");
        assert_refused(&doc(&bad_item), "di__st", "without `__`");
        assert_refused(
            &doc(&GRID.replace("key = \"g\"", "key = \"g__x\"")),
            "g__x",
            "without `__`",
        );
        let numeric_missing = GRID.replace("value = \"nao_sei\"", "value = \"9\"");
        assert_refused(
            &doc(&numeric_missing),
            "value = \"9\"",
            "would look like a point",
        );
        let far = GRID.replace("{ value = 2 }", "{ value = 2 },\n  { value = 99 }");
        assert_refused(&doc(&far), "value = 99", "outside -50..=50");
    }

    /// `GRID` on page 1 and an integer question on page 2 with `show_if`.
    fn grid_condition(cond: &str) -> String {
        format!(
            "{}\n[[pages]]\nkey = \"p2\"\ntitle = {{ pt = \"2\", en = \"2\" }}\n\n\
             [[pages.questions]]\nkey = \"depois\"\ntype = \"integer\"\nmin = 1\nmax = 3\n\
             text = {{ pt = \"a\", en = \"b\" }}\nshow_if = '{cond}'\n",
            doc(GRID)
        )
    }

    #[test]
    fn conditions_read_grid_items() {
        let def = Definition::parse(&grid_condition("g.preco >= 3 and answered(g.dist)"))
            .unwrap_or_else(|e| panic!("{e}"));
        let cond = &def
            .question("depois")
            .expect("q")
            .show_if
            .as_ref()
            .expect("show_if")
            .expr;
        let find = |k: &str| def.question(k);
        let grid = |p: &str, d: Option<&str>| {
            let mut m = std::collections::BTreeMap::new();
            m.insert("preco".to_string(), p.to_string());
            if let Some(d) = d {
                m.insert("dist".to_string(), d.to_string());
            }
            AnswerValue::Grid(m)
        };
        let holds = |v: &AnswerValue| cond.eval(&find, &|k: &str| (k == "g").then_some(v));
        assert_eq!(holds(&grid("3", Some("1"))), Some(true));
        assert_eq!(holds(&grid("2", Some("1"))), Some(false));
        assert_eq!(holds(&grid("3", None)), Some(false));
        // "Não sei" has no number: unknown, never true.
        assert_eq!(holds(&grid("nao_sei", Some("1"))), None);
        // Two items of one grid compared: satisfiable.
        assert!(Definition::parse(&grid_condition("g.preco > g.dist")).is_ok());
    }

    #[test]
    fn refuses_conditions_on_grid_items_of_the_wrong_type() {
        let src = grid_condition("g >= 3");
        assert_refused(&src, "show_if", "is a grid: name one of its items");
        assert_refused(
            &grid_condition("g.nada >= 3"),
            "show_if",
            "not an item of grid `g`",
        );
        assert_refused(
            &grid_condition("g.preco == \"3\""),
            "show_if",
            "is a grid item",
        );
        assert_refused(&grid_condition("g.preco > 3"), "show_if", "never be true");
        assert_refused(
            &grid_condition("g.preco > g.preco"),
            "show_if",
            "never be true",
        );
        let src = format!(
            "{}\n[[pages]]\nkey = \"p2\"\ntitle = {{ pt = \"2\", en = \"2\" }}\n\n\
             [[pages.questions]]\nkey = \"depois\"\ntype = \"integer\"\nmin = 1\nmax = 3\n\
             text = {{ pt = \"a\", en = \"b\" }}\nshow_if = 'n.x > 1'\n",
            doc(
                "[[pages.questions]]\nkey = \"n\"\ntype = \"integer\"\nmin = 1\nmax = 3\ntext = { pt = \"a\", en = \"b\" }\n"
            )
        );
        assert_refused(&src, "show_if", "not a grid");
    }

    #[test]
    fn shuffled_order_is_stable_per_respondent_and_keeps_anchors() {
        let src = doc(&choice_q(
            "multi",
            "shuffle = true",
            "  { value = \"outro\", label = { pt = \"Outro\", en = \"Other\" }, anchor = true },\n",
        ));
        let def = Definition::parse(&src).unwrap_or_else(|e| panic!("{e}"));
        let q = def.question("q").expect("q");
        let key = |n: u8| [n; 32];
        let orders: Vec<Vec<usize>> = (0..20).map(|n| q.option_order(&key(n))).collect();
        for (n, order) in orders.iter().enumerate() {
            assert_eq!(*order, q.option_order(&key(n as u8)), "stable");
            assert_eq!(order[5], 5, "the anchor keeps its place");
            let mut sorted = order.clone();
            sorted.sort_unstable();
            assert_eq!(sorted, (0..6).collect::<Vec<_>>(), "a permutation");
        }
        let distinct: std::collections::BTreeSet<&Vec<usize>> = orders.iter().collect();
        assert!(distinct.len() >= 10, "respondents differ: {distinct:?}");
        // Without `shuffle`, the definition's order for everyone.
        let plain = Definition::parse(&doc(&choice_q("multi", "", ""))).expect("plain");
        assert_eq!(
            plain.question("q").expect("q").option_order(&key(7)),
            [0, 1, 2, 3, 4]
        );
    }

    #[test]
    fn exclusive_and_other_text_are_checked_on_the_server() {
        let src = doc(&choice_q(
            "multi",
            "",
            "  { value = \"outros\", label = { pt = \"Outro\", en = \"Other\" }, other_text = true, other_max_length = 5 },\n  \
             { value = \"nenhum\", label = { pt = \"Nenhum\", en = \"None\" }, exclusive = true },\n",
        ));
        let def = Definition::parse(&src).unwrap_or_else(|e| panic!("{e}"));
        let err = |pairs: &[(&str, &str)]| match validate_page(&def, 0, &form(pairs), &[]) {
            Ok(a) => panic!("accepted {pairs:?}: {a:?}"),
            Err(e) => e,
        };
        assert_eq!(
            err(&[("q", "a"), ("q", "nenhum")]).get("q"),
            Some(AnswerError::Exclusive)
        );
        assert_eq!(
            err(&[("q", "outros")]).get("q__outro"),
            Some(AnswerError::Required)
        );
        assert_eq!(
            err(&[("q", "outros"), ("q__outro", "  ")]).get("q__outro"),
            Some(AnswerError::Required)
        );
        assert_eq!(
            err(&[("q", "outros"), ("q__outro", "feira livre")]).get("q__outro"),
            Some(AnswerError::TooLong { max: 5 })
        );
        let ok = validate_page(&def, 0, &form(&[("q", "nenhum")]), &[]).expect("alone");
        assert_eq!(
            ok.get("q"),
            Some(&AnswerValue::Multi(vec!["nenhum".into()]))
        );
        let ok = validate_page(
            &def,
            0,
            &form(&[("q", "outros"), ("q", "a"), ("q__outro", "feira")]),
            &[],
        )
        .expect("with text");
        assert_eq!(ok.get("q__outro"), Some(&AnswerValue::Text("feira".into())));
        // A text without its option is dropped: unticking "Outro" removes it.
        let ok = validate_page(&def, 0, &form(&[("q", "a"), ("q__outro", "feira")]), &[])
            .expect("dropped");
        assert!(ok.get("q__outro").is_none(), "{ok:?}");
        // merge_page replaces the text with the page; retain_known keeps it.
        let mut stored = Answers::new();
        stored.insert("q", AnswerValue::Multi(vec!["outros".into()]));
        stored.insert("q__outro", AnswerValue::Text("velho".into()));
        stored.merge_page(&def, 0, ok);
        assert!(stored.get("q__outro").is_none());
        stored.insert("q__outro", AnswerValue::Text("x".into()));
        stored.retain_known(&def);
        assert!(stored.get("q__outro").is_some());
    }

    #[test]
    fn grid_items_are_answered_and_required_one_by_one() {
        let def = Definition::parse(&doc(GRID)).unwrap_or_else(|e| panic!("{e}"));
        let e = match validate_page(&def, 0, &form(&[("g__preco", "3")]), &[]) {
            Ok(a) => panic!("accepted {a:?}"),
            Err(e) => e,
        };
        assert_eq!(e.errors, [("g__dist".to_string(), AnswerError::Required)]);
        let e = validate_page(&def, 0, &form(&[("g__preco", "7"), ("g__dist", "1")]), &[])
            .expect_err("not a point");
        assert_eq!(e.get("g__preco"), Some(AnswerError::UnknownOption));
        let e = validate_page(
            &def,
            0,
            &form(&[("g", "1"), ("g__preco", "1"), ("g__dist", "1")]),
            &[],
        )
        .expect_err("the grid's own key is no field");
        assert_eq!(e.unknown, ["g"]);
        let ok = validate_page(
            &def,
            0,
            &form(&[("g__preco", "3"), ("g__dist", "nao_sei")]),
            &[],
        )
        .expect("valid");
        let Some(AnswerValue::Grid(map)) = ok.get("g") else {
            panic!("{ok:?}")
        };
        assert_eq!(map.get("preco").map(String::as_str), Some("3"));
        assert_eq!(map.get("dist").map(String::as_str), Some("nao_sei"));
        assert!(crate::survey::is_page_complete(&def, 0, &ok));
        // For the straight-lining check: values in item order, "não sei" left out.
        assert_eq!(def.grid_values(&ok), [("g", vec![3])]);
        let ok = validate_page(&def, 0, &form(&[("g__preco", "2"), ("g__dist", "2")]), &[])
            .expect("valid");
        assert_eq!(def.grid_values(&ok), [("g", vec![2, 2])]);
        assert!(def.grid_values(&Answers::new()).is_empty());
        // The JSON form of a grid answer.
        assert_eq!(
            serde_json::to_string(&ok).expect("json"),
            r#"{"g":{"grid":{"dist":"2","preco":"2"}}}"#
        );
    }

    #[test]
    fn default_questionnaire_has_the_new_question_types() {
        let def = default_definition().unwrap_or_else(|e| panic!("{e}"));
        let f = def.question("fatores_escolha").expect("fatores");
        assert!(f.shuffle);
        assert!(
            f.option("outros")
                .is_some_and(|o| o.anchor && o.other_text == Some(60))
        );
        assert!(f.option("nenhum").is_some_and(|o| o.anchor && o.exclusive));
        let g = def.question("importancia_fatores").expect("grid");
        assert_eq!(
            g.items().iter().map(|i| i.key.as_str()).collect::<Vec<_>>(),
            [
                "preco",
                "distancia",
                "qualidade",
                "variedade",
                "atendimento"
            ]
        );
        assert_eq!(
            def.page_of("importancia_fatores"),
            def.page_of("fatores_escolha")
        );
        let s = def.question("satisfacao_atual").expect("scale");
        assert!(matches!(s.kind, QuestionKind::Scale { .. }) && !s.required);
    }
}
