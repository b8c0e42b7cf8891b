//! The layers of `src/`, guarded: each top-level module may import (`crate::…`) only
//! from its own layer or the layers below, a few modules of one layer not from each
//! other, and no file imports, directly or not, from a file that imports it back (no
//! cycle). Test modules are left out. A new top-level module must be given a layer here.
//!
//! ```text
//! 7  cli
//! 6  web (state, error, session, hoops, guards, handlers), router, server
//! 5  views
//! 4  export, report, synthetic, mail
//! 3  db, kv, pool, telemetry, oidc
//! 2  config
//! 1  survey, stats, accounts, census, quality
//! 0  crypto, i18n, assets, locale, metrics, priority
//! ```

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Each top-level module and its layer.
const LAYERS: &[(&str, u8)] = &[
    ("crypto", 0),
    ("i18n", 0),
    ("assets", 0),
    ("metrics", 0),
    ("locale", 0),
    ("priority", 0),
    ("survey", 1),
    ("stats", 1),
    ("accounts", 1),
    ("census", 1),
    ("quality", 1),
    ("config", 2),
    ("db", 3),
    ("kv", 3),
    ("pool", 3),
    ("telemetry", 3),
    ("oidc", 3),
    ("export", 4),
    ("report", 4),
    ("synthetic", 4),
    ("mail", 4),
    ("views", 5),
    ("web", 6),
    ("router", 6),
    ("server", 6),
    ("cli", 7),
];

/// Imports forbidden within a layer: (module, may not import).
const SAME_LAYER_FORBIDDEN: &[(&str, &str)] = &[
    ("web", "router"),
    ("web", "server"),
    ("router", "server"),
    ("export", "report"),
    ("report", "export"),
    ("survey", "accounts"),
    ("stats", "accounts"),
    ("db", "kv"),
    ("kv", "db"),
];

/// Items exported at the crate root by `#[macro_export]`, and the module defining them.
const ROOT_MACROS: &[(&str, &str)] = &[("with_conn", "db")];

