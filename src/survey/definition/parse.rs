//! The questionnaire's TOML read into a [`Definition`]: serde reads the text into loosely
//! typed `Raw*` values with their spans, then the builder checks every rule and reports
//! the first violation with its line.

use std::collections::HashMap;
use std::ops::Range;

use serde::Deserialize;
use toml::Spanned;

use super::*;
use crate::survey::logic;

/// [`Definition::parse`].
pub(super) fn parse(text: &str) -> Result<Definition, DefinitionError> {
    let raw: RawDefinition = toml::from_str(text).map_err(|e| {
        let line = e.span().map_or(1, |s| line_of(text, s.start));
        DefinitionError::new(line, e.message().trim_end())
    })?;
    Builder::new(text).build(raw)
}

/// 1-based line of a byte offset. Counts bytes so that an offset inside a
/// multi-byte character cannot panic.
pub(super) fn line_of(text: &str, offset: usize) -> usize {
    text.as_bytes()
        .iter()
        .take(offset)
        .filter(|b| **b == b'\n')
        .count()
        + 1
}

// ---------------------------------------------------------------------------
// Raw TOML shape. Every field the builder may need to point at is `Spanned`.

/// The top level of the file.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDefinition {
    id: Spanned<String>,
    version: Spanned<i64>,
    title: RawText,
    intro: RawText,
    /// How long answering takes, in minutes; estimated from the questions when absent.
    #[serde(default)]
    minutes: Option<Spanned<i64>>,
    #[serde(default)]
    pages: Option<Spanned<Vec<RawPage>>>,
}

/// `{ pt = "…", en = "…" }`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawText {
    pt: Spanned<String>,
    en: Spanned<String>,
}

/// One `[[pages]]` table.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPage {
    key: Spanned<String>,
    title: RawText,
    #[serde(default)]
    questions: Option<Vec<RawQuestion>>,
    #[serde(default)]
    show_if: Option<Spanned<String>>,
    #[serde(default)]
    screen_out_if: Option<Spanned<String>>,
    #[serde(default)]
    screen_out_message: Option<RawText>,
    #[serde(default)]
    checks: Option<Vec<RawCheck>>,
}

/// One `[[pages.checks]]` table: a soft consistency rule.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCheck {
    key: Spanned<String>,
    when: Spanned<String>,
    message: RawText,
}

/// One `[[pages.questions]]` table. The fields of every type are accepted
/// here; the builder refuses those that do not belong to the declared type.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawQuestion {
    key: Spanned<String>,
    text: RawText,
    #[serde(default)]
    help: Option<RawText>,
    #[serde(default)]
    required: Option<bool>,
    #[serde(rename = "type")]
    kind: Spanned<String>,
    #[serde(default)]
    role: Option<Spanned<String>>,
    #[serde(default)]
    unit: Option<Spanned<String>>,
    #[serde(default)]
    min: Option<Spanned<i64>>,
    #[serde(default)]
    max: Option<Spanned<i64>>,
    #[serde(default)]
    max_length: Option<Spanned<i64>>,
    #[serde(default)]
    options: Option<Spanned<Vec<RawChoice>>>,
    #[serde(default)]
    show_if: Option<Spanned<String>>,
    #[serde(default)]
    screen_out_if: Option<Spanned<String>>,
    #[serde(default)]
    screen_out_message: Option<RawText>,
    /// Single and multi: show the options in an order of each respondent's own.
    #[serde(default)]
    shuffle: Option<Spanned<bool>>,
    /// Scale and grid: the points, in ascending order.
    #[serde(default)]
    points: Option<Spanned<Vec<RawPoint>>>,
    /// Scale and grid: options stored but declared missing ("não sei").
    #[serde(default)]
    missing: Option<Vec<RawChoice>>,
    /// Grid: the items rated on the scale.
    #[serde(default)]
    items: Option<Spanned<Vec<RawItem>>>,
}

/// One point of a scale: its number, and a label unless it is shown as the number.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPoint {
    value: Spanned<i64>,
    #[serde(default)]
    label: Option<RawText>,
}

/// One item of a grid.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawItem {
    key: Spanned<String>,
    label: RawText,
}

/// One option, inline or as `[[pages.questions.options]]`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawChoice {
    value: Spanned<String>,
    label: RawText,
    #[serde(default)]
    lower: Option<Spanned<f64>>,
    #[serde(default)]
    upper: Option<Spanned<f64>>,
    #[serde(default)]
    excluded: Option<bool>,
    #[serde(default)]
    anchor: Option<Spanned<bool>>,
    #[serde(default)]
    exclusive: Option<Spanned<bool>>,
    #[serde(default)]
    other_text: Option<Spanned<bool>>,
    #[serde(default)]
    other_max_length: Option<Spanned<i64>>,
}

