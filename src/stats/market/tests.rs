//! Tests of the market estimate on a small data set whose expected figures
//! were computed by hand (derivations in the comments).

use super::*;

pub(crate) const OPEN_TOP: f64 = 3000.0;
const TOL: f64 = 1e-6;

// Spend bands in reais (monthly supermarket spend):
// B1 "até 500"          lower 0,    mid 250,  upper 500
// B2 "500 a 1.000"      lower 500,  mid 750,  upper 1000
// B3 "1.000 a 1.500"    lower 1000, mid 1250, upper 1500
// B4 "1.500 a 2.500"    lower 1500, mid 2000, upper 2500
// B5 "acima de 2.500"   lower 2500, mid 3000, upper 3000 (open top = 3000)
fn band(k: u8) -> Option<Band> {
    match k {
        1 => Some(Band::new(None, Some(500.0))),
        2 => Some(Band::new(Some(500.0), Some(1000.0))),
        3 => Some(Band::new(Some(1000.0), Some(1500.0))),
        4 => Some(Band::new(Some(1500.0), Some(2500.0))),
        5 => Some(Band::new(Some(2500.0), None)),
        _ => None, // "prefiro não informar"
    }
}

fn resp(
    bairro: Option<&str>,
    spend: u8,
    class: Option<IncomeClass>,
    intent: Option<u8>,
) -> Respondent {
    Respondent {
        spend: band(spend),
        income_class: class,
        bairro: bairro.map(str::to_string),
        intent,
    }
}

use IncomeClass::{B, C, D, E};

/// 16 respondents:
///
/// | #  | bairro    | band | class | intent |
/// |----|-----------|------|-------|--------|
/// | 1  | Centro    | B2   | D     | 5 |
/// | 2  | Centro    | B2   | D     | 4 |
/// | 3  | Centro    | B3   | C     | 3 |
/// | 4  | Centro    | B3   | C     | 5 |
/// | 5  | Centro    | B4   | C     | 3 |
/// | 6  | Centro    | none | C     | 5 |
/// | 7  | Jardim    | B3   | C     | 4 |
/// | 8  | Jardim    | B4   | C     | 5 |
/// | 9  | Jardim    | B4   | B     | 3 |
/// | 10 | Jardim    | B5   | B     | 5 |
/// | 11 | Jardim    | B5   | none  | 2 |
/// | 12 | Vila Nova | B1   | E     | 1 |
/// | 13 | Vila Nova | B2   | D     | 4 |
/// | 14 | none      | B1   | D     | 2 |
/// | 15 | none      | B3   | D     | 3 |
/// | 16 | none      | B5   | C     | none |
pub(crate) fn sample() -> Vec<Respondent> {
    vec![
        resp(Some("Centro"), 2, Some(D), Some(5)),
        resp(Some("Centro"), 2, Some(D), Some(4)),
        resp(Some("Centro"), 3, Some(C), Some(3)),
        resp(Some("Centro"), 3, Some(C), Some(5)),
        resp(Some("Centro"), 4, Some(C), Some(3)),
        resp(Some("Centro"), 0, Some(C), Some(5)),
        resp(Some("Jardim"), 3, Some(C), Some(4)),
        resp(Some("Jardim"), 4, Some(C), Some(5)),
        resp(Some("Jardim"), 4, Some(B), Some(3)),
        resp(Some("Jardim"), 5, Some(B), Some(5)),
        resp(Some("Jardim"), 5, None, Some(2)),
        resp(Some("Vila Nova"), 1, Some(E), Some(1)),
        resp(Some("Vila Nova"), 2, Some(D), Some(4)),
        resp(None, 1, Some(D), Some(2)),
        resp(None, 3, Some(D), Some(3)),
        resp(None, 5, Some(C), None),
    ]
}

pub(crate) fn per_bairro() -> Households {
    Households::PerBairro(BTreeMap::from([
        ("Centro".to_string(), 1000),
        ("Jardim".to_string(), 500),
        ("Vila Nova".to_string(), 200),
        ("Boa Vista".to_string(), 300),
    ]))
}

