//! Census margins for raking: IBGE's Censo 2022 "Agregados por Setores Censitários"
//! files read and summed per bairro through a `setor;bairro` mapping.
//!
//! The files (https://ftp.ibge.gov.br/Censos/Censo_Demografico_2022/Agregados_por_Setores_Censitarios/,
//! docs/census.md) are `;`-separated, Latin-1 text, one line per setor keyed by
//! `CD_SETOR` (15 digits), with the variables of IBGE's data dictionary:
//! - básico: `V0001` persons, `V0007` occupied permanent private households (domicílios
//!   particulares permanentes ocupados, the households a household survey samples);
//! - demografia: `V01006` persons, `V01007` men, `V01008` women, `V01009`–`V01019` men
//!   and `V01020`–`V01030` women in the age groups 0–4, 5–9, 10–14, 15–19, 20–24,
//!   25–29, 30–39, 40–49, 50–59, 60–69, 70 or more.
//!
//! Column names are matched without regard to case (IBGE's releases differ). A value
//! IBGE suppresses for confidentiality is written `X`: such a setor is left out and
//! reported, never counted as 0 silently.
//!
//! Pure parsing and summing: no I/O here, so every rule is unit-tested; the caller
//! (`pesquisa census import`) reads the files and stores the margins. [`weighting`] turns
//! stored margins and the responses into raking margins.

pub mod weighting;

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

/// Age groups of the demografia file, in column order.
pub const IBGE_AGE_GROUPS: [&str; 11] = [
    "0-4", "5-9", "10-14", "15-19", "20-24", "25-29", "30-39", "40-49", "50-59", "60-69", "70+",
];

/// The adult age bands of the margins (the survey is for people aged 18 or over).
pub const ADULT_BANDS: [&str; 5] = ["18-29", "30-39", "40-49", "50-59", "60+"];

/// Share of the 15–19 group aged 18 or 19, assuming ages spread evenly within the group
/// (2 of its 5 single years); IBGE publishes no single years per setor.
pub const SHARE_18_19_OF_15_19: f64 = 2.0 / 5.0;

/// A problem in a census or mapping file, naming the file and the line.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{file}, line {line}: {reason}")]
pub struct CensusError {
    pub file: String,
    /// 1-based; 1 is the header.
    pub line: usize,
    pub reason: String,
}

/// A setor code: 15 digits (UF 2, município 5, distrito 2, subdistrito 2, setor 4).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct SetorCode(String);

