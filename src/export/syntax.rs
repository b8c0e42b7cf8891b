//! The syntax files of the labelled exports (`--format spss|stata|r`): a script beside
//! the data CSV that reads it into SPSS/PSPP (`.sps`), Stata (`.do`) or R (`.R`) with
//! variable labels, value labels, missing-value codes, types and the survey weight.
//!
//! Every label comes from [`Variable`] (the codebook and the questionnaire); the file
//! names the CSV by its name only, so the pair can be moved together. Labels are quoted
//! for each language (an apostrophe in "D'Avó" must not end a string) and the encoding
//! is declared in each script, so Portuguese accents survive on any platform.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use super::Format;
use super::columns::{VarType, Variable};
use crate::i18n::Lang;
use crate::i18n::study_files::LabelledFilesTexts;

/// The statistics package a labelled export is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Package {
    Spss,
    Stata,
    R,
}

impl Package {
    /// The package of a labelled format; `None` for csv, jsonl and xlsx.
    pub fn of(format: Format) -> Option<Package> {
        match format {
            Format::Spss => Some(Package::Spss),
            Format::Stata => Some(Package::Stata),
            Format::R => Some(Package::R),
            Format::Csv | Format::Jsonl | Format::Xlsx => None,
        }
    }

    /// The syntax file's extension.
    pub fn extension(self) -> &'static str {
        match self {
            Package::Spss => "sps",
            Package::Stata => "do",
            Package::R => "R",
        }
    }
}

/// The two files of a labelled export.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PairPaths {
    pub data: PathBuf,
    pub syntax: PathBuf,
}

/// The pair written for `--output BASE`: `BASE.csv` and `BASE.sps` (`.do`, `.R`). A
/// BASE that already ends in `.csv` or in the syntax extension loses it first, so
/// `-o respostas`, `-o respostas.csv` and `-o respostas.sps` all give `respostas.csv` +
/// `respostas.sps`.
pub fn pair_paths(output: &Path, package: Package) -> anyhow::Result<PairPaths> {
    let name = output
        .file_name()
        .and_then(|n| n.to_str())
        .ok_or_else(|| anyhow::anyhow!("{}: not a file name", output.display()))?;
    let lower = name.to_lowercase();
    let mut stem = name;
    for ext in ["csv", package.extension()] {
        let suffix = format!(".{}", ext.to_lowercase());
        if lower.ends_with(&suffix) && lower.len() > suffix.len() {
            stem = &name[..name.len() - suffix.len()];
            break;
        }
    }
    let beside = |ext: &str| output.with_file_name(format!("{stem}.{ext}"));
    Ok(PairPaths {
        data: beside("csv"),
        syntax: beside(package.extension()),
    })
}

/// The syntax file for `vars`, reading the CSV named `csv` (a file name, no folder).
pub fn script(package: Package, vars: &[Variable], csv: &str) -> String {
    let texts = Lang::Pt.labelled_files();
    match package {
        Package::Spss => spss(vars, csv, texts),
        Package::Stata => stata(vars, csv, texts),
        Package::R => r(vars, csv, texts),
    }
}

/// The header comments, one line each.
fn header(csv: &str, texts: &LabelledFilesTexts) -> [String; 3] {
    [
        texts.generated.replace("{csv}", csv),
        texts.keep_beside.replace("{csv}", csv),
        texts.missing_note.to_string(),
    ]
}

/// One line of text: a label never spans lines in any of the three languages.
fn one_line(s: &str) -> String {
    s.split(['\r', '\n']).collect::<Vec<_>>().join(" ")
}