// ---------------------------------------------------------------------------
// Semantic checks.

/// Which first characters a key may have.
#[derive(Clone, Copy)]
enum KeyStyle {
    /// Question and page keys: a letter first, as they become column names.
    LetterFirst,
    /// Option values: a digit may come first (`2a4sm`, `1x`), since they are
    /// only ever data, never identifiers.
    LetterOrDigitFirst,
}

/// Checks the key rules: 1 to [`MAX_KEY_LEN`] lowercase ascii letters, digits
/// or underscores, with the first character as `style` says.
fn valid_key(key: &str, style: KeyStyle) -> bool {
    let Some(first) = key.chars().next() else {
        return false;
    };
    // `__` joins a question key to an item, option or `outro` in field and column
    // names, so it may not appear in a key itself (two names could then collide).
    if matches!(style, KeyStyle::LetterFirst) && key.contains("__") {
        return false;
    }
    let first_ok = match style {
        KeyStyle::LetterFirst => first.is_ascii_lowercase(),
        KeyStyle::LetterOrDigitFirst => first.is_ascii_lowercase() || first.is_ascii_digit(),
    };
    first_ok
        && key.len() <= MAX_KEY_LEN
        && key
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

/// About how long answering takes when the file does not say: 20 seconds a question,
/// rounded up to whole minutes (pages with logic may skip some, so it errs long).
fn estimated_minutes(pages: &[Page]) -> u32 {
    let questions: usize = pages.iter().map(|p| p.questions.len()).sum();
    u32::try_from(questions.saturating_mul(20).div_ceil(60))
        .unwrap_or(MAX_MINUTES)
        .clamp(1, MAX_MINUTES)
}

/// The questionnaire id may also contain `-`, since it often carries a date.
fn valid_id(id: &str) -> bool {
    id.chars().next().is_some_and(|c| c.is_ascii_lowercase())
        && id.len() <= MAX_ID_LEN
        && id
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-')
}

fn key_rules(style: KeyStyle) -> String {
    let first = match style {
        KeyStyle::LetterFirst => "a letter, without `__`",
        KeyStyle::LetterOrDigitFirst => "a letter or a digit",
    };
    format!(
        "use 1 to {MAX_KEY_LEN} lowercase ascii letters, digits or underscores, starting with {first}"
    )
}

/// Builds the public model from the raw structs, checking every rule.
struct Builder<'a> {
    src: &'a str,
    /// Question key → line of its first definition.
    question_keys: HashMap<String, usize>,
    /// Page key → line of its first definition.
    page_keys: HashMap<String, usize>,
    /// Role → (question key, line) of its first use.
    roles: HashMap<Role, (String, usize)>,
    /// Every question key of the file → (page index, line), collected before building
    /// so that a condition naming a later question is told so, not "unknown".
    all_questions: HashMap<String, (usize, usize)>,
    /// The pages built so far.
    done: Vec<Page>,
    /// Check key → line of its first definition.
    check_keys: HashMap<String, usize>,
}

/// Which questions a condition may read, relative to where it is written.
#[derive(Clone, Copy)]
enum Reach {
    /// `show_if`: only answers of earlier pages. Pages are decided on the server (no
    /// script), so a question cannot appear or vanish while its own page is open.
    EarlierPages,
    /// A question's `screen_out_if`: earlier pages, and its page up to itself (it is
    /// evaluated once the page is saved).
    UpToQuestion(usize),
    /// A page's `screen_out_if` and checks: earlier pages and the whole page.
    WholePage,
}

/// Shorthand for the builder's results.
type Res<T> = Result<T, DefinitionError>;

impl<'a> Builder<'a> {
    fn new(src: &'a str) -> Self {
        Self {
            src,
            question_keys: HashMap::new(),
            page_keys: HashMap::new(),
            roles: HashMap::new(),
            all_questions: HashMap::new(),
            done: Vec::new(),
            check_keys: HashMap::new(),
        }
    }

    fn line(&self, span: &Range<usize>) -> usize {
        line_of(self.src, span.start)
    }

    fn err(&self, span: &Range<usize>, reason: impl Into<String>) -> DefinitionError {
        DefinitionError::new(self.line(span), reason)
    }