fn group<'a>(rows: &'a [GroupSpend], name: &str) -> &'a GroupResult {
    &rows.iter().find(|g| g.group == name).unwrap().result
}

fn reported_mean(r: &GroupResult) -> f64 {
    match r {
        GroupResult::Reported { mean, n, ci95 } => {
            assert!(ci95.0 <= *mean && *mean <= ci95.1, "{ci95:?} vs {mean}");
            assert!(*n >= DEFAULT_MIN_CELL);
            *mean
        }
        GroupResult::Suppressed => panic!("expected a reported group"),
    }
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= TOL * b.abs().max(1.0)
}

// Hand computation (Mid; Lower and Upper in brackets):
// Centro with spend: B2 B2 B3 B3 B4 → 750+750+1250+1250+2000 = 6000/5 = 1200
//   [500+500+1000+1000+1500 = 4500/5 = 900; 1000+1000+1500+1500+2500 = 7500/5 = 1500]
// Jardim: B3 B4 B4 B5 B5 → 1250+2000+2000+3000+3000 = 11250/5 = 2250 [1800; 2500]
// Vila Nova: 2 respondents → suppressed (below 5); Boa Vista: 0 → suppressed.
// No bairro: B1 B3 B5 → 250+1250+3000 = 4500 [3500; 5000].
// Hidden in the bairro breakdown: 0 + 2 + 3 = 5 ≥ 5, so no complementary
// suppression.
// Overall (15 with spend): (6000+11250+1000+4500)/15 = 22750/15 = 1516.6667
//   [(4500+9000+500+3500)/15 = 1166.6667; (7500+12500+1500+5000)/15 = 1766.6667]
// Market = 1200·1000 + 2250·500 + 1516.6667·(200+300) = 3 083 333.33
//   [900·1000 + 1800·500 + 1166.6667·500 = 2 383 333.33;
//    1500·1000 + 2500·500 + 1766.6667·500 = 3 633 333.33]
// Intent (15 answers): five 5s, three 4s, four 3s, two 2s, one 1:
//   (5·0.75 + 3·0.35 + 4·0.10 + 2·0.02 + 0)/15 = 5.24/15 = 0.349333
// Potential = market × 5.24/15 = 1 077 111.11 [832 577.78; 1 269 244.44]
#[test]
fn per_bairro_market_with_suppression_and_fallback() {
    let params = MarketParams::new(OPEN_TOP, per_bairro(), 20240601);
    let est = estimate_market(&sample(), &params).unwrap();

    assert_eq!(
        est.coverage,
        Coverage {
            respondents: 16,
            with_spend: 15,
            without_spend: 1,
            with_intent: 15,
            invalid_intent: 0,
        }
    );
    assert_eq!(est.capture.source, CaptureSource::PurchaseIntent);
    assert!(close(est.capture.share.unwrap(), 5.24 / 15.0));

    let expected = [
        // (scenario, overall, Centro, Jardim, market, potential)
        (
            Scenario::Lower,
            17500.0 / 15.0,
            900.0,
            1800.0,
            2_383_333.333_333,
            832_577.777_778,
        ),
        (
            Scenario::Mid,
            22750.0 / 15.0,
            1200.0,
            2250.0,
            3_083_333.333_333,
            1_077_111.111_111,
        ),
        (
            Scenario::Upper,
            26500.0 / 15.0,
            1500.0,
            2500.0,
            3_633_333.333_333,
            1_269_244.444_444,
        ),
    ];
    assert_eq!(est.scenarios.len(), 3);
    for (scenario, overall, centro, jardim, market, potential) in expected {
        let s = est.scenario(scenario).unwrap();
        assert!(
            close(reported_mean(&s.overall.result), overall),
            "{scenario:?}"
        );
        assert!(close(reported_mean(group(&s.by_bairro, "Centro")), centro));
        assert!(close(reported_mean(group(&s.by_bairro, "Jardim")), jardim));
        assert_eq!(group(&s.by_bairro, "Vila Nova"), &GroupResult::Suppressed);
        assert_eq!(group(&s.by_bairro, "Boa Vista"), &GroupResult::Suppressed);
        assert!(
            close(s.market_monthly.unwrap(), market),
            "{:?}",
            s.market_monthly
        );
        assert!(close(s.potential_monthly.unwrap(), potential));

        // The market lines: own means for Centro/Jardim, overall elsewhere.
        let lines: Vec<(&str, MeanSource)> = s
            .bairro_markets
            .iter()
            .map(|b| (b.bairro.as_str(), b.mean_source))
            .collect();
        assert_eq!(
            lines,
            [
                ("Boa Vista", MeanSource::OverallFallback),
                ("Centro", MeanSource::Bairro),
                ("Jardim", MeanSource::Bairro),
                ("Vila Nova", MeanSource::OverallFallback),
            ]
        );
        let sum: f64 = s.bairro_markets.iter().map(|b| b.market_monthly).sum();
        assert!(close(sum, market));
    }
    // Sensitivity is ordered.
    let m = |sc| est.scenario(sc).unwrap().market_monthly.unwrap();
    assert!(m(Scenario::Lower) < m(Scenario::Mid) && m(Scenario::Mid) < m(Scenario::Upper));
}

