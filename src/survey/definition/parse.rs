//! The questionnaire's TOML read into a [`Definition`]: serde reads the text into loosely
//! typed `Raw*` values with their spans, then the builder checks every rule and reports
//! the first violation with its line.

use std::collections::HashMap;
use std::ops::Range;

use serde::Deserialize;
use toml::Spanned;

use super::*;

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
        KeyStyle::LetterFirst => "a letter",
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
        let pages = raw_pages
            .into_iter()
            .map(|p| self.page(p))
            .collect::<Res<Vec<_>>>()?;

        Ok(Definition {
            id,
            version,
            title,
            intro,
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
        let questions = raw_questions
            .into_iter()
            .map(|q| self.question(q))
            .collect::<Res<Vec<_>>>()?;
        Ok(Page {
            key,
            title,
            questions,
        })
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
                let options = self.options(&key, &key_span, raw.options, bounds_for)?;
                QuestionKind::Single { options }
            }
            "multi" => {
                self.forbid(&raw.max_length, "max_length", "multi")?;
                let options = self.options(&key, &key_span, raw.options, None)?;
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
                        "unknown question type `{other}` (expected integer, single, multi or text)"
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

        Ok(Question {
            key,
            text,
            help,
            required,
            kind,
            role,
            unit,
        })
    }

    fn options(
        &self,
        question: &str,
        question_span: &Range<usize>,
        raw: Option<Spanned<Vec<RawChoice>>>,
        bounds_for: Option<Role>,
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
        for choice in list {
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
            });
        }
        Ok(out)
    }
}