/// The longest prefix of `s` of at most `max` bytes that ends on a character boundary.
fn cut_bytes(s: &str, max: usize) -> &str {
    let mut end = s.len().min(max);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

/// The datetime columns are read as text under this name and converted.
fn raw_name(name: &str) -> String {
    format!("{name}_txt")
}

// ---------------------------------------------------------------------------- SPSS

/// An SPSS/PSPP string literal: apostrophes doubled; at most `max` bytes (SPSS keeps
/// 255 for a variable label and 120 for a value label).
fn spss_str(s: &str, max: usize) -> String {
    let s = one_line(s);
    format!("'{}'", cut_bytes(&s, max).replace('\'', "''"))
}

fn spss(vars: &[Variable], csv: &str, texts: &LabelledFilesTexts) -> String {
    // GET DATA names the columns itself (the CSV's header line is skipped).
    let vars = short_names(vars, 64);
    let vars = vars.as_slice();
    // The byte-order mark and the comment tell SPSS and PSPP the syntax is UTF-8; the
    // data's encoding is declared on GET DATA.
    let mut out = String::from("\u{feff}* Encoding: UTF-8.\n");
    for line in header(csv, texts) {
        let _ = writeln!(out, "* {}.", one_line(&line).trim_end_matches('.'));
    }
    let _ = writeln!(
        out,
        "GET DATA /TYPE=TXT /FILE={} /ENCODING='UTF-8'\n  /ARRANGEMENT=DELIMITED \
         /DELCASE=LINE /FIRSTCASE=2 /DELIMITERS=',' /QUALIFIER='\"'\n  /VARIABLES=",
        spss_str(csv, usize::MAX)
    );
    for v in vars {
        let (name, format) = match v.kind {
            VarType::Integer => (v.name.clone(), "F20.0".to_string()),
            VarType::Decimal => (v.name.clone(), "F20.6".to_string()),
            VarType::Text(width) => (v.name.clone(), format!("A{}", width.clamp(1, 32767))),
            VarType::DateTime => (raw_name(&v.name), "A20".to_string()),
        };
        let _ = writeln!(out, "    {name} {format}");
    }
    out.push_str("  .\n");
    let dates: Vec<&Variable> = vars
        .iter()
        .filter(|v| v.kind == VarType::DateTime)
        .collect();
    for v in &dates {
        let raw = raw_name(&v.name);
        let _ = writeln!(
            out,
            "IF ({raw} <> '') {name} = NUMBER(CONCAT(SUBSTR({raw}, 1, 10), ' ', \
             SUBSTR({raw}, 12, 8)), YMDHMS19).\nFORMATS {name} (YMDHMS19).",
            name = v.name
        );
    }
    if !dates.is_empty() {
        // Back to the CSV's order, without the text copies of the times.
        out.push_str("MATCH FILES /FILE=* /KEEP=");
        for v in vars {
            let _ = write!(out, "\n    {}", v.name);
        }
        out.push_str(".\n");
    }
    let labelled: Vec<&Variable> = vars.iter().filter(|v| !v.label.is_empty()).collect();
    if !labelled.is_empty() {
        out.push_str("VARIABLE LABELS");
        for (i, v) in labelled.iter().enumerate() {
            let sep = if i == 0 { "" } else { " /" };
            let _ = write!(out, "{sep}\n    {} {}", v.name, spss_str(&v.label, 255));
        }
        out.push_str(".\n");
    }
    let coded: Vec<&Variable> = vars
        .iter()
        .filter(|v| !v.values.is_empty() || (!v.missing.is_empty() && is_number(v)))
        .collect();
    if !coded.is_empty() {
        out.push_str("VALUE LABELS");
        for v in &coded {
            let _ = write!(out, "\n  /{}", v.name);
            for (code, label) in v.values.iter().chain(
                v.missing
                    .iter()
                    .filter(|m| !v.values.iter().any(|x| x.0 == m.0)),
            ) {
                let _ = write!(out, "\n    {code} {}", spss_str(label, 120));
            }
        }
        out.push_str(".\n");
    }
    for v in vars.iter().filter(|v| !v.missing.is_empty()) {
        let codes: Vec<String> = v
            .missing
            .iter()
            .map(|(code, _)| {
                if is_number(v) {
                    code.to_string()
                } else {
                    spss_str(&code.to_string(), usize::MAX)
                }
            })
            .collect();
        // MISSING VALUES holds three values; more (a question with several excluded
        // options) are recoded to system-missing, which loses only their distinction.
        if codes.len() > 3 && is_number(v) {
            let _ = writeln!(
                out,
                "* {}.\nRECODE {} ({}=SYSMIS).",
                texts.too_many_missing.trim_end_matches('.'),
                v.name,
                codes[3..].join(", ")
            );
        }
        let _ = writeln!(
            out,
            "MISSING VALUES {} ({}).",
            v.name,
            codes[..codes.len().min(3)].join(", ")
        );
    }
    let nominal: Vec<&str> = vars
        .iter()
        .filter(|v| !v.values.is_empty())
        .map(|v| v.name.as_str())
        .collect();
    if !nominal.is_empty() {
        let _ = writeln!(out, "VARIABLE LEVEL {} (NOMINAL).", nominal.join(" "));
    }
    for v in vars.iter().filter(|v| v.weight) {
        let _ = writeln!(
            out,
            "* {}.\nWEIGHT BY {}.",
            texts
                .weight_note
                .replace("{weight}", &v.name)
                .trim_end_matches('.'),
            v.name
        );
    }
    out.push_str("EXECUTE.\n");
    out
}

fn is_number(v: &Variable) -> bool {
    matches!(v.kind, VarType::Integer | VarType::Decimal)
}

// ---------------------------------------------------------------------------- Stata

/// A Stata string in compound quotes: `"` inside is fine; `$` and `` ` `` are escaped
/// so that no macro is expanded; a `"'` (which would end the string) gets a space.
fn stata_str(s: &str) -> String {
    let s = one_line(s)
        .replace('$', "\\$")
        .replace('`', "\\`")
        .replace("\"'", "\" '");
    format!("`\"{s}\"'")
}

/// Stata keeps 80 characters of a variable label.
fn stata_var_label(s: &str) -> String {
    let s = one_line(s);
    match s.char_indices().nth(80) {
        Some((at, _)) => stata_str(&s[..at]),
        None => stata_str(&s),
    }
}

/// The extended missing value of the `i`-th missing code of a variable: `.a`, `.b`, …
fn stata_missing(i: usize) -> String {
    let letter = b"abcdefghijklmnopqrstuvwxyz"
        .get(i)
        .copied()
        .unwrap_or(b'z');
    format!(".{}", letter as char)
}

/// `vars` with names of at most `max` bytes (Stata 32, SPSS 64): a longer column name
/// (a long question key with its option or `__ponto_medio`) is cut and given its column
/// number to stay unique.
fn short_names(vars: &[Variable], max: usize) -> Vec<Variable> {
    (1..)
        .zip(vars)
        .map(|(i, v)| {
            let mut v = v.clone();
            if v.name.len() > max {
                let suffix = format!("_{i}");
                v.name = format!("{}{suffix}", cut_bytes(&v.name, max - suffix.len()));
            }
            v
        })
        .collect()
}

fn stata(vars: &[Variable], csv: &str, texts: &LabelledFilesTexts) -> String {
    let mut out = String::new();
    for line in header(csv, texts) {
        let _ = writeln!(out, "* {}", one_line(&line));
    }
    out.push_str("version 14\n");
    let vars = short_names(vars, 32);
    let vars = vars.as_slice();
    let cols = |want: fn(&Variable) -> bool| -> String {
        (1..)
            .zip(vars)
            .filter(|(_, v)| want(v))
            .map(|(i, _)| i.to_string())
            .collect::<Vec<_>>()
            .join(" ")
    };
    let strings = cols(|v| !is_number(v));
    let numbers = cols(is_number);
    let _ = write!(
        out,
        "import delimited using {}, encoding(\"utf-8\") varnames(nonames) rowrange(2) \
         delimiters(\",\") bindquote(strict)",
        stata_str(csv)
    );
    if !strings.is_empty() {
        let _ = write!(out, " stringcols({strings})");
    }
    if !numbers.is_empty() {
        let _ = write!(out, " numericcols({numbers})");
    }
    out.push_str(" clear\n");
    // Columns are read as v1, v2, … and named here: Stata would mangle a name longer
    // than 32 characters, and the names below must be the ones the file uses.
    for (i, v) in (1..).zip(vars) {
        let _ = writeln!(out, "rename v{i} {}", v.name);
    }
    for v in vars.iter().filter(|v| v.kind == VarType::DateTime) {
        let raw = raw_name(&v.name);
        let _ = writeln!(
            out,
            "rename {name} {raw}\n\
             generate double {name} = clock(subinstr(subinstr({raw}, \"T\", \" \", 1), \"Z\", \"\", 1), \"YMDhms\")\n\
             format {name} %tc\n\
             order {name}, after({raw})\n\
             drop {raw}",
            name = v.name
        );
    }
    for v in vars {
        if !v.label.is_empty() {
            let _ = writeln!(
                out,
                "label variable {} {}",
                v.name,
                stata_var_label(&v.label)
            );
        }
        if !is_number(v) {
            // Stata strings have no missing codes: the code becomes an empty string.
            for (code, _) in &v.missing {
                let _ = writeln!(out, "replace {0} = \"\" if {0} == \"{code}\"", v.name);
            }
            continue;
        }
        if !v.missing.is_empty() {
            let map = v
                .missing
                .iter()
                .enumerate()
                .map(|(i, (code, _))| format!("{code}={}", stata_missing(i)))
                .collect::<Vec<_>>()
                .join(" \\ ");
            let _ = writeln!(out, "mvdecode {}, mv({map})", v.name);
        }
        if v.values.is_empty() && v.missing.is_empty() {
            continue;
        }
        let _ = write!(out, "label define {}", v.name);
        for (code, label) in &v.values {
            if !v.missing.iter().any(|m| m.0 == *code) {
                let _ = write!(out, " {code} {}", stata_str(label));
            }
        }
        for (i, (_, label)) in v.missing.iter().enumerate() {
            let _ = write!(out, " {} {}", stata_missing(i), stata_str(label));
        }
        let _ = writeln!(out, ", replace\nlabel values {0} {0}", v.name);
    }
    for v in vars.iter().filter(|v| v.weight) {
        let _ = writeln!(
            out,
            "* {} [pweight={name}]\nsvyset _n [pweight={name}]",
            one_line(&texts.weight_note.replace("{weight}", &v.name)),
            name = v.name
        );
    }
    out
}

// ---------------------------------------------------------------------------- R

/// An R string literal in plain ASCII: everything but printable ASCII is a `\u` escape,
/// so the script reads the same whatever the session's encoding.
fn r_str(s: &str) -> String {
    let mut out = String::from("\"");
    for c in one_line(s).chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            ' '..='~' => out.push(c),
            c => {
                let _ = write!(out, "\\U{{{:x}}}", u32::from(c));
            }
        }
    }
    out.push('"');
    out
}