fn layer_of(module: &str) -> Option<u8> {
    LAYERS.iter().find(|(m, _)| *m == module).map(|(_, l)| *l)
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("read src") {
        let path = entry.expect("entry").path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The top-level module a file belongs to (`None` for lib.rs and main.rs).
fn module_of(src: &Path, file: &Path) -> Option<String> {
    let rel = file.strip_prefix(src).expect("under src");
    let first = rel.components().next()?.as_os_str().to_str()?.to_string();
    let name = first.trim_end_matches(".rs").to_string();
    (name != "lib" && name != "main").then_some(name)
}

/// The code of a file without its test module and comments.
fn code(text: &str) -> String {
    let body = match text.find("#[cfg(test)]\nmod ") {
        Some(at) => &text[..at],
        None => text,
    };
    body.lines()
        .map(|l| match l.find("//") {
            Some(at) => &l[..at],
            None => l,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The top-level modules named by `crate::…` paths in `code`, `use crate::{a, b}` groups
/// included.
fn imported(code: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let code = code.replace("$crate::", "");
    let ident = |s: &str| -> String {
        s.trim()
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect()
    };
    for (at, _) in code.match_indices("crate::") {
        let before = code[..at].chars().last();
        if before.is_some_and(|c| c.is_alphanumeric() || c == '_') {
            continue; // e.g. `pesquisa_crate::`
        }
        let rest = &code[at + "crate::".len()..];
        if let Some(group) = rest.strip_prefix('{') {
            let end = group.find('}').unwrap_or(group.len());
            for part in group[..end].split(',') {
                let name = ident(part);
                if !name.is_empty() {
                    out.insert(name);
                }
            }
        } else {
            let name = ident(rest);
            if !name.is_empty() {
                out.insert(name);
            }
        }
    }
    out.into_iter()
        .map(|m| {
            ROOT_MACROS
                .iter()
                .find(|(mac, _)| *mac == m)
                .map_or(m, |(_, owner)| owner.to_string())
        })
        .collect()
}

#[test]
fn every_module_imports_only_from_its_layer_or_below() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    files.sort();
    let mut problems = Vec::new();
    for file in &files {
        let Some(module) = module_of(&src, file) else {
            continue;
        };
        let Some(own) = layer_of(&module) else {
            problems.push(format!(
                "{}: module `{module}` has no layer in tests/layering.rs",
                file.display()
            ));
            continue;
        };
        let text = std::fs::read_to_string(file).expect("read");
        for target in imported(&code(&text)) {
            if target == module {
                continue;
            }
            match layer_of(&target) {
                Some(l) if l > own => problems.push(format!(
                    "{}: `{module}` (layer {own}) imports crate::{target} (layer {l})",
                    file.display()
                )),
                _ if SAME_LAYER_FORBIDDEN.contains(&(module.as_str(), target.as_str())) => problems
                    .push(format!(
                        "{}: `{module}` imports crate::{target}, which it must not",
                        file.display()
                    )),
                _ => {}
            }
        }
    }
    assert!(problems.is_empty(), "layering:\n{}", problems.join("\n"));
}

#[test]
fn imports_are_read_from_paths_and_groups() {
    let found = imported(&code(
        "use crate::{db::DbPool, kv};\nlet x = crate::web::state(d); // crate::cli\n\
         $crate::with_conn!(p, |c| x)\n#[cfg(test)]\nmod tests { use crate::router; }",
    ));
    assert_eq!(
        found.into_iter().collect::<Vec<_>>(),
        vec!["db", "kv", "web"],
        "comments, tests and macros handled"
    );
}

/// A file's module path (`["web", "session"]` for src/web/session.rs; `[]` for lib.rs).
fn module_path(src: &Path, file: &Path) -> Vec<String> {
    let rel = file
        .strip_prefix(src)
        .expect("under src")
        .with_extension("");
    let mut parts: Vec<String> = rel
        .components()
        .filter_map(|c| c.as_os_str().to_str().map(str::to_string))
        .collect();
    if parts.last().is_some_and(|p| p == "mod") {
        parts.pop();
    }
    if parts == ["lib"] || parts == ["main"] {
        parts.clear();
    }
    parts
}

/// The paths a file names: `crate::a::b`, `super::a` (resolved against `own`, a
/// directory module's own path for mod.rs) and one level of `{…}` groups after either.
fn named_paths(code: &str, own: &[String], is_dir_module: bool) -> Vec<Vec<String>> {
    let code = code.replace("$crate::", "crate::");
    // `a::b::C` up to the first character that ends a path.
    let words = |s: &str| -> Vec<String> {
        let mut out = Vec::new();
        for segment in s.split("::") {
            let segment = segment.trim_start();
            let word: String = segment
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            let whole = word.len() == segment.len();
            if word.is_empty() {
                break;
            }
            out.push(word);
            if !whole {
                break;
            }
        }
        out
    };
    let mut out = Vec::new();
    let bytes = code.as_bytes();
    let mut at = 0;
    while at < code.len() {
        let rest = &code[at..];
        let boundary = at == 0 || !(bytes[at - 1].is_ascii_alphanumeric() || bytes[at - 1] == b'_');
        let (base, len) = if boundary && rest.starts_with("crate::") {
            (Vec::new(), "crate::".len())
        } else if boundary && rest.starts_with("super::") {
            let mut ups = 0;
            let mut len = 0;
            while code[at + len..].starts_with("super::") {
                ups += 1;
                len += "super::".len();
            }
            let mut base = own.to_vec();
            let drop = if is_dir_module { ups - 1 } else { ups };
            base.truncate(base.len().saturating_sub(drop));
            (base, len)
        } else {
            at += rest.chars().next().map_or(1, char::len_utf8);
            continue;
        };
        let tail = &code[at + len..];
        if let Some(group) = tail.strip_prefix('{') {
            let end = group.find('}').unwrap_or(group.len());
            for part in group[..end].split(',') {
                let mut p = base.clone();
                p.extend(words(part));
                out.push(p);
            }
        } else {
            let mut p = base.clone();
            p.extend(words(tail));
            out.push(p);
        }
        at += len;
    }
    out
}

#[test]
fn no_file_imports_from_a_file_that_imports_it_back() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let modules: BTreeMap<Vec<String>, PathBuf> = files
        .iter()
        .map(|f| (module_path(&src, f), f.clone()))
        .collect();
    // The deepest file a path names (`crate::web::session::user` is web/session.rs).
    let resolve = |path: &[String]| -> Option<Vec<String>> {
        (1..=path.len())
            .rev()
            .map(|n| path[..n].to_vec())
            .find(|p| modules.contains_key(p))
    };
    let mut edges: BTreeMap<Vec<String>, BTreeSet<Vec<String>>> = BTreeMap::new();
    for (module, file) in &modules {
        let text = std::fs::read_to_string(file).expect("read");
        let is_dir = file.ends_with("mod.rs") || file.ends_with("lib.rs");
        let targets = named_paths(&code(&text), module, is_dir)
            .iter()
            .filter_map(|p| resolve(p))
            .filter(|t| t != module && !t.is_empty())
            .collect();
        edges.insert(module.clone(), targets);
    }
    // A cycle is an edge a → b where a is reachable from b.
    let reaches = |from: &Vec<String>, to: &Vec<String>| -> bool {
        let mut seen = BTreeSet::new();
        let mut stack = vec![from.clone()];
        while let Some(m) = stack.pop() {
            if &m == to {
                return true;
            }
            if seen.insert(m.clone()) {
                stack.extend(edges.get(&m).into_iter().flatten().cloned());
            }
        }
        false
    };
    let mut cycles = Vec::new();
    for (a, targets) in &edges {
        // A parent module declaring its children (`pub mod x;`) is not an import.
        for b in targets.iter().filter(|b| !b.starts_with(a)) {
            if reaches(b, a) {
                cycles.push(format!(
                    "{} -> {} -> … -> {}",
                    a.join("::"),
                    b.join("::"),
                    a.join("::")
                ));
            }
        }
    }
    assert!(cycles.is_empty(), "import cycles:\n{}", cycles.join("\n"));
}

#[test]
fn paths_resolve_from_crate_and_super() {
    let own = vec!["web".to_string(), "auth".to_string()];
    let found = named_paths(
        "use super::{ctx, state};\nuse crate::db::users::User;\nsuper::super::config::X",
        &own,
        false,
    );
    let as_text: Vec<String> = found.iter().map(|p| p.join("::")).collect();
    assert_eq!(
        as_text,
        ["web::ctx", "web::state", "db::users::User", "config::X"]
    );
}