// Income classes with spend: A 0, B 2 (#9, #10), C 6 (#3 #4 #5 #7 #8 #16),
// D 5 (#1 #2 #13 #14 #15), E 1 (#12), no class 1 (#11).
// Primary suppression: A, B, E. Hidden = 0 + 2 + 1 + 1 (no class) = 4, which
// is between 1 and 4, so the smallest reported class, D (5), is suppressed
// too (hidden becomes 9). C stays:
// Mid 1250+1250+2000+1250+2000+3000 = 10750/6 = 1791.6667,
// Lower 1000+1000+1500+1000+1500+2500 = 8500/6 = 1416.6667,
// Upper 1500+1500+2500+1500+2500+3000 = 12500/6 = 2083.3333.
#[test]
fn income_classes_with_complementary_suppression() {
    let params = MarketParams::new(OPEN_TOP, per_bairro(), 1);
    let est = estimate_market(&sample(), &params).unwrap();
    for (scenario, c_mean) in [
        (Scenario::Lower, 8500.0 / 6.0),
        (Scenario::Mid, 10750.0 / 6.0),
        (Scenario::Upper, 12500.0 / 6.0),
    ] {
        let s = est.scenario(scenario).unwrap();
        let names: Vec<&str> = s.by_income_class.iter().map(|g| g.group.as_str()).collect();
        assert_eq!(names, ["A", "B", "C", "D", "E"]);
        assert!(close(reported_mean(group(&s.by_income_class, "C")), c_mean));
        for class in ["A", "B", "D", "E"] {
            assert_eq!(group(&s.by_income_class, class), &GroupResult::Suppressed);
        }
    }
}

// Total households 10 000 and an analyst's capture share of 20%:
// market = 1516.6667 × 10 000 = 15 166 666.67, potential = 3 033 333.33.
#[test]
fn total_households_and_given_capture_share() {
    let mut params = MarketParams::new(OPEN_TOP, Households::Total(10_000), 5);
    params.capture_share = Some(0.2);
    let est = estimate_market(&sample(), &params).unwrap();
    assert_eq!(est.capture.source, CaptureSource::Given);
    assert_eq!(est.capture.share, Some(0.2));
    let mid = est.scenario(Scenario::Mid).unwrap();
    assert!(close(mid.market_monthly.unwrap(), 15_166_666.666_667));
    assert!(close(mid.potential_monthly.unwrap(), 3_033_333.333_333));
    assert!(mid.bairro_markets.is_empty());
    // Without a household list the bairros shown are those of respondents.
    let names: Vec<&str> = mid.by_bairro.iter().map(|g| g.group.as_str()).collect();
    assert_eq!(names, ["Centro", "Jardim", "Vila Nova"]);
    assert_eq!(est.basis.params.capture_share, Some(0.2));
}

