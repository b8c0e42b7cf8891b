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
};
