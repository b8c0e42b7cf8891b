//! The survey domain: the questionnaire definition (loaded from TOML) and the
//! validation of respondents' answers against it.
//!
//! This module is deliberately free of web and database code so it can be
//! tested on its own: the web layer hands it raw form pairs and stores the
//! resulting [`Answers`] as JSON.

pub mod answers;
pub mod cceb;
pub mod columns;
pub mod definition;
pub mod derived;
pub mod flow;
pub mod format;
pub mod logic;
pub mod quota;
pub mod slots;

pub use answers::{
    AnswerError, AnswerValue, Answers, PageErrors, first_incomplete_page, is_page_complete,
    validate_complete, validate_page,
};
pub use cceb::{CcebError, CcebScore, CcebTable};
pub use definition::{
    Check, Choice, Condition, Definition, DefinitionError, GridItem, Page, Question, QuestionKind,
    Role, ScreenOut, Text, Unit, default_definition,
};
pub use format::format_reais;