#[test]
fn reproducible_with_seed_and_seed_matters() {
    let params = MarketParams::new(OPEN_TOP, per_bairro(), 99);
    let a = estimate_market(&sample(), &params).unwrap();
    let b = estimate_market(&sample(), &params).unwrap();
    assert_eq!(a, b);

    let other = MarketParams::new(OPEN_TOP, per_bairro(), 100);
    let c = estimate_market(&sample(), &other).unwrap();
    let ci = |e: &MarketEstimate| match &e.scenarios[1].overall.result {
        GroupResult::Reported { ci95, .. } => *ci95,
        GroupResult::Suppressed => panic!("overall should be reported"),
    };
    assert_ne!(ci(&a), ci(&c));
    // Point estimates do not depend on the seed.
    assert_eq!(a.scenarios[1].market_monthly, c.scenarios[1].market_monthly);
}

#[test]
fn too_few_respondents_reports_nothing() {
    let few = sample().into_iter().take(3).collect::<Vec<_>>();
    let est = estimate_market(
        &few,
        &MarketParams::new(OPEN_TOP, Households::Total(100), 1),
    )
    .unwrap();
    for s in &est.scenarios {
        assert_eq!(s.overall.result, GroupResult::Suppressed);
        assert!(
            s.by_bairro
                .iter()
                .all(|g| g.result == GroupResult::Suppressed)
        );
        assert!(
            s.by_income_class
                .iter()
                .all(|g| g.result == GroupResult::Suppressed)
        );
        assert_eq!(s.market_monthly, None);
        assert_eq!(s.potential_monthly, None);
    }
    // 3 intent answers < 5: the derived share is withheld too.
    assert_eq!(est.capture.share, None);
    assert!(!est.basis.overall_reported);
}

#[test]
fn empty_input_does_not_panic() {
    let est = estimate_market(&[], &MarketParams::new(OPEN_TOP, per_bairro(), 1)).unwrap();
    assert_eq!(est.coverage.respondents, 0);
    assert_eq!(est.capture.share, None);
    assert!(est.scenarios.iter().all(|s| s.market_monthly.is_none()));
}

#[test]
fn min_cell_zero_is_treated_as_one() {
    let mut params = MarketParams::new(OPEN_TOP, per_bairro(), 1);
    params.min_cell = 0;
    let est = estimate_market(&sample(), &params).unwrap();
    let mid = est.scenario(Scenario::Mid).unwrap();
    // Vila Nova (2 respondents) is now shown: (250 + 750)/2 = 500 …
    assert!(
        matches!(group(&mid.by_bairro, "Vila Nova"), GroupResult::Reported { mean, .. } if close(*mean, 500.0))
    );
    // … but a bairro without respondents still has no figures.
    assert_eq!(group(&mid.by_bairro, "Boa Vista"), &GroupResult::Suppressed);
}

#[test]
fn invalid_intents_are_counted_and_ignored() {
    let mut data = sample();
    data[15].intent = Some(0);
    data[14].intent = Some(7);
    let est = estimate_market(&data, &MarketParams::new(OPEN_TOP, per_bairro(), 1)).unwrap();
    assert_eq!(est.coverage.invalid_intent, 2);
    // #15's 3 (weight 0.10) is gone: (5.24 - 0.10)/14.
    assert_eq!(est.coverage.with_intent, 14);
    assert!(close(est.capture.share.unwrap(), 5.14 / 14.0));
}

#[test]
fn bairro_outside_household_list_is_noted() {
    let mut data = sample();
    data.extend((0..5).map(|_| resp(Some("Distrito"), 2, Some(C), Some(3))));
    let est = estimate_market(&data, &MarketParams::new(OPEN_TOP, per_bairro(), 1)).unwrap();
    let mid = est.scenario(Scenario::Mid).unwrap();
    // Distrito is shown in the table but is not a market line.
    assert!(matches!(
        group(&mid.by_bairro, "Distrito"),
        GroupResult::Reported { .. }
    ));
    assert!(mid.bairro_markets.iter().all(|b| b.bairro != "Distrito"));
    assert_eq!(est.basis.bairros_without_households, ["Distrito"]);
}