    fn build(mut self, raw: RawDefinition) -> Res<Definition> {
        let id_span = raw.id.span();
        let id = raw.id.into_inner();
        if !valid_id(&id) {
            return Err(self.err(
                &id_span,
                format!(
                    "invalid questionnaire id `{id}`: use 1 to {MAX_ID_LEN} lowercase ascii letters, \
                     digits, `_` or `-`, starting with a letter"
                ),
            ));
        }
        let version_span = raw.version.span();
        let version_raw = raw.version.into_inner();
        let version = u32::try_from(version_raw)
            .ok()
            .filter(|v| *v >= 1)
            .ok_or_else(|| {
                self.err(
                    &version_span,
                    format!("version must be a positive integer, got {version_raw}"),
                )
            })?;
        let title = self.text(raw.title)?;
        let intro = self.text(raw.intro)?;
        let minutes = match raw.minutes {
            None => None,
            Some(m) => {
                let span = m.span();
                let n = m.into_inner();
                Some(
                    u32::try_from(n)
                        .ok()
                        .filter(|n| (1..=MAX_MINUTES).contains(n))
                        .ok_or_else(|| {
                            self.err(
                                &span,
                                format!("minutes must be from 1 to {MAX_MINUTES}, got {n}"),
                            )
                        })?,
                )
            }
        };

        let Some(raw_pages) = raw.pages else {
            return Err(DefinitionError::new(
                1,
                "the questionnaire has no pages (add [[pages]])",
            ));
        };
        let pages_span = raw_pages.span();
        let raw_pages = raw_pages.into_inner();
        if raw_pages.is_empty() {
            return Err(self.err(&pages_span, "the questionnaire has no pages"));
        }
        for (i, p) in raw_pages.iter().enumerate() {
            for q in p.questions.iter().flatten() {
                let line = self.line(&q.key.span());
                self.all_questions
                    .entry(q.key.get_ref().clone())
                    .or_insert((i, line));
            }
        }
        for p in raw_pages {
            let page = self.page(p)?;
            self.done.push(page);
        }
        let pages = std::mem::take(&mut self.done);

        let minutes = minutes.unwrap_or_else(|| estimated_minutes(&pages));
        Ok(Definition {
            id,
            version,
            title,
            intro,
            minutes,
            slots: super::slots_of(&pages),
            pages,
        })
    }

    fn text(&self, raw: RawText) -> Res<Text> {
        for (name, field) in [("pt", &raw.pt), ("en", &raw.en)] {
            if field.get_ref().trim().is_empty() {
                return Err(self.err(&field.span(), format!("empty `{name}` text")));
            }
        }
        Ok(Text {
            pt: raw.pt.into_inner(),
            en: raw.en.into_inner(),
        })
    }

    fn page(&mut self, raw: RawPage) -> Res<Page> {
        let key_span = raw.key.span();
        let key = raw.key.into_inner();
        let line = self.line(&key_span);
        self.check_new_key(&key, &key_span, "page", &self.page_keys)?;
        self.page_keys.insert(key.clone(), line);
        let title = self.text(raw.title)?;
        let raw_questions = raw.questions.unwrap_or_default();
        if raw_questions.is_empty() {
            return Err(self.err(&key_span, format!("page `{key}` has no questions")));
        }
        // The questions first, then their conditions: a screen-out may read questions
        // of its own page, which must be built to be type-checked against.
        let mut logic = Vec::with_capacity(raw_questions.len());
        let mut questions = Vec::with_capacity(raw_questions.len());
        for mut q in raw_questions {
            logic.push((
                q.key.span(),
                q.show_if.take(),
                q.screen_out_if.take(),
                q.screen_out_message.take(),
            ));
            questions.push(self.question(q)?);
        }
        for (j, (span, show_if, screen_if, screen_msg)) in logic.into_iter().enumerate() {
            let qkey = questions[j].key.clone();
            questions[j].show_if = show_if
                .map(|s| self.condition(s, &questions, Reach::EarlierPages, Some(&qkey)))
                .transpose()?;
            questions[j].screen_out = self.screen_out(
                &qkey,
                &span,
                screen_if,
                screen_msg,
                &questions,
                Reach::UpToQuestion(j),
            )?;
        }
        let show_if = raw
            .show_if
            .map(|s| self.condition(s, &questions, Reach::EarlierPages, None))
            .transpose()?;
        let screen_out = self.screen_out(
            &key,
            &key_span,
            raw.screen_out_if,
            raw.screen_out_message,
            &questions,
            Reach::WholePage,
        )?;
        let mut checks = Vec::new();
        for c in raw.checks.unwrap_or_default() {
            let cspan = c.key.span();
            let ckey = c.key.into_inner();
            self.check_new_key(&ckey, &cspan, "check", &self.check_keys)?;
            let cline = self.line(&cspan);
            self.check_keys.insert(ckey.clone(), cline);
            let when = self.condition(c.when, &questions, Reach::WholePage, None)?;
            let message = self.text(c.message)?;
            checks.push(Check {
                key: ckey,
                when,
                message,
            });
        }
        Ok(Page {
            key,
            title,
            questions,
            show_if,
            screen_out,
            checks,
        })
    }