impl SetorCode {
    /// The code if `s` is 15 ASCII digits (surrounding spaces and quotes ignored).
    pub fn parse(s: &str) -> Option<SetorCode> {
        let s = s.trim().trim_matches('"').trim();
        (s.len() == 15 && s.bytes().all(|b| b.is_ascii_digit())).then(|| SetorCode(s.into()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A file's text: UTF-8 when it is (a BOM dropped), else Latin-1, IBGE's encoding.
pub fn decode(bytes: &[u8]) -> String {
    match std::str::from_utf8(bytes) {
        Ok(s) => s.strip_prefix('\u{feff}').unwrap_or(s).to_string(),
        Err(_) => bytes.iter().map(|&b| char::from(b)).collect(),
    }
}

/// A `;`-separated table: the header's column positions and the data lines.
struct Table<'a> {
    file: &'a str,
    columns: BTreeMap<String, usize>,
    lines: Vec<(usize, Vec<&'a str>)>,
}

impl<'a> Table<'a> {
    fn parse(file: &'a str, text: &'a str) -> Result<Table<'a>, CensusError> {
        let mut lines = text
            .lines()
            .enumerate()
            .map(|(i, l)| (i.saturating_add(1), l))
            .filter(|(_, l)| !l.trim().is_empty() && !l.starts_with('#'));
        let Some((_, header)) = lines.next() else {
            return Err(CensusError {
                file: file.into(),
                line: 1,
                reason: "empty file".into(),
            });
        };
        let columns = header
            .split(';')
            .enumerate()
            .map(|(i, c)| (c.trim().trim_matches('"').to_ascii_uppercase(), i))
            .collect();
        Ok(Table {
            file,
            columns,
            lines: lines.map(|(n, l)| (n, l.split(';').collect())).collect(),
        })
    }

    fn error(&self, line: usize, reason: impl Into<String>) -> CensusError {
        CensusError {
            file: self.file.into(),
            line,
            reason: reason.into(),
        }
    }

    fn column(&self, name: &str) -> Result<usize, CensusError> {
        self.columns.get(name).copied().ok_or_else(|| {
            self.error(
                1,
                format!("no column {name} (see IBGE's data dictionary for this file)"),
            )
        })
    }

    fn code(&self, line: usize, fields: &[&str], at: usize) -> Result<SetorCode, CensusError> {
        let raw = fields.get(at).copied().unwrap_or("");
        SetorCode::parse(raw).ok_or_else(|| {
            self.error(
                line,
                format!("`{}` is not a setor code (15 digits)", raw.trim()),
            )
        })
    }

    /// A count; `Ok(None)` for IBGE's `X` (suppressed).
    fn count(
        &self,
        line: usize,
        fields: &[&str],
        at: usize,
        name: &str,
    ) -> Result<Option<u64>, CensusError> {
        let raw = fields
            .get(at)
            .copied()
            .unwrap_or("")
            .trim()
            .trim_matches('"');
        if raw.eq_ignore_ascii_case("x") {
            return Ok(None);
        }
        raw.parse::<u64>()
            .map(Some)
            .map_err(|_| self.error(line, format!("{name}: `{raw}` is not a whole number")))
    }
}

/// Households and persons of one setor (básico file).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Basico {
    pub persons: u64,
    pub households: u64,
}

/// Persons by sex and age group of one setor (demografia file).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SexAge {
    /// Its line in the file, for errors found when summing.
    pub line: usize,
    pub persons: u64,
    pub men: [u64; 11],
    pub women: [u64; 11],
}

/// A parsed census file: the setores read, and those IBGE suppressed (`X`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Parsed<T> {
    pub setores: BTreeMap<SetorCode, T>,
    pub suppressed: BTreeSet<SetorCode>,
}

fn repeated(t: &Table<'_>, line: usize, code: &SetorCode) -> CensusError {
    t.error(line, format!("setor {} appears twice", code.as_str()))
}

/// Reads the básico file (`CD_SETOR`, `V0001`, `V0007`).
pub fn parse_basico(file: &str, text: &str) -> Result<Parsed<Basico>, CensusError> {
    let t = Table::parse(file, text)?;
    let (code_at, persons_at, households_at) = (
        t.column("CD_SETOR")?,
        t.column("V0001")?,
        t.column("V0007")?,
    );
    let mut out = Parsed {
        setores: BTreeMap::new(),
        suppressed: BTreeSet::new(),
    };
    for (line, fields) in &t.lines {
        let code = t.code(*line, fields, code_at)?;
        let persons = t.count(*line, fields, persons_at, "V0001")?;
        let households = t.count(*line, fields, households_at, "V0007")?;
        if out.setores.contains_key(&code) || out.suppressed.contains(&code) {
            return Err(repeated(&t, *line, &code));
        }
        match (persons, households) {
            (Some(persons), Some(households)) => {
                if households > persons {
                    return Err(t.error(
                        *line,
                        format!(
                            "setor {}: {households} occupied households (V0007) but only \
                             {persons} persons (V0001)",
                            code.as_str()
                        ),
                    ));
                }
                out.setores.insert(
                    code,
                    Basico {
                        persons,
                        households,
                    },
                );
            }
            _ => {
                out.suppressed.insert(code);
            }
        }
    }
    Ok(out)
}

