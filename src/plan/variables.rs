//! CI/CD variables: GitLab's precedence, and `$VAR`/`${VAR}` expansion with `$$` escapes.

use std::collections::HashMap;

pub use crate::expand::{expand, expand_keeping_unknown};

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
                    expand_keeping_unknown(value, &lookup)
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

#[cfg(test)]
mod tests {
    use super::*;

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
    fn cycles_terminate() {
        let mut v = VarSet::new();
        v.set("A", "$B", true);
        v.set("B", "$A", true);
        let _ = v.expanded();
    }
}
