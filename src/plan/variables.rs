//! CI/CD variables: GitLab's precedence, and `$VAR`/`${VAR}` expansion with `$$` escapes.

use std::collections::HashMap;

/// An ordered set of variables where a later `set` of the same name wins (precedence is the
/// order of the calls: lowest first).
#[derive(Debug, Clone, Default)]
pub struct VarSet {
    order: Vec<String>,
    values: HashMap<String, (String, bool)>,
}

impl VarSet {
    pub fn new() -> Self {
        VarSet::default()
    }

    /// Sets `name`; `expand: false` keeps its `$` references literal.
    pub fn set(&mut self, name: &str, value: &str, expand: bool) {
        if !self.values.contains_key(name) {
            self.order.push(name.to_string());
        }
        self.values
            .insert(name.to_string(), (value.to_string(), expand));
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.values.get(name).map(|(v, _)| v.as_str())
    }

    pub fn remove(&mut self, name: &str) {
        if self.values.remove(name).is_some() {
            self.order.retain(|n| n != name);
        }
    }

    /// Every value with references to other variables expanded (recursively, as GitLab does,
    /// with a depth limit against cycles) and `$$` turned into `$`; references to unknown
    /// variables are kept as written.
    pub fn expanded(&self) -> Vec<(String, String)> {
        self.order
            .iter()
            .map(|name| {
                let (value, expand) = &self.values[name];
                // A variable with `expand: false` is inserted as written where another refers
                // to it: its `$` are escaped for the expansion, then turned back.
                let lookup = |n: &str| {
                    self.values.get(n).map(
                        |(v, e)| {
                            if *e { v.clone() } else { v.replace('$', "$$") }
                        },
                    )
                };
                let v = if *expand {
                    expand_with(value, &lookup, 10, true).replace("$$", "$")
                } else {
                    value.clone()
                };
                (name.clone(), v)
            })
            .collect()
    }

    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.order.iter().map(String::as_str)
    }
}

/// Expands `$NAME`, `${NAME}` and `$$` in `text`. Unknown names become empty (the runner's rule
/// for image names, paths and keys).
pub fn expand(text: &str, lookup: &dyn Fn(&str) -> Option<String>) -> String {
    expand_with(text, lookup, 10, false)
}

/// Expands `$NAME` and `${NAME}` in `text`, keeping references to unknown names as written (the
/// rule for `rules:changes` and `rules:exists` paths, where `$` may be part of a file name).
pub fn expand_keeping_unknown(text: &str, lookup: &dyn Fn(&str) -> Option<String>) -> String {
    expand_with(text, lookup, 10, true).replace("$$", "$")
}

fn expand_with(
    text: &str,
    lookup: &dyn Fn(&str) -> Option<String>,
    depth: usize,
    keep_unknown: bool,
) -> String {
    if !text.contains('$') {
        return text.to_string();
    }
    let bytes = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] != b'$' {
            let next = text[i..].find('$').map_or(text.len(), |p| i + p);
            out.push_str(&text[i..next]);
            i = next;
            continue;
        }
        if bytes.get(i + 1) == Some(&b'$') {
            // `$$` is a literal `$`, kept as `$$` while values still nest, so a later pass does not
            // expand it; the final pass turns it into `$`.
            out.push('$');
            if keep_unknown {
                out.push('$');
            }
            i += 2;
            continue;
        }
        let (name, end, braced) = if bytes.get(i + 1) == Some(&b'{') {
            match text[i + 2..].find('}') {
                Some(close) => (&text[i + 2..i + 2 + close], i + 3 + close, true),
                None => ("", i + 1, false),
            }
        } else {
            let len = text[i + 1..]
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .unwrap_or(text.len() - i - 1);
            (&text[i + 1..i + 1 + len], i + 1 + len, false)
        };
        if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            out.push('$');
            i += 1;
            continue;
        }
        match lookup(name) {
            Some(v) if depth > 0 => out.push_str(&expand_with(&v, lookup, depth - 1, keep_unknown)),
            Some(v) => out.push_str(&v),
            None if keep_unknown => out.push_str(&text[i..end]),
            None => {}
        }
        let _ = braced;
        i = end;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expansion_forms() {
        let vars: HashMap<&str, &str> = [("A", "1"), ("B", "x${A}y"), ("PATHY", "/p")].into();
        let look = |n: &str| vars.get(n).map(|s| s.to_string());
        assert_eq!(expand("$A-${B}-$PATHY/z", &look), "1-x1y-/p/z");
        assert_eq!(expand("cost $$5 and $UNKNOWN.", &look), "cost $5 and .");
        assert_eq!(expand("${A", &look), "${A");
        assert_eq!(expand("$", &look), "$");
    }

    #[test]
    fn varset_precedence_and_unknown_kept() {
        let mut v = VarSet::new();
        v.set("X", "low", true);
        v.set("Y", "$X and $NOPE and $$HOME", true);
        v.set("X", "high", true);
        v.set("RAW", "$X", false);
        let e: HashMap<_, _> = v.expanded().into_iter().collect();
        assert_eq!(e["X"], "high");
        assert_eq!(e["Y"], "high and $NOPE and $HOME");
        assert_eq!(e["RAW"], "$X");
    }

    #[test]
    fn paths_keep_unknown_references() {
        let vars: HashMap<&str, &str> = [("DIR", "path/to"), ("SUB", "$DIR/sub")].into();
        let look = |n: &str| vars.get(n).map(|s| s.to_string());
        assert_eq!(
            expand_keeping_unknown("$SUB/**/*", &look),
            "path/to/sub/**/*"
        );
        assert_eq!(expand_keeping_unknown("a/$NOPE/b", &look), "a/$NOPE/b");
        assert_eq!(expand_keeping_unknown("${DIR}x", &look), "path/tox");
    }

    #[test]
    fn cycles_terminate() {
        let mut v = VarSet::new();
        v.set("A", "$B", true);
        v.set("B", "$A", true);
        let _ = v.expanded();
    }
}