    /// A `screen_out_if` with its `screen_out_message`: both or neither.
    fn screen_out(
        &self,
        key: &str,
        key_span: &Range<usize>,
        when: Option<Spanned<String>>,
        message: Option<RawText>,
        page: &[Question],
        reach: Reach,
    ) -> Res<Option<ScreenOut>> {
        match (when, message) {
            (None, None) => Ok(None),
            (Some(w), None) => Err(self.err(
                &w.span(),
                format!("`{key}` has `screen_out_if` without `screen_out_message`"),
            )),
            (None, Some(_)) => Err(self.err(
                key_span,
                format!("`{key}` has `screen_out_message` without `screen_out_if`"),
            )),
            (Some(w), Some(m)) => Ok(Some(ScreenOut {
                key: key.to_owned(),
                when: self.condition(w, page, reach, None)?,
                message: self.text(m)?,
            })),
        }
    }

    /// Compiles one expression; `page` holds the questions of the page being built and
    /// `own` the key of the question it belongs to, if any. Errors point at the line of
    /// the offending token.
    fn condition(
        &self,
        raw: Spanned<String>,
        page: &[Question],
        reach: Reach,
        own: Option<&str>,
    ) -> Res<Condition> {
        let span = raw.span();
        let source = raw.into_inner();
        let here = self.done.len();
        let scope = |k: &str| -> Result<Question, String> {
            if own == Some(k) {
                return Err(format!(
                    "`{k}` depends on itself (a cycle): `show_if` may only read earlier pages"
                ));
            }
            if let Some(q) = self
                .done
                .iter()
                .flat_map(|p| &p.questions)
                .find(|q| q.key == k)
            {
                return Ok(q.clone());
            }
            if let Some(pos) = page.iter().position(|q| q.key == k) {
                return match reach {
                    Reach::WholePage => Ok(page[pos].clone()),
                    Reach::UpToQuestion(j) if pos <= j => Ok(page[pos].clone()),
                    Reach::UpToQuestion(_) => Err(format!(
                        "`{k}` comes later on the page: a screen-out may read only its own \
                         question and those before it"
                    )),
                    Reach::EarlierPages => Err(format!(
                        "`{k}` is on the same page: `show_if` may only read answers of earlier \
                         pages (pages are decided on the server, without scripts)"
                    )),
                };
            }
            match self.all_questions.get(k) {
                Some((p, line)) if *p > here => Err(format!(
                    "`{k}` is on a later page (line {line}): conditions may only read earlier answers"
                )),
                _ => Err(format!("unknown question `{k}`")),
            }
        };
        let expr = logic::compile(&source, &scope).map_err(|e| {
            // The expression starts after the opening quote; count its own newlines too.
            let inner = source.get(..e.offset).unwrap_or(&source);
            // A multi-line string drops the newline right after its opening quotes.
            let raw_start = self.src.get(span.start..).unwrap_or_default();
            let dropped = usize::from(
                ["\"\"\"\n", "\"\"\"\r\n", "\'\'\'\n", "\'\'\'\r\n"]
                    .iter()
                    .any(|q| raw_start.starts_with(q)),
            );
            let line = self.line(&span) + dropped + inner.matches('\n').count();
            DefinitionError::new(line, format!("in `{source}`: {}", e.reason))
        })?;
        Ok(Condition { source, expr })
    }

    /// A page or question key must be well-formed and not used before (`seen` maps keys
    /// to the line they first appeared on).
    fn check_new_key(
        &self,
        key: &str,
        span: &std::ops::Range<usize>,
        what: &str,
        seen: &std::collections::HashMap<String, usize>,
    ) -> Res<()> {
        if !valid_key(key, KeyStyle::LetterFirst) {
            return Err(self.err(
                span,
                format!(
                    "invalid {what} key `{key}`: {}",
                    key_rules(KeyStyle::LetterFirst)
                ),
            ));
        }
        if let Some(first) = seen.get(key) {
            return Err(self.err(
                span,
                format!("duplicate {what} key `{key}` (first defined on line {first})"),
            ));
        }
        Ok(())
    }

    /// Refuses `field` when present: it does not belong to this type.
    fn forbid<T>(&self, field: &Option<Spanned<T>>, name: &str, kind: &str) -> Res<()> {
        match field {
            Some(f) => Err(self.err(
                &f.span(),
                format!("`{name}` is not allowed on {kind} questions"),
            )),
            None => Ok(()),
        }
    }