#[test]
fn parameter_errors() {
    let data = sample();
    let base = MarketParams::new(OPEN_TOP, Households::Total(1), 1);
    let with = |f: &dyn Fn(&mut MarketParams)| {
        let mut p = base.clone();
        f(&mut p);
        estimate_market(&data, &p)
    };
    assert!(matches!(
        with(&|p| p.open_top = f64::NAN),
        Err(MarketError::InvalidOpenTop(_))
    ));
    assert!(matches!(
        with(&|p| p.open_top = -1.0),
        Err(MarketError::InvalidOpenTop(_))
    ));
    assert_eq!(
        with(&|p| p.open_top = 2000.0),
        Err(MarketError::OpenTopBelowBand {
            open_top: 2000.0,
            lower: 2500.0
        })
    );
    assert!(matches!(
        with(&|p| p.capture_share = Some(1.5)),
        Err(MarketError::InvalidCaptureShare(_))
    ));
    assert!(matches!(
        with(&|p| p.capture_share = Some(f64::NAN)),
        Err(MarketError::InvalidCaptureShare(_))
    ));
    assert!(matches!(
        with(&|p| p.intent_weights.talvez = f64::NAN),
        Err(MarketError::InvalidIntentWeight {
            answer: "talvez",
            ..
        })
    ));
    assert_eq!(with(&|p| p.resamples = 0), Err(MarketError::ZeroResamples));
}

#[test]
fn json_shape() {
    let est = estimate_market(&sample(), &MarketParams::new(OPEN_TOP, per_bairro(), 1)).unwrap();
    let v = serde_json::to_value(&est).unwrap();
    let mid = &v["scenarios"][1];
    assert_eq!(mid["scenario"], "mid");
    let rows = mid["by_bairro"].as_array().unwrap();
    let vila = rows.iter().find(|r| r["group"] == "Vila Nova").unwrap();
    // A suppressed group carries no numbers at all, not even its count.
    assert_eq!(
        vila,
        &serde_json::json!({"group": "Vila Nova", "status": "suppressed"})
    );
    let centro = rows.iter().find(|r| r["group"] == "Centro").unwrap();
    assert_eq!(centro["status"], "reported");
    assert_eq!(centro["n"], 5);
    assert!(centro["ci95"].as_array().unwrap().len() == 2);
    assert_eq!(v["capture"]["source"], "purchase_intent");
}

#[test]
fn suppression_rule() {
    let counts = |pairs: &[(&str, usize)]| -> BTreeMap<String, usize> {
        pairs.iter().map(|&(k, n)| (k.to_string(), n)).collect()
    };
    let set = |keys: &[&str]| -> BTreeSet<String> { keys.iter().map(|k| k.to_string()).collect() };
    // Z alone (2 hidden) could be recovered: X, the smallest other, goes too.
    assert_eq!(
        suppressed_groups(&counts(&[("X", 5), ("Y", 6), ("Z", 2)]), 0, 5),
        set(&["X", "Z"])
    );
    // 3 respondents outside the breakdown make the hidden pool 5: enough.
    assert_eq!(
        suppressed_groups(&counts(&[("X", 5), ("Y", 6), ("Z", 2)]), 3, 5),
        set(&["Z"])
    );
    // One respondent outside any group is protected by suppressing the smallest.
    assert_eq!(
        suppressed_groups(&counts(&[("X", 7), ("Y", 6)]), 1, 5),
        set(&["Y"])
    );
    // Nothing small, nothing hidden: nothing suppressed.
    assert_eq!(
        suppressed_groups(&counts(&[("X", 7), ("Y", 6)]), 0, 5),
        set(&[])
    );
    // Ties broken by name.
    assert_eq!(
        suppressed_groups(&counts(&[("X", 6), ("Y", 6), ("Z", 1)]), 0, 5),
        set(&["X", "Z"])
    );
    // Everything small: all suppressed, no endless loop.
    assert_eq!(
        suppressed_groups(&counts(&[("X", 1), ("Y", 1)]), 0, 5),
        set(&["X", "Y"])
    );
}

#[test]
fn exact_values_as_point_bands() {
    // Point values give the same figures in every scenario.
    let data: Vec<Respondent> = [100.0, 200.0, 300.0, 400.0, 500.0]
        .iter()
        .map(|&x| Respondent {
            spend: Some(Band::new(Some(x), Some(x))),
            income_class: None,
            bairro: None,
            intent: Some(5),
        })
        .collect();
    let mut params = MarketParams::new(OPEN_TOP, Households::Total(10), 1);
    params.resamples = 200;
    let est = estimate_market(&data, &params).unwrap();
    for s in &est.scenarios {
        // mean 300 × 10 households = 3000; capture 0.75 → 2250.
        assert!(close(s.market_monthly.unwrap(), 3000.0));
        assert!(close(s.potential_monthly.unwrap(), 2250.0));
    }
}

