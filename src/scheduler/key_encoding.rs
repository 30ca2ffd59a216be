//! The result cache's keys, encoded explicitly: a key is a SHA-256 over a version and a list of
//! named parts, each the SHA-256 of a field-by-field encoding (a tag byte per field, then its
//! length and bytes). Nothing goes through `Debug` output, so renaming a Rust field changes no
//! key; changing what goes into a key means bumping [`KEY_VERSION`].

use std::collections::BTreeMap;

use sha2::{Digest, Sha256};

/// Bumped whenever what goes into a key, or how, changes.
pub const KEY_VERSION: &str = "tezos-ci-local key v3";

/// One part's encoding: tagged, length-prefixed fields.
pub struct Enc(Sha256);

impl Default for Enc {
    fn default() -> Self {
        Self::new()
    }
}

impl Enc {
    pub fn new() -> Self {
        Enc(Sha256::new())
    }

    fn raw(&mut self, tag: u8, bytes: &[u8]) {
        self.0.update([tag]);
        self.0.update((bytes.len() as u64).to_le_bytes());
        self.0.update(bytes);
    }

    pub fn str(mut self, tag: u8, s: &str) -> Self {
        self.raw(tag, s.as_bytes());
        self
    }

    /// `None` and `Some("")` encode differently.
    pub fn opt(mut self, tag: u8, s: Option<&str>) -> Self {
        match s {
            None => self.raw(tag, b""),
            Some(s) => {
                self.raw(tag | 0x80, s.as_bytes());
            }
        }
        self
    }

    /// A list: its length, then each item.
    pub fn list<S: AsRef<str>>(mut self, tag: u8, items: &[S]) -> Self {
        self.raw(tag, &(items.len() as u64).to_le_bytes());
        for i in items {
            self.raw(tag, i.as_ref().as_bytes());
        }
        self
    }

    pub fn opt_list(self, tag: u8, items: Option<&[String]>) -> Self {
        match items {
            None => self.opt(tag, None),
            Some(l) => self.opt(tag, Some("")).list(tag, l),
        }
    }

    pub fn flag(self, tag: u8, b: bool) -> Self {
        self.str(tag, if b { "1" } else { "0" })
    }

    pub fn digest(self) -> String {
        hex(&self.0.finalize())
    }
}

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A key's named parts, in order: `image`, `script`, `variable NAME`, `file PATH`,
/// `input JOB<tab>PATH`, `dotenv JOB<tab>NAME`... Stored with each result, so that a job that runs again can say which
/// parts changed since its newest stored result.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KeyParts(pub Vec<(String, String)>);

impl KeyParts {
    pub fn add(&mut self, name: impl Into<String>, enc: Enc) {
        self.0.push((name.into(), enc.digest()));
    }

    /// The key: SHA-256 over the version and every part's name and digest.
    pub fn key(&self) -> String {
        let mut e = Enc::new().str(0, KEY_VERSION);
        for (name, digest) in &self.0 {
            e = e.str(1, name).str(2, digest);
        }
        e.digest()
    }
}

/// What changed from `old` to `new`, in words: "input `out/app.bin` changed", "script changed",
/// "file `src/a.ml` added"... at most `max` of them, then how many more.
pub fn what_changed(old: &[(String, String)], new: &[(String, String)], max: usize) -> String {
    let old: BTreeMap<&str, &str> = old.iter().map(|(n, d)| (n.as_str(), d.as_str())).collect();
    let new_map: BTreeMap<&str, &str> = new.iter().map(|(n, d)| (n.as_str(), d.as_str())).collect();
    let mut out = Vec::new();
    // In the key's order: what the job is before what it reads.
    for (name, digest) in new {
        match old.get(name.as_str()) {
            Some(d) if d == digest => {}
            Some(_) => out.push(describe(name, "changed")),
            None => out.push(describe(name, "added")),
        }
    }
    for name in old.keys() {
        if !new_map.contains_key(name) {
            out.push(describe(name, "removed"));
        }
    }
    if out.is_empty() {
        return "no result stored".into();
    }
    let more = out.len().saturating_sub(max);
    out.truncate(max);
    let mut s = out.join(", ");
    if more > 0 {
        s.push_str(&format!(" and {more} more"));
    }
    s
}

fn describe(part: &str, how: &str) -> String {
    let (kind, rest) = part.split_once(' ').unwrap_or((part, ""));
    match kind {
        "file" => format!("file `{rest}` {how}"),
        "input" => {
            let (job, path) = rest.split_once('\t').unwrap_or((rest, ""));
            let how = if how == "added" { "new" } else { how };
            match how {
                "new" => format!("new input `{path}` from {job}"),
                _ => format!("input `{path}` {how}"),
            }
        }
        "dotenv" => {
            let (job, name) = rest.split_once('\t').unwrap_or((rest, ""));
            format!("dotenv variable `{name}` from {job} {how}")
        }
        "variable" => format!("variable `{rest}` {how}"),
        "image" => "image changed".into(),
        "script" => "script changed".into(),
        "" => how.into(),
        other => format!("{} {how}", other.replace('_', " ")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_are_delimited_and_tagged() {
        let a = Enc::new().str(1, "ab").str(1, "c").digest();
        let b = Enc::new().str(1, "a").str(1, "bc").digest();
        assert_ne!(a, b, "lengths delimit fields");
        assert_ne!(
            Enc::new().str(1, "x").digest(),
            Enc::new().str(2, "x").digest(),
            "tags tell fields apart"
        );
        assert_ne!(
            Enc::new().opt(1, None).digest(),
            Enc::new().opt(1, Some("")).digest()
        );
        assert_ne!(
            Enc::new().list(1, &["a", "b"]).digest(),
            Enc::new().list(1, &["a"]).list(1, &["b"]).digest()
        );
    }

    #[test]
    fn keys_are_stable() {
        // A key computed today must be the same tomorrow: a change here is a format change
        // (bump KEY_VERSION).
        let mut p = KeyParts::default();
        p.add("script", Enc::new().list(1, &["make"]));
        assert_eq!(
            p.key(),
            "2970f420b13458c1434eb717ef92564f1ee5cd1ea488a6bc092916c490432195"
        );
    }

    #[test]
    fn says_what_changed() {
        let old = vec![
            ("script".to_string(), "1".to_string()),
            (
                "input unit: [a, b]\tout/app.bin".to_string(),
                "2".to_string(),
            ),
            ("file a.ml".to_string(), "3".to_string()),
        ];
        let mut new = old.clone();
        new[1].1 = "9".into();
        assert_eq!(what_changed(&old, &new, 3), "input `out/app.bin` changed");
        new[0].1 = "8".into();
        new.pop();
        new.push(("file b.ml".into(), "4".into()));
        assert_eq!(
            what_changed(&old, &new, 2),
            "script changed, input `out/app.bin` changed and 2 more"
        );
        assert_eq!(what_changed(&old, &old, 3), "no result stored");
    }
}