    fn question(&mut self, raw: RawQuestion) -> Res<Question> {
        let key_span = raw.key.span();
        let key = raw.key.into_inner();
        let line = self.line(&key_span);
        self.check_new_key(&key, &key_span, "question", &self.question_keys)?;
        self.question_keys.insert(key.clone(), line);

        let text = self.text(raw.text)?;
        let help = raw.help.map(|h| self.text(h)).transpose()?;
        let required = raw.required.unwrap_or(true);

        let role = match &raw.role {
            None => None,
            Some(r) => Some(Role::from_name(r.get_ref()).ok_or_else(|| {
                let names: Vec<_> = Role::ALL.iter().map(|r| r.as_str()).collect();
                self.err(
                    &r.span(),
                    format!(
                        "unknown role `{}` (expected one of: {})",
                        r.get_ref(),
                        names.join(", ")
                    ),
                )
            })?),
        };
        let unit = match &raw.unit {
            None => None,
            Some(u) => Some(Unit::from_name(u.get_ref()).ok_or_else(|| {
                let names: Vec<_> = Unit::ALL.iter().map(|u| u.as_str()).collect();
                self.err(
                    &u.span(),
                    format!(
                        "unknown unit `{}` (expected one of: {})",
                        u.get_ref(),
                        names.join(", ")
                    ),
                )
            })?),
        };
        // Options of a numeric single-choice role must carry numbers, or the
        // analysis would have nothing to compute with.
        let bounds_for = role.filter(|r| !r.wants_integer());

        let type_span = raw.kind.span();
        let type_name = raw.kind.into_inner();
        if !matches!(type_name.as_str(), "scale" | "grid") {
            self.forbid(&raw.points, "points", &type_name)?;
            self.forbid(&raw.items, "items", &type_name)?;
            if raw.missing.is_some() {
                return Err(self.err(
                    &key_span,
                    format!("`missing` is not allowed on {type_name} questions"),
                ));
            }
        }
        if !matches!(type_name.as_str(), "single" | "multi" | "scale" | "grid") {
            self.forbid(&raw.shuffle, "shuffle", &type_name)?;
        }
        let shuffle = raw.shuffle.as_ref().is_some_and(|s| *s.get_ref());
        let kind = match type_name.as_str() {
            "integer" => {
                self.forbid(&raw.options, "options", "integer")?;
                self.forbid(&raw.max_length, "max_length", "integer")?;
                let min = raw.min.ok_or_else(|| {
                    self.err(&key_span, format!("integer question `{key}` needs `min`"))
                })?;
                let max = raw.max.ok_or_else(|| {
                    self.err(&key_span, format!("integer question `{key}` needs `max`"))
                })?;
                if min.get_ref() > max.get_ref() {
                    return Err(self.err(
                        &min.span(),
                        format!(
                            "min ({}) is greater than max ({})",
                            min.get_ref(),
                            max.get_ref()
                        ),
                    ));
                }
                QuestionKind::Integer {
                    min: min.into_inner(),
                    max: max.into_inner(),
                }
            }
            "single" => {
                self.forbid(&raw.min, "min", "single")?;
                self.forbid(&raw.max, "max", "single")?;
                self.forbid(&raw.max_length, "max_length", "single")?;
                let options =
                    self.options(&key, &key_span, raw.options, bounds_for, shuffle, false)?;
                QuestionKind::Single { options }
            }
            "multi" => {
                self.forbid(&raw.max_length, "max_length", "multi")?;
                let options = self.options(&key, &key_span, raw.options, None, shuffle, true)?;
                let count = options.len();
                let min = match &raw.min {
                    None => 1,
                    Some(m) => usize::try_from(*m.get_ref()).map_err(|_| {
                        self.err(
                            &m.span(),
                            format!("min ({}) must not be negative", m.get_ref()),
                        )
                    })?,
                };
                let max = match &raw.max {
                    None => count,
                    Some(m) => {
                        let v = *m.get_ref();
                        match usize::try_from(v) {
                            Ok(v) if (1..=count).contains(&v) => v,
                            _ => {
                                return Err(self.err(
                                    &m.span(),
                                    format!("max ({v}) must be between 1 and the number of options ({count})"),
                                ));
                            }
                        }
                    }
                };
                if min > max {
                    let span = raw.min.as_ref().map_or(key_span.clone(), |m| m.span());
                    return Err(self.err(&span, format!("min ({min}) is greater than max ({max})")));
                }
                QuestionKind::Multi { options, min, max }
            }
            "scale" | "grid" => {
                let what = if type_name == "scale" {
                    "scale"
                } else {
                    "grid"
                };
                self.forbid(&raw.min, "min", what)?;
                self.forbid(&raw.max, "max", what)?;
                self.forbid(&raw.max_length, "max_length", what)?;
                self.forbid(&raw.options, "options", what)?;
                self.forbid(&raw.shuffle, "shuffle", what)?;
                let points = self.points(&key, &key_span, raw.points, raw.missing)?;
                if type_name == "scale" {
                    self.forbid(&raw.items, "items", what)?;
                    QuestionKind::Scale { points }
                } else {
                    let items = self.items(&key, &key_span, raw.items)?;
                    QuestionKind::Grid { items, points }
                }
            }
            "text" => {
                self.forbid(&raw.min, "min", "text")?;
                self.forbid(&raw.max, "max", "text")?;
                self.forbid(&raw.options, "options", "text")?;
                self.forbid(&raw.unit, "unit", "text")?;
                if required {
                    return Err(self.err(
                        &type_span,
                        format!("text question `{key}` must be optional (add `required = false`)"),
                    ));
                }
                let max_length = raw.max_length.ok_or_else(|| {
                    self.err(
                        &key_span,
                        format!("text question `{key}` needs `max_length`"),
                    )
                })?;
                let value = *max_length.get_ref();
                let max_length =
                    usize::try_from(value)
                        .ok()
                        .filter(|v| *v >= 1)
                        .ok_or_else(|| {
                            self.err(
                                &max_length.span(),
                                format!("max_length must be at least 1, got {value}"),
                            )
                        })?;
                QuestionKind::Text { max_length }
            }
            other => {
                return Err(self.err(
                    &type_span,
                    format!(
                        "unknown question type `{other}` (expected integer, single, multi, text, \
                         scale or grid)"
                    ),
                ));
            }
        };

        if let (Some(role), Some(role_field)) = (role, &raw.role) {
            let role_span = role_field.span();
            let (wanted, article) = if role.wants_integer() {
                ("integer", "an")
            } else {
                ("single", "a")
            };
            if kind.name() != wanted {
                return Err(self.err(
                    &role_span,
                    format!(
                        "role `{}` needs {article} {wanted} question, but `{key}` is {}",
                        role.as_str(),
                        kind.name()
                    ),
                ));
            }
            if let Some((first_key, first_line)) = self.roles.get(&role) {
                return Err(self.err(
                    &role_span,
                    format!(
                        "role `{}` is already used by question `{first_key}` (line {first_line})",
                        role.as_str()
                    ),
                ));
            }
            let role_line = self.line(&role_span);
            self.roles.insert(role, (key.clone(), role_line));
        }

        let question = Question {
            key,
            text,
            help,
            required,
            kind,
            role,
            unit,
            show_if: None,
            screen_out: None,
            shuffle,
        };
        self.check_columns(&question, &key_span)?;
        Ok(question)
    }