/// Reads the demografia file (`CD_SETOR`, `V01006`–`V01030`), refusing a line whose
/// men and women do not add up to its persons or whose age groups do not add up to
/// its men or women.
pub fn parse_sexo_idade(file: &str, text: &str) -> Result<Parsed<SexAge>, CensusError> {
    let t = Table::parse(file, text)?;
    let code_at = t.column("CD_SETOR")?;
    let var = |n: u32| format!("V{n:05}");
    let mut at = Vec::new();
    for n in 1006..=1030 {
        at.push((var(n), t.column(&var(n))?));
    }
    let mut out = Parsed {
        setores: BTreeMap::new(),
        suppressed: BTreeSet::new(),
    };
    for (line, fields) in &t.lines {
        let code = t.code(*line, fields, code_at)?;
        if out.setores.contains_key(&code) || out.suppressed.contains(&code) {
            return Err(repeated(&t, *line, &code));
        }
        let mut values = Vec::with_capacity(at.len());
        for (name, i) in &at {
            values.push(t.count(*line, fields, *i, name)?);
        }
        let Some(values) = values.into_iter().collect::<Option<Vec<u64>>>() else {
            out.suppressed.insert(code);
            continue;
        };
        let (head, bands) = values.split_at(3);
        let (men_bands, women_bands) = bands.split_at(11);
        let [persons, men, women] = [0, 1, 2].map(|i| head.get(i).copied().unwrap_or(0));
        let sum = |v: &[u64]| v.iter().fold(0u64, |a, b| a.saturating_add(*b));
        let check = |what: &str, total: u64, parts: u64| {
            if total == parts {
                Ok(())
            } else {
                Err(t.error(
                    *line,
                    format!(
                        "setor {}: {what} is {total} but its parts add up to {parts}",
                        code.as_str()
                    ),
                ))
            }
        };
        check("V01006 (persons)", persons, men.saturating_add(women))?;
        check("V01007 (men)", men, sum(men_bands))?;
        check("V01008 (women)", women, sum(women_bands))?;
        let mut m = [0u64; 11];
        let mut w = [0u64; 11];
        m.iter_mut().zip(men_bands).for_each(|(a, b)| *a = *b);
        w.iter_mut().zip(women_bands).for_each(|(a, b)| *a = *b);
        out.setores.insert(
            code,
            SexAge {
                line: *line,
                persons,
                men: m,
                women: w,
            },
        );
    }
    Ok(out)
}

/// Reads a `setor;bairro` mapping (a header line first). Bairro names are kept as
/// written, trimmed.
pub fn parse_mapping(file: &str, text: &str) -> Result<BTreeMap<SetorCode, String>, CensusError> {
    let t = Table::parse(file, text)?;
    let code_at = t.column("SETOR").or_else(|_| t.column("CD_SETOR"))?;
    let bairro_at = t.column("BAIRRO")?;
    let mut out = BTreeMap::new();
    for (line, fields) in &t.lines {
        let code = t.code(*line, fields, code_at)?;
        let bairro = fields
            .get(bairro_at)
            .copied()
            .unwrap_or("")
            .trim()
            .trim_matches('"');
        if bairro.is_empty() {
            return Err(t.error(*line, format!("setor {}: no bairro", code.as_str())));
        }
        if let Some(before) = out.insert(code.clone(), bairro.to_string()) {
            return Err(t.error(
                *line,
                format!(
                    "setor {} mapped twice (to `{before}` and `{bairro}`)",
                    code.as_str()
                ),
            ));
        }
    }
    Ok(out)
}

/// The margins of one bairro.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BairroMargins {
    pub households: u64,
    /// Persons aged 18 or over: `(sex, band, persons)`, sex `feminino` or `masculino`,
    /// bands [`ADULT_BANDS`]; 18–29 includes [`SHARE_18_19_OF_15_19`] of the 15–19 group.
    pub adults: Vec<(String, String, f64)>,
}

