//! Texts of the quotas: the fill table (results page, dashboard), the respondent's
//! screen-out page and the refused edit. Brazilian Portuguese first, English second.

use super::Lang;

/// `{cell}` is filled in by the view.
pub struct QuotaTexts {
    pub title: &'static str,
    pub intro: &'static str,
    pub caption: &'static str,
    pub quota: &'static str,
    pub cell: &'static str,
    pub target: &'static str,
    pub filled: &'static str,
    pub percent: &'static str,
    pub status: &'static str,
    pub mode_close: &'static str,
    pub mode_warn: &'static str,
    pub status_open: &'static str,
    pub status_full: &'static str,
    pub status_over: &'static str,
    /// The polite end for a respondent whose cell is full.
    pub screened_message: &'static str,
    /// An edit of a submitted response that would move it into a full cell.
    pub edit_refused: &'static str,
}

static PT: QuotaTexts = QuotaTexts {
    title: "Cotas",
    intro: "Contam só as respostas concluídas e não encerradas pela triagem. Em \"fechar\", \
            quem cai numa célula cheia é dispensado com educação; em \"avisar\", continua e a \
            célula passa da meta.",
    caption: "Preenchimento das cotas por célula",
    quota: "Cota",
    cell: "Célula",
    target: "Meta",
    filled: "Concluídas",
    percent: "% da meta",
    status: "Situação",
    mode_close: "fechar",
    mode_warn: "avisar",
    status_open: "Aberta",
    status_full: "Completa",
    status_over: "Acima da meta",
    screened_message: "Já temos todas as respostas de que precisamos de pessoas com o seu \
                       perfil. Obrigado pelo seu tempo e pelo interesse!",
    edit_refused: "Esta alteração colocaria sua resposta num grupo que já está completo \
                   ({cell}). Sua resposta anterior foi mantida.",
};

static EN: QuotaTexts = QuotaTexts {
    title: "Quotas",
    intro: "Only completed responses that were not screened out count. With \"close\", a \
            respondent in a full cell is politely turned away; with \"warn\", they go on and \
            the cell goes over its target.",
    caption: "Quota fill by cell",
    quota: "Quota",
    cell: "Cell",
    target: "Target",
    filled: "Completed",
    percent: "% of target",
    status: "Status",
    mode_close: "close",
    mode_warn: "warn",
    status_open: "Open",
    status_full: "Full",
    status_over: "Over target",
    screened_message: "We already have all the answers we need from people with your \
                       profile. Thank you for your time and interest!",
    edit_refused: "This change would put your response in a group that is already full \
                   ({cell}). Your previous answer was kept.",
};

impl Lang {
    /// The quota texts for this language.
    pub fn quotas(self) -> &'static QuotaTexts {
        match self {
            Lang::Pt => &PT,
            Lang::En => &EN,
        }
    }
}