#[test]
fn garbage_input_never_panics() {
    use rand::{Rng, SeedableRng};
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(3);
    let odd = [
        f64::NAN,
        f64::INFINITY,
        -1.0,
        0.0,
        500.0,
        2500.0,
        1e300,
        f64::MAX,
    ];
    let pick = |rng: &mut rand_chacha::ChaCha8Rng| -> Option<f64> {
        let i = rng.random_range(0..=odd.len());
        odd.get(i).copied()
    };
    for round in 0..200 {
        let n = rng.random_range(0..30);
        let data: Vec<Respondent> = (0..n)
            .map(|_| Respondent {
                spend: rng
                    .random_bool(0.9)
                    .then(|| Band::new(pick(&mut rng), pick(&mut rng))),
                income_class: IncomeClass::ALL.get(rng.random_range(0..6)).copied(),
                bairro: rng
                    .random_bool(0.8)
                    .then(|| ["a", "b", ""][rng.random_range(0..3)].to_string()),
                intent: rng.random_bool(0.9).then(|| rng.random_range(0..8)),
            })
            .collect();
        let mut params = MarketParams::new(f64::MAX, per_bairro(), round);
        params.resamples = 50;
        params.min_cell = rng.random_range(0..4);
        let est = estimate_market(&data, &params).unwrap();
        for s in &est.scenarios {
            for g in std::iter::once(&s.overall)
                .chain(&s.by_bairro)
                .chain(&s.by_income_class)
            {
                if let GroupResult::Reported { mean, ci95, .. } = g.result {
                    assert!(mean.is_finite() && ci95.0.is_finite() && ci95.1.is_finite());
                }
            }
            assert!(s.market_monthly.is_none_or(f64::is_finite));
            assert!(s.potential_monthly.is_none_or(f64::is_finite));
        }
        serde_json::to_string(&est).unwrap();
    }
}

#[test]
fn market_and_potential_intervals() {
    // One households total: the market's interval is the mean's interval × households
    // (same resamples), and a given share scales it exactly.
    let mut params = MarketParams::new(OPEN_TOP, Households::Total(10_000), 5);
    params.capture_share = Some(0.2);
    let est = estimate_market(&sample(), &params).unwrap();
    for s in &est.scenarios {
        let GroupResult::Reported { ci95, .. } = s.overall.result else {
            panic!("overall reported")
        };
        let (lo, hi) = s.market_ci95.unwrap();
        assert!(close(lo, ci95.0 * 10_000.0) && close(hi, ci95.1 * 10_000.0));
        let (plo, phi) = s.potential_ci95.unwrap();
        assert!(close(plo, lo * 0.2) && close(phi, hi * 0.2));
    }
    // Intent-derived share, households per bairro: both intervals contain their point
    // and the potential's is relatively wider than the market's (the share varies too).
    let est = estimate_market(&sample(), &MarketParams::new(OPEN_TOP, per_bairro(), 5)).unwrap();
    let mid = est.scenario(Scenario::Mid).unwrap();
    let m = mid.market_monthly.unwrap();
    let (lo, hi) = mid.market_ci95.unwrap();
    assert!(lo < m && m < hi, "{lo} {m} {hi}");
    let p = mid.potential_monthly.unwrap();
    let (plo, phi) = mid.potential_ci95.unwrap();
    assert!(plo < p && p < phi, "{plo} {p} {phi}");
    assert!((phi - plo) / p > (hi - lo) / m);
    // No market, no intervals.
    let est = estimate_market(
        &sample()[..3],
        &MarketParams::new(OPEN_TOP, per_bairro(), 5),
    )
    .unwrap();
    assert!(
        est.scenarios
            .iter()
            .all(|s| s.market_ci95.is_none() && s.potential_ci95.is_none())
    );
}
