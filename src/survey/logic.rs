//! The questionnaire's small expression language, used by `show_if`, `screen_out_if` and
//! the `when` of soft checks.
//!
//! ```text
//! expr    := or
//! or      := and ("or" and)*
//! and     := not ("and" not)*
//! not     := "not" not | compare
//! compare := "answered" "(" key ")"
//!          | key ("==" | "!=") "value"          single choice: an option value
//!          | key "in" "[" "value" ("," "value")* "]"
//!          | sum ("==" | "!=" | "<" | "<=" | ">" | ">=") sum
//!          | "(" expr ")"
//! sum     := product (("+" | "-") product)*
//! product := atom ("*" atom)*
//! atom    := number | key | key "." item | "lower" "(" key ")" | "upper" "(" key ")"
//!          | "(" sum ")"
//! ```
//!
//! A `key` in a number is an integer question (its answer), or a single-choice question
//! whose options all carry numeric `lower`/`upper` bounds (apart from `excluded` ones): the
//! band's midpoint, its lower bound for an open top band; `lower(q)` and `upper(q)` pick a
//! bound. A `scale` is its point (the number); a `grid` is read item by item,
//! `importancia.preco`, each item its point. A missing option ("não sei") has no number.
//! Anything else (free text, multi, a whole grid, options without bounds) is refused when
//! the definition is read, never at answer time.
//!
//! Evaluation is three-valued: a comparison whose question is unanswered, answered with
//! an `excluded` option or without the bound asked for is *unknown*; `not unknown` is
//! unknown, `and`/`or` follow Kleene's tables, and an unknown result counts as false. So
//! `show_if` shows nothing on a guess and a check never fires on missing data.
//!
//! Compiling needs a [`Scope`], which says which questions an expression may read (the
//! definition builder decides: see `definition::parse`). Errors carry the byte offset in
//! the expression; the builder turns it into a line of the TOML file.

use super::answers::AnswerValue;
use super::definition::{Question, QuestionKind};

/// A compiled, type-checked expression.
#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    /// Both sides.
    And(Box<Expr>, Box<Expr>),
    /// Either side.
    Or(Box<Expr>, Box<Expr>),
    /// The opposite (unknown stays unknown).
    Not(Box<Expr>),
    /// The question has a stored answer.
    Answered(String),
    /// A single-choice answer is (or, with `negate`, is not) one of `values`.
    Choice {
        /// Question key.
        question: String,
        /// Option values, all options of the question.
        values: Vec<String>,
        /// `!=`: true when answered with another option.
        negate: bool,
    },
    /// A numeric comparison.
    Compare(CmpOp, Num, Num),
}

/// Comparison operators on numbers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CmpOp {
    /// `==`
    Eq,
    /// `!=`
    Ne,
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `>`
    Gt,
    /// `>=`
    Ge,
}

/// Which number of a band a single-choice question stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bound {
    /// `lower(q)`.
    Lower,
    /// `upper(q)` (unknown for an open top band).
    Upper,
    /// Bare `q`: the midpoint, or the lower bound of an open top band.
    Mid,
}

/// A numeric term.
#[derive(Debug, Clone, PartialEq)]
pub enum Num {
    /// A literal.
    Const(f64),
    /// The answer to an integer question.
    Integer(String),
    /// A bound of the band chosen in a single-choice question, or a scale's point.
    Band(String, Bound),
    /// The point given to an item of a grid: (question key, item key).
    Item(String, String),
    /// `a + b`.
    Add(Box<Num>, Box<Num>),
    /// `a - b`.
    Sub(Box<Num>, Box<Num>),
    /// `a * b`.
    Mul(Box<Num>, Box<Num>),
}

/// Why an expression was refused: byte offset in the expression and the reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogicError {
    /// Byte offset in the expression text where the problem starts.
    pub offset: usize,
    /// The reason, in English.
    pub reason: String,
}

impl LogicError {
    fn new(offset: usize, reason: impl Into<String>) -> Self {
        Self {
            offset,
            reason: reason.into(),
        }
    }
}

/// Which questions an expression may read: the question `key`, or the reason it cannot
/// be used here (unknown, on a later page, …).
pub type Scope<'s> = dyn Fn(&str) -> Result<Question, String> + 's;

// ---------------------------------------------------------------------------
// Lexer.

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Ident(String),
    Str(String),
    Number(f64),
    LParen,
    RParen,
    LBracket,
    RBracket,
    Comma,
    Op(&'static str),
    End,
}

fn describe(t: &Tok) -> String {
    match t {
        Tok::Ident(s) => format!("`{s}`"),
        Tok::Str(s) => format!("\"{s}\""),
        Tok::Number(n) => format!("`{n}`"),
        Tok::LParen => "`(`".into(),
        Tok::RParen => "`)`".into(),
        Tok::LBracket => "`[`".into(),
        Tok::RBracket => "`]`".into(),
        Tok::Comma => "`,`".into(),
        Tok::Op(o) => format!("`{o}`"),
        Tok::End => "the end of the expression".into(),
    }
}

