//! CI/CD variables: GitLab's precedence, and `$VAR`/`${VAR}` expansion with `$$` escapes.

use std::collections::HashMap;
use std::sync::Arc;

pub use crate::expand::{expand, expand_keeping_unknown};

/// An ordered set of variables where a later `set` of the same name wins (precedence is the
/// order of the calls: lowest first). Names and values are shared (`Arc<str>`): the planner
/// copies the pipeline's set for every job, and a copy must not copy every string.
#[derive(Debug, Clone, Default)]
pub struct VarSet {
    order: Vec<Arc<str>>,
    values: HashMap<Arc<str>, (Arc<str>, bool)>,
}

impl VarSet {
    pub fn new() -> Self {
        VarSet::default()
    }

    /// Sets `name`; `expand: false` keeps its `$` references literal.
    pub fn set(&mut self, name: &str, value: &str, expand: bool) {
        match self.values.get_mut(name) {
            Some(slot) => *slot = (Arc::from(value), expand),
            None => {
                let name: Arc<str> = Arc::from(name);
                self.order.push(name.clone());
                self.values.insert(name, (Arc::from(value), expand));
            }
        }
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.values.get(name).map(|(v, _)| &**v)
    }

    pub fn remove(&mut self, name: &str) {
        if self.values.remove(name).is_some() {
            self.order.retain(|n| &**n != name);
        }
    }

    /// Every value with references to other variables expanded (recursively, as GitLab does,
    /// with a depth limit against cycles) and `$$` turned into `$`; references to unknown
    /// variables are kept as written.
    pub fn expanded(&self) -> Vec<(String, String)> {
        self.order
            .iter()
            .filter_map(|name| Some((name.to_string(), self.expanded_value(name)?)))
            .collect()
    }

    /// One variable's value, expanded as [`VarSet::expanded`] expands it: for callers that
    /// need a few values, not all of them.
    pub fn expanded_value(&self, name: &str) -> Option<String> {
        let (value, expand) = self.values.get(name)?;
        if !*expand {
            return Some(value.to_string());
        }
        // A variable with `expand: false` is inserted as written where another refers to it:
        // its `$` are escaped for the expansion, then turned back.
        let lookup = |n: &str| {
            self.values.get(n).map(|(v, e)| {
                if *e {
                    v.to_string()
                } else {
                    v.replace('$', "$$")
                }
            })
        };
        Some(expand_keeping_unknown(value, &lookup))
    }

    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.order.iter().map(|n| &**n)
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