/// Margins per bairro and what was left out.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Margins {
    pub bairros: BTreeMap<String, BairroMargins>,
    /// Setores of the census files that the mapping does not name (outside the study
    /// area, or missing from the mapping: the report lists them).
    pub unmapped: Vec<SetorCode>,
    /// Mapped setores IBGE suppressed (`X`) in either file, left out of the margins.
    pub suppressed: Vec<SetorCode>,
    /// Mapped setores absent from a census file.
    pub missing: Vec<SetorCode>,
}

/// Adults 18+ of one sex by [`ADULT_BANDS`], from the 11 IBGE groups.
fn adult_bands(groups: &[u64; 11]) -> [f64; 5] {
    let g = |i: usize| groups.get(i).copied().unwrap_or(0) as f64;
    [
        g(3) * SHARE_18_19_OF_15_19 + g(4) + g(5),
        g(6),
        g(7),
        g(8),
        g(9) + g(10),
    ]
}

/// Sums the setores of each bairro. `sexo_idade_file` names the demografia file in an
/// error: a setor whose persons differ between the two files is refused.
pub fn margins(
    basico: &Parsed<Basico>,
    sexo_idade: &Parsed<SexAge>,
    mapping: &BTreeMap<SetorCode, String>,
    sexo_idade_file: &str,
) -> Result<Margins, CensusError> {
    let mut bairros: BTreeMap<String, BairroMargins> = BTreeMap::new();
    let mut suppressed = Vec::new();
    let mut missing = Vec::new();
    let mut adults: BTreeMap<String, [[f64; 5]; 2]> = BTreeMap::new();
    for (code, bairro) in mapping {
        if basico.suppressed.contains(code) || sexo_idade.suppressed.contains(code) {
            suppressed.push(code.clone());
            continue;
        }
        let (Some(b), Some(s)) = (basico.setores.get(code), sexo_idade.setores.get(code)) else {
            missing.push(code.clone());
            continue;
        };
        if b.persons != s.persons {
            return Err(CensusError {
                file: sexo_idade_file.into(),
                line: s.line,
                reason: format!(
                    "setor {}: {} persons (V01006) against {} in the básico file (V0001)",
                    code.as_str(),
                    s.persons,
                    b.persons
                ),
            });
        }
        let entry = bairros.entry(bairro.clone()).or_insert(BairroMargins {
            households: 0,
            adults: Vec::new(),
        });
        entry.households = entry.households.saturating_add(b.households);
        let sums = adults.entry(bairro.clone()).or_insert([[0.0; 5]; 2]);
        for (sum, groups) in sums.iter_mut().zip([&s.women, &s.men]) {
            for (a, v) in sum.iter_mut().zip(adult_bands(groups)) {
                *a += v;
            }
        }
    }
    for (bairro, sums) in adults {
        if let Some(entry) = bairros.get_mut(&bairro) {
            for (sex, bands) in ["feminino", "masculino"].iter().zip(sums) {
                for (band, v) in ADULT_BANDS.iter().zip(bands) {
                    entry.adults.push(((*sex).into(), (*band).into(), v));
                }
            }
        }
    }
    let unmapped = basico
        .setores
        .keys()
        .chain(&basico.suppressed)
        .chain(sexo_idade.setores.keys())
        .filter(|c| !mapping.contains_key(*c))
        .cloned()
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    Ok(Margins {
        bairros,
        unmapped,
        suppressed,
        missing,
    })
}

/// The illustrative files shipped in the binary (invented numbers in IBGE's layout), for
/// the zero-config demo `pesquisa census import --illustrative`: (file name, bytes).
pub const ILLUSTRATIVE_BASICO: (&str, &[u8]) = (
    "basico_ilustrativo.csv",
    include_bytes!("../../assets/census/basico_ilustrativo.csv"),
);
pub const ILLUSTRATIVE_DEMOGRAFIA: (&str, &[u8]) = (
    "demografia_ilustrativo.csv",
    include_bytes!("../../assets/census/demografia_ilustrativo.csv"),
);
pub const ILLUSTRATIVE_MAPA: (&str, &[u8]) = (
    "mapa_setor_bairro_ilustrativo.csv",
    include_bytes!("../../assets/census/mapa_setor_bairro_ilustrativo.csv"),
);

