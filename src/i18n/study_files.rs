//! Texts of the analysts' labelled files and census import, Brazilian Portuguese first and English second.

use super::Lang;

/// The texts of the labelled files for statistics packages (`pesquisa export --format
/// spss|stata|r`): value labels the questionnaire does not define, and the syntax
/// files' comments.
pub struct LabelledFilesTexts {
    /// Label of the code of a question the respondent was not asked.
    pub not_asked: &'static str,
    /// Labels of a multiple-choice option's 0/1 flag.
    pub checked: &'static str,
    pub unchecked: &'static str,
    /// An option only an earlier questionnaire version offered: `{label}`, `{version}`.
    pub earlier_version: &'static str,
    /// First comment lines of each syntax file: `{csv}` is the data file's name.
    pub generated: &'static str,
    pub keep_beside: &'static str,
    /// What the missing codes mean (one comment line).
    pub missing_note: &'static str,
    /// Before the weight declaration: `{weight}` is the column.
    pub weight_note: &'static str,
    /// Before a hand-declared list of missing codes that SPSS cannot hold in one
    /// MISSING VALUES (more than three).
    pub too_many_missing: &'static str,
    /// `classe_renda`'s value labels, classes A to E (codes 1 to 5).
    pub income_classes: [&'static str; 5],
    /// A Critério Brasil class's value label: `{class}`, `{min}`, `{max}` (its points).
    pub cceb_class: &'static str,
    /// `triagem`'s value labels: code 0, a screen-out rule (`{key}`), a full quota
    /// (`{name}`), and a stored key neither the definition nor the quotas know.
    pub not_screened_out: &'static str,
    pub screen_out_rule: &'static str,
    pub quota_full: &'static str,
    pub other_screen_out: &'static str,
}

impl Lang {
    /// The labelled files' texts for this language.
    pub fn labelled_files(self) -> &'static LabelledFilesTexts {
        match self {
            Lang::Pt => &PT_LABELLED_FILES,
            Lang::En => &EN_LABELLED_FILES,
        }
    }
}

pub static PT_LABELLED_FILES: LabelledFilesTexts = LabelledFilesTexts {
    not_asked: "Não perguntada",
    checked: "Marcada",
    unchecked: "Não marcada",
    earlier_version: "{label} (versão {version} do questionário)",
    generated: "Gerado por `pesquisa export`: lê {csv} com rótulos de variáveis e valores.",
    keep_beside: "Mantenha {csv} na mesma pasta deste arquivo e rode-o a partir dela.",
    missing_note: "Códigos ausentes: -2 = não perguntada (condição, triagem ou versão sem a pergunta); opções como \"Prefiro não informar\" também são ausentes; célula vazia = não respondida.",
    weight_note: "Peso amostral: {weight}.",
    too_many_missing: "Mais de três códigos ausentes: os demais são recodificados como ausentes do sistema.",
    income_classes: [
        "A: mais de 20 salários mínimos",
        "B: mais de 10 a 20 salários mínimos",
        "C: mais de 4 a 10 salários mínimos",
        "D: mais de 2 a 4 salários mínimos",
        "E: até 2 salários mínimos",
    ],
    cceb_class: "{class}: {min} a {max} pontos",
    not_screened_out: "Não triada",
    screen_out_rule: "Regra de triagem {key}",
    quota_full: "Cota {name} cheia",
    other_screen_out: "Outra regra (fora da definição e das cotas atuais)",
};

pub static EN_LABELLED_FILES: LabelledFilesTexts = LabelledFilesTexts {
    not_asked: "Not asked",
    checked: "Checked",
    unchecked: "Not checked",
    earlier_version: "{label} (questionnaire version {version})",
    generated: "Written by `pesquisa export`: reads {csv} with variable and value labels.",
    keep_beside: "Keep {csv} in the same folder as this file and run it from there.",
    missing_note: "Missing codes: -2 = not asked (condition, screen-out or a version without the question); options such as \"I prefer not to say\" are missing too; an empty cell = not answered.",
    weight_note: "Survey weight: {weight}.",
    too_many_missing: "More than three missing codes: the others are recoded to system-missing.",
    income_classes: [
        "A: over 20 minimum wages",
        "B: over 10 up to 20 minimum wages",
        "C: over 4 up to 10 minimum wages",
        "D: over 2 up to 4 minimum wages",
        "E: up to 2 minimum wages",
    ],
    cceb_class: "{class}: {min} to {max} points",
    not_screened_out: "Not screened out",
    screen_out_rule: "Screen-out rule {key}",
    quota_full: "Quota {name} full",
    other_screen_out: "Another rule (not in the current definition or quotas)",
};