fn lex(src: &str) -> Result<Vec<(usize, Tok)>, LogicError> {
    let bytes = src.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let c = bytes[i];
        let start = i;
        match c {
            b' ' | b'\t' | b'\n' | b'\r' => {
                i += 1;
                continue;
            }
            b'(' => out.push((start, Tok::LParen)),
            b')' => out.push((start, Tok::RParen)),
            b'[' => out.push((start, Tok::LBracket)),
            b']' => out.push((start, Tok::RBracket)),
            b',' => out.push((start, Tok::Comma)),
            b'+' => out.push((start, Tok::Op("+"))),
            b'-' => out.push((start, Tok::Op("-"))),
            b'*' => out.push((start, Tok::Op("*"))),
            b'=' | b'!' | b'<' | b'>' => {
                let two = bytes.get(i + 1) == Some(&b'=');
                let op = match (c, two) {
                    (b'=', true) => "==",
                    (b'!', true) => "!=",
                    (b'<', true) => "<=",
                    (b'>', true) => ">=",
                    (b'<', false) => "<",
                    (b'>', false) => ">",
                    (b'=', false) => {
                        return Err(LogicError::new(start, "`=` is not an operator; use `==`"));
                    }
                    _ => {
                        return Err(LogicError::new(
                            start,
                            "`!` is not an operator; use `not` or `!=`",
                        ));
                    }
                };
                out.push((start, Tok::Op(op)));
                i += op.len();
                continue;
            }
            b'"' => {
                let rest = &src[i + 1..];
                let Some(end) = rest.find('"') else {
                    return Err(LogicError::new(start, "unterminated string (missing `\"`)"));
                };
                out.push((start, Tok::Str(rest[..end].to_owned())));
                i += end + 2;
                continue;
            }
            b'0'..=b'9' => {
                let mut j = i;
                while j < bytes.len() && (bytes[j].is_ascii_digit() || bytes[j] == b'.') {
                    j += 1;
                }
                let text = &src[i..j];
                let n: f64 = text
                    .parse()
                    .map_err(|_| LogicError::new(start, format!("invalid number `{text}`")))?;
                out.push((start, Tok::Number(n)));
                i = j;
                continue;
            }
            b'a'..=b'z' | b'A'..=b'Z' | b'_' => {
                let mut j = i;
                while j < bytes.len()
                    && (bytes[j].is_ascii_alphanumeric()
                        || bytes[j] == b'_'
                        // `grid.item`: a dot followed by a letter joins the item.
                        || (bytes[j] == b'.'
                            && bytes.get(j + 1).is_some_and(u8::is_ascii_alphabetic)))
                {
                    j += 1;
                }
                out.push((start, Tok::Ident(src[i..j].to_owned())));
                i = j;
                continue;
            }
            _ => {
                let ch = src[i..].chars().next().unwrap_or('?');
                return Err(LogicError::new(
                    start,
                    format!("unexpected character `{ch}`"),
                ));
            }
        }
        i += 1;
    }
    out.push((src.len(), Tok::End));
    Ok(out)
}

// ---------------------------------------------------------------------------
// Parser and type checker in one pass: each rule builds typed terms.

const KEYWORDS: [&str; 7] = ["and", "or", "not", "in", "answered", "lower", "upper"];

/// Compiles `src` against `scope`. Refuses syntax errors, questions the scope refuses,
/// type mismatches, option values that are not options of the question, and conditions
/// that no combination of answers can make true.
pub fn compile(src: &str, scope: &Scope<'_>) -> Result<Expr, LogicError> {
    let toks = lex(src)?;
    let mut p = Parser {
        toks,
        pos: 0,
        scope,
        read: Vec::new(),
        arithmetic_on_integer: false,
    };
    let expr = p.or()?;
    let (at, tok) = p.peek();
    if *tok != Tok::End {
        return Err(LogicError::new(
            at,
            format!("unexpected {} after a complete expression", describe(tok)),
        ));
    }
    if !p.arithmetic_on_integer && !satisfiable(&expr, &p.read) {
        return Err(LogicError::new(0, "this condition can never be true"));
    }
    Ok(expr)
}

struct Parser<'s> {
    toks: Vec<(usize, Tok)>,
    pos: usize,
    scope: &'s Scope<'s>,
    /// Every question read, for the satisfiability check.
    read: Vec<Question>,
    /// Arithmetic over integer answers: the satisfiability check's sample values would
    /// not cover it, so it is skipped rather than refuse a valid condition.
    arithmetic_on_integer: bool,
}

