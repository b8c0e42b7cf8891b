//! Texts of the respondent's pages added after the first version, Brazilian Portuguese first and English second.

use super::Lang;

/// The texts of the respondent's pages added after the first version: the time
/// estimate, the error summary's field names, editing from the review, the home page
/// after submitting, the readable data page and the kinds of notices.
pub struct RespondentTexts {
    /// "{n}": the questionnaire's `minutes`.
    pub duration: &'static str,
    /// The hint of a multiple-choice question that takes at most "{max}" options.
    pub choose_at_most: &'static str,
    /// Short names of checkbox fields for the error summary (their labels are sentences).
    pub summary_adult: &'static str,
    pub summary_accept_terms: &'static str,
    pub summary_accept: &'static str,
    /// The page's button when editing from the review.
    pub save_back_to_review: &'static str,
    /// The link back to the review without saving.
    pub back_to_review: &'static str,
    /// Shown on a page opened from the review.
    pub editing_from_review: &'static str,
    /// The home page's button once the questionnaire was submitted.
    pub home_see_or_change: &'static str,
    /// The privacy contact as a link: its accessible name.
    pub home_contact_label: &'static str,
    pub data_title: &'static str,
    pub data_lead: &'static str,
    pub data_generated: &'static str,
    pub data_account: &'static str,
    pub data_created: &'static str,
    pub data_last_login: &'static str,
    pub data_adult: &'static str,
    pub data_consents: &'static str,
    pub data_no_consents: &'static str,
    pub data_document: &'static str,
    pub data_accepted: &'static str,
    pub data_revoked: &'static str,
    pub data_questionnaire: &'static str,
    pub data_not_started: &'static str,
    pub data_started: &'static str,
    pub data_updated: &'static str,
    pub data_submitted: &'static str,
    pub data_not_submitted: &'static str,
    pub data_screened: &'static str,
    pub data_none: &'static str,
    pub data_view: &'static str,
    pub data_json: &'static str,
    pub data_back: &'static str,
    /// Words before a notice, so its kind is not told by colour alone.
    pub notice_success: &'static str,
    pub notice_info: &'static str,
    pub notice_warning: &'static str,
}

impl Lang {
    /// The texts of the respondent's pages added after the first version.
    pub fn respondent(self) -> &'static RespondentTexts {
        match self {
            Lang::Pt => &PT_RESPONDENT,
            Lang::En => &EN_RESPONDENT,
        }
    }
}

impl RespondentTexts {
    /// "It takes about `minutes` minutes."
    pub fn duration_of(&self, minutes: u32) -> String {
        self.duration.replace("{n}", &minutes.to_string())
    }
}

pub static PT_RESPONDENT: RespondentTexts = RespondentTexts {
    duration: "O questionário leva cerca de {n} minutos.",
    choose_at_most: "Marque até {max} opções.",
    summary_adult: "Declaração de idade",
    summary_accept_terms: "Termos de uso e política de privacidade",
    summary_accept: "Aceite dos documentos",
    save_back_to_review: "Salvar e voltar à revisão",
    back_to_review: "Voltar à revisão sem salvar",
    editing_from_review: "Você está alterando uma etapa a partir da revisão. Ao salvar, você volta a ela.",
    home_see_or_change: "Ver ou alterar minhas respostas",
    home_contact_label: "Escrever para o contato de privacidade",
    data_title: "Meus dados",
    data_lead: "Tudo o que esta pesquisa guarda sobre você. Para imprimir ou salvar em PDF, use o comando Imprimir do navegador.",
    data_generated: "Gerado em",
    data_account: "Conta",
    data_created: "Conta criada em",
    data_last_login: "Último acesso",
    data_adult: "Declarou ter 18 anos ou mais em",
    data_consents: "Consentimentos",
    data_no_consents: "Nenhum consentimento registrado.",
    data_document: "Documento",
    data_accepted: "Aceito em",
    data_revoked: "Revogado em",
    data_questionnaire: "Questionário",
    data_not_started: "Você ainda não respondeu ao questionário.",
    data_started: "Começado em",
    data_updated: "Última alteração em",
    data_submitted: "Enviado em",
    data_not_submitted: "Ainda não enviado.",
    data_screened: "O questionário terminou antes do fim: esta pesquisa é para outro perfil de participante.",
    data_none: "—",
    data_view: "Ver meus dados (para ler ou imprimir)",
    data_json: "Baixar meus dados (JSON)",
    data_back: "Voltar para Minha conta",
    notice_success: "Pronto:",
    notice_info: "Aviso:",
    notice_warning: "Atenção:",
};

pub static EN_RESPONDENT: RespondentTexts = RespondentTexts {
    duration: "The questionnaire takes about {n} minutes.",
    choose_at_most: "Tick up to {max} options.",
    summary_adult: "Age declaration",
    summary_accept_terms: "Terms of use and privacy policy",
    summary_accept: "Acceptance of the documents",
    save_back_to_review: "Save and return to the review",
    back_to_review: "Back to the review without saving",
    editing_from_review: "You are changing a step from the review. Saving takes you back to it.",
    home_see_or_change: "See or change my answers",
    home_contact_label: "Write to the privacy contact",
    data_title: "My data",
    data_lead: "Everything this survey keeps about you. To print it or save it as a PDF, use the browser's Print command.",
    data_generated: "Made on",
    data_account: "Account",
    data_created: "Account created on",
    data_last_login: "Last log-in",
    data_adult: "Declared being 18 or older on",
    data_consents: "Consents",
    data_no_consents: "No consent recorded.",
    data_document: "Document",
    data_accepted: "Accepted on",
    data_revoked: "Revoked on",
    data_questionnaire: "Questionnaire",
    data_not_started: "You have not answered the questionnaire yet.",
    data_started: "Started on",
    data_updated: "Last changed on",
    data_submitted: "Submitted on",
    data_not_submitted: "Not submitted yet.",
    data_screened: "The questionnaire ended early: this survey is for another profile of participant.",
    data_none: "—",
    data_view: "See my data (to read or print)",
    data_json: "Download my data (JSON)",
    data_back: "Back to My account",
    notice_success: "Done:",
    notice_info: "Note:",
    notice_warning: "Attention:",
};
