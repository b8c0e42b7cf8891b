//! Texts of the data-quality flags and the sample flow (report, /admin/results, the
//! dashboard), Brazilian Portuguese first and English second.

use super::Lang;

/// The data-quality texts.
pub struct QualityTexts {
    pub flow_title: &'static str,
    pub signed_up: &'static str,
    pub started: &'static str,
    pub completed: &'static str,
    pub screened_out: &'static str,
    /// "by rule {rule}".
    pub by_rule: &'static str,
    pub flagged: &'static str,
    pub used: &'static str,
    pub flow_note_excluded: &'static str,
    pub flow_note_kept: &'static str,
    pub rapido: &'static str,
    pub linha_reta: &'static str,
    pub inconsistente: &'static str,
    pub duplicado: &'static str,
    /// The results page's checkbox.
    pub exclude_flagged: &'static str,
    pub exclude_flagged_hint: &'static str,
}

impl Lang {
    /// The data-quality texts for this language.
    pub fn quality(self) -> &'static QualityTexts {
        match self {
            Lang::Pt => &PT_QUALITY,
            Lang::En => &EN_QUALITY,
        }
    }
}

pub static PT_QUALITY: QualityTexts = QualityTexts {
    flow_title: "Fluxo da amostra",
    signed_up: "Cadastrados",
    started: "Iniciaram o questionário",
    completed: "Concluíram",
    screened_out: "Encerrados pela triagem",
    by_rule: "regra {rule}",
    flagged: "Com alerta de qualidade",
    used: "Usados nos resultados",
    flow_note_excluded: "Respostas com alerta de qualidade foram excluídas dos resultados. Uma \
                         resposta pode ter mais de um alerta.",
    flow_note_kept: "Respostas com alerta de qualidade continuam nos resultados. Uma resposta \
                     pode ter mais de um alerta.",
    rapido: "rápido (tempo muito abaixo da mediana)",
    linha_reta: "linha reta (mesma resposta em toda a grade)",
    inconsistente: "inconsistente (confirmou uma checagem)",
    duplicado: "duplicado (mesmo telefone ou mesmo nome e bairro)",
    exclude_flagged: "Excluir respostas com alerta de qualidade",
    exclude_flagged_hint: "Rápidas, em linha reta, inconsistentes ou duplicadas.",
};

pub static EN_QUALITY: QualityTexts = QualityTexts {
    flow_title: "Sample flow",
    signed_up: "Signed up",
    started: "Started the questionnaire",
    completed: "Completed",
    screened_out: "Ended by the screener",
    by_rule: "rule {rule}",
    flagged: "With a data-quality flag",
    used: "Used in the results",
    flow_note_excluded: "Responses with a data-quality flag were left out of the results. A \
                         response can have more than one flag.",
    flow_note_kept: "Responses with a data-quality flag stay in the results. A response can \
                     have more than one flag.",
    rapido: "speeder (far below the median time)",
    linha_reta: "straight-lining (same answer across a grid)",
    inconsistente: "inconsistent (confirmed a check)",
    duplicado: "duplicate (same phone, or same name and bairro)",
    exclude_flagged: "Leave out responses with a data-quality flag",
    exclude_flagged_hint: "Speeders, straight-lining, inconsistent or duplicate.",
};
