//! The names of the export's columns: the fixed ones, which no question makes, and the
//! ones a question's key gives its derived columns.
//!
//! The export layer owns the column plan ([`crate::export::columns`]), but the
//! questionnaire definition, two layers below it, must refuse at start-up a question key
//! that would make one of these names twice; so the names live here and the export plan
//! uses them from here.

/// The pseudonymous id of the response.
pub const RESPONSE_ID: &str = "response_id";
/// The questionnaire version the response was saved under.
pub const DEFINITION_VERSION: &str = "definition_version";
/// When the response was submitted.
pub const SUBMITTED_AT: &str = "submitted_at";
/// When the response last changed.
pub const UPDATED_AT: &str = "updated_at";
/// The respondent's neighbourhood, from the account.
pub const BAIRRO: &str = "bairro";
/// The screen-out rule that ended the questionnaire.
pub const TRIAGEM: &str = "triagem";
/// The consistency checks the respondent confirmed.
pub const CONFIRMED_CHECKS: &str = "checagens_confirmadas";
/// The raking weight.
pub const PESO: &str = "peso";
/// The data-quality flags' codes; also the prefix of the per-flag 0/1 columns
/// ([`quality_flag`]).
pub const QUALIDADE: &str = "qualidade";
/// Personal data, exported only on request.
pub const NOME: &str = "nome";
/// Personal data, exported only on request.
pub const SOBRENOME: &str = "sobrenome";
/// Personal data, exported only on request.
pub const EMAIL: &str = "email";
/// Personal data, exported only on request.
pub const TELEFONE: &str = "telefone";
/// The IBGE income class of the household-income answer.
pub const CLASSE_RENDA: &str = "classe_renda";
/// The Critério Brasil points.
pub const CCEB_PONTOS: &str = "cceb_pontos";
/// The Critério Brasil class.
pub const CLASSE_CCEB: &str = "classe_cceb";

/// Every fixed column, with what it holds (for the refusal of a key that reuses it).
pub const FIXED: &[(&str, &str)] = &[
    (RESPONSE_ID, "the response's pseudonymous id"),
    (
        DEFINITION_VERSION,
        "the questionnaire version of the response",
    ),
    (SUBMITTED_AT, "when the response was submitted"),
    (UPDATED_AT, "when the response last changed"),
    (BAIRRO, "the respondent's neighbourhood from the account"),
    (TRIAGEM, "the screen-out rule that ended the questionnaire"),
    (CONFIRMED_CHECKS, "the confirmed consistency checks"),
    (PESO, "the raking weight"),
    (QUALIDADE, "the data-quality flags"),
    (NOME, "the respondent's first name (personal data)"),
    (SOBRENOME, "the respondent's surname (personal data)"),
    (EMAIL, "the respondent's e-mail (personal data)"),
    (TELEFONE, "the respondent's phone (personal data)"),
    (
        CLASSE_RENDA,
        "the income class of the household-income question",
    ),
    (CCEB_PONTOS, "the Critério Brasil points"),
    (CLASSE_CCEB, "the Critério Brasil class"),
];

/// Joins a question key (or [`QUALIDADE`]) to what a derived column is of. Question keys
/// may not contain it, so a derived name is never another question's key.
pub const JOIN: &str = "__";

/// The 0/1 column of one data-quality flag, by its code.
pub fn quality_flag(code: &str) -> String {
    format!("{QUALIDADE}{JOIN}{code}")
}

/// The 0/1 column of one option of a multi question.
pub fn multi_flag(key: &str, value: &str) -> String {
    format!("{key}{JOIN}{value}")
}

/// The midpoint column of a single-choice question with numeric bands.
pub fn midpoint(key: &str) -> String {
    format!("{key}{JOIN}ponto_medio")
}

/// What the fixed column `name` holds, when it is one: a name of [`FIXED`], or a
/// per-flag column of [`QUALIDADE`] (whatever the flag, so that a new flag needs no
/// change here).
pub fn fixed(name: &str) -> Option<&'static str> {
    if let Some((_, what)) = FIXED.iter().find(|(n, _)| *n == name) {
        return Some(what);
    }
    name.strip_prefix(QUALIDADE)
        .and_then(|rest| rest.strip_prefix(JOIN))
        .map(|_| "a data-quality flag's 0/1 column")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixed_names_and_the_quality_flag_family_are_reserved() {
        for (name, what) in FIXED {
            assert_eq!(fixed(name), Some(*what), "{name}");
        }
        assert!(fixed(&quality_flag("rapido")).is_some());
        assert!(fixed(&quality_flag("um_flag_futuro")).is_some());
        for free in ["idade", "qualidade_loja", "pesos", "sexo", "bairro_1"] {
            assert_eq!(fixed(free), None, "{free}");
        }
        let names: std::collections::HashSet<_> = FIXED.iter().map(|(n, _)| n).collect();
        assert_eq!(names.len(), FIXED.len(), "each fixed name once");
        assert!(FIXED.iter().all(|(n, _)| !n.contains(JOIN)));
    }
}
