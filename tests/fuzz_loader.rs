//! A mutation fuzzer of the loader: the hostile corpus (`tests/hostile/`) and the example
//! pipelines, mutated by a seeded generator (tokens YAML and GitLab care about inserted, bytes
//! deleted, duplicated, flipped), parsed and built in-process; none may panic.
//! `HOSTILE_FUZZ_ITERATIONS` sets how many mutants (default 2,000, a few seconds) and
//! `HOSTILE_FUZZ_SEED` the seed; README's Development section has the long run.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use tezos_ci_local::pipeline::{IncludeContext, Source};

fn corpus() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/hostile");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("tests/hostile")
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yml"))
        .collect();
    files.sort();
    files
}

/// xorshift64*: a seeded generator, so a failure is reproduced by its seed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

const TOKENS: &[&str] = &[
    "&a ",
    "*a",
    "<<: *a\n",
    "!reference [.a, script]",
    "[",
    "]",
    "{",
    "}",
    "- ",
    ": ",
    "\n  ",
    "\n",
    "'",
    "\"",
    "#",
    "|\n",
    ">-\n",
    "? ",
    "---\n",
    "\0",
    "\t",
    "99999999999999 years",
    "parallel:\n  matrix:\n    - A: [1, 2, 3]\n",
    "extends: .a\n",
    "needs: [a]\n",
    "$VAR",
    "${",
    "rules:\n  - if: '$A =~ /[/'\n",
    "include: x.yml\n",
    "\u{1b}[2J",
];

fn mutate(rng: &mut Rng, seed: &[u8]) -> Vec<u8> {
    let mut out = seed.to_vec();
    for _ in 0..1 + rng.below(8) {
        let at = rng.below(out.len() + 1);
        match rng.below(4) {
            0 => {
                let t = TOKENS[rng.below(TOKENS.len())].as_bytes();
                out.splice(at..at, t.iter().copied());
            }
            1 if !out.is_empty() => {
                let end = (at + rng.below(64)).min(out.len());
                out.drain(at.min(end)..end);
            }
            2 if !out.is_empty() => {
                let start = rng.below(out.len());
                let end = (start + rng.below(256)).min(out.len());
                let chunk = out[start..end].to_vec();
                out.splice(at..at, chunk);
            }
            _ => out.insert(at.min(out.len()), rng.next() as u8),
        }
    }
    out
}

fn fuzz_seeds() -> Vec<Vec<u8>> {
    let mut seeds: Vec<Vec<u8>> = corpus()
        .iter()
        .map(|p| std::fs::read(p).unwrap())
        .filter(|t| t.len() < 16 * 1024)
        .collect();
    let examples = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples");
    if let Ok(dirs) = std::fs::read_dir(examples) {
        for d in dirs.flatten() {
            if let Ok(t) = std::fs::read(d.path().join(".gitlab-ci.yml")) {
                seeds.push(t);
            }
        }
    }
    seeds
}

/// Includes with `rules:` are left out; the fuzzer exercises the loader, not the rules.
struct NoRules;

impl IncludeContext for NoRules {
    fn included(
        &self,
        _: &[tezos_ci_local::pipeline::model::Rule],
    ) -> Result<bool, tezos_ci_local::error::ConfigError> {
        Ok(false)
    }
}

#[test]
fn mutated_pipelines_never_panic_the_loader() {
    let iterations: usize = std::env::var("HOSTILE_FUZZ_ITERATIONS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2_000);
    let seed: u64 = std::env::var("HOSTILE_FUZZ_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0x5eed_1234_abcd_ef01);
    let seeds = fuzz_seeds();
    assert!(!seeds.is_empty());
    let mut rng = Rng(seed);
    let dir = tempfile::tempdir().unwrap();
    let file = Arc::new(PathBuf::from(".gitlab-ci.yml"));
    let mut parsed = 0;
    for i in 0..iterations {
        let base = &seeds[rng.below(seeds.len())];
        let mutant = mutate(&mut rng, base);
        let text = String::from_utf8_lossy(&mutant).into_owned();
        let result = std::panic::catch_unwind(|| {
            let ok = tezos_ci_local::yaml::parse_str(&text, file.clone()).is_ok();
            let source = Source::Embedded {
                name: ".gitlab-ci.yml".into(),
                text: text.clone(),
            };
            let _ = tezos_ci_local::pipeline::load_pipeline(dir.path(), &source, &NoRules);
            ok
        });
        match result {
            Ok(ok) => parsed += usize::from(ok),
            Err(_) => panic!("mutant {i} (seed {seed}) panicked:\n{text}"),
        }
    }
    eprintln!("{iterations} mutants, {parsed} of them valid YAML");
}
