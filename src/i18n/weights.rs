//! Texts of the weighted tables beside the unweighted ones (cross-tabs, bairros, market
//! scenarios and groups), of trimming and of a failed raking, Brazilian Portuguese first
//! and English second. Texts with numbers are functions so each language orders them.

use super::Lang;

/// The weighted-table texts of the report.
pub struct WeightsTexts {
    /// Appended to the heading of an unweighted table when the report is weighted.
    pub unweighted_suffix: &'static str,
    pub crosstabs_title: &'static str,
    pub crosstab_unweighted: &'static str,
    pub crosstab_weighted: &'static str,
    pub row_n: &'static str,
    pub by_income: &'static str,
    pub by_cceb: &'static str,
    pub cceb_class: &'static str,
    pub income_class: &'static str,
    pub intent_weighted: &'static str,
    pub scenarios_title: &'static str,
    pub groups_title_income: &'static str,
    pub groups_title_cceb: &'static str,
    pub groups_title_bairro: &'static str,
    pub group: &'static str,
    pub scenario: &'static str,
    pub mean_unweighted: &'static str,
    pub mean_weighted: &'static str,
    pub ci_linear: &'static str,
    pub market_weighted: &'static str,
    pub potential_weighted: &'static str,
    pub suppressed: &'static str,
    pub warning: &'static str,
}

impl Lang {
    /// The weighted-table texts for this language.
    pub fn weights(self) -> &'static WeightsTexts {
        match self {
            Lang::Pt => &PT_WEIGHTS,
            Lang::En => &EN_WEIGHTS,
        }
    }

    /// Raking stopped without meeting the margins.
    pub fn rake_not_converged(self, iterations: u32, max_error: f64, tolerance: f64) -> String {
        match self {
            Lang::Pt => format!(
                "a calibração não convergiu em {iterations} iterações: o maior erro relativo de \
                 uma margem é {max_error:.3e} (tolerância {tolerance:.1e}); a causa usual é uma \
                 categoria vazia ou quase vazia (veja as margens)"
            ),
            Lang::En => format!(
                "raking did not converge after {iterations} iterations: the largest relative \
                 error of a margin is {max_error:.3e} (tolerance {tolerance:.1e}); an empty or \
                 nearly empty category is the usual cause (see the margins)"
            ),
        }
    }

    /// A margin the data or the census cannot give (the detail is the raking's words).
    pub fn rake_bad_margin(self, margin: &str, detail: &str) -> String {
        match self {
            Lang::Pt => format!("a margem `{margin}` não pode ser atingida ({detail})"),
            Lang::En => format!("the margin `{margin}` cannot be met ({detail})"),
        }
    }

    /// No weighable response (complete, not screened out, in a census bairro).
    pub fn rake_no_responses(self) -> &'static str {
        match self {
            Lang::Pt => "nenhuma resposta completa e não triada de um bairro com margens do censo",
            Lang::En => "no complete, not screened-out response from a bairro with census margins",
        }
    }

    /// Another raking failure (options, base weights): the raking's words.
    pub fn rake_other(self, detail: &str) -> String {
        match self {
            Lang::Pt => format!("erro da calibração: {detail}"),
            Lang::En => format!("raking error: {detail}"),
        }
    }

    /// Trimming kept the weights within the bounds but a margin stayed off its target.
    pub fn margins_gap(
        self,
        bounds: (f64, f64),
        gap_pct: f64,
        margin: &str,
        category: &str,
    ) -> String {
        let (lo, hi) = bounds;
        match self {
            Lang::Pt => format!(
                "Os pesos foram mantidos nos limites de aparo ({lo}–{hi} × a média), e com eles \
                 as margens não puderam ser atingidas: a maior diferença é de {gap_pct:.2}% do \
                 alvo, em {margin} / {category}. Veja a coluna Obtido da tabela de margens; \
                 para atingi-las, alargue weighting.trim_lower/trim_upper ou junte categorias."
            ),
            Lang::En => format!(
                "The weights were kept within the trim bounds ({lo}–{hi} × mean), and with them \
                 the margins could not be met: the largest gap is {gap_pct:.2}% of the target, \
                 in {margin} / {category}. See the Achieved column of the margins table; to \
                 meet them, widen weighting.trim_lower/trim_upper or merge categories."
            ),
        }
    }
}

pub static PT_WEIGHTS: WeightsTexts = WeightsTexts {
    unweighted_suffix: "(não ponderado)",
    crosstabs_title: "Classe × hábitos de compra",
    crosstab_unweighted: "Não ponderado: respostas (% da linha)",
    crosstab_weighted: "Ponderado: % da linha",
    row_n: "n",
    by_income: "por classe de renda",
    by_cceb: "por classe Critério Brasil",
    cceb_class: "Classe (Critério Brasil)",
    income_class: "Classe de renda",
    intent_weighted: "Intenção, ponderada (%)",
    scenarios_title: "Gasto médio e mercado por cenário, ponderados",
    groups_title_income: "Gasto médio por classe de renda (cenário Médio), ponderado",
    groups_title_cceb: "Gasto médio por classe Critério Brasil (cenário Médio), ponderado",
    groups_title_bairro: "Gasto médio por bairro (cenário Médio), ponderado",
    group: "Grupo",
    scenario: "Cenário",
    mean_unweighted: "Média não ponderada",
    mean_weighted: "Média ponderada",
    ci_linear: "IC 95% ponderado",
    market_weighted: "Mercado mensal, ponderado",
    potential_weighted: "Potencial mensal, ponderado",
    suppressed: "poucos respondentes",
    warning: "Atenção",
};

pub static EN_WEIGHTS: WeightsTexts = WeightsTexts {
    unweighted_suffix: "(unweighted)",
    crosstabs_title: "Class × shopping habits",
    crosstab_unweighted: "Unweighted: responses (row %)",
    crosstab_weighted: "Weighted: row %",
    row_n: "n",
    by_income: "by income class",
    by_cceb: "by Critério Brasil class",
    cceb_class: "Class (Critério Brasil)",
    income_class: "Income class",
    intent_weighted: "Intent, weighted (%)",
    scenarios_title: "Mean spend and market by scenario, weighted",
    groups_title_income: "Mean spend by income class (Mid scenario), weighted",
    groups_title_cceb: "Mean spend by Critério Brasil class (Mid scenario), weighted",
    groups_title_bairro: "Mean spend by bairro (Mid scenario), weighted",
    group: "Group",
    scenario: "Scenario",
    mean_unweighted: "Unweighted mean",
    mean_weighted: "Weighted mean",
    ci_linear: "Weighted 95% CI",
    market_weighted: "Monthly market, weighted",
    potential_weighted: "Monthly potential, weighted",
    suppressed: "too few respondents",
    warning: "Warning",
};
