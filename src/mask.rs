//! Masked values never shown: the one function every output goes through (job logs, failure
//! reasons, JSON events, summaries, the HTML and JUnit reports, `explain`, `list`, error
//! messages) to replace each masked value by `[MASKED]`, as GitLab does in a job's log.
//!
//! A value is masked wherever it appears, inside other text too: a variable whose value was built
//! from a masked one (`IMAGE: registry/$TOKEN:1`) shows as `registry/[MASKED]:1`.

use std::borrow::Cow;
use std::sync::{Arc, Mutex};

/// What a masked value is replaced with.
pub const MASKED: &str = "[MASKED]";

/// Values shorter than this are not masked: masking `a` or `on` would wreck every line and hide
/// nothing (GitLab refuses to mask values shorter than 8 characters).
pub const MIN_LEN: usize = 4;

/// The masked values of a run. Cheap to clone.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Masker {
    /// Longest first, so that a value holding a shorter one is replaced whole.
    values: Arc<[String]>,
}

impl Masker {
    pub fn new<S: Into<String>>(values: impl IntoIterator<Item = S>) -> Masker {
        let mut values: Vec<String> = values
            .into_iter()
            .map(Into::into)
            .filter(|v| v.len() >= MIN_LEN)
            .collect();
        values.sort_by(|a, b| b.len().cmp(&a.len()).then_with(|| a.cmp(b)));
        values.dedup();
        Masker {
            values: values.into(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    /// The values, longest first.
    pub fn values(&self) -> &[String] {
        &self.values
    }

    /// Whether `text` holds a masked value.
    pub fn reveals(&self, text: &str) -> bool {
        self.values.iter().any(|v| text.contains(v.as_str()))
    }

    /// `text` with every masked value replaced by `[MASKED]`.
    pub fn mask<'a>(&self, text: &'a str) -> Cow<'a, str> {
        if !self.reveals(text) {
            return Cow::Borrowed(text);
        }
        let mut out = text.to_string();
        for v in self.values.iter() {
            if out.contains(v.as_str()) {
                out = out.replace(v.as_str(), MASKED);
            }
        }
        Cow::Owned(out)
    }

    /// `text`, masked, as an owned string.
    pub fn masked(&self, text: &str) -> String {
        self.mask(text).into_owned()
    }

    /// Masks every string of a JSON value in place, object keys included.
    pub fn mask_json(&self, value: &mut serde_json::Value) {
        use serde_json::Value;
        if self.is_empty() {
            return;
        }
        match value {
            Value::String(s) if self.reveals(s) => *s = self.masked(s),
            Value::Array(items) => items.iter_mut().for_each(|v| self.mask_json(v)),
            Value::Object(map) => {
                if map.keys().any(|k| self.reveals(k)) {
                    let old = std::mem::take(map);
                    for (k, v) in old {
                        map.insert(self.masked(&k), v);
                    }
                }
                map.values_mut().for_each(|v| self.mask_json(v));
            }
            _ => {}
        }
    }

    /// Where to cut `bytes` at most `at` bytes in, so that no masked value straddles the cut (a
    /// line too long to keep whole is written in pieces, each masked on its own): `at`, or the
    /// start of a masked value that `at` falls inside. Never 0 when `at` is not.
    pub fn safe_cut(&self, bytes: &[u8], at: usize) -> usize {
        let mut cut = at.min(bytes.len());
        // Moving the cut back may make it fall inside another value: again until none does.
        loop {
            let before = cut;
            for v in self.values.iter() {
                let v = v.as_bytes();
                // An occurrence straddles `cut` when it starts in (cut - len, cut).
                let from = cut.saturating_sub(v.len() - 1);
                let window = &bytes[from..(cut + v.len() - 1).min(bytes.len())];
                if let Some(p) = window.windows(v.len()).position(|w| w == v) {
                    let start = from + p;
                    if start > 0 && start < cut {
                        cut = start;
                    }
                }
            }
            if cut == before {
                return cut;
            }
        }
    }
}

/// The process's masked values, for the one output that cannot be handed them: the error
/// message `main` prints, which may come from anywhere once the variables are read.
static PROCESS: Mutex<Vec<String>> = Mutex::new(Vec::new());

/// Adds `masker`'s values to those every error message is masked with.
pub fn register(masker: &Masker) {
    let mut all = PROCESS.lock().unwrap_or_else(|e| e.into_inner());
    for v in masker.values() {
        if !all.contains(v) {
            all.push(v.clone());
        }
    }
}

/// Every value registered in this process.
pub fn process() -> Masker {
    Masker::new(
        PROCESS
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .cloned(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_values_inside_text_longest_first() {
        let m = Masker::new(["s3cr3t", "s3cr3t-longer", "no"]);
        assert_eq!(m.mask("a s3cr3t-longer b s3cr3t"), "a [MASKED] b [MASKED]");
        assert_eq!(m.mask("registry/s3cr3t:1"), "registry/[MASKED]:1");
        assert_eq!(
            m.mask("no secret here"),
            "no secret here",
            "short values are kept"
        );
        assert!(matches!(m.mask("plain"), Cow::Borrowed(_)));
    }

    #[test]
    fn masks_json_strings_and_keys() {
        let m = Masker::new(["s3cr3t"]);
        let mut v = serde_json::json!({"a": ["x s3cr3t", 1], "s3cr3t": {"b": "s3cr3t"}});
        m.mask_json(&mut v);
        assert_eq!(
            v,
            serde_json::json!({"a": ["x [MASKED]", 1], "[MASKED]": {"b": "[MASKED]"}})
        );
    }

    #[test]
    fn a_cut_never_splits_a_value() {
        let m = Masker::new(["abcdef"]);
        let text = b"0123abcdef89";
        assert_eq!(m.safe_cut(text, 6), 4, "inside the value: cut before it");
        assert_eq!(m.safe_cut(text, 4), 4);
        assert_eq!(m.safe_cut(text, 10), 10, "just after it");
        assert_eq!(
            m.safe_cut(b"abcdef", 3),
            3,
            "a value at the start cannot move the cut to 0"
        );
        assert_eq!(m.safe_cut(b"ab", 1), 1);
    }
}