    /// Refuses a question whose key or derived column would be a fixed export column
    /// (`peso`, `bairro`, `classe_cceb`, …): the export would have two columns of that
    /// name and the analysis would read the wrong one. Derived names (`{key}__…`) cannot
    /// be another question's key, nor another question's derived name, because keys may
    /// not contain `__`.
    fn check_columns(&self, q: &Question, key_span: &Range<usize>) -> Res<()> {
        for name in q.column_names() {
            let Some(what) = crate::survey::columns::fixed(&name) else {
                continue;
            };
            let reason = if name == q.key {
                format!(
                    "question key `{name}` is the name of a fixed export column ({what}); \
                     use another key"
                )
            } else {
                format!(
                    "question `{}` would make the export column `{name}`, which is a fixed \
                     column ({what}); rename the question, option or item",
                    q.key
                )
            };
            return Err(self.err(key_span, reason));
        }
        Ok(())
    }

    fn options(
        &self,
        question: &str,
        question_span: &Range<usize>,
        raw: Option<Spanned<Vec<RawChoice>>>,
        bounds_for: Option<Role>,
        shuffle: bool,
        multi: bool,
    ) -> Res<Vec<Choice>> {
        let Some(raw) = raw else {
            return Err(self.err(
                question_span,
                format!("question `{question}` needs `options`"),
            ));
        };
        let list_span = raw.span();
        let list = raw.into_inner();
        if list.is_empty() {
            return Err(self.err(
                &list_span,
                format!("question `{question}` has an empty option list"),
            ));
        }
        let mut seen: HashMap<String, usize> = HashMap::new();
        let mut out = Vec::with_capacity(list.len());
        let mut other_line: Option<usize> = None;
        for choice in list {
            let (anchor, exclusive, other_text) =
                self.option_features(question, &choice, shuffle, multi, &mut other_line)?;
            let value_span = choice.value.span();
            let value = choice.value.into_inner();
            if !valid_key(&value, KeyStyle::LetterOrDigitFirst) {
                return Err(self.err(
                    &value_span,
                    format!(
                        "invalid option value `{value}`: {}",
                        key_rules(KeyStyle::LetterOrDigitFirst)
                    ),
                ));
            }
            if let Some(first) = seen.get(&value) {
                return Err(self.err(
                    &value_span,
                    format!(
                        "duplicate option value `{value}` in question `{question}` (first defined on line {first})"
                    ),
                ));
            }
            seen.insert(value.clone(), self.line(&value_span));
            let label = self.text(choice.label)?;
            for (name, bound) in [("lower", &choice.lower), ("upper", &choice.upper)] {
                if let Some(b) = bound.as_ref().filter(|b| !b.get_ref().is_finite()) {
                    return Err(self.err(
                        &b.span(),
                        format!("option `{value}`: `{name}` must be a finite number"),
                    ));
                }
            }
            if let (Some(lo), Some(hi)) = (&choice.lower, &choice.upper) {
                if lo.get_ref() > hi.get_ref() {
                    return Err(self.err(
                        &lo.span(),
                        format!(
                            "option `{value}`: lower bound ({}) is greater than upper bound ({})",
                            lo.get_ref(),
                            hi.get_ref()
                        ),
                    ));
                }
            }
            let excluded = choice.excluded.unwrap_or(false);
            let unbounded = choice.lower.is_none() && choice.upper.is_none();
            if let Some(role) = bounds_for.filter(|_| !excluded && unbounded) {
                return Err(self.err(
                    &value_span,
                    format!(
                        "option `{value}` needs `lower` and/or `upper` because the question has role `{}` \
                         (or mark it `excluded = true`)",
                        role.as_str()
                    ),
                ));
            }
            out.push(Choice {
                value,
                label,
                lower: choice.lower.map(Spanned::into_inner),
                upper: choice.upper.map(Spanned::into_inner),
                excluded,
                anchor,
                exclusive,
                other_text,
            });
        }
        // A multi's options are 0/1 columns `{key}__{value}`, and the "other" text is
        // `{key}__outro`: an option valued `outro` would make that column twice.
        if multi && out.iter().any(|c| c.other_text.is_some()) {
            if let Some(c) = out.iter().find(|c| c.value == "outro") {
                let line = seen.get(&c.value).copied().unwrap_or(1);
                return Err(DefinitionError::new(
                    line,
                    format!(
                        "option value `outro` in multi question `{question}` would make the \
                         column `{question}{OTHER_SUFFIX}` twice (its 0/1 flag and the \
                         `other_text`); use another value, e.g. `outros`"
                    ),
                ));
            }
        }
        Ok(out)
    }

