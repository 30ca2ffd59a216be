//! GitLab's deep merge, used for includes and `extends`: maps merge key by key, recursively;
//! anything else (lists, strings, null) from the overriding side replaces what was there.

use crate::yaml::{Map, Value};

pub fn deep_merge(base: &mut Map, over: Map) {
    for (key, value, span) in over.into_entries() {
        match (base.get_mut(&key), value.value) {
            (Some(existing), Value::Map(over_map)) if existing.as_map().is_some() => {
                deep_merge(existing.as_map_mut().expect("checked above"), over_map);
            }
            (_, v) => base.insert(key, crate::yaml::Node::new(v, value.span), span),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::yaml::parse_str;
    use std::path::PathBuf;
    use std::sync::Arc;

    fn m(text: &str) -> Map {
        parse_str(text, Arc::new(PathBuf::from("t.yml")))
            .unwrap()
            .as_map()
            .unwrap()
            .clone()
    }

    #[test]
    fn maps_merge_and_lists_are_replaced() {
        let mut base = m("job:\n  script: [a, b]\n  variables: {A: '1', B: '2'}\n  image: x\n");
        deep_merge(
            &mut base,
            m("job:\n  script: [c]\n  variables: {B: '3', C: '4'}\n"),
        );
        let job = base.get("job").unwrap().as_map().unwrap();
        assert_eq!(job.get("script").unwrap().as_seq().unwrap().len(), 1);
        let vars = job.get("variables").unwrap().as_map().unwrap();
        assert_eq!(vars.get("A").unwrap().as_scalar(), Some("1"));
        assert_eq!(vars.get("B").unwrap().as_scalar(), Some("3"));
        assert_eq!(vars.get("C").unwrap().as_scalar(), Some("4"));
        assert_eq!(job.get("image").unwrap().as_scalar(), Some("x"));
    }

    #[test]
    fn null_overrides() {
        let mut base = m("job:\n  image: x\n");
        deep_merge(&mut base, m("job:\n  image: null\n"));
        assert!(
            base.get("job")
                .unwrap()
                .as_map()
                .unwrap()
                .get("image")
                .unwrap()
                .is_null()
        );
    }
}
