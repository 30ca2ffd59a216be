//! What dead runs left on Docker engines: `clean --containers` removes it, and a run says when it
//! starts that some is there. A run is dead when the process in its objects' owner label is gone
//! (or its pid went to another process), or when its run directory's lock in this state
//! directory is free (`store::liveness`); objects of a live run are never touched, those whose
//! run is unknown (another host, an older version) only with `--force` or `--run ID`.

use std::collections::HashMap;
use std::path::Path;

use crate::executor::docker::{LABEL, LABEL_OWNER, LABEL_RUN, Swept};
use crate::store::liveness::{Liveness, judge};

/// Which objects a sweep may remove.
pub struct Which<'a> {
    /// The state directory whose run locks are read.
    pub state: &'a Path,
    /// Objects of unknown runs too (another host, an older version).
    pub force: bool,
    /// Only this run's objects (and those even when its liveness is unknown).
    pub run: Option<&'a str>,
}

impl Which<'_> {
    /// The engine's label filter for the objects to look at.
    pub fn filter(&self) -> String {
        match self.run {
            Some(id) => format!("{LABEL_RUN}={id}"),
            None => LABEL.to_string(),
        }
    }

    /// What is known of the run of an object with these labels; `Dead` when it may be removed.
    /// With `run`, another run's object is never `Dead` here, whatever the filter let through.
    pub fn liveness(&self, labels: &HashMap<String, String>) -> Liveness {
        let run = labels.get(LABEL_RUN).map(String::as_str);
        if self.run.is_some() && run != self.run {
            return Liveness::Unknown;
        }
        let known = judge(labels.get(LABEL_OWNER).map(String::as_str), run, self.state);
        match known {
            Liveness::Unknown if self.force || self.run.is_some() => Liveness::Dead,
            known => known,
        }
    }
}

/// `N containers, N networks and N volumes`.
fn counts(s: &Swept) -> String {
    format!(
        "{} containers, {} networks and {} volumes",
        s.containers, s.networks, s.volumes
    )
}

/// What `clean --containers` says of one engine's sweep.
pub fn describe(swept: &Swept, place: &str) -> Vec<String> {
    let mut lines = vec![format!(
        "Removed {} left on {place} by runs that are no longer alive.",
        counts(swept)
    )];
    if swept.kept_alive > 0 {
        lines.push(format!(
            "Kept {} objects of runs still alive there.",
            swept.kept_alive
        ));
    }
    if swept.kept_unknown > 0 {
        lines.push(format!(
            "Kept {} objects of runs of another host (or of an older version), which may be \
             alive: `tezos-ci-local clean --containers --force` removes them, `--run ID` those of \
             one run.",
            swept.kept_unknown
        ));
    }
    lines
}

/// The warning a run prints when dead runs left objects on its engine; `None` when they left
/// nothing.
pub fn warning(dead: &Swept, place: &str) -> Option<String> {
    (dead.containers + dead.networks + dead.volumes > 0).then(|| {
        format!(
            "{} are left on {place} by runs that are no longer alive (killed outright); \
             `tezos-ci-local clean --containers` removes them.",
            counts(dead)
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::liveness::Owner;

    fn labels(owner: Option<String>, run: &str) -> HashMap<String, String> {
        let mut l = HashMap::from([
            (LABEL.to_string(), "1".to_string()),
            (LABEL_RUN.to_string(), run.to_string()),
        ]);
        if let Some(o) = owner {
            l.insert(LABEL_OWNER.to_string(), o);
        }
        l
    }

    #[test]
    fn dead_runs_are_removed_live_ones_kept_unknown_ones_only_when_asked() {
        let state = tempfile::tempdir().unwrap();
        let me = Owner::current();
        let alive = labels(Some(me.label()), "r1");
        let dead = labels(
            Some(
                Owner {
                    start: me.start + 1,
                    ..me.clone()
                }
                .label(),
            ),
            "r2",
        );
        let elsewhere = labels(
            Some(
                Owner {
                    host: "elsewhere".into(),
                    ..me.clone()
                }
                .label(),
            ),
            "r3",
        );
        let old_version = labels(None, "r4");
        let plain = Which {
            state: state.path(),
            force: false,
            run: None,
        };
        assert_eq!(plain.filter(), LABEL);
        assert_eq!(plain.liveness(&alive), Liveness::Alive);
        assert_eq!(plain.liveness(&dead), Liveness::Dead);
        assert_eq!(plain.liveness(&elsewhere), Liveness::Unknown);
        assert_eq!(plain.liveness(&old_version), Liveness::Unknown);
        let force = Which {
            force: true,
            ..plain
        };
        assert_eq!(force.liveness(&alive), Liveness::Alive);
        assert_eq!(force.liveness(&elsewhere), Liveness::Dead);
        assert_eq!(force.liveness(&old_version), Liveness::Dead);
        let one = Which {
            state: state.path(),
            force: false,
            run: Some("r3"),
        };
        assert_eq!(one.filter(), format!("{LABEL_RUN}=r3"));
        assert_eq!(one.liveness(&elsewhere), Liveness::Dead);
        // Another run's objects are not the named run's, dead or unknown.
        assert_eq!(one.liveness(&dead), Liveness::Unknown);
        assert_eq!(one.liveness(&old_version), Liveness::Unknown);
        // Named or not, a live run's objects stay.
        let named_alive = labels(Some(me.label()), "r3");
        assert_eq!(one.liveness(&named_alive), Liveness::Alive);
    }

    #[test]
    fn the_warning_says_what_is_left_and_how_to_remove_it() {
        assert_eq!(warning(&Swept::default(), "the Docker engine"), None);
        let left = Swept {
            containers: 2,
            volumes: 1,
            kept_alive: 5,
            ..Swept::default()
        };
        let w = warning(&left, "the Docker engine").unwrap();
        assert!(
            w.starts_with("2 containers, 0 networks and 1 volumes are left"),
            "{w}"
        );
        assert!(w.contains("`tezos-ci-local clean --containers`"), "{w}");
        let lines = describe(&left, "the Docker engine");
        assert_eq!(lines.len(), 2, "{lines:?}");
        assert!(
            lines[1].contains("5 objects of runs still alive"),
            "{lines:?}"
        );
    }
}