    /// An option's `anchor`, `exclusive` and `other_text`, refused where they mean
    /// nothing: an anchor without `shuffle`, `exclusive` outside a multi, a second option
    /// asking for a text (`other_line` holds the first one's line).
    fn option_features(
        &self,
        question: &str,
        choice: &RawChoice,
        shuffle: bool,
        multi: bool,
        other_line: &mut Option<usize>,
    ) -> Res<(bool, bool, Option<usize>)> {
        let value = choice.value.get_ref();
        let anchor = match &choice.anchor {
            Some(a) if *a.get_ref() && !shuffle => {
                return Err(self.err(
                    &a.span(),
                    format!(
                        "option `{value}` is an anchor, but question `{question}` does not \
                         shuffle its options (add `shuffle = true` or remove `anchor`)"
                    ),
                ));
            }
            Some(a) => *a.get_ref(),
            None => false,
        };
        let exclusive = match &choice.exclusive {
            Some(e) if *e.get_ref() && !multi => {
                return Err(self.err(
                    &e.span(),
                    format!(
                        "option `{value}` is `exclusive`, which only means something in a \
                         multi question (`{question}` takes one option anyway)"
                    ),
                ));
            }
            Some(e) => *e.get_ref(),
            None => false,
        };
        let asks = choice.other_text.as_ref().is_some_and(|o| *o.get_ref());
        if let Some(len) = choice.other_max_length.as_ref().filter(|_| !asks) {
            return Err(self.err(
                &len.span(),
                format!("option `{value}` has `other_max_length` without `other_text = true`"),
            ));
        }
        let other_text = match &choice.other_text {
            Some(o) if *o.get_ref() => {
                if let Some(first) = other_line {
                    return Err(self.err(
                        &o.span(),
                        format!(
                            "question `{question}` already has an option with `other_text` \
                             (line {first}); only one option may ask for a text"
                        ),
                    ));
                }
                *other_line = Some(self.line(&o.span()));
                Some(match &choice.other_max_length {
                    None => DEFAULT_OTHER_LENGTH,
                    Some(m) => usize::try_from(*m.get_ref())
                        .ok()
                        .filter(|n| (1..=1000).contains(n))
                        .ok_or_else(|| {
                            self.err(
                                &m.span(),
                                format!(
                                    "other_max_length must be from 1 to 1000, got {}",
                                    m.get_ref()
                                ),
                            )
                        })?,
                })
            }
            _ => None,
        };
        Ok((anchor, exclusive, other_text))
    }