fn r_vector(items: impl Iterator<Item = String>) -> String {
    format!("c({})", items.collect::<Vec<_>>().join(", "))
}

fn r(vars: &[Variable], csv: &str, texts: &LabelledFilesTexts) -> String {
    let mut out = String::new();
    for line in header(csv, texts) {
        let _ = writeln!(out, "# {}", one_line(&line));
    }
    let classes = r_vector(vars.iter().map(|v| {
        let class = if is_number(v) { "numeric" } else { "character" };
        format!("{} = \"{class}\"", r_str(&v.name))
    }));
    let _ = writeln!(
        out,
        "respostas <- read.csv({}, fileEncoding = \"UTF-8\", encoding = \"UTF-8\",\n  \
         na.strings = \"\", check.names = FALSE, stringsAsFactors = FALSE,\n  \
         colClasses = {classes})",
        r_str(csv)
    );
    for v in vars {
        let col = format!("respostas[[{}]]", r_str(&v.name));
        if v.kind == VarType::DateTime {
            let _ = writeln!(
                out,
                "{col} <- as.POSIXct({col}, format = \"%Y-%m-%dT%H:%M:%SZ\", tz = \"UTC\")"
            );
        }
        if !v.missing.is_empty() {
            let codes = r_vector(v.missing.iter().map(|(code, _)| {
                if is_number(v) {
                    code.to_string()
                } else {
                    r_str(&code.to_string())
                }
            }));
            let meaning = v
                .missing
                .iter()
                .map(|(code, label)| format!("{code} = {}", one_line(label)))
                .collect::<Vec<_>>()
                .join("; ");
            let _ = writeln!(out, "# {meaning}\n{col}[{col} %in% {codes}] <- NA");
        }
        let valid: Vec<&(i64, String)> = v
            .values
            .iter()
            .filter(|(code, _)| !v.missing.iter().any(|m| m.0 == *code))
            .collect();
        if !valid.is_empty() {
            let _ = writeln!(
                out,
                "{col} <- factor({col}, levels = {}, labels = {})",
                r_vector(valid.iter().map(|(code, _)| code.to_string())),
                r_vector(valid.iter().map(|(_, label)| r_str(label)))
            );
        }
        if !v.label.is_empty() {
            let _ = writeln!(out, "attr({col}, \"label\") <- {}", r_str(&v.label));
        }
    }
    for v in vars.iter().filter(|v| v.weight) {
        let _ = writeln!(
            out,
            "# {}\n# library(survey)\n# desenho <- svydesign(ids = ~1, weights = ~{name}, data = respostas)",
            one_line(&texts.weight_note.replace("{weight}", &v.name)),
            name = v.name
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pair_names_drop_a_known_extension() {
        let p = |s: &str, k| pair_paths(Path::new(s), k).expect("paths");
        for out in ["out/respostas", "out/respostas.csv", "out/respostas.sps"] {
            assert_eq!(
                p(out, Package::Spss),
                PairPaths {
                    data: "out/respostas.csv".into(),
                    syntax: "out/respostas.sps".into()
                },
                "{out}"
            );
        }
        assert_eq!(p("r.2026", Package::R).syntax, PathBuf::from("r.2026.R"));
        assert_eq!(p("r.do", Package::Stata).data, PathBuf::from("r.csv"));
        assert_eq!(p(".csv", Package::Stata).data, PathBuf::from(".csv.csv"));
        assert!(pair_paths(Path::new("/"), Package::R).is_err());
    }

    #[test]
    fn more_than_three_missing_codes_fit_spss() {
        let v = Variable {
            name: "q".into(),
            label: "Q".into(),
            kind: VarType::Integer,
            values: (1..=5).map(|c| (c, format!("o{c}"))).collect(),
            missing: [-2, 3, 4, 5]
                .iter()
                .map(|&c| (c, format!("m{c}")))
                .collect(),
            weight: false,
        };
        let sps = script(Package::Spss, std::slice::from_ref(&v), "d.csv");
        assert!(
            sps.contains("\nRECODE q (5=SYSMIS).\nMISSING VALUES q (-2, 3, 4).\n"),
            "{sps}"
        );
        let stata = script(Package::Stata, std::slice::from_ref(&v), "d.csv");
        assert!(
            stata.contains("mvdecode q, mv(-2=.a \\ 3=.b \\ 4=.c \\ 5=.d)"),
            "{stata}"
        );
        assert!(
            !stata.contains("weight"),
            "no weight declared without one: {stata}"
        );
        let r = script(Package::R, std::slice::from_ref(&v), "d.csv");
        assert!(
            r.contains("[respostas[[\"q\"]] %in% c(-2, 3, 4, 5)] <- NA"),
            "{r}"
        );
        assert!(
            r.contains("levels = c(1, 2), labels = c(\"o1\", \"o2\")"),
            "{r}"
        );
    }

    #[test]
    fn long_names_are_cut_for_stata_and_spss() {
        let var = |name: &str| Variable {
            name: name.into(),
            label: String::new(),
            kind: VarType::Decimal,
            values: vec![],
            missing: vec![],
            weight: false,
        };
        let vars = [
            var("idade"),
            var("frequencia_supermercado__ponto_medio"),
            var("frequencia_supermercado__ponto_medio_2"),
        ];
        let names: Vec<String> = short_names(&vars, 32).into_iter().map(|v| v.name).collect();
        assert_eq!(names[0], "idade");
        assert_eq!(names[1], "frequencia_supermercado__ponto_2");
        assert_eq!(names[2], "frequencia_supermercado__ponto_3");
        assert!(names.iter().all(|n| n.len() <= 32));
        let stata = script(Package::Stata, &vars, "d.csv");
        assert!(
            stata.contains("\nrename v2 frequencia_supermercado__ponto_2\n"),
            "{stata}"
        );
        let long = var(&"x".repeat(70));
        let sps = script(Package::Spss, &[var("idade"), long], "d.csv");
        assert!(
            sps.contains(&format!("\n    {}_2 F20.6\n", "x".repeat(62))),
            "{sps}"
        );
    }

    #[test]
    fn quotes_and_accents_are_safe_in_each_language() {
        assert_eq!(spss_str("D'Avó\nx", 255), "'D''Avó x'");
        assert_eq!(spss_str("ação", 2), "'a'", "never cut inside a character");
        assert_eq!(
            stata_str("R$ 1 \"D'Avó\"' `x'"),
            "`\"R\\$ 1 \"D'Avó\" ' \\`x'\"'"
        );
        assert_eq!(r_str("D'Avó \"x\" \\"), "\"D'Av\\U{f3} \\\"x\\\" \\\\\"");
        assert_eq!(stata_var_label(&"é".repeat(90)), stata_str(&"é".repeat(80)));
    }
}
