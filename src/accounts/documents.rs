//! The rule a new document version's title follows: it names its own document and no
//! other, so that a privacy policy is never published under the terms' title. A
//! document's name is the title of its first version (see `db::consents::names`).

/// Why a title was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TitleProblem {
    /// It does not contain the document's name.
    MissingName,
    /// It contains the name of another document (the one given).
    NamesOther(String),
}

/// Lower case with runs of white space made one space, so that "Termos  de Uso" names
/// "Termos de uso".
fn folded(s: &str) -> String {
    s.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase()
}

/// Checks `title` against the name of its own document (`own`) and the names of the
/// other documents. Another name that is part of the own name ("Termos" inside "Termos
/// de uso") is no conflict.
pub fn check_title(title: &str, own: &str, others: &[&str]) -> Result<(), TitleProblem> {
    let title = folded(title);
    let own_folded = folded(own);
    if !title.contains(&own_folded) {
        return Err(TitleProblem::MissingName);
    }
    for other in others {
        let other_folded = folded(other);
        if !other_folded.is_empty()
            && !own_folded.contains(&other_folded)
            && title.contains(&other_folded)
        {
            return Err(TitleProblem::NamesOther((*other).to_string()));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const OTHERS: [&str; 2] = [
        "Política de privacidade",
        "Receber os resultados por e-mail",
    ];

    #[test]
    fn a_title_must_name_its_own_document() {
        assert_eq!(
            check_title("Termos de uso", "Termos de uso", &OTHERS),
            Ok(())
        );
        assert_eq!(
            check_title(
                "termos  DE USO (versão de dezembro)",
                "Termos de uso",
                &OTHERS
            ),
            Ok(())
        );
        assert_eq!(
            check_title("Política de privacidade", "Termos de uso", &OTHERS),
            Err(TitleProblem::MissingName)
        );
        assert_eq!(
            check_title("Termos", "Termos de uso", &OTHERS),
            Err(TitleProblem::MissingName)
        );
    }

    #[test]
    fn a_title_naming_another_document_too_is_refused() {
        assert_eq!(
            check_title(
                "Termos de uso e Política de privacidade",
                "Termos de uso",
                &OTHERS
            ),
            Err(TitleProblem::NamesOther("Política de privacidade".into()))
        );
        // A shorter name inside the own one is no conflict.
        assert_eq!(
            check_title("Termos de uso", "Termos de uso", &["Termos"]),
            Ok(())
        );
    }
}