    /// A scale's points (at least two, strictly ascending) followed by its missing
    /// options, as [`Choice`]s: a point's value is its number, with `lower` = `upper` =
    /// the number so that conditions and reports read it as one.
    fn points(
        &self,
        question: &str,
        question_span: &Range<usize>,
        raw: Option<Spanned<Vec<RawPoint>>>,
        missing: Option<Vec<RawChoice>>,
    ) -> Res<Vec<Choice>> {
        let Some(raw) = raw else {
            return Err(self.err(
                question_span,
                format!("question `{question}` needs `points`"),
            ));
        };
        let list_span = raw.span();
        let list = raw.into_inner();
        if list.len() < 2 {
            return Err(self.err(
                &list_span,
                format!("question `{question}` needs at least two points"),
            ));
        }
        let mut out: Vec<Choice> = Vec::with_capacity(list.len());
        let mut previous: Option<i64> = None;
        for p in list {
            let span = p.value.span();
            let n = p.value.into_inner();
            if let Some(before) = previous.filter(|b| n <= *b) {
                return Err(self.err(
                    &span,
                    format!(
                        "scale points out of order in `{question}`: {n} comes after {before} \
                         (points go in ascending order, each once)"
                    ),
                ));
            }
            if !(-MAX_POINT..=MAX_POINT).contains(&n) {
                return Err(self.err(
                    &span,
                    format!("point {n} is outside -{MAX_POINT}..={MAX_POINT}"),
                ));
            }
            previous = Some(n);
            let label = match p.label {
                Some(l) => {
                    let t = self.text(l)?;
                    Text {
                        pt: format!("{n} – {}", t.pt),
                        en: format!("{n} – {}", t.en),
                    }
                }
                None => Text {
                    pt: n.to_string(),
                    en: n.to_string(),
                },
            };
            // Within ±MAX_POINT, so exact as a float.
            let x = n as f64;
            out.push(Choice {
                value: n.to_string(),
                label,
                lower: Some(x),
                upper: Some(x),
                excluded: false,
                anchor: false,
                exclusive: false,
                other_text: None,
            });
        }
        for m in missing.unwrap_or_default() {
            let span = m.value.span();
            let value = m.value.into_inner();
            if !valid_key(&value, KeyStyle::LetterFirst) {
                return Err(self.err(
                    &span,
                    format!(
                        "invalid missing option `{value}`: {} (a number would look like a point)",
                        key_rules(KeyStyle::LetterFirst)
                    ),
                ));
            }
            if out.iter().any(|c| c.value == value) {
                return Err(self.err(
                    &span,
                    format!("duplicate option value `{value}` in question `{question}`"),
                ));
            }
            let extra = [
                m.lower.as_ref().map(Spanned::span),
                m.upper.as_ref().map(Spanned::span),
                m.anchor.as_ref().map(Spanned::span),
                m.exclusive.as_ref().map(Spanned::span),
                m.other_text.as_ref().map(Spanned::span),
                m.other_max_length.as_ref().map(Spanned::span),
            ];
            if let Some(s) = extra.into_iter().flatten().next() {
                return Err(self.err(
                    &s,
                    format!(
                        "missing option `{value}` takes only `value` and `label` (it is \
                         stored and declared missing in exports)"
                    ),
                ));
            }
            out.push(Choice {
                value,
                label: self.text(m.label)?,
                lower: None,
                upper: None,
                excluded: true,
                anchor: false,
                exclusive: false,
                other_text: None,
            });
        }
        Ok(out)
    }

    /// A grid's items: at least one, keys well-formed and distinct.
    fn items(
        &self,
        question: &str,
        question_span: &Range<usize>,
        raw: Option<Spanned<Vec<RawItem>>>,
    ) -> Res<Vec<GridItem>> {
        let Some(raw) = raw else {
            return Err(self.err(question_span, format!("grid `{question}` needs `items`")));
        };
        let list_span = raw.span();
        let list = raw.into_inner();
        if list.is_empty() {
            return Err(self.err(&list_span, format!("grid `{question}` has no items")));
        }
        let mut seen: HashMap<String, usize> = HashMap::new();
        let mut out = Vec::with_capacity(list.len());
        for item in list {
            let span = item.key.span();
            let key = item.key.into_inner();
            if !valid_key(&key, KeyStyle::LetterFirst) {
                return Err(self.err(
                    &span,
                    format!(
                        "invalid item key `{key}`: {}",
                        key_rules(KeyStyle::LetterFirst)
                    ),
                ));
            }
            if let Some(first) = seen.get(&key) {
                return Err(self.err(
                    &span,
                    format!(
                        "duplicate item key `{key}` in grid `{question}` (first defined on line {first})"
                    ),
                ));
            }
            seen.insert(key.clone(), self.line(&span));
            out.push(GridItem {
                key,
                label: self.text(item.label)?,
            });
        }
        Ok(out)
    }
}
