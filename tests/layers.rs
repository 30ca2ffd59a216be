//! The layer order of ARCHITECTURE.md, checked: each top-level module of `src/` may use only the
//! modules below it (and itself). A `crate::X` path in module Y where X is above Y fails, and so does
//! a top-level module missing from `LAYERS` (a new module must be given its place).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// Lowest first. Keep in step with ARCHITECTURE.md's table.
const LAYERS: &[&str] = &[
    "time",
    "visible",
    "mask",
    "yaml",
    "error",
    "expand",
    "expr",
    "pipeline",
    "rules",
    "checkout",
    "plan",
    "user_vars",
    "event",
    "store",
    "engines",
    "executor",
    "scheduler",
    "report",
    "cli",
    "app",
    "commands",
];

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("read src") {
        let path = entry.expect("dir entry").path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// `src/a/b.rs` and `src/a.rs` belong to `a`; `main.rs` and `lib.rs` to nothing (they sit above all).
fn top_module(src: &Path, file: &Path) -> Option<String> {
    let rel = file.strip_prefix(src).ok()?;
    let first = rel.components().next()?.as_os_str().to_str()?.to_string();
    let name = first.strip_suffix(".rs").unwrap_or(&first).to_string();
    (name != "main" && name != "lib").then_some(name)
}

/// Every `crate::name` in the text, comments excluded (a doc link is not a dependency).
fn crate_paths(text: &str) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    for line in text.lines() {
        let code = line.split("//").next().unwrap_or("");
        let mut rest = code;
        while let Some(at) = rest.find("crate::") {
            let after = &rest[at + "crate::".len()..];
            let name: String = after
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            // `crate::{a, b}` imports: take each name in the braces.
            if name.is_empty() && after.starts_with('{') {
                let inner = after[1..].split('}').next().unwrap_or("");
                for part in inner.split(',') {
                    let n: String = part
                        .trim()
                        .chars()
                        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                        .collect();
                    if !n.is_empty() {
                        found.insert(n);
                    }
                }
            } else if !name.is_empty() {
                found.insert(name);
            }
            rest = after;
        }
    }
    found
}

#[test]
fn each_module_uses_only_those_below_it() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    files.sort();
    let rank = |m: &str| LAYERS.iter().position(|l| *l == m);
    let mut problems = Vec::new();
    for file in &files {
        let Some(module) = top_module(&src, file) else {
            continue;
        };
        let Some(own) = rank(&module) else {
            problems.push(format!(
                "{}: module `{module}` has no place in LAYERS",
                file.display()
            ));
            continue;
        };
        let text = std::fs::read_to_string(file).expect("read source");
        for used in crate_paths(&text) {
            if used == module {
                continue;
            }
            match rank(&used) {
                Some(r) if r < own => {}
                Some(_) => problems.push(format!(
                    "{}: `{module}` uses `crate::{used}`, which is above it",
                    file.display()
                )),
                // Not a module (a macro or an item re-exported at the root): nothing to check.
                None => {}
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn the_checker_sees_a_violation() {
    let paths =
        crate_paths("use crate::{app, yaml::Node};\nlet x = crate::plan::Plan; // crate::report\n");
    assert_eq!(
        paths.into_iter().collect::<Vec<_>>(),
        vec!["app".to_string(), "plan".to_string(), "yaml".to_string()]
    );
}
