//! Texts of the scale and grid questions and of the option features (an "other" text,
//! an exclusive option), Brazilian Portuguese first and English second.

use super::Lang;

/// The texts of scales, grids, "other" texts and exclusive options.
pub struct QuestionTypeTexts {
    /// The label of the text field next to an "Outro" option: "{option}" is its label.
    pub other_label: &'static str,
    /// Said by that field: it is asked only when the option is chosen.
    pub other_hint: &'static str,
    /// A grid's hint: rate each item.
    pub grid_hint: &'static str,
    /// An exclusive option chosen with another one: "{option}" is its label.
    pub err_exclusive: &'static str,
    /// An item of a grid left unanswered.
    pub err_item_required: &'static str,
    /// The "other" text left empty while its option is chosen.
    pub err_other_required: &'static str,
    /// The review's words for an item left unanswered.
    pub item_not_answered: &'static str,
}

impl Lang {
    /// The texts of scales, grids, "other" texts and exclusive options.
    pub fn question_types(self) -> &'static QuestionTypeTexts {
        match self {
            Lang::Pt => &PT_QUESTION_TYPES,
            Lang::En => &EN_QUESTION_TYPES,
        }
    }
}

pub static PT_QUESTION_TYPES: QuestionTypeTexts = QuestionTypeTexts {
    other_label: "{option}: qual?",
    other_hint: "Obrigatório se escolher “{option}”.",
    grid_hint: "Responda cada item.",
    err_exclusive: "“{option}” não pode ser marcada junto com outras opções.",
    err_item_required: "Responda este item.",
    err_other_required: "Escreva qual, ou escolha outra opção.",
    item_not_answered: "sem resposta",
};

pub static EN_QUESTION_TYPES: QuestionTypeTexts = QuestionTypeTexts {
    other_label: "{option}: which?",
    other_hint: "Required if you choose “{option}”.",
    grid_hint: "Answer each item.",
    err_exclusive: "“{option}” cannot be ticked together with other options.",
    err_item_required: "Answer this item.",
    err_other_required: "Write which, or choose another option.",
    item_not_answered: "not answered",
};
