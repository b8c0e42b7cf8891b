//! The assumptions behind a market estimate, written out in Brazilian Portuguese and
//! English for the report (the estimate itself, in [`crate::stats::market`], carries only
//! the numbers and inputs they are written from).

use crate::stats::Households;
use crate::stats::market::MarketEstimate;

fn money(x: f64) -> String {
    format!("R$ {x:.2}")
}

/// Each assumption in Brazilian Portuguese and English (same order in both lists).
#[derive(Debug, Clone, PartialEq)]
pub struct Assumptions {
    pub pt: Vec<String>,
    pub en: Vec<String>,
}

impl Assumptions {
    fn add(&mut self, pt: String, en: String) {
        self.pt.push(pt);
        self.en.push(en);
    }
}

/// The assumption list of an estimate, in both languages, with the households given by
/// the analyst.
pub fn of(e: &MarketEstimate) -> Assumptions {
    of_sourced(e, "número do analista", "analyst's figure")
}

/// [`of`] with the source of the households named (`(pt, en)`), e.g. the census import.
pub fn of_sourced(e: &MarketEstimate, source_pt: &str, source_en: &str) -> Assumptions {
    let (p, coverage, capture) = (&e.basis.params, &e.coverage, &e.capture);
    let (min, overall_reported) = (e.basis.min, e.basis.overall_reported);
    let mut a = Assumptions {
        pt: Vec::new(),
        en: Vec::new(),
    };
    let (with, all) = (coverage.with_spend, coverage.respondents);
    a.add(
        format!(
            "O gasto mensal com supermercado por domicílio vem da faixa de gasto informada: o \
             cenário Médio usa o ponto médio da faixa, o Inferior o seu limite inferior (0 na \
             primeira faixa) e o Superior o limite superior. {with} de {all} respondentes \
             deram uma resposta de gasto utilizável; os demais ficam fora de todas as médias."
        ),
        format!(
            "Monthly supermarket spend per household comes from the respondent's spend band: \
             the Mid scenario uses the band midpoint, Lower its lower bound (0 for the lowest \
             band), Upper its upper bound. {with} of {all} respondents gave a usable spend \
             answer; the others are left out of all averages."
        ),
    );
    a.add(
        format!(
            "A faixa de gasto aberta no topo (sem limite superior) vale {} nos cenários Médio \
             e Superior e o seu limite inferior no cenário Inferior.",
            money(p.open_top)
        ),
        format!(
            "The open top spend band (no upper bound) is valued at {} in the Mid and Upper \
             scenarios and at its lower bound in the Lower scenario.",
            money(p.open_top)
        ),
    );
    a.add(
        "As médias não são ponderadas: cada domicílio que respondeu conta uma vez, e supõe-se \
         que os respondentes representam os domicílios da área."
            .to_string(),
        "Averages are unweighted: each responding household counts once, and the \
         respondents are assumed to represent the area's households."
            .to_string(),
    );
    let below = min.saturating_sub(1);
    a.add(
        format!(
            "Grupos com menos de {min} respondentes com resposta de gasto são suprimidos (sem \
             números); quando os respondentes suprimidos de um recorte (inclusive os sem \
             classe de renda ou bairro) somariam entre 1 e {below}, os menores grupos \
             restantes também são suprimidos, para que nenhuma resposta possa ser deduzida \
             por subtração."
        ),
        format!(
            "Groups with fewer than {min} respondents with a spend answer are suppressed (no \
             figures shown); where the suppressed respondents of a breakdown (including those \
             without an income class or bairro) would number between 1 and {below}, the \
             smallest other groups are suppressed too, so no one's answer can be recovered by \
             subtraction."
        ),
    );
    a.add(
        format!(
            "Intervalos de confiança de 95%: bootstrap percentil da média com B = {} \
             reamostragens, gerador ChaCha8 com semente {} (a mesma para todos os grupos e \
             cenários).",
            p.resamples, p.seed
        ),
        format!(
            "95% confidence intervals: percentile bootstrap of the mean with B = {} resamples, \
             ChaCha8 generator seeded with {} (the same seed for every group and scenario).",
            p.resamples, p.seed
        ),
    );
    if !overall_reported {
        a.add(
            format!(
                "Menos de {min} respondentes deram uma resposta de gasto utilizável; por isso \
                 nenhum gasto, mercado ou potencial é mostrado."
            ),
            format!(
                "Fewer than {min} respondents gave a usable spend answer, so no spend, market \
                 or potential figure is reported."
            ),
        );
    }

    match &p.households {
        // No households given (the report passes 0 then): say what to provide rather
        // than "Households: 0".
        Households::Total(0) => a.add(
            "Número de domicílios da área não informado: mercado e potencial em reais não são \
             calculados (pesquisa report --households N ou --households-file, ou \
             report.households na configuração)."
                .to_string(),
            "Number of households in the area not given: market and potential in reais are \
             not computed (pesquisa report --households N or --households-file, or \
             report.households in the configuration)."
                .to_string(),
        ),
        Households::Total(h) => a.add(
            format!(
                "Domicílios: {h} na área estudada (fonte: {source_pt}); mercado mensal = gasto \
                 médio geral × {h}."
            ),
            format!(
                "Households: {h} in the study area (source: {source_en}); monthly market = overall \
                 mean spend × {h}."
            ),
        ),
        Households::PerBairro(map) => {
            let total = map.values().fold(0u64, |acc, &h| acc.saturating_add(h));
            let n = map.len();
            a.add(
                format!(
                    "Domicílios por bairro ({n} bairros, {total} domicílios ao todo, fonte: \
                     {source_pt}); mercado mensal = soma, nesses bairros, do gasto médio do bairro \
                     × os seus domicílios."
                ),
                format!(
                    "Households per bairro ({n} bairros, {total} households in all, source: \
                     {source_en}); monthly market = sum over these bairros of the bairro's mean \
                     spend × its households."
                ),
            );
            a.add(
                format!(
                    "Substituição: um bairro com menos de {min} respondentes com resposta de \
                     gasto (ou suprimido para proteger outro) usa o gasto médio geral na soma \
                     do mercado."
                ),
                format!(
                    "Fallback: a bairro with fewer than {min} respondents with a spend answer \
                     (or suppressed to protect another) uses the overall mean spend in the \
                     market sum."
                ),
            );
            let outside = &e.basis.bairros_without_households;
            if !outside.is_empty() {
                let list = outside.join(", ");
                a.add(
                    format!(
                        "Respondentes de bairros sem número de domicílios ({list}) entram na \
                         média geral (e portanto na substituição), mas não acrescentam \
                         domicílios ao mercado."
                    ),
                    format!(
                        "Respondents from bairros without a household count ({list}) are \
                         counted in the overall mean (and so in the fallback) but add no \
                         households to the market."
                    ),
                );
            }
        }
    }

    let w = p.intent_weights;
    match p.capture_share {
        Some(share) => {
            let pct = share * 100.0;
            a.add(
                format!(
                    "Participação da loja: {pct:.1}% do gasto com supermercado de cada \
                     domicílio, definida pelo analista (a intenção de compra não é usada)."
                ),
                format!(
                    "Capture share: {pct:.1}% of each household's supermarket spend, set by \
                     the analyst (purchase intent not used)."
                ),
            );
        }
        None => {
            let weights = format!(
                "{} / {} / {} / {} / {}",
                w.certamente_sim,
                w.provavelmente_sim,
                w.talvez,
                w.provavelmente_nao,
                w.certamente_nao
            );
            a.add(
                format!(
                    "Escala de intenção de compra: 5 = certamente sim, 4 = provavelmente sim, \
                     3 = talvez, 2 = provavelmente não, 1 = certamente não; pesos {weights} \
                     (calibração top-box: a intenção declarada exagera a compra real)."
                ),
                format!(
                    "Purchase intent scale: 5 = certamente sim, 4 = provavelmente sim, \
                     3 = talvez, 2 = provavelmente não, 1 = certamente não; weights {weights} \
                     (top-box calibration: stated intent overstates actual buying)."
                ),
            );
            let answers = capture.intent_answers;
            match capture.share {
                Some(s) => {
                    let pct = s * 100.0;
                    a.add(
                        format!(
                            "Participação da loja: {pct:.1}%, a média dos pesos de intenção dos \
                             {answers} respondentes que responderam à pergunta de intenção, \
                             lida como a parte do gasto com supermercado de cada domicílio que a \
                             nova loja levaria (sem dividir de novo pelo número de concorrentes)."
                        ),
                        format!(
                            "Capture share: {pct:.1}%, the average intent weight over the \
                             {answers} respondents who answered the intent question, read as the \
                             share of each household's supermarket spend the new store would \
                             take (not divided further by the number of competing stores)."
                        ),
                    );
                }
                None => a.add(
                    format!(
                        "Participação da loja: indisponível, porque menos de {min} respondentes \
                         responderam à pergunta de intenção; nenhum potencial é mostrado."
                    ),
                    format!(
                        "Capture share: not available, since fewer than {min} respondents \
                         answered the intent question; no potential is reported."
                    ),
                ),
            }
            if coverage.invalid_intent > 0 {
                let n = coverage.invalid_intent;
                a.add(
                    format!(
                        "{n} respostas de intenção fora de 1–5 foram tratadas como não respondidas."
                    ),
                    format!("{n} intent answers outside 1–5 were treated as not answered."),
                );
            }
        }
    }
    a.add(
        "Sensibilidade: o mercado e o potencial também são calculados com todas as faixas de \
         gasto no limite inferior (Inferior) e no superior (Superior); a participação da loja \
         é a mesma em todos os cenários."
            .to_string(),
        "Sensitivity: the market and the potential are also computed with every spend band at \
         its lower bound (Lower) and upper bound (Upper); the capture share is the same in \
         all scenarios."
            .to_string(),
    );
    a
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stats::market::MarketParams;
    use crate::stats::market::estimate_market;
    use crate::stats::market::tests::{OPEN_TOP, per_bairro, sample};

    fn english(e: &MarketEstimate) -> String {
        of(e).en.join("\n")
    }

    #[test]
    fn assumptions_list_every_input_in_both_languages() {
        let est = estimate_market(&sample(), &MarketParams::new(OPEN_TOP, per_bairro(), 777))
            .expect("estimate");
        let a = of(&est);
        assert_eq!(a.pt.len(), a.en.len());
        let all = a.en.join("\n");
        for needle in [
            "R$ 3000.00",                   // open top
            "0.75 / 0.35 / 0.1 / 0.02 / 0", // intent weights
            "34.9%",                        // derived capture share
            "4 bairros, 2000 households",   // households source
            "fewer than 5",                 // suppression threshold
            "B = 2000",                     // bootstrap resamples
            "seeded with 777",              // seed
            "Fallback",                     // fallback rule
            "unweighted",
        ] {
            assert!(all.contains(needle), "missing {needle:?} in:\n{all}");
        }
        assert!(a.pt.join("\n").contains("semente 777"));
    }

    #[test]
    fn each_condition_has_its_sentence() {
        let mut given = MarketParams::new(OPEN_TOP, Households::Total(10_000), 5);
        given.capture_share = Some(0.2);
        let est = estimate_market(&sample(), &given).expect("estimate");
        assert!(english(&est).contains("20.0%") && english(&est).contains("set by the analyst"));

        let few = estimate_market(
            &sample()[..3],
            &MarketParams::new(OPEN_TOP, per_bairro(), 1),
        )
        .expect("estimate");
        assert!(english(&few).contains("no spend, market or potential"));

        let mut data = sample();
        data[15].intent = Some(0);
        data[14].intent = Some(7);
        let est = estimate_market(&data, &MarketParams::new(OPEN_TOP, per_bairro(), 1))
            .expect("estimate");
        assert!(english(&est).contains("outside 1–5"));

        let mut data = sample();
        data.extend((0..5).map(|_| {
            let mut r = sample()[6].clone();
            r.bairro = Some("Distrito".into());
            r
        }));
        let est = estimate_market(&data, &MarketParams::new(OPEN_TOP, per_bairro(), 1))
            .expect("estimate");
        assert!(english(&est).contains("(Distrito)"));
    }
}