/// One input file of an import: its name (for messages) and its bytes.
#[derive(Debug, Clone, Copy)]
pub struct Input<'a> {
    pub name: &'a str,
    pub bytes: &'a [u8],
}

/// The line of `text` that maps `code` (1-based), for an error about a mapped setor.
fn mapping_line(text: &str, code: &SetorCode) -> usize {
    text.lines()
        .position(|l| {
            l.split(';')
                .any(|f| SetorCode::parse(f).as_ref() == Some(code))
        })
        .map_or(1, |i| i.saturating_add(1))
}

/// Everything `pesquisa census import` checks before it stores anything: each file
/// parsed ([`parse_basico`], [`parse_sexo_idade`], [`parse_mapping`]), the margins summed
/// ([`margins`]), and two rules of the study: every mapped setor must be in both census
/// files (else the mapping or the files are of another area, and the margins would be
/// short without a word), and every mapped bairro must be one the survey offers
/// (`bairros`, `accounts.bairros_file`), else its margins could never meet a response.
/// Setores of the files that the mapping does not name are allowed (files cut to a whole
/// municipality hold more than the study area) and listed in [`Margins::unmapped`].
pub fn import(
    basico: Input<'_>,
    demografia: Input<'_>,
    mapa: Input<'_>,
    bairros: &[String],
) -> Result<Margins, CensusError> {
    let b = parse_basico(basico.name, &decode(basico.bytes))?;
    let d = parse_sexo_idade(demografia.name, &decode(demografia.bytes))?;
    let mapa_text = decode(mapa.bytes);
    let m = parse_mapping(mapa.name, &mapa_text)?;
    if m.is_empty() {
        return Err(CensusError {
            file: mapa.name.into(),
            line: 1,
            reason: "no `setor;bairro` lines".into(),
        });
    }
    for (code, bairro) in &m {
        if !bairros.iter().any(|b| b == bairro) {
            return Err(CensusError {
                file: mapa.name.into(),
                line: mapping_line(&mapa_text, code),
                reason: format!(
                    "bairro `{bairro}` (setor {}) is not in the survey's list of bairros \
                     (accounts.bairros_file); write it exactly as the list does",
                    code.as_str()
                ),
            });
        }
    }
    let out = margins(&b, &d, &m, demografia.name)?;
    if let Some(code) = out.missing.first() {
        let which = if b.setores.contains_key(code) {
            demografia.name
        } else {
            basico.name
        };
        return Err(CensusError {
            file: mapa.name.into(),
            line: mapping_line(&mapa_text, code),
            reason: format!(
                "setor {} is mapped but absent from {which}: the mapping and the census \
                 files must be of the same area ({} mapped setores missing in all)",
                code.as_str(),
                out.missing.len()
            ),
        });
    }
    if out.bairros.is_empty() {
        return Err(CensusError {
            file: mapa.name.into(),
            line: 1,
            reason: "every mapped setor is suppressed (X) in the census files: no margins".into(),
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    // Latin-1, as IBGE writes them (São José dos Campos in the names).
    const BASICO_BYTES: &[u8] = include_bytes!("../../assets/census/basico_ilustrativo.csv");
    const DEMOGRAFIA_BYTES: &[u8] =
        include_bytes!("../../assets/census/demografia_ilustrativo.csv");
    const MAPA: &str = include_str!("../../assets/census/mapa_setor_bairro_ilustrativo.csv");

    #[test]
    fn the_illustrative_files_give_margins_per_bairro() {
        let basico = decode(BASICO_BYTES);
        assert!(basico.contains("São José dos Campos"));
        let b = parse_basico("basico", &basico).expect("básico");
        let s = parse_sexo_idade("demografia", &decode(DEMOGRAFIA_BYTES)).expect("demografia");
        let m = parse_mapping("mapa", MAPA).expect("mapa");
        let margins = margins(&b, &s, &m, "demografia").expect("margins");
        assert_eq!(margins.bairros.len(), 2);
        // Hand sums over the illustrative files: JARDIM SÃO JOSÉ = setores …0001 + …0002.
        let centro = &margins.bairros["JARDIM SÃO JOSÉ"];
        assert_eq!(centro.households, 310 + 280);
        let adult = |sex: &str, band: &str| {
            centro
                .adults
                .iter()
                .find(|(s, b, _)| s == sex && b == band)
                .map(|(_, _, v)| *v)
                .expect("band")
        };
        // Women 15–19: 30 + 25, two fifths 22; 20–24: 35 + 30; 25–29: 40 + 35.
        assert!((adult("feminino", "18-29") - (22.0 + 65.0 + 75.0)).abs() < 1e-9);
        // Men 60–69 + 70+: (30 + 20) + (25 + 15).
        assert!((adult("masculino", "60+") - 90.0).abs() < 1e-9);
        assert_eq!(
            margins.unmapped,
            vec![SetorCode::parse("354990405000099").expect("code")]
        );
        assert!(margins.suppressed.is_empty() && margins.missing.is_empty());
        // Persons that differ between the two files: refused, naming the demografia line.
        let mut other = b.clone();
        let code = SetorCode::parse("354990405000002").expect("code");
        if let Some(x) = other.setores.get_mut(&code) {
            x.persons += 1;
        }
        let e = super::margins(&other, &s, &m, "demografia.csv").expect_err("mismatch");
        assert_eq!((e.file.as_str(), e.line), ("demografia.csv", 5));
        assert!(e.reason.contains("354990405000002"), "{e}");
    }

    #[test]
    fn bad_lines_are_refused_with_file_and_line() {
        let header = "CD_SETOR;V0001;V0007\n";
        let e = parse_basico("b.csv", &format!("{header}35499040500001;10;3\n"))
            .expect_err("14 digits");
        assert_eq!((e.file.as_str(), e.line), ("b.csv", 2));
        assert!(e.reason.contains("15 digits"), "{e}");
        let e = parse_basico("b.csv", &format!("{header}354990405000001;2;3\n"))
            .expect_err("more households than persons");
        assert!(e.to_string().starts_with("b.csv, line 2: "), "{e}");
        let e = parse_basico("b.csv", "CD_SETOR;V0001\n").expect_err("no V0007");
        assert!(e.reason.contains("V0007"), "{e}");
        let e = parse_basico(
            "b.csv",
            &format!("{header}354990405000001;10;3\n354990405000001;10;3\n"),
        )
        .expect_err("twice");
        assert_eq!(e.line, 3);
        // Suppressed values: left out and listed, not counted as 0.
        let p = parse_basico("b.csv", &format!("{header}354990405000001;X;X\n")).expect("ok");
        assert_eq!(p.suppressed.len(), 1);
        // Demografia whose men's groups do not add up to V01007.
        let demografia = decode(DEMOGRAFIA_BYTES);
        let line = demografia
            .lines()
            .find(|l| l.starts_with("354990405000001"))
            .expect("line");
        let broken = demografia.replacen(line, &line.replacen(";30;", ";31;", 1), 1);
        let e = parse_sexo_idade("d.csv", &broken).expect_err("inconsistent");
        assert_eq!(e.file, "d.csv");
        assert!(e.reason.contains("add up"), "{e}");
        let e = parse_mapping("m.csv", "setor;bairro\n354990405000001;\n").expect_err("no bairro");
        assert_eq!(e.line, 2);
    }

    #[test]
    fn latin1_is_decoded() {
        assert_eq!(decode(b"S\xe3o Jos\xe9"), "São José");
        assert_eq!(decode("São José".as_bytes()), "São José");
        assert_eq!(decode(b"\xef\xbb\xbfsetor"), "setor");
    }
}
