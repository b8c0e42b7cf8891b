//! Every piece of user-facing text, Brazilian Portuguese first and English second.
//!
//! One struct of `&'static str` fields with one constant per language: a missing
//! translation is a compile error, and handlers never hold literal UI strings.

/// A language the interface speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    Pt,
    En,
}

impl Lang {
    /// The `lang` attribute value for HTML.
    pub fn code(self) -> &'static str {
        match self {
            Lang::Pt => "pt-BR",
            Lang::En => "en",
        }
    }

    /// Parse a short code as used in the `lang` cookie or `?lang=` parameter.
    pub fn from_code(code: &str) -> Option<Lang> {
        let c = code.trim().to_ascii_lowercase();
        if c == "pt" || c.starts_with("pt-") {
            Some(Lang::Pt)
        } else if c == "en" || c.starts_with("en-") {
            Some(Lang::En)
        } else {
            None
        }
    }

    /// Choose from an `Accept-Language` header: the highest-weighted language we speak,
    /// Portuguese when none matches.
    pub fn from_accept_language(header: &str) -> Lang {
        let mut best: Option<(f32, Lang)> = None;
        for part in header.split(',') {
            let mut pieces = part.split(';');
            let tag = pieces.next().unwrap_or("").trim();
            let q = pieces
                .find_map(|p| p.trim().strip_prefix("q="))
                .and_then(|q| q.parse::<f32>().ok())
                .unwrap_or(1.0);
            if let Some(lang) = Lang::from_code(tag)
                && best.is_none_or(|(bq, _)| q > bq)
            {
                best = Some((q, lang));
            }
        }
        best.map_or(Lang::Pt, |(_, l)| l)
    }

    /// The text table for this language.
    pub fn t(self) -> &'static Texts {
        match self {
            Lang::Pt => &PT,
            Lang::En => &EN,
        }
    }
}

/// All interface strings.
pub struct Texts {
    pub site_name: &'static str,
    pub skip_to_content: &'static str,
    pub switch_language: &'static str,
    pub other_language_code: &'static str,
    pub home_title: &'static str,
    pub home_lead: &'static str,
    pub home_why: &'static str,
    pub home_privacy: &'static str,
    pub footer: &'static str,
    pub error_title: &'static str,
    pub error_not_found: &'static str,
    pub error_method: &'static str,
    pub error_forbidden: &'static str,
    pub error_too_large: &'static str,
    pub error_too_many: &'static str,
    pub error_unavailable: &'static str,
    pub error_timeout: &'static str,
    pub error_internal: &'static str,
    pub error_bad_request: &'static str,
    pub error_reference: &'static str,
    pub back_home: &'static str,
}

pub static PT: Texts = Texts {
    site_name: "Pesquisa de mercado",
    skip_to_content: "Pular para o conteúdo",
    switch_language: "English",
    other_language_code: "en",
    home_title: "Pesquisa sobre compras de supermercado no seu bairro",
    home_lead: "Queremos saber como os moradores da região fazem suas compras, para avaliar \
                se um novo supermercado faz sentido aqui.",
    home_why: "O questionário leva cerca de 5 minutos. Você pode parar e continuar depois.",
    home_privacy: "Suas respostas são tratadas conforme a LGPD e só aparecem em resultados \
                   agregados.",
    footer: "Pesquisa de mercado · dados tratados conforme a LGPD",
    error_title: "Algo não deu certo",
    error_not_found: "Página não encontrada.",
    error_method: "Esta ação não é permitida neste endereço.",
    error_forbidden: "Você não tem permissão para acessar esta página.",
    error_too_large: "Os dados enviados são grandes demais.",
    error_too_many: "Muitas tentativas. Aguarde um pouco e tente de novo.",
    error_unavailable: "O serviço está temporariamente indisponível. Tente de novo em instantes.",
    error_timeout: "O servidor demorou demais para responder. Tente de novo.",
    error_internal: "Ocorreu um erro inesperado. Nossa equipe foi avisada.",
    error_bad_request: "O pedido não pôde ser entendido.",
    error_reference: "Código de referência",
    back_home: "Voltar ao início",
};

pub static EN: Texts = Texts {
    site_name: "Market research",
    skip_to_content: "Skip to content",
    switch_language: "Português",
    other_language_code: "pt",
    home_title: "A survey about grocery shopping in your neighbourhood",
    home_lead: "We want to learn how residents of the area shop, to judge whether a new \
                supermarket makes sense here.",
    home_why: "The questionnaire takes about 5 minutes. You can stop and continue later.",
    home_privacy: "Your answers are handled under Brazil's LGPD and only appear in aggregate \
                   results.",
    footer: "Market research · data handled under the LGPD",
    error_title: "Something went wrong",
    error_not_found: "Page not found.",
    error_method: "This action is not allowed at this address.",
    error_forbidden: "You do not have permission to see this page.",
    error_too_large: "The data sent is too large.",
    error_too_many: "Too many attempts. Wait a little and try again.",
    error_unavailable: "The service is temporarily unavailable. Try again in a moment.",
    error_timeout: "The server took too long to answer. Please try again.",
    error_internal: "An unexpected error occurred. Our team has been notified.",
    error_bad_request: "The request could not be understood.",
    error_reference: "Reference code",
    back_home: "Back to the start",
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accept_language_picks_best_supported() {
        assert_eq!(Lang::from_accept_language("en-US,en;q=0.9"), Lang::En);
        assert_eq!(
            Lang::from_accept_language("pt-BR,pt;q=0.9,en;q=0.8"),
            Lang::Pt
        );
        assert_eq!(Lang::from_accept_language("fr-FR,en;q=0.5"), Lang::En);
        assert_eq!(Lang::from_accept_language("fr-FR,de"), Lang::Pt);
        assert_eq!(Lang::from_accept_language(""), Lang::Pt);
        assert_eq!(Lang::from_accept_language("en;q=0.2,pt;q=0.8"), Lang::Pt);
    }
}