impl Parser<'_> {
    fn peek(&self) -> (usize, &Tok) {
        let (at, t) = &self.toks[self.pos.min(self.toks.len() - 1)];
        (*at, t)
    }

    fn next(&mut self) -> (usize, Tok) {
        let (at, t) = self.peek();
        let t = t.clone();
        if self.pos < self.toks.len() - 1 {
            self.pos += 1;
        }
        (at, t)
    }

    fn is_word(&self, w: &str) -> bool {
        matches!(self.peek().1, Tok::Ident(s) if s == w)
    }

    fn expect(&mut self, want: Tok) -> Result<(), LogicError> {
        let (at, t) = self.next();
        if t == want {
            Ok(())
        } else {
            Err(LogicError::new(
                at,
                format!("expected {}, found {}", describe(&want), describe(&t)),
            ))
        }
    }

    fn question(&mut self, at: usize, key: &str) -> Result<Question, LogicError> {
        let (base, item) = split_item(key);
        let q = (self.scope)(base).map_err(|reason| LogicError::new(at, reason))?;
        match (item, &q.kind) {
            (Some(item), QuestionKind::Grid { items, .. }) => {
                if !items.iter().any(|i| i.key == item) {
                    let known: Vec<&str> = items.iter().map(|i| i.key.as_str()).collect();
                    return Err(LogicError::new(
                        at,
                        format!(
                            "`{item}` is not an item of grid `{base}` (items: {})",
                            known.join(", ")
                        ),
                    ));
                }
            }
            (Some(item), other) => {
                return Err(LogicError::new(
                    at,
                    format!(
                        "`{base}` is a {} question, not a grid: `.{item}` names a grid item",
                        other.name()
                    ),
                ));
            }
            (None, _) => {}
        }
        if !self.read.iter().any(|r| r.key == q.key) {
            self.read.push(q.clone());
        }
        Ok(q)
    }

    fn key(&mut self) -> Result<(usize, String), LogicError> {
        match self.next() {
            (at, Tok::Ident(k)) if !KEYWORDS.contains(&k.as_str()) => Ok((at, k)),
            (at, t) => Err(LogicError::new(
                at,
                format!("expected a question key, found {}", describe(&t)),
            )),
        }
    }

    fn or(&mut self) -> Result<Expr, LogicError> {
        let mut left = self.and()?;
        while self.is_word("or") {
            self.next();
            let right = self.and()?;
            left = Expr::Or(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn and(&mut self) -> Result<Expr, LogicError> {
        let mut left = self.not()?;
        while self.is_word("and") {
            self.next();
            let right = self.not()?;
            left = Expr::And(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn not(&mut self) -> Result<Expr, LogicError> {
        if self.is_word("not") {
            self.next();
            return Ok(Expr::Not(Box::new(self.not()?)));
        }
        self.compare()
    }

    fn compare(&mut self) -> Result<Expr, LogicError> {
        if self.is_word("answered") {
            self.next();
            self.expect(Tok::LParen)?;
            let (at, key) = self.key()?;
            self.question(at, &key)?;
            self.expect(Tok::RParen)?;
            return Ok(Expr::Answered(key));
        }
        // A parenthesis opens either a sub-condition or a sum: try the condition first
        // and fall back, since `(a * b) > c` and `(a or b)` both start with `(`.
        if matches!(self.peek().1, Tok::LParen) {
            let save = (self.pos, self.read.len(), self.arithmetic_on_integer);
            self.next();
            if let Ok(e) = self.or() {
                if matches!(self.peek().1, Tok::RParen) {
                    self.next();
                    if !matches!(self.peek().1, Tok::Op(_)) {
                        return Ok(e);
                    }
                }
            }
            self.pos = save.0;
            self.read.truncate(save.1);
            self.arithmetic_on_integer = save.2;
        }
        // `key == "value"`, `key != "value"`, `key in [...]` on a single choice.
        if let (at, Tok::Ident(key)) = self.peek()
            && !KEYWORDS.contains(&key.as_str())
        {
            let key = key.clone();
            let after = self.toks.get(self.pos + 1).map(|(_, t)| t.clone());
            let after2 = self.toks.get(self.pos + 2).map(|(_, t)| t.clone());
            let choice_form = match (&after, &after2) {
                (Some(Tok::Op("==" | "!=")), Some(Tok::Str(_))) => true,
                (Some(Tok::Ident(w)), _) if w == "in" => true,
                _ => false,
            };
            if choice_form {
                self.next();
                let q = self.question(at, &key)?;
                if key.contains('.') {
                    return Err(LogicError::new(
                        at,
                        format!(
                            "`{key}` is a grid item: compare its point as a number, e.g. `{key} >= 4`"
                        ),
                    ));
                }
                let (op_at, op) = self.next();
                let (values, negate) = if let Tok::Op(o) = op {
                    let (_, v) = self.next();
                    let Tok::Str(v) = v else {
                        return Err(LogicError::new(op_at, "expected an option value"));
                    };
                    (vec![(op_at, v)], o == "!=")
                } else {
                    (self.value_list()?, false)
                };
                return choice(&q, at, values, negate);
            }
        }
        let (at, _) = self.peek();
        let left = self.sum()?;
        let (op_at, op) = self.next();
        let op = match op {
            Tok::Op("==") => CmpOp::Eq,
            Tok::Op("!=") => CmpOp::Ne,
            Tok::Op("<") => CmpOp::Lt,
            Tok::Op("<=") => CmpOp::Le,
            Tok::Op(">") => CmpOp::Gt,
            Tok::Op(">=") => CmpOp::Ge,
            t => {
                return Err(LogicError::new(
                    op_at,
                    format!(
                        "expected a comparison (==, !=, <, <=, >, >=), found {}",
                        describe(&t)
                    ),
                ));
            }
        };
        if let Tok::Str(s) = self.peek().1 {
            return Err(LogicError::new(
                self.peek().0,
                format!(
                    "\"{s}\" can only be compared with a single-choice question on the left of == or !="
                ),
            ));
        }
        let right = self.sum()?;
        if let (Num::Const(_), Num::Const(_)) = (&left, &right) {
            return Err(LogicError::new(
                at,
                "a comparison of two numbers reads no answer",
            ));
        }
        Ok(Expr::Compare(op, left, right))
    }

    fn value_list(&mut self) -> Result<Vec<(usize, String)>, LogicError> {
        self.expect(Tok::LBracket)?;
        let mut out = Vec::new();
        loop {
            match self.next() {
                (at, Tok::Str(v)) => out.push((at, v)),
                (at, Tok::RBracket) if out.is_empty() => {
                    return Err(LogicError::new(at, "an empty list can never match"));
                }
                (at, t) => {
                    return Err(LogicError::new(
                        at,
                        format!("expected an option value in quotes, found {}", describe(&t)),
                    ));
                }
            }
            match self.next() {
                (_, Tok::Comma) => {}
                (_, Tok::RBracket) => return Ok(out),
                (at, t) => {
                    return Err(LogicError::new(
                        at,
                        format!("expected `,` or `]`, found {}", describe(&t)),
                    ));
                }
            }
        }
    }

    fn sum(&mut self) -> Result<Num, LogicError> {
        let mut left = self.product()?;
        loop {
            let op = match self.peek().1 {
                Tok::Op("+") => "+",
                Tok::Op("-") => "-",
                _ => return Ok(left),
            };
            self.next();
            let right = self.product()?;
            self.note_arithmetic(&left, &right);
            left = if op == "+" {
                Num::Add(Box::new(left), Box::new(right))
            } else {
                Num::Sub(Box::new(left), Box::new(right))
            };
        }
    }

    fn product(&mut self) -> Result<Num, LogicError> {
        let mut left = self.atom()?;
        while matches!(self.peek().1, Tok::Op("*")) {
            self.next();
            let right = self.atom()?;
            self.note_arithmetic(&left, &right);
            left = Num::Mul(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn note_arithmetic(&mut self, a: &Num, b: &Num) {
        if a.reads_integer() || b.reads_integer() {
            self.arithmetic_on_integer = true;
        }
    }

    fn atom(&mut self) -> Result<Num, LogicError> {
        match self.next() {
            (_, Tok::Number(n)) => Ok(Num::Const(n)),
            (_, Tok::LParen) => {
                let n = self.sum()?;
                self.expect(Tok::RParen)?;
                Ok(n)
            }
            (at, Tok::Ident(w)) if w == "lower" || w == "upper" => {
                self.expect(Tok::LParen)?;
                let (kat, key) = self.key()?;
                let q = self.question(kat, &key)?;
                self.expect(Tok::RParen)?;
                if !matches!(q.kind, QuestionKind::Single { .. }) || key.contains('.') {
                    return Err(LogicError::new(
                        at,
                        format!("`{w}({key})` needs a single-choice question with numeric bands"),
                    ));
                }
                banded(&q, kat)?;
                let bound = if w == "lower" {
                    Bound::Lower
                } else {
                    Bound::Upper
                };
                Ok(Num::Band(key, bound))
            }
            (at, Tok::Ident(key)) if !KEYWORDS.contains(&key.as_str()) => {
                let q = self.question(at, &key)?;
                if let (base, Some(item)) = split_item(&key) {
                    return Ok(Num::Item(base.to_owned(), item.to_owned()));
                }
                match &q.kind {
                    QuestionKind::Integer { .. } => Ok(Num::Integer(key)),
                    QuestionKind::Single { .. } | QuestionKind::Scale { .. } => {
                        banded(&q, at)?;
                        Ok(Num::Band(key, Bound::Mid))
                    }
                    QuestionKind::Grid { items, .. } => Err(LogicError::new(
                        at,
                        format!(
                            "`{key}` is a grid: name one of its items, e.g. `{key}.{}`",
                            items.first().map_or("item", |i| i.key.as_str())
                        ),
                    )),
                    other => Err(LogicError::new(
                        at,
                        format!(
                            "`{key}` is a {} question: only integer and banded single-choice questions are numbers (use answered({key}))",
                            other.name()
                        ),
                    )),
                }
            }
            (at, t) => Err(LogicError::new(
                at,
                format!(
                    "expected a number or a question key, found {}",
                    describe(&t)
                ),
            )),
        }
    }
}

/// `grid.item` split at the dot; a plain key has no item.
fn split_item(key: &str) -> (&str, Option<&str>) {
    match key.split_once('.') {
        Some((base, item)) => (base, Some(item)),
        None => (key, None),
    }
}

/// A single-choice question may be read as a number only if every option that is not
/// `excluded` has a bound.
fn banded(q: &Question, at: usize) -> Result<(), LogicError> {
    match q
        .options()
        .iter()
        .find(|c| !c.excluded && c.lower.is_none() && c.upper.is_none())
    {
        Some(c) => Err(LogicError::new(
            at,
            format!(
                "`{}` cannot be used as a number: option `{}` has no `lower`/`upper` bound",
                q.key, c.value
            ),
        )),
        None => Ok(()),
    }
}

fn choice(
    q: &Question,
    at: usize,
    values: Vec<(usize, String)>,
    negate: bool,
) -> Result<Expr, LogicError> {
    if !matches!(
        q.kind,
        QuestionKind::Single { .. } | QuestionKind::Scale { .. }
    ) {
        return Err(LogicError::new(
            at,
            format!(
                "`{}` is a {} question: == \"value\" and `in` need a single-choice question",
                q.key,
                q.kind.name()
            ),
        ));
    }
    let mut out = Vec::with_capacity(values.len());
    for (vat, v) in values {
        if q.option(&v).is_none() {
            let known: Vec<&str> = q.options().iter().map(|c| c.value.as_str()).collect();
            return Err(LogicError::new(
                vat,
                format!(
                    "\"{v}\" is not an option of `{}` (options: {})",
                    q.key,
                    known.join(", ")
                ),
            ));
        }
        out.push(v);
    }
    Ok(Expr::Choice {
        question: q.key.clone(),
        values: out,
        negate,
    })
}

impl Num {
    fn reads_integer(&self) -> bool {
        match self {
            Num::Const(_) | Num::Band(..) | Num::Item(..) => false,
            Num::Integer(_) => true,
            Num::Add(a, b) | Num::Sub(a, b) | Num::Mul(a, b) => {
                a.reads_integer() || b.reads_integer()
            }
        }
    }

    fn consts(&self, out: &mut Vec<f64>) {
        match self {
            Num::Const(c) => out.push(*c),
            Num::Integer(_) | Num::Band(..) | Num::Item(..) => {}
            Num::Add(a, b) | Num::Sub(a, b) | Num::Mul(a, b) => {
                a.consts(out);
                b.consts(out);
            }
        }
    }

    /// The value under `answers`, or `None` when unknown.
    pub fn eval<'q, 'a>(
        &self,
        def_question: &dyn Fn(&str) -> Option<&'q Question>,
        answer: &dyn Fn(&str) -> Option<&'a AnswerValue>,
    ) -> Option<f64> {
        match self {
            Num::Const(c) => Some(*c),
            Num::Integer(k) => match answer(k)? {
                // Answers are bounded by the question's limits, well inside f64's exact range.
                AnswerValue::Integer(n) => Some(*n as f64),
                _ => None,
            },
            Num::Band(k, bound) => {
                let AnswerValue::Single(v) = answer(k)? else {
                    return None;
                };
                let c = def_question(k)?.option(v)?;
                if c.excluded {
                    return None;
                }
                match bound {
                    Bound::Lower => c.lower,
                    Bound::Upper => c.upper,
                    Bound::Mid => match (c.lower, c.upper) {
                        (Some(l), Some(u)) => Some((l + u) / 2.0),
                        (l, u) => l.or(u),
                    },
                }
            }
            Num::Item(k, item) => {
                let AnswerValue::Grid(map) = answer(k)? else {
                    return None;
                };
                let c = def_question(k)?.option(map.get(item)?)?;
                if c.excluded { None } else { c.lower }
            }
            Num::Add(a, b) => Some(a.eval(def_question, answer)? + b.eval(def_question, answer)?),
            Num::Sub(a, b) => Some(a.eval(def_question, answer)? - b.eval(def_question, answer)?),
            Num::Mul(a, b) => Some(a.eval(def_question, answer)? * b.eval(def_question, answer)?),
        }
    }
}

impl Expr {
    /// Kleene evaluation: `None` is unknown (a question read is unanswered or has no
    /// number). `def_question` finds questions by key; `answer` gives the answers the
    /// expression may see (the flow hides those of hidden questions).
    pub fn eval<'q, 'a>(
        &self,
        def_question: &dyn Fn(&str) -> Option<&'q Question>,
        answer: &dyn Fn(&str) -> Option<&'a AnswerValue>,
    ) -> Option<bool> {
        match self {
            Expr::And(a, b) => match (a.eval(def_question, answer), b.eval(def_question, answer)) {
                (Some(false), _) | (_, Some(false)) => Some(false),
                (Some(true), Some(true)) => Some(true),
                _ => None,
            },
            Expr::Or(a, b) => match (a.eval(def_question, answer), b.eval(def_question, answer)) {
                (Some(true), _) | (_, Some(true)) => Some(true),
                (Some(false), Some(false)) => Some(false),
                _ => None,
            },
            Expr::Not(a) => a.eval(def_question, answer).map(|b| !b),
            Expr::Answered(k) => Some(match split_item(k) {
                (base, Some(item)) => {
                    matches!(answer(base), Some(AnswerValue::Grid(m)) if m.contains_key(item))
                }
                (base, None) => answer(base).is_some(),
            }),
            Expr::Choice {
                question,
                values,
                negate,
            } => match answer(question)? {
                AnswerValue::Single(v) => Some(values.contains(v) != *negate),
                _ => None,
            },
            Expr::Compare(op, a, b) => {
                let (a, b) = (a.eval(def_question, answer)?, b.eval(def_question, answer)?);
                Some(match op {
                    CmpOp::Eq => a == b,
                    CmpOp::Ne => a != b,
                    CmpOp::Lt => a < b,
                    CmpOp::Le => a <= b,
                    CmpOp::Gt => a > b,
                    CmpOp::Ge => a >= b,
                })
            }
        }
    }

    /// Whether the condition is true (unknown counts as false).
    pub fn holds<'q, 'a>(
        &self,
        def_question: &dyn Fn(&str) -> Option<&'q Question>,
        answer: &dyn Fn(&str) -> Option<&'a AnswerValue>,
    ) -> bool {
        self.eval(def_question, answer) == Some(true)
    }

    /// Keys of the questions the expression reads, each once, in order of appearance.
    pub fn questions(&self) -> Vec<&str> {
        let mut out = Vec::new();
        self.collect(&mut out);
        out
    }

    fn collect<'e>(&'e self, out: &mut Vec<&'e str>) {
        match self {
            Expr::And(a, b) | Expr::Or(a, b) => {
                a.collect(out);
                b.collect(out);
            }
            Expr::Not(a) => a.collect(out),
            Expr::Answered(k) | Expr::Choice { question: k, .. } => {
                let k = split_item(k).0;
                if !out.contains(&k) {
                    out.push(k);
                }
            }
            Expr::Compare(_, a, b) => {
                a.collect_num(out);
                b.collect_num(out);
            }
        }
    }

    fn consts(&self, out: &mut Vec<f64>) {
        match self {
            Expr::And(a, b) | Expr::Or(a, b) => {
                a.consts(out);
                b.consts(out);
            }
            Expr::Not(a) => a.consts(out),
            Expr::Answered(_) | Expr::Choice { .. } => {}
            Expr::Compare(_, a, b) => {
                a.consts(out);
                b.consts(out);
            }
        }
    }
}

impl Num {
    fn collect_num<'e>(&'e self, out: &mut Vec<&'e str>) {
        match self {
            Num::Const(_) => {}
            Num::Integer(k) | Num::Band(k, _) | Num::Item(k, _) => {
                if !out.contains(&k.as_str()) {
                    out.push(k);
                }
            }
            Num::Add(a, b) | Num::Sub(a, b) | Num::Mul(a, b) => {
                a.collect_num(out);
                b.collect_num(out);
            }
        }
    }
}

/// Sample answers to a grid: every combination of points over the items `expr` reads
/// (other items unanswered), which covers every case it can tell apart.
fn grid_samples(expr: &Expr, key: &str, points: &[super::definition::Choice]) -> Vec<AnswerValue> {
    let mut read = Vec::new();
    expr.items_read(key, &mut read);
    let mut out = vec![std::collections::BTreeMap::new()];
    for item in read {
        out = out
            .into_iter()
            .flat_map(|m| {
                points.iter().map(move |p| {
                    let mut m = m.clone();
                    m.insert(item.to_owned(), p.value.clone());
                    m
                })
            })
            .take(MAX_COMBINATIONS + 1)
            .collect();
    }
    out.into_iter().map(AnswerValue::Grid).collect()
}

impl Expr {
    /// The items of grid `key` the expression reads, each once.
    fn items_read<'e>(&'e self, key: &str, out: &mut Vec<&'e str>) {
        let mut push = |k: &'e str, item: &'e str| {
            if k == key && !out.contains(&item) {
                out.push(item);
            }
        };
        self.visit_items(&mut push);
    }

    fn visit_items<'e>(&'e self, push: &mut dyn FnMut(&'e str, &'e str)) {
        match self {
            Expr::And(a, b) | Expr::Or(a, b) => {
                a.visit_items(push);
                b.visit_items(push);
            }
            Expr::Not(a) => a.visit_items(push),
            Expr::Answered(k) => {
                if let (base, Some(item)) = split_item(k) {
                    push(base, item);
                }
            }
            Expr::Choice { .. } => {}
            Expr::Compare(_, a, b) => {
                a.visit_items(push);
                b.visit_items(push);
            }
        }
    }
}

impl Num {
    fn visit_items<'e>(&'e self, push: &mut dyn FnMut(&'e str, &'e str)) {
        match self {
            Num::Item(k, item) => push(k, item),
            Num::Add(a, b) | Num::Sub(a, b) | Num::Mul(a, b) => {
                a.visit_items(push);
                b.visit_items(push);
            }
            Num::Const(_) | Num::Integer(_) | Num::Band(..) => {}
        }
    }
}

/// Largest number of answer combinations the satisfiability check tries.
const MAX_COMBINATIONS: usize = 50_000;

/// Whether some combination of answers makes `expr` true. Each question read takes
/// "unanswered" and a set of sample answers that covers every case the expression can
/// tell apart: every option of a choice; for an integer, its limits and each constant
/// of the expression, one below and one above (within the limits). Too many
/// combinations: assumed satisfiable rather than refuse on a guess.
fn satisfiable(expr: &Expr, read: &[Question]) -> bool {
    let mut consts = Vec::new();
    expr.consts(&mut consts);
    let domains: Vec<Vec<Option<AnswerValue>>> = read
        .iter()
        .map(|q| {
            let mut d: Vec<Option<AnswerValue>> = vec![None];
            match &q.kind {
                QuestionKind::Single { options } | QuestionKind::Scale { points: options } => d
                    .extend(
                        options
                            .iter()
                            .map(|c| Some(AnswerValue::Single(c.value.clone()))),
                    ),
                QuestionKind::Integer { min, max } => {
                    let mut ns = vec![*min, *max];
                    for c in &consts {
                        let f = c.floor().clamp(*min as f64, *max as f64) as i64;
                        ns.extend([f - 1, f, f + 1, f + 2]);
                    }
                    ns.retain(|n| (*min..=*max).contains(n));
                    ns.sort_unstable();
                    ns.dedup();
                    d.extend(ns.into_iter().map(|n| Some(AnswerValue::Integer(n))));
                }
                QuestionKind::Multi { options, .. } => {
                    d.push(Some(AnswerValue::Multi(
                        options.iter().take(1).map(|c| c.value.clone()).collect(),
                    )));
                }
                QuestionKind::Text { .. } => d.push(Some(AnswerValue::Text("x".into()))),
                QuestionKind::Grid { points, .. } => {
                    d.extend(grid_samples(expr, &q.key, points).into_iter().map(Some));
                }
            }
            d
        })
        .collect();
    let total = domains
        .iter()
        .try_fold(1_usize, |acc, d| acc.checked_mul(d.len()));
    if total.is_none_or(|t| t > MAX_COMBINATIONS) {
        return true;
    }
    let mut idx = vec![0_usize; domains.len()];
    loop {
        let find_q = |k: &str| read.iter().find(|q| q.key == k);
        let answer = |k: &str| {
            read.iter()
                .position(|q| q.key == k)
                .and_then(|i| domains[i][idx[i]].as_ref())
        };
        if expr.holds(&find_q, &answer) {
            return true;
        }
        // Next combination, odometer style.
        let mut i = 0;
        loop {
            if i == idx.len() {
                return false;
            }
            idx[i] += 1;
            if idx[i] < domains[i].len() {
                break;
            }
            idx[i] = 0;
            i += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::survey::definition::{Choice, Text};

    fn text() -> Text {
        Text {
            pt: "x".into(),
            en: "x".into(),
        }
    }

    fn opt(v: &str, lower: Option<f64>, upper: Option<f64>) -> Choice {
        Choice {
            value: v.into(),
            label: text(),
            lower,
            upper,
            excluded: false,
            anchor: false,
            exclusive: false,
            other_text: None,
        }
    }

    fn q(key: &str, kind: QuestionKind) -> Question {
        Question {
            key: key.into(),
            text: text(),
            help: None,
            required: true,
            kind,
            role: None,
            unit: None,
            show_if: None,
            screen_out: None,
            shuffle: false,
        }
    }

    fn questions() -> Vec<Question> {
        vec![
            q("idade", QuestionKind::Integer { min: 18, max: 120 }),
            q(
                "freq",
                QuestionKind::Single {
                    options: vec![
                        opt("nao", Some(0.0), Some(0.0)),
                        opt("1x", Some(1.0), Some(1.0)),
                        opt("4x", Some(4.0), None),
                    ],
                },
            ),
            q(
                "gasto",
                QuestionKind::Single {
                    options: vec![
                        opt("ate_100", Some(0.0), Some(100.0)),
                        opt("101a500", Some(101.0), Some(500.0)),
                        Choice {
                            excluded: true,
                            ..opt("nao_sei", None, None)
                        },
                    ],
                },
            ),
            q(
                "cor",
                QuestionKind::Single {
                    options: vec![opt("azul", None, None), opt("verde", None, None)],
                },
            ),
            q(
                "fatores",
                QuestionKind::Multi {
                    options: vec![opt("preco", None, None)],
                    min: 1,
                    max: 1,
                },
            ),
            q("nome", QuestionKind::Text { max_length: 10 }),
        ]
    }

    fn scope(qs: &[Question]) -> impl Fn(&str) -> Result<Question, String> + '_ {
        move |k: &str| {
            if k == "depois" {
                return Err("`depois` is on a later page".into());
            }
            qs.iter()
                .find(|q| q.key == k)
                .cloned()
                .ok_or_else(|| format!("unknown question `{k}`"))
        }
    }

    fn compile_ok(src: &str) -> Expr {
        let qs = questions();
        let s = scope(&qs);
        compile(src, &s).unwrap_or_else(|e| panic!("{src}: {e:?}"))
    }

    fn refused(src: &str) -> LogicError {
        let qs = questions();
        let s = scope(&qs);
        match compile(src, &s) {
            Ok(e) => panic!("{src} compiled to {e:?}"),
            Err(e) => e,
        }
    }

    fn eval(src: &str, answers: &[(&str, AnswerValue)]) -> Option<bool> {
        let qs = questions();
        let e = compile_ok(src);
        let find = |k: &str| qs.iter().find(|q| q.key == k);
        let answer = |k: &str| answers.iter().find(|(a, _)| *a == k).map(|(_, v)| v);
        e.eval(&find, &answer)
    }

    fn single(v: &str) -> AnswerValue {
        AnswerValue::Single(v.into())
    }

    #[test]
    fn equality_membership_and_negation() {
        let a = [("freq", single("1x")), ("cor", single("azul"))];
        assert_eq!(eval("freq == \"1x\"", &a), Some(true));
        assert_eq!(eval("freq != \"1x\"", &a), Some(false));
        assert_eq!(eval("freq in [\"nao\", \"4x\"]", &a), Some(false));
        assert_eq!(eval("cor in [\"verde\", \"azul\"]", &a), Some(true));
        assert_eq!(eval("not (freq == \"nao\")", &a), Some(true));
        assert_eq!(eval("freq == \"1x\" and cor == \"verde\"", &a), Some(false));
        assert_eq!(eval("freq == \"1x\" or cor == \"verde\"", &a), Some(true));
    }

    #[test]
    fn unanswered_is_unknown_and_kleene() {
        let a = [("freq", single("1x"))];
        assert_eq!(eval("cor == \"azul\"", &a), None);
        assert_eq!(eval("not (cor == \"azul\")", &a), None);
        assert_eq!(eval("cor == \"azul\" or freq == \"1x\"", &a), Some(true));
        assert_eq!(eval("cor == \"azul\" and freq == \"nao\"", &a), Some(false));
        assert_eq!(eval("answered(cor)", &a), Some(false));
        assert_eq!(eval("answered(freq)", &a), Some(true));
        assert_eq!(eval("idade >= 60", &a), None);
    }

    #[test]
    fn numbers_from_integers_and_bands() {
        let a = [
            ("idade", AnswerValue::Integer(64)),
            ("freq", single("4x")),
            ("gasto", single("101a500")),
        ];
        assert_eq!(eval("idade >= 60", &a), Some(true));
        assert_eq!(eval("idade < 60", &a), Some(false));
        // Open top band: the midpoint is its lower bound, the upper bound unknown.
        assert_eq!(eval("freq == 4", &a), Some(true));
        assert_eq!(eval("upper(freq) >= 1", &a), None);
        assert_eq!(eval("gasto == 300.5", &a), Some(true));
        assert_eq!(eval("lower(freq) * lower(gasto) > 400", &a), Some(true));
        assert_eq!(
            eval("lower(freq) * lower(gasto) + 10 - 5 >= 409", &a),
            Some(true)
        );
        assert_eq!(eval("(freq * 2) > 7", &a), Some(true));
        assert_eq!(eval("idade * 2 > 100 and freq >= 1", &a), Some(true));
    }

    #[test]
    fn excluded_option_has_no_number() {
        let a = [("gasto", single("nao_sei"))];
        assert_eq!(eval("gasto > 0", &a), None);
        assert_eq!(eval("gasto == \"nao_sei\"", &a), Some(true));
    }

    #[test]
    fn syntax_errors_point_at_the_offset() {
        let e = refused("freq = \"1x\"");
        assert_eq!(e.offset, 5);
        assert!(e.reason.contains("use `==`"), "{e:?}");
        let e = refused("freq == \"1x");
        assert!(e.reason.contains("unterminated"), "{e:?}");
        let e = refused("freq == \"1x\" and");
        assert!(e.reason.contains("end of the expression"), "{e:?}");
        let e = refused("(idade > 3");
        assert!(e.reason.contains("expected `)`"), "{e:?}");
        let e = refused("idade > 3 idade");
        assert_eq!(e.offset, 10);
        let e = refused("idade $ 3");
        assert!(e.reason.contains("unexpected character"), "{e:?}");
        let e = refused("freq in []");
        assert!(e.reason.contains("empty list"), "{e:?}");
        let e = refused("1 < 2");
        assert!(e.reason.contains("reads no answer"), "{e:?}");
    }

    #[test]
    fn refuses_unknown_and_out_of_scope_questions() {
        let e = refused("idade > 3 and xyz == \"a\"");
        assert_eq!(e.offset, 14);
        assert!(e.reason.contains("unknown question `xyz`"), "{e:?}");
        let e = refused("answered(depois)");
        assert!(e.reason.contains("later page"), "{e:?}");
    }

    #[test]
    fn refuses_type_mismatches() {
        assert!(
            refused("idade == \"34\"")
                .reason
                .contains("integer question")
        );
        assert!(refused("nome > 3").reason.contains("text question"));
        assert!(
            refused("fatores == \"preco\"")
                .reason
                .contains("multi question")
        );
        // Options without bounds are not numbers.
        let e = refused("cor > 1");
        assert!(e.reason.contains("no `lower`/`upper`"), "{e:?}");
        assert!(refused("lower(idade) > 1").reason.contains("single-choice"));
        assert!(
            refused("idade > \"3\"")
                .reason
                .contains("can only be compared")
        );
        // answered() works on every type.
        compile_ok("answered(fatores) or answered(nome)");
    }

    #[test]
    fn refuses_values_that_are_not_options() {
        let e = refused("freq in [\"1x\", \"5x\"]");
        assert_eq!(e.offset, 15);
        assert!(
            e.reason.contains("\"5x\" is not an option of `freq`"),
            "{e:?}"
        );
    }

    #[test]
    fn refuses_conditions_that_can_never_be_true() {
        for src in [
            "freq == \"1x\" and freq == \"4x\"",
            "idade < 18",
            "idade > 120",
            "idade > 50 and idade < 40",
            "answered(cor) and not answered(cor)",
            "upper(freq) > 5",
            "gasto > 600",
        ] {
            let e = refused(src);
            assert!(e.reason.contains("never be true"), "{src}: {e:?}");
        }
        for src in [
            "idade < 19",
            "idade > 119",
            "upper(gasto) >= 500",
            "freq * gasto > 1000",
        ] {
            compile_ok(src);
        }
    }
}
